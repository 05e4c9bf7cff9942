"""rbac/easymo-rollback.yml is enough for the method playbooks and modules, and refuses what they never need."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from conftest import REPO, run_module, run_playbook
from kubernetes import client, utils
from kubernetes.client.exceptions import ApiException

NS = "easymo-prod"
INVENTORY = str(REPO / "inventories" / "lab")


@pytest.fixture(scope="module")
def token_env(lab):
    docs = yaml.safe_load((REPO / "rbac" / "easymo-rollback.yml").read_text())["items"]
    for doc in docs:
        try:
            utils.create_from_dict(lab.api, doc)
        except utils.FailToCreateError as exc:
            if not all(e.status == 409 for e in exc.api_exceptions):
                raise
    request = lab.core.create_namespaced_service_account_token("easymo-rollback", NS, {"spec": {"expirationSeconds": 3600}})
    conf = lab.api.configuration
    # Only the token: no kubeconfig, no client certificate (what AWX's Kubernetes credential injects).
    env = {"K8S_AUTH_HOST": conf.host, "K8S_AUTH_API_KEY": request.status.token, "K8S_AUTH_SSL_CA_CERT": conf.ssl_ca_cert,
           "K8S_AUTH_KUBECONFIG": "", "KUBECONFIG": "/nonexistent"}
    yield env, request.status.token, conf


def test_method_playbooks_and_modules_run_with_only_the_role(lab, token_env):
    env, token, _conf = token_env
    subprocess.run([sys.executable, str(REPO / "lab" / "fixture.py"), "release", "bad"], check=True, capture_output=True)
    subprocess.run([sys.executable, str(REPO / "lab" / "fixture.py"), "flags"], check=True, capture_output=True)
    for playbook in ("service_rollback.yml", "feature_flag_rollback.yml"):
        proc = run_playbook(REPO / "playbooks" / playbook, "-i", INVENTORY, env=env)
        assert proc.returncode == 0, "%s with the ServiceAccount token:\n%s" % (playbook, proc.stdout[-4000:])
        assert token not in proc.stdout + proc.stderr
    logs = run_module("pod_log_errors", {"namespace": NS, "names": ["agent-core"]}, env=env)
    assert logs["passed"] is True, logs.get("msg")
    plan = run_module("traffic_scale", {"namespace": NS, "label_selector": "app.kubernetes.io/part-of=easymo", "state": "stopped"},
                      check=True, env=env)
    assert plan.get("failed") is not True and plan["hpas"] == [], plan.get("msg")


def test_verbs_it_does_not_need_are_refused(lab, token_env):
    _env, token, conf = token_env
    c = client.Configuration()
    c.host, c.ssl_ca_cert, c.api_key = conf.host, conf.ssl_ca_cert, {"authorization": "Bearer " + token}
    api = client.ApiClient(c)
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    apps.read_namespaced_deployment("agent-core", NS)  # allowed, so the token itself works
    for attempt in (lambda: apps.delete_namespaced_deployment("agent-core", NS),
                    lambda: core.list_namespaced_secret(NS),
                    lambda: core.create_namespaced_pod(NS, {"metadata": {"name": "x"}, "spec": {"containers": [{"name": "x", "image": "x"}]}}),
                    lambda: apps.list_namespaced_deployment("default"),
                    lambda: core.delete_namespaced_config_map("feature-flags", NS)):
        with pytest.raises(ApiException) as err:
            attempt()
        assert err.value.status == 403
    assert apps.read_namespaced_deployment("agent-core", NS).metadata.name == "agent-core"
