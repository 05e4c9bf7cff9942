# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: rollback_table
short_description: A readable table of a service rollback (per service, before and after, pods and health)
version_added: 0.1.0
description:
  - Joins the results of M(easymo.rollback.deployment_rollback), M(easymo.rollback.rollout_status) and
    M(easymo.rollback.health_check) by service name into lines of a fixed-width table.
options:
  _input:
    description: The C(deployments) lists of one or more deployment_rollback results, concatenated.
    type: list
    elements: dict
    required: true
  status:
    description: The C(deployments) list of a rollout_status result.
    type: list
    elements: dict
  health:
    description: The C(endpoints) list of a health_check result.
    type: list
    elements: dict
"""

EXAMPLES = r"""
- name: Summary
  ansible.builtin.debug:
    msg: "{{ (step1.deployments + step2.deployments) | easymo.rollback.rollback_table(pods.deployments, health.endpoints) }}"
"""

RETURN = r"""
_value:
  description: Table lines, header first.
  type: list
  elements: str
"""

import typing as t


def _release(images: dict[str, str] | None, revision: t.Any) -> str:
    tags = sorted({(img.rsplit(":", 1)[-1] if ":" in img.rsplit("/", 1)[-1] else img) for img in (images or {}).values()})
    return "%s (rev %s)" % (",".join(tags) or "?", revision if revision not in (None, "") else "?")


def rollback_table(rollbacks: list[dict], status: list[dict] | None = None, health: list[dict] | None = None) -> list[str]:
    """One line per service: release before -> after, rollback status and seconds, pods ready, health."""
    pods = {row.get("name"): row for row in status or []}
    probes = {row.get("name"): row for row in health or []}
    fmt = "%-26s %-18s %-18s %-18s %7s %6s  %s"
    lines = [fmt % ("SERVICE", "FROM", "TO", "ROLLBACK", "SECONDS", "PODS", "HEALTH")]
    for row in rollbacks or []:
        name = row.get("name", "?")
        after_images = row.get("images_to") if row.get("changed") else row.get("images_from")
        after_rev = row.get("revision_after", row.get("revision_to") if row.get("changed") else row.get("revision_from"))
        p = pods.get(name)
        pod_cell = "-"
        if p:
            ready = len(p.get("pods", {}).get("ready", []))
            pod_cell = "%d/%s" % (ready, p.get("replicas", "?"))
        h = probes.get(name)
        health_cell = "-" if not h else (h.get("verdict", "?") + ("" if h.get("healthy") else " (%s)" % h.get("reason", "")))
        seconds = row.get("seconds")
        lines.append(fmt % (name, _release(row.get("images_from"), row.get("revision_from")), _release(after_images, after_rev),
                            row.get("status", "?"), "-" if seconds is None else "%.1f" % seconds, pod_cell, health_cell))
    return lines


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"rollback_table": rollback_table}
