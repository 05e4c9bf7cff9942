"""Notifications against the lab's Slack and PagerDuty receivers (which follow their public contracts)."""

from __future__ import annotations

import json
import os

import pytest
import requests

from conftest import run_module

BASE = os.environ["EASYMO_LAB_STANDINS_URL"]
WEBHOOK = BASE + "/slack/T0LAB/B0LAB/planted-webhook-secret-4f1e"
ROUTING_KEY = "R0planted0routing0key0000000abcd"
assert len(ROUTING_KEY) == 32


@pytest.fixture(autouse=True)
def clean():
    requests.post(BASE + "/_lab/received/reset", json={}, timeout=5).raise_for_status()


def received() -> dict:
    return requests.get(BASE + "/_lab/received", timeout=5).json()


def everything(result: dict) -> str:
    return result["_stdout"] + result["_stderr"] + json.dumps({k: v for k, v in result.items() if not k.startswith("_")})


def test_slack_and_pagerduty_trigger_then_resolve_with_secrets_from_environment():
    env = {"EASYMO_SLACK_WEBHOOK_URL": WEBHOOK, "EASYMO_PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
           "EASYMO_PAGERDUTY_URL": BASE + "/pagerduty/v2/enqueue"}
    start = run_module("notify", {"text": "@channel ROLLBACK STARTED", "pagerduty_action": "trigger",
                                  "pagerduty_summary": "v2.0 rollback", "pagerduty_dedup_key": "rollback-lab-1"},
                       env=env, verbosity=4)
    assert start["changed"] is True and start["undelivered"] == []
    assert [n["status"] for n in start["notifications"]] == ["sent", "sent"]
    done = run_module("notify", {"text": "@channel ROLLBACK COMPLETE", "pagerduty_action": "resolve",
                                 "pagerduty_dedup_key": "rollback-lab-1"}, env=env, verbosity=4)
    assert done["undelivered"] == []
    got = received()
    assert [m["body"]["text"] for m in got["slack"]] == ["@channel ROLLBACK STARTED", "@channel ROLLBACK COMPLETE"]
    assert [e["event_action"] for e in got["pagerduty"]] == ["trigger", "resolve"]
    assert got["pagerduty"][0]["payload"]["summary"] == "v2.0 rollback"
    for result in (start, done):
        text = everything(result)
        assert "planted-webhook-secret-4f1e" not in text and ROUTING_KEY not in text and "Traceback" not in text


def test_a_failing_channel_never_fails_the_task_and_is_reported():
    result = run_module("notify", {"text": "hello", "slack_webhook_url": BASE + "/slack/T/B/gone",
                                   "pagerduty_action": "trigger", "pagerduty_summary": "x",
                                   "pagerduty_routing_key": ROUTING_KEY, "pagerduty_url": "http://127.0.0.1:9/v2/enqueue"})
    assert result.get("failed") is not True
    assert sorted(result["undelivered"]) == ["pagerduty", "slack"]
    slack = result["notifications"][0]
    assert slack["status"] == "failed" and slack["status_code"] == 404 and "no_service" in slack["error"]
    assert "could not be reached" in result["notifications"][1]["error"]
    assert ROUTING_KEY not in everything(result)
    strict = run_module("notify", {"text": "hello", "slack_webhook_url": BASE + "/slack/T/B/gone", "fail_on_error": True})
    assert strict["failed"] is True and "no_service" in strict["msg"]


def test_check_mode_sends_nothing_and_bad_input_is_refused_before_sending():
    check = run_module("notify", {"text": "hello", "slack_webhook_url": WEBHOOK}, check=True)
    assert check["notifications"][0]["status"] == "would_send"
    for args, needle in [({"pagerduty_action": "trigger", "pagerduty_routing_key": "short", "pagerduty_summary": "x"}, "32-character"),
                         ({"pagerduty_action": "resolve", "pagerduty_routing_key": ROUTING_KEY}, "dedup_key"),
                         ({"slack_webhook_url": WEBHOOK, "text": "  "}, "text is empty"),
                         ({"slack_webhook_url": "hooks.slack.com/x"}, "must start with https://")]:
        result = run_module("notify", dict(args, pagerduty_url=BASE + "/pagerduty/v2/enqueue"))
        assert result["failed"] is True and needle in result["msg"], (args, result.get("msg"))
        assert "Nothing was sent" in result["msg"]
    assert received() == {"slack": [], "pagerduty": []}


def test_nothing_configured_is_reported_not_failed():
    result = run_module("notify", {"text": "hello"}, env={"EASYMO_SLACK_WEBHOOK_URL": ""})
    assert result.get("failed") is not True and result["notifications"][0]["status"] == "not_configured"
    assert result["changed"] is False
