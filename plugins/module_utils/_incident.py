# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The incident report, from the timeline callback's record: pure functions on plain data.

The record is what the timeline callback keeps (steps with start, end, seconds, outcome, and the milestones the
playbooks mark); the incident is what a playbook declares with set_stats (release, severity, issue, ...). Both the
Markdown report and its JSON twin come from summarize(), so their numbers cannot disagree.
"""

from __future__ import annotations

import re
import typing as t
from datetime import datetime, timezone

from ansible_collections.easymo.rollback.plugins.module_utils._runbook import (
    MATRIX,
    METHODS,
    escalation_level,
)

MILESTONES = [
    ("issue_detected", "Issue detected"),
    ("rollback_initiated", "Rollback initiated"),
    ("rollback_completed", "Rollback completed"),
    ("services_verified", "Services verified"),
]
MILESTONE_NAMES = [name for name, _label in MILESTONES]
# A method's own play is named "Method N: ..."; "Verify after Method 1" is not part of Method 1.
_METHOD_IN_PLAY = re.compile(r"^\s*Method\s+([1-5])\b")


def parse_time(value: t.Any) -> datetime | None:
    """An ISO 8601 time (Z or an offset; no zone means UTC), or None when it is not one."""
    if isinstance(value, datetime):
        stamp = value
    else:
        text = str(value or "").strip()
        if not text:
            return None
        try:
            stamp = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
        except ValueError:
            return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def method_of(play_name: str) -> int | None:
    found = _METHOD_IN_PLAY.search(play_name or "")
    return int(found.group(1)) if found else None


def _fmt_clock(stamp: datetime) -> str:
    return stamp.astimezone(timezone.utc).strftime("%H:%M:%S UTC")


def _fmt_duration(seconds: float) -> str:
    return "%.2f s" % seconds if seconds < 120 else "%.1f min" % (seconds / 60.0)


def summarize(record: dict[str, t.Any], incident: dict[str, t.Any]) -> dict[str, t.Any]:
    """Milestones, each method's time against its target, the severity's limit, the escalation level, breaches."""
    steps = record.get("steps") or []
    started = parse_time(record.get("started")) or datetime.now(timezone.utc)
    ended = parse_time(record.get("ended")) or started
    notes: list[str] = []
    detected = parse_time(incident.get("detected_at"))
    if incident.get("detected_at") and detected is None:
        notes.append("detected_at %r is not an ISO 8601 time; the run's start is used" % (incident.get("detected_at"),))
    if detected is None or detected > started:
        detected = started
    reached: dict[str, datetime] = {"issue_detected": detected}
    for step in steps:
        name = step.get("milestone")
        when = parse_time(step.get("end"))
        if name not in MILESTONE_NAMES or when is None or step.get("outcome") in ("failed", "unreachable", "ignored"):
            continue
        # The rollback is complete when the last method that ran finished; every other milestone counts once.
        if name == "rollback_completed" or name not in reached:
            reached[name] = when
    milestones = []
    for name, label in MILESTONES:
        when = reached.get(name)
        milestones.append({"name": name, "label": label, "at": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if when else None,
                           "minutes_after_detection": round((when - detected).total_seconds() / 60.0, 2) if when else None})

    by_method: dict[int, float] = {}
    ran: set[int] = set()
    for step in steps:
        number = method_of(step.get("play", ""))
        if number is not None:
            by_method[number] = by_method.get(number, 0.0) + float(step.get("seconds") or 0)
            if step.get("outcome") != "skipped":
                ran.add(number)
    by_method = {n: s for n, s in by_method.items() if n in ran}  # a method whose every step was skipped did not run
    breaches: list[str] = []
    methods = []
    for number in sorted(by_method):
        seconds = round(by_method[number], 3)
        target = METHODS[number]["target_seconds"]
        within = seconds <= target
        methods.append({"method": number, "name": METHODS[number]["name"], "seconds": seconds,
                        "target_seconds": target, "within_target": within})
        if not within:
            breaches.append("Method %d (%s) took %s, over its %s target" % (
                number, METHODS[number]["name"], _fmt_duration(seconds), _fmt_duration(target)))

    completed = reached.get("rollback_completed")
    if completed is None:
        breaches.append("the rollback did not complete (no 'rollback completed' milestone)")
    until = completed or ended
    minutes = round((until - detected).total_seconds() / 60.0, 2)
    severity = str(incident.get("severity") or "").strip().upper()
    limit = MATRIX[severity]["time_limit_minutes"] if severity in MATRIX else None
    if limit is not None and minutes > limit:
        breaches.append("detection to completion took %.1f min, over the %s limit of %s min" % (minutes, severity, limit))
    level = escalation_level(minutes)
    escalation = {"level": level["level"], "role": level["role"], "minutes": minutes,
                  "note": "Level %d (%s) is required from T+%d min" % (level["level"], level["role"], level["from_minutes"])}
    if level["level"] > 1:
        breaches.append("escalation: %.1f min after detection the runbook requires Level %d (%s)" % (
            minutes, level["level"], level["role"]))
    failed = [s for s in steps if s.get("outcome") in ("failed", "unreachable")]
    return {
        "release": str(incident.get("release") or "unknown"),
        "severity": severity or "unknown",
        "issue": str(incident.get("issue") or "[Description]"),
        "environment": str(incident.get("environment") or ""),
        "method": [m["method"] for m in methods],
        "method_names": ["%s (Method %d)" % (m["name"], m["method"]) for m in methods],
        "detected_at": milestones[0]["at"],
        "duration_minutes": minutes,
        "time_limit_minutes": limit,
        "milestones": milestones,
        "methods": methods,
        "escalation": escalation,
        "breaches": breaches,
        "failed_steps": [{"play": s.get("play"), "task": s.get("task")} for s in failed],
        "outcome": "failed" if failed or completed is None else "completed",
        "notes": notes,
        "impact": str(incident.get("impact") or "[# users affected]"),
        "resolution": str(incident.get("resolution") or ""),
        "root_cause": str(incident.get("root_cause") or "[Description]"),
        "prevention": str(incident.get("prevention") or "[How to avoid in future]"),
        "facts": [str(n) for n in (incident.get("facts") or []) if n],
        "steps": [{"start": s.get("start"), "seconds": s.get("seconds"), "outcome": s.get("outcome"),
                   "play": s.get("play"), "task": s.get("task"), "milestone": s.get("milestone")} for s in steps],
        "run_seconds": record.get("seconds"),
        "playbook": record.get("playbook"),
    }


def report_stem(release: str, day: datetime) -> str:
    """incident_<release>_rollback_<YYYYMMDD>, the runbook's name, with only file-name-safe characters."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", release or "unknown").strip("._") or "unknown"
    return "incident_%s_rollback_%s" % (safe, day.astimezone(timezone.utc).strftime("%Y%m%d"))


