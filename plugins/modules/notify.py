#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: notify
short_description: Tell the team, through a Slack incoming webhook and PagerDuty Events API v2, without ever failing a rollback
version_added: 0.1.0
description:
  - Posts a message to a Slack incoming webhook and, optionally, triggers, acknowledges or resolves a PagerDuty
    incident (Events API v2).
  - A failed notification does not fail the task (unless O(fail_on_error)); each channel's outcome is returned, so a
    playbook reports undelivered messages at the end instead of stopping a rollback half way.
  - The webhook URL and the routing key are secrets. They are never logged and no message carries them.
  - A channel with no webhook URL or routing key (option or environment) is skipped and reported as not configured.
author:
  - EasyMO DevOps (@easymo)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  platform:
    support: full
    platforms: posix
  check_mode:
    support: full
    details: Checks the input and reports what would be sent; sends nothing.
  diff_mode:
    support: none
options:
  slack_webhook_url:
    description:
      - The Slack incoming-webhook URL. Never logged.
      - Falls back to the environment variable E(EASYMO_SLACK_WEBHOOK_URL).
    type: str
  text:
    description: The Slack message.
    type: str
  pagerduty_routing_key:
    description:
      - The 32-character integration key of an Events API v2 integration. Never logged.
      - Falls back to the environment variable E(EASYMO_PAGERDUTY_ROUTING_KEY).
    type: str
  pagerduty_url:
    description:
      - The Events API v2 endpoint.
      - Falls back to the environment variable E(EASYMO_PAGERDUTY_URL), then V(https://events.pagerduty.com/v2/enqueue).
    type: str
  pagerduty_action:
    description: V(trigger), V(acknowledge) or V(resolve) an incident; without it nothing goes to PagerDuty.
    type: str
    choices: [trigger, acknowledge, resolve]
  pagerduty_dedup_key:
    description: The incident's key (required to acknowledge or resolve; a trigger returns the key PagerDuty used).
    type: str
  pagerduty_summary:
    description: Summary of a triggered incident.
    type: str
  pagerduty_severity:
    description: Severity of a triggered incident.
    type: str
    choices: [critical, error, warning, info]
    default: critical
  pagerduty_source:
    description: Source of a triggered incident.
    type: str
    default: easymo.rollback
  pagerduty_details:
    description: Custom details of a triggered incident.
    type: dict
  request_timeout:
    description: Seconds one request may take.
    type: float
    default: 10
  fail_on_error:
    description: Fail the task when a configured channel could not be notified.
    type: bool
    default: false
requirements:
  - requests
"""

EXAMPLES = r"""
- name: Tell the war room the rollback started
  easymo.rollback.notify:
    text: "@channel ROLLBACK STARTED: Method 3 on easymo-prod"
    pagerduty_action: trigger
    pagerduty_summary: "v2.0 rollback in progress"
    pagerduty_dedup_key: "rollback-{{ awx_job_id | default('manual') }}"
  register: notified
"""

RETURN = r"""
notifications:
  description: One entry per channel (slack, pagerduty).
  returned: always
  type: list
  elements: dict
  contains:
    channel:
      description: V(slack) or V(pagerduty).
      type: str
      returned: always
    sent:
      description: Whether the channel accepted the message.
      type: bool
      returned: always
    status:
      description: V(sent), V(failed), V(would_send) (check mode) or V(not_configured).
      type: str
      returned: always
    status_code:
      description: HTTP status of the answer.
      type: int
      returned: when sent or answered
    error:
      description: Why it was not delivered (never holds the URL or key).
      type: str
      returned: when failed
    dedup_key:
      description: PagerDuty's incident key.
      type: str
      returned: when PagerDuty accepted an event
undelivered:
  description: Channels that were configured but not notified.
  returned: always
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.easymo.rollback.plugins.module_utils._http_probe import HAS_REQUESTS, REQUESTS_IMPORT_ERROR
from ansible_collections.easymo.rollback.plugins.module_utils._notify import (
    PAGERDUTY_EVENTS_URL,
    pagerduty_event,
    post_json,
    slack_payload,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            slack_webhook_url=dict(type="str", no_log=True),
            text=dict(type="str"),
            pagerduty_routing_key=dict(type="str", no_log=True),
            pagerduty_url=dict(type="str"),
            pagerduty_action=dict(type="str", choices=["trigger", "acknowledge", "resolve"]),
            pagerduty_dedup_key=dict(type="str", no_log=False),
            pagerduty_summary=dict(type="str"),
            pagerduty_severity=dict(type="str", choices=["critical", "error", "warning", "info"], default="critical"),
            pagerduty_source=dict(type="str", default="easymo.rollback"),
            pagerduty_details=dict(type="dict"),
            request_timeout=dict(type="float", default=10),
            fail_on_error=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
    p = module.params
    webhook = (p["slack_webhook_url"] or os.environ.get("EASYMO_SLACK_WEBHOOK_URL") or "").strip()
    routing_key = (p["pagerduty_routing_key"] or os.environ.get("EASYMO_PAGERDUTY_ROUTING_KEY") or "").strip()
    for secret in (webhook, routing_key):
        if secret:
            module.no_log_values.add(secret)  # environment values are secrets too
    pd_url = p["pagerduty_url"] or os.environ.get("EASYMO_PAGERDUTY_URL") or PAGERDUTY_EVENTS_URL
    if p["request_timeout"] <= 0:
        module.fail_json(msg="request_timeout must be above 0 seconds.")
    if webhook and not webhook.startswith(("https://", "http://")):
        module.fail_json(msg="The Slack webhook URL must start with https:// (check EASYMO_SLACK_WEBHOOK_URL). Nothing was sent.")
    if webhook and not (p["text"] or "").strip():
        module.fail_json(msg="text is empty: give the Slack message. Nothing was sent.")

    plan = []
    if webhook:
        plan.append(("slack", webhook, slack_payload(p["text"])))
    if p["pagerduty_action"]:
        if routing_key:
            try:
                event = pagerduty_event(routing_key, p["pagerduty_action"], p["pagerduty_dedup_key"], p["pagerduty_summary"],
                                        p["pagerduty_source"], p["pagerduty_severity"], p["pagerduty_details"])
            except ValueError as exc:
                module.fail_json(msg="%s. Nothing was sent." % exc)
            plan.append(("pagerduty", pd_url, event))

    notifications = []
    if not webhook:
        notifications.append({"channel": "slack", "sent": False, "status": "not_configured"})
    if p["pagerduty_action"] and not routing_key:
        notifications.append({"channel": "pagerduty", "sent": False, "status": "not_configured"})
    for channel, url, body in plan:
        if module.check_mode:
            notifications.append({"channel": channel, "sent": False, "status": "would_send"})
            continue
        outcome = post_json(url, body, p["request_timeout"], channel)
        outcome["status"] = "sent" if outcome["sent"] else "failed"
        notifications.append(outcome)
    undelivered = [n["channel"] for n in notifications if n["status"] == "failed"]
    changed = any(n["status"] in ("sent", "would_send") for n in notifications)
    result = dict(changed=changed, notifications=notifications, undelivered=undelivered)
    if undelivered and p["fail_on_error"]:
        module.fail_json(msg="Not delivered: %s" % "; ".join(n["error"] for n in notifications if n["status"] == "failed"), **result)
    if undelivered:
        module.warn("Not delivered (the rollback goes on): %s" % "; ".join(n["error"] for n in notifications if n["status"] == "failed"))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
