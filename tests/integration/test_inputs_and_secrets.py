"""Bad input gets a clear error naming the object, before anything changes; secrets never reach output."""

from __future__ import annotations

import json
import os

from conftest import REPO, run_module

PLANTED = "planted-token-7f3c9e1d5b"


def _no_kubeconfig_env(**extra: str) -> dict:
    env = {"K8S_AUTH_KUBECONFIG": "", "KUBECONFIG": str(REPO / ".lab" / "does-not-exist")}
    env.update(extra)
    return env


def _server() -> str:
    return json.loads((REPO / ".lab" / "kubeconfig").read_text())["clusters"][0]["cluster"]["server"]


def test_api_key_parameter_is_never_printed(lab):
    args = {"namespace": "easymo-prod", "names": ["agent-core"], "host": _server(), "api_key": PLANTED,
            "ca_cert": str(REPO / ".lab" / "pki" / "ca.crt")}
    result = run_module("deployment_rollback", args, env=_no_kubeconfig_env(), verbosity=4)
    assert result["failed"] is True
    assert "HTTP 401" in result["msg"] and "not authenticated" in result["msg"]
    assert PLANTED not in result["_stdout"] + result["_stderr"] + json.dumps(result)
    assert "Traceback" not in result["_stdout"] + result["_stderr"]


def test_api_key_from_environment_is_used_and_never_printed(lab):
    env = _no_kubeconfig_env(K8S_AUTH_API_KEY=PLANTED, K8S_AUTH_HOST=_server(),
                             K8S_AUTH_SSL_CA_CERT=str(REPO / ".lab" / "pki" / "ca.crt"))
    result = run_module("rollout_status", {"namespace": "easymo-prod", "names": ["agent-core"]}, env=env, verbosity=4)
    assert result["failed"] is True and "HTTP 401" in result["msg"]
    assert PLANTED not in result["_stdout"] + result["_stderr"] + json.dumps(result)


def test_missing_kubeconfig_file_is_a_clear_error():
    result = run_module("deployment_rollback", {"namespace": "easymo-prod", "names": ["agent-core"],
                                                "kubeconfig": "/nonexistent/kubeconfig"})
    assert result["failed"] is True
    assert "/nonexistent/kubeconfig" in result["msg"]
    assert "Traceback" not in result["_stdout"] + result["_stderr"]


def test_unreachable_api_server_is_a_clear_error():
    result = run_module("rollout_history_info", {"namespace": "easymo-prod", "names": ["agent-core"],
                                                 "host": "https://127.0.0.1:9", "api_key": "x", "validate_certs": False},
                        env=_no_kubeconfig_env())
    assert result["failed"] is True
    assert "cannot reach the Kubernetes API server" in result["msg"]
    assert "Traceback" not in result["_stdout"] + result["_stderr"]


def test_unknown_namespace_names_it():
    result = run_module("deployment_rollback", {"namespace": "no-such-namespace", "names": ["agent-core"]})
    assert result["failed"] is True
    assert "agent-core" in result["msg"] and "no-such-namespace" in result["msg"]


def test_conflicting_and_invalid_options_are_refused():
    both = run_module("deployment_rollback", {"namespace": "easymo-prod", "names": ["agent-core"], "to_revision": 1,
                                              "target_images": {"agent-core": "x:1"}})
    assert both["failed"] is True and "mutually exclusive" in both["msg"]
    zero = run_module("deployment_rollback", {"namespace": "easymo-prod", "names": ["agent-core"], "wait_timeout": 0})
    assert zero["failed"] is True and "wait_timeout" in zero["msg"]
    bad_images = run_module("deployment_rollback", {"namespace": "easymo-prod", "names": ["agent-core"], "target_images": {"agent-core": ""}})
    assert bad_images["failed"] is True and "target_images" in bad_images["msg"]
    no_target = run_module("deployment_rollback", {"namespace": "easymo-prod"})
    assert no_target["failed"] is True and "names" in no_target["msg"]
    for r in (both, zero, bad_images, no_target):
        assert "Traceback" not in r["_stdout"] + r["_stderr"]


def test_health_check_bad_urls_are_refused_clearly():
    result = run_module("health_check", {"targets": [{"name": "x", "url": "ftp://nope"}]})
    assert result["failed"] is True and "targets[0]" in result["msg"]
    html = run_module("health_check", {"targets": [{"name": "page", "url": os.environ["EASYMO_LAB_STANDINS_URL"] + "/nope"}], "timeout": 0})
    assert html["failed"] is True and html["endpoints"][0]["verdict"] == "unhealthy"
