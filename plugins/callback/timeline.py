# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: timeline
type: aggregate
short_description: Each step's start, end and duration against the rollback's time budget, as a table and as JSON
version_added: 0.1.0
description:
  - Records every task of every play (start and end in UTC, seconds, outcome) and prints, at the end, how long each
    step took and how much of the time budget the run used (the runbook's 10 minutes for a P0/P1 by default).
  - With O(output_dir), also writes the timeline as JSON (C(timeline_<playbook>_<UTC time>.json)) for incident
    reports, drills and AWX. Only names, times and outcomes are kept, never task arguments or results, so no secret
    can reach the file.
  - Like ansible.posix's C(profile_tasks), but keeps the data.
  - "Milestones: a task with the task variable C(easymo_milestone) (V(rollback_initiated), V(rollback_completed),
    V(services_verified)) marks that milestone when it ends without failing. The first mark of each counts, except
    for V(rollback_completed), whose last mark counts (the last method that ran)."
  - "Incident report: when a play declares the incident with C(ansible.builtin.set_stats) (key C(easymo_incident):
    release, severity, issue, detected_at, environment, impact, resolution), the callback writes, at the end,
    C(incident_<release>_rollback_<YYYYMMDD>.md) (the runbook's template with the real timeline, each method's time
    against the runbook's targets, the severity's time limit and the escalation level; breaches flagged) and the same
    data as JSON beside it, into O(report_dir). An existing report of the same day is never overwritten."
