"""awx/: every survey follows AWX's survey rules and asks only for variables its playbook reads; every job template
points at a playbook that exists; no template allows simultaneous runs; the workflow gates Method 5 on an approval."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
AWX = REPO / "awx"
TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}


def survey_problems(survey: dict) -> list[str]:
    """AWX's checks on a survey_spec POST (job_template_survey_spec), as problems in words."""
    problems = []
    for key in ("name", "description", "spec"):
        if key not in survey:
            problems.append("'%s' missing" % key)
    spec = survey.get("spec")
    if not isinstance(spec, list) or not spec:
        return problems + ["'spec' must be a non-empty list"]
    seen = set()
    for i, q in enumerate(spec):
        where = "question %d" % i
        if not isinstance(q, dict):
            problems.append("%s is not an object" % where)
            continue
        for key in ("type", "question_name", "variable", "required"):
            if key not in q:
                problems.append("%s: '%s' missing" % (where, key))
        if q.get("type") not in TYPES:
            problems.append("%s: type %r is not one of %s" % (where, q.get("type"), sorted(TYPES)))
        var = q.get("variable", "")
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", var):
            problems.append("%s: variable %r is not a valid variable name" % (where, var))
        if var in seen:
            problems.append("%s: variable %r duplicated" % (where, var))
        seen.add(var)
        if not isinstance(q.get("required"), bool):
            problems.append("%s: required must be true or false" % where)
        default = q.get("default", "")
        if q.get("type") in ("multiplechoice", "multiselect"):
            choices = q.get("choices")
            choices = choices.split("\n") if isinstance(choices, str) else choices
            if not isinstance(choices, list) or not choices:
                problems.append("%s: choices must be a non-empty list" % where)
                continue
            picked = [d for d in str(default).split("\n") if d] if q["type"] == "multiselect" else ([default] if default != "" else [])
            for d in picked:
                if d not in choices:
                    problems.append("%s: default %r is not one of the choices" % (where, d))
            if q.get("required") and q["type"] == "multiplechoice" and default == "":
                problems.append("%s: a required choice needs a default" % where)
        if q.get("type") in ("integer", "float"):
            lo, hi = q.get("min"), q.get("max")
            if default != "" and (isinstance(default, bool) or not isinstance(default, (int, float))):
                problems.append("%s: default must be a number" % where)
            elif default != "" and ((lo is not None and default < lo) or (hi is not None and default > hi)):
                problems.append("%s: default %s outside %s-%s" % (where, default, lo, hi))
            if q["type"] == "integer" and any(v is not None and not isinstance(v, int) for v in (lo, hi)):
                problems.append("%s: min and max of an integer must be integers" % where)
        if q.get("type") in ("text", "textarea", "password") and default != "":
            lo, hi = q.get("min") or 0, q.get("max")
            if len(str(default)) < lo or (hi is not None and len(str(default)) > hi):
                problems.append("%s: default length outside %s-%s" % (where, lo, hi))
    return problems


def config() -> dict:
    return yaml.safe_load((AWX / "configure_awx.yml").read_text())[0]


@pytest.mark.parametrize("path", sorted(AWX.glob("surveys/*.json")), ids=lambda p: p.stem)
def test_every_survey_is_valid_and_asks_what_its_playbook_reads(path):
    survey = json.loads(path.read_text())
    assert survey_problems(survey) == []
    templates = {t.get("survey"): t["playbook"] for t in config()["vars"]["awx_job_templates"]}
    playbook = templates[path.stem]
    text = (REPO / playbook).read_text()
    if path.stem == "verify":
        text += (REPO / "roles" / "verify" / "defaults" / "main.yml").read_text()
    for q in survey["spec"]:
        assert re.search(r"\b%s\b" % q["variable"], text), "%s asks for %s, which %s never reads" % (path.name, q["variable"], playbook)


def test_the_validator_catches_what_awx_refuses():
    bad = {"name": "x", "description": "", "spec": [
        {"question_name": "a", "type": "multiplechoice", "variable": "sev", "required": True, "choices": ["P0"], "default": "P9"},
        {"question_name": "b", "type": "integer", "variable": "sev", "required": True, "min": 0, "max": 100, "default": 150},
        {"question_name": "c", "type": "dropdown", "variable": "1x", "required": "yes"}]}
    found = survey_problems(bad)
    assert any("default 'P9' is not one of the choices" in p for p in found)
    assert any("variable 'sev' duplicated" in p for p in found) and any("default 150 outside 0-100" in p for p in found)
    assert any("type 'dropdown'" in p for p in found) and any("not a valid variable name" in p for p in found)
    assert any("required must be true or false" in p for p in found)


def test_templates_point_at_real_playbooks_and_never_run_twice_at_once():
    play = config()
    tasks = {t["name"]: t for t in play["tasks"]}
    jt = tasks["Job templates, one run at a time each"]["awx.awx.job_template"]
    assert jt["allow_simultaneous"] is False
    for t in play["vars"]["awx_job_templates"]:
        assert (REPO / t["playbook"]).is_file(), t["playbook"]
    injected = {k for ct in play["vars"]["awx_credential_types"] for k in ct["injectors"]["env"]}
    assert {"SUPABASE_ACCESS_TOKEN", "PGPASSWORD", "EASYMO_SLACK_WEBHOOK_URL", "EASYMO_PAGERDUTY_ROUTING_KEY"} <= injected
    assert all(f["secret"] for ct in play["vars"]["awx_credential_types"] for f in ct["inputs"]["fields"])


def test_workflow_follows_the_decision_tree_with_an_approval_before_the_database():
    wf = {t["name"]: t for t in config()["tasks"]}[
        "The runbook's decision tree: Method 1, verify, Method 3, verify; the database only after approval"]["awx.awx.workflow_job_template"]
    nodes = {n["identifier"]: n for n in wf["workflow_nodes"]}
    assert wf["allow_simultaneous"] is False
    assert [s["identifier"] for s in nodes["verify1"]["related"]["failure_nodes"]] == ["method3"]
    assert nodes["approve_database"]["unified_job_template"]["type"] == "workflow_approval"
    # Method 5 is reached only through the approval node.
    into_method5 = [i for i, n in nodes.items() for rel in (n.get("related") or {}).values() for s in rel if s["identifier"] == "method5"]
    assert into_method5 == ["approve_database"]
