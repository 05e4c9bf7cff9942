# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Slack incoming webhooks and the PagerDuty Events API v2: payloads (pure) and one POST adapter.

A notification never fails a rollback: every outcome is returned as data for the report at the end.
Webhook URLs and routing keys are secrets: no error text ever carries them (only the exception's type).
"""

from __future__ import annotations

import time
import typing as t

from ansible_collections.easymo.rollback.plugins.module_utils._http_probe import requests

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
PAGERDUTY_SEVERITIES = ("critical", "error", "warning", "info")
PAGERDUTY_ACTIONS = ("trigger", "acknowledge", "resolve")


def slack_payload(text: str) -> dict[str, t.Any]:
    return {"text": text}


def pagerduty_event(routing_key: str, action: str, dedup_key: str | None, summary: str | None, source: str,
                    severity: str, details: dict[str, t.Any] | None) -> dict[str, t.Any]:
    """An Events API v2 event, or ValueError naming what is wrong (checked before anything is sent)."""
    if len(routing_key) != 32:
        raise ValueError("the PagerDuty routing key must be the 32-character integration key of an Events API v2 "
                         "integration (it has %d characters)" % len(routing_key))
    if action not in PAGERDUTY_ACTIONS:
        raise ValueError("pagerduty_action must be one of %s" % ", ".join(PAGERDUTY_ACTIONS))
    event: dict[str, t.Any] = {"routing_key": routing_key, "event_action": action}
    if dedup_key:
        event["dedup_key"] = dedup_key
    if action == "trigger":
        if not summary:
            raise ValueError("a PagerDuty trigger needs pagerduty_summary")
        if severity not in PAGERDUTY_SEVERITIES:
            raise ValueError("pagerduty_severity must be one of %s" % ", ".join(PAGERDUTY_SEVERITIES))
        event["payload"] = {"summary": summary[:1024], "source": source, "severity": severity,
                            "custom_details": details or {}}
    elif not dedup_key:
        raise ValueError("a PagerDuty %s needs the pagerduty_dedup_key of the incident it %ss" % (action, action))
    return event


def post_json(url: str, body: dict[str, t.Any], timeout: float, channel: str) -> dict[str, t.Any]:
    """POST once; the outcome as data (sent, status_code, answer or error), never an exception."""
    started = time.monotonic()
    outcome: dict[str, t.Any] = {"channel": channel, "sent": False, "status_code": None}
    try:
        resp = requests.post(url, json=body, timeout=timeout)
    except requests.RequestException as exc:
        outcome["error"] = "%s could not be reached (%s)" % (channel, type(exc).__name__)
    else:
        outcome["status_code"] = resp.status_code
        answer = (resp.text or "")[:300]
        try:
            answer = resp.json()
        except ValueError:
            pass
        outcome["answer"] = answer
        outcome["sent"] = 200 <= resp.status_code < 300
        if not outcome["sent"]:
            outcome["error"] = "%s answered HTTP %s: %s" % (channel, resp.status_code, str(answer)[:200])
        elif isinstance(answer, dict) and answer.get("dedup_key"):
            outcome["dedup_key"] = answer["dedup_key"]
    outcome["seconds"] = round(time.monotonic() - started, 3)
    return outcome