requirements:
  - enable in C(callbacks_enabled) (the collection's ansible.cfg does)
options:
  output_dir:
    description: Folder for the JSON timeline (C(~) is expanded); empty writes none.
    type: str
    default: ""
    env:
      - name: EASYMO_TIMELINE_DIR
    ini:
      - section: callback_easymo_timeline
        key: output_dir
  budget_minutes:
    description: The time budget the run is measured against.
    type: float
    default: 10
    env:
      - name: EASYMO_TIMELINE_BUDGET_MINUTES
    ini:
      - section: callback_easymo_timeline
        key: budget_minutes
  report_dir:
    description: Folder for incident reports (C(~) is expanded); empty writes none.
    type: str
    default: incidents
    env:
      - name: EASYMO_INCIDENT_DIR
    ini:
      - section: callback_easymo_timeline
        key: report_dir
"""

import json
import os
import re
import time
import typing as t
from datetime import datetime, timezone

from ansible.plugins.callback import CallbackBase
from ansible_collections.easymo.rollback.plugins.module_utils._incident import (
    MILESTONE_NAMES,
    render_markdown,
    report_stem,
    summarize,
)
from ansible_collections.easymo.rollback.plugins.module_utils._runbook import MATRIX

# Worst outcome first: a step that failed on any host failed.
# "ignored": failed under ignore_errors (a checklist item that failed while the checklist went on).
OUTCOME_ORDER = ("failed", "unreachable", "ignored", "changed", "ok", "skipped")


def _utc(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "easymo.rollback.timeline"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.playbook = ""
        self.play = ""
        self.started = time.time()
        self.steps: list[dict[str, t.Any]] = []
        self.current: dict[str, t.Any] | None = None

    def _close(self) -> None:
        if self.current is not None:
            now = time.time()
            self.current["end"] = _utc(now)
            self.current["seconds"] = round(now - self.current.pop("_t"), 3)
            outcomes = self.current.pop("_outcomes")
            self.current["outcome"] = next((o for o in OUTCOME_ORDER if o in outcomes), "skipped")
            if self.current.get("milestone") and self.current["outcome"] in ("failed", "unreachable", "ignored", "skipped"):
                self.current["milestone"] = None  # a milestone is reached only by a step that ran and did not fail
            self.steps.append(self.current)
            self.current = None

    def v2_playbook_on_start(self, playbook: t.Any) -> None:
        self.playbook = os.path.basename(getattr(playbook, "_file_name", "") or "playbook")
        self.started = time.time()

    def v2_playbook_on_play_start(self, play: t.Any) -> None:
        self._close()
        self.play = play.get_name()

    def _task_start(self, task: t.Any) -> None:
        self._close()
        now = time.time()
        self.current = {"play": self.play, "task": task.get_name(), "start": _utc(now), "_t": now, "_outcomes": set()}
        milestone = (getattr(task, "vars", None) or {}).get("easymo_milestone")
        if milestone in MILESTONE_NAMES:
            self.current["milestone"] = milestone

    def v2_playbook_on_task_start(self, task: t.Any, is_conditional: bool) -> None:
        self._task_start(task)

    def v2_playbook_on_handler_task_start(self, task: t.Any) -> None:
        self._task_start(task)

    def _outcome(self, name: str) -> None:
        if self.current is not None:
            self.current["_outcomes"].add(name)

    def v2_runner_on_ok(self, result: t.Any) -> None:
        self._outcome("changed" if result._result.get("changed") else "ok")

    def v2_runner_on_failed(self, result: t.Any, ignore_errors: bool = False) -> None:
        self._outcome("ignored" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result: t.Any) -> None:
        self._outcome("skipped")

    def v2_runner_on_unreachable(self, result: t.Any) -> None:
        self._outcome("unreachable")

    def v2_playbook_on_stats(self, stats: t.Any) -> None:
        self._close()
        ended = time.time()
        incident = ((getattr(stats, "custom", None) or {}).get("_run") or {}).get("easymo_incident")
        incident = incident if isinstance(incident, dict) else None
        severity = str((incident or {}).get("severity") or "").strip().upper()
        limit = MATRIX[severity]["time_limit_minutes"] if severity in MATRIX else None
        budget = float(limit if limit else self.get_option("budget_minutes")) * 60
        total = round(ended - self.started, 3)
        record = {"playbook": self.playbook, "started": _utc(self.started), "ended": _utc(ended), "seconds": total,
                  "budget_seconds": budget, "within_budget": total <= budget,
                  "failed": any(s["outcome"] in ("failed", "unreachable") for s in self.steps), "steps": self.steps}
        self._display.banner("TIMELINE (easymo.rollback.timeline)")
        for step in self.steps:
            if step["outcome"] != "skipped" or step["seconds"] >= 0.5:
                self._display.display("%8.2f s  %-9s %s" % (step["seconds"], step["outcome"], step["task"]))
        used = (100.0 * total / budget) if budget else 0.0
        self._display.display("%8.2f s  total: %.0f%% of the %.0f min budget%s" % (
            total, used, budget / 60, "" if record["within_budget"] else "  ** OVER BUDGET **"))
        out_dir = os.path.expanduser(self.get_option("output_dir") or "")
        if out_dir:
            try:
                os.makedirs(out_dir, exist_ok=True)
                stem = re.sub(r"[^A-Za-z0-9_.-]", "_", os.path.splitext(self.playbook)[0])
                path = os.path.join(out_dir, "timeline_%s_%s.json" % (stem, datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")))
                with open(path, "w", encoding="utf-8") as fh:
                    json.dump(record, fh, indent=2)
                self._display.display("timeline written to %s" % path)
            except OSError as exc:
                self._display.warning("timeline: cannot write to %s: %s" % (out_dir, exc))
        report_dir = os.path.expanduser(self.get_option("report_dir") or "")
        if incident is not None and report_dir:
            self._write_report(report_dir, record, incident)

    def _write_report(self, report_dir: str, record: dict[str, t.Any], incident: dict[str, t.Any]) -> None:
        summary = summarize(record, incident)
        summary["timeline"] = record
        stem = report_stem(summary["release"], datetime.now(timezone.utc))
        try:
            os.makedirs(report_dir, exist_ok=True)
            name, n = stem, 1
            while os.path.exists(os.path.join(report_dir, name + ".md")) or os.path.exists(os.path.join(report_dir, name + ".json")):
                n += 1
                name = "%s_%d" % (stem, n)
            path = os.path.join(report_dir, name + ".md")
            # "x": never overwrite a report another run wrote in the meantime.
            with open(path, "x", encoding="utf-8") as fh:
                fh.write(render_markdown(summary))
            with open(os.path.join(report_dir, name + ".json"), "x", encoding="utf-8") as fh:
                json.dump(summary, fh, indent=2)
        except OSError as exc:
            self._display.warning("timeline: cannot write the incident report to %s: %s" % (report_dir, exc))
            return
        for breach in summary["breaches"]:
            self._display.display("BREACH: %s" % breach)
        self._display.display("incident report written to %s" % path)
