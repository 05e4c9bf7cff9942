"""Integration tests run against the lab (make lab): a real control plane with KWOK nodes.

They never skip: without a running lab they fail and say how to start it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LAB_ENV = REPO / ".lab" / "env"
VENV_BIN = Path(sys.executable).parent


def load_lab_env() -> None:
    if not LAB_ENV.exists():
        raise RuntimeError("The lab is not running: start it with `make lab` (it writes .lab/env).")
    for line in LAB_ENV.read_text().splitlines():
        if line.startswith("export "):
            key, value = line[len("export "):].split("=", 1)
            value = value.strip('"')
            if key == "PATH":
                value = value.replace("$PATH", os.environ.get("PATH", ""))
            os.environ[key] = value


load_lab_env()

from kubernetes import client, config  # noqa: E402
from kubernetes.client.exceptions import ApiException  # noqa: E402

from ansible_collections.easymo.rollback.plugins.module_utils._deployments import wait_for_rollouts  # noqa: E402


class Lab:
    def __init__(self) -> None:
        config.load_kube_config(config_file=os.environ["KUBECONFIG"])
        self.api = client.ApiClient()
        self.apps = client.AppsV1Api(self.api)
        self.core = client.CoreV1Api(self.api)
        self.namespaces: list[str] = []

    # ---- namespaces and deployments
    def namespace(self, prefix: str) -> str:
        name = "t-%s-%s" % (prefix.lower().replace("_", "-")[:30], uuid.uuid4().hex[:6])
        self.core.create_namespace({"metadata": {"name": name, "labels": {"easymo.test": "true"}}})
        for dummy_attempt in range(300):
            try:
                self.core.read_namespaced_service_account("default", name)
                break
            except ApiException:
                time.sleep(0.1)
        self.namespaces.append(name)
        return name

    def deployment(self, ns: str, name: str, image: str, replicas: int = 2, labels: dict | None = None,
                   annotations: dict | None = None, template_annotations: dict | None = None,
                   history_limit: int = 10, progress_deadline: int = 600, selector: dict | None = None) -> dict:
        labels = labels or {"app": name}
        body = {
            "metadata": {"name": name, "labels": labels, "annotations": annotations or {}},
            "spec": {
                "replicas": replicas,
                "revisionHistoryLimit": history_limit,
                "progressDeadlineSeconds": progress_deadline,
                "selector": selector or {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": dict(labels), "annotations": template_annotations or {}},
                    "spec": {"terminationGracePeriodSeconds": 1,
                             "containers": [{"name": "app", "image": image}]},
                },
            },
        }
        return self.api.sanitize_for_serialization(self.apps.create_namespaced_deployment(ns, body))

    def set_image(self, ns: str, name: str, image: str, template_annotations: dict | None = None) -> None:
        patch: dict = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}
        if template_annotations is not None:
            patch["spec"]["template"]["metadata"] = {"annotations": template_annotations}
        self.apps.patch_namespaced_deployment(name, ns, patch)

    def restart(self, ns: str, name: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.apps.patch_namespaced_deployment(name, ns, {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": stamp}}}}})

    def wait_done(self, ns: str, names: list[str], timeout: float = 120) -> None:
        waits = wait_for_rollouts(self.api, [(ns, n) for n in names], timeout)
        bad = [(w.name, w.state, w.message) for w in waits if w.state != "done"]
        assert not bad, "lab setup: rollout did not finish: %s" % bad

    def wait_revision(self, ns: str, name: str, revision: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            d = self.apps.read_namespaced_deployment(name, ns)
            if (d.metadata.annotations or {}).get("deployment.kubernetes.io/revision") == str(revision):
                return
            time.sleep(0.1)
        raise AssertionError("lab setup: %s/%s never reached revision %d" % (ns, name, revision))

    def get(self, ns: str, name: str) -> dict:
        return self.api.sanitize_for_serialization(self.apps.read_namespaced_deployment(name, ns))

    def image(self, ns: str, name: str) -> str:
        return self.get(ns, name)["spec"]["template"]["spec"]["containers"][0]["image"]

    def resource_versions(self, ns: str) -> dict[str, str]:
        out = {}
        for d in self.apps.list_namespaced_deployment(ns).items:
            out["deploy/" + d.metadata.name] = d.metadata.resource_version
        for rs in self.apps.list_namespaced_replica_set(ns).items:
            out["rs/" + rs.metadata.name] = rs.metadata.resource_version
        return out

    def settle(self, ns: str, quiet: float = 1.5, timeout: float = 60) -> dict[str, str]:
        """Wait until the controllers are done with the namespace (no resourceVersion changes for `quiet` s)."""
        deadline = time.monotonic() + timeout
        last, since = self.resource_versions(ns), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.25)
            now = self.resource_versions(ns)
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return now
        raise AssertionError("lab setup: namespace %s never settled" % ns)

    def replicasets(self, ns: str) -> list[dict]:
        return [self.api.sanitize_for_serialization(rs) for rs in self.apps.list_namespaced_replica_set(ns).items]

    def cleanup(self) -> None:
        for ns in self.namespaces:
            try:
                self.core.delete_namespace(ns)
            except ApiException:
                pass


@pytest.fixture(scope="session")
def lab():
    lab = Lab()
    yield lab
    lab.cleanup()


def run_playbook(playbook: Path, *args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    full_env.update(env or {})
    return subprocess.run([str(VENV_BIN / "ansible-playbook"), str(playbook), *args], cwd=REPO, env=full_env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def run_module(module: str, args: dict, check: bool = False, diff: bool = False, env: dict | None = None,
               verbosity: int = 0) -> dict:
    """Run one module as Ansible runs it (a one-task play on localhost) and return its result."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        play = [{
            "name": "run one module", "hosts": "localhost", "gather_facts": False,
            "tasks": [
                {"name": "module under test", "easymo.rollback." + module: args, "register": "result",
                 "ignore_errors": True, "check_mode": check, "diff": diff},
                {"name": "save result", "ansible.builtin.copy": {"content": "{{ result | to_json }}", "dest": str(out), "mode": "0600"},
                 "check_mode": False},
            ],
        }]
        pb = Path(tmp) / "play.yml"
        pb.write_text(json.dumps(play))
        extra = ["-" + "v" * verbosity] if verbosity else []
        proc = run_playbook(pb, "-i", str(REPO / "inventories" / "lab"), *extra, env=env)
        if not out.exists():
            raise AssertionError("module run produced no result:\n%s\n%s" % (proc.stdout[-3000:], proc.stderr[-3000:]))
        result = json.loads(out.read_text())
        result["_stdout"] = proc.stdout
        result["_stderr"] = proc.stderr
        return result
