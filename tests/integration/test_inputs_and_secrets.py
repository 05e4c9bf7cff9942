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


def test_selections_that_would_widen_are_refused_before_anything_changes(lab):
    ns = lab.namespace("widen")
    lab.deployment(ns, "a", "registry.lab/a:v1")
    lab.wait_done(ns, ["a"])
    lab.set_image(ns, "a", "registry.lab/a:v2")
    lab.wait_done(ns, ["a"])
    before = lab.settle(ns)
    cases = [
        ({"namespace": ns, "names": []}, "names is empty"),
        ({"namespace": ns, "label_selector": " "}, "label_selector is empty"),
        ({"namespace": "", "names": ["a"]}, "not a valid namespace"),
        ({"namespace": ns, "names": ["a", "a"]}, "named more than once"),
        ({"namespace": ns, "names": ["Bad_Name"]}, "not valid Deployment names"),
    ]
    for args, expected in cases:
        # The two modules that change things; the read-only ones share the same selection code.
        for module in ("deployment_rollback", "rollout_restart"):
            result = run_module(module, args)
            assert result["failed"] is True and expected in result["msg"], (module, args, result.get("msg"))
    assert lab.resource_versions(ns) == before
    for module in ("rollout_status", "rollout_history_info"):
        assert "names is empty" in run_module(module, {"namespace": ns, "names": []})["msg"]


def test_token_with_host_is_never_mixed_with_the_kubeconfig_admin_identity(lab):
    # K8S_AUTH_KUBECONFIG (admin certificate) stays in the environment: the token must still be the identity.
    args = {"namespace": "easymo-prod", "names": ["agent-core"], "host": _server(), "api_key": PLANTED,
            "ca_cert": str(REPO / ".lab" / "pki" / "ca.crt")}
    result = run_module("rollout_history_info", args)
    assert result["failed"] is True and "HTTP 401" in result["msg"]


def test_missing_certificate_file_is_named():
    result = run_module("rollout_status", {"namespace": "easymo-prod", "names": ["agent-core"], "ca_cert": "/nonexistent/ca.pem"})
    assert result["failed"] is True and "ca_cert file /nonexistent/ca.pem does not exist" in result["msg"]


def test_password_in_health_url_is_redacted():
    base = os.environ["EASYMO_LAB_STANDINS_URL"].replace("http://", "http://probe:PASSW0RDX@")
    result = run_module("health_check", {"base_url": base, "services": ["agent-core", "wallet-service"], "timeout": 0,
                                         "fail_on_unhealthy": False})
    assert "PASSW0RDX" not in result["_stdout"] + result["_stderr"] + json.dumps(result)
    assert result["endpoints"][0]["url"].startswith("http://***@")
    dup = run_module("health_check", {"base_url": base, "services": ["agent-core", "agent-core"]})
    assert dup["failed"] is True and "more than once" in dup["msg"] and "PASSW0RDX" not in dup["_stdout"]


def test_playbook_refuses_bad_service_lists_before_touching_the_cluster():
    from conftest import run_playbook

    for extra, expected in (('{"service_rollback_services": "wallet-service,wallet-service"}', "named twice"),
                            ('{"service_rollback_services": [], "service_rollback_include_core": false}', "Nothing to roll back")):
        proc = run_playbook(REPO / "playbooks" / "service_rollback.yml", "-i", str(REPO / "inventories" / "lab"), "-e", extra)
        assert proc.returncode != 0 and expected in proc.stdout, proc.stdout[-2000:]
        assert "Plan:" not in proc.stdout


def test_header_with_a_line_break_is_refused_and_never_printed():
    """Helper finding: requests' own error showed the header value, which the mask did not match."""
    secret = "TOPSECRET-7c1d0e"
    base = os.environ["EASYMO_LAB_STANDINS_URL"]
    for module, args in [("health_check", {"base_url": base, "services": ["agent-core"], "headers": {"Authorization": "Bearer %s\n" % secret}}),
                         ("metric_watch", {"url": base + "/metrics/errors", "path": ".error_rate", "below": 1,
                                           "headers": {"Authorization": "Bearer %s\n" % secret}}),
                         ("edge_function_health", {"names": ["wa-webhook"], "functions_url": os.environ["EASYMO_FUNCTIONS_URL"],
                                                   "jwt": secret + "\n"})]:
        result = run_module(module, args, verbosity=3)
        assert result["failed"] is True and "line break" in result["msg"], (module, result.get("msg"))
        assert secret not in result["_stdout"] + result["_stderr"] + json.dumps(result)


def test_invalid_urls_are_clear_errors():
    for module, args in [("health_check", {"base_url": "http://[::1", "services": ["agent-core"]}),
                         ("edge_function_health", {"names": ["wa-webhook"], "functions_url": "http://[::1"}),
                         ("metric_watch", {"url": "http://[::1/metrics", "path": ".error_rate", "below": 1})]:
        result = run_module(module, args)
        assert result["failed"] is True and "not a valid URL" in result["msg"], (module, result.get("msg"))
        assert "Traceback" not in result["_stdout"] + result["_stderr"]