def _cell(value: t.Any) -> str:
    return str(value if value is not None else "").replace("|", "\\|").replace("\n", " ")


def render_markdown(summary: dict[str, t.Any]) -> str:
    """The runbook's incident template, filled with the real timeline and the targets."""
    detected = parse_time(summary["detected_at"]) or datetime.now(timezone.utc)
    lines = [
        "# Incident Report: %s Rollback" % summary["release"],
        "",
        "Date: %s" % detected.strftime("%a %b %d %H:%M:%S UTC %Y"),
        "Severity: %s" % summary["severity"],
        "Duration: %.1f minutes" % summary["duration_minutes"],
    ]
    if summary["environment"]:
        lines.append("Environment: %s" % summary["environment"])
    lines += [
        "Rollback Method: %s" % (", then ".join(summary["method_names"]) or "none ran"),
        "Outcome: %s" % summary["outcome"],
        "Issue: %s" % summary["issue"],
        "Impact: %s" % summary["impact"],
        "",
        "## Timeline",
    ]
    for m in summary["milestones"]:
        if m["at"]:
            lines.append("- %s %s (T+%.1f min)" % (_fmt_clock(parse_time(m["at"])), m["label"], m["minutes_after_detection"]))
        else:
            lines.append("- not reached: %s" % m["label"])
    lines += ["", "## Against the runbook's targets", "", "| Step | Took | Target | Result |", "| --- | --- | --- | --- |"]
    for m in summary["methods"]:
        verdict = "ok" if m["within_target"] else "**BREACH**"
        lines.append("| Method %d (%s) | %s | %s | %s |" % (
            m["method"], m["name"], _fmt_duration(m["seconds"]), _fmt_duration(m["target_seconds"]), verdict))
    limit = summary["time_limit_minutes"]
    if limit is not None:
        within = summary["duration_minutes"] <= limit
        lines.append("| %s: detection to completion | %.1f min | %s min | %s |" % (
            summary["severity"], summary["duration_minutes"], limit, "ok" if within else "**BREACH**"))
    esc = summary["escalation"]
    lines.append("| Escalation | Level %d (%s) | Level 1 (0-5 min) | %s |" % (
        esc["level"], esc["role"], "ok" if esc["level"] == 1 else "**ESCALATE**"))
    if summary["breaches"]:
        lines += ["", "Breaches:"] + ["- %s" % b for b in summary["breaches"]]
    for note in summary["notes"]:
        lines.append("Note: %s" % note)
    lines += ["", "## Steps", "", "| Start (UTC) | Seconds | Outcome | Play | Task |", "| --- | ---: | --- | --- | --- |"]
    for s in summary["steps"]:
        start = parse_time(s["start"])
        lines.append("| %s | %.3f | %s | %s | %s |" % (
            start.strftime("%H:%M:%S") if start else "", float(s["seconds"] or 0), _cell(s["outcome"]), _cell(s["play"]), _cell(s["task"])))
    lines += ["", "## Root Cause", summary["root_cause"], "", "## Resolution",
              summary["resolution"] or ("Rolled back with %s." % (", then ".join(summary["method_names"]) or "nothing"))]
    lines += ["- %s" % fact for fact in summary["facts"]]
    lines += ["", "## Prevention", summary["prevention"], ""]
    return "\n".join(lines)
