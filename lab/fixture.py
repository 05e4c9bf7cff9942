#!/usr/bin/env python3
"""The EasyMO fixture in the lab: namespace easymo-prod, the feature-flags ConfigMap and the runbook's
11 Deployments, each rolled out at a good release and then at a bad one, in deploy order.

    fixture.py apply          create everything at the good release, then roll out the bad release
    fixture.py release good   roll every service to the good release (in deploy order), wait
    fixture.py release bad    roll every service to the bad release (in deploy order), wait
    fixture.py show           one line per service: release, revision, ready
    fixture.py db             (re)create the agent_core database's agent_fallbacks rows, recent errors included
    fixture.py flags [--restart] put the feature-flags ConfigMap back to the incident's values (AI on, 10 %); --restart
                              restarts agent-core so its pods run with them

Uses the admin kubeconfig in .lab/ (or KUBECONFIG).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NAMESPACE = "easymo-prod"
REGISTRY = "registry.easymo.lab"

# Deploy order: the dependent services first, agent-core last. The runbook rolls agent-core back first,
# then the others in reverse deploy order (ranking-service first).
SERVICES: list[dict] = [
    {"name": "customer-support-service", "replicas": 2, "good": "v1.8.3", "bad": "v2.0.0"},
    {"name": "healthcare-service", "replicas": 2, "good": "v1.6.1", "bad": "v2.0.0"},
    {"name": "property-service", "replicas": 2, "good": "v1.7.0", "bad": "v2.0.0"},
    {"name": "marketplace-service", "replicas": 3, "good": "v1.9.2", "bad": "v2.0.0"},
    {"name": "voice-bridge", "replicas": 2, "good": "v1.4.5", "bad": "v2.0.0"},
    {"name": "driver-service", "replicas": 3, "good": "v1.9.0", "bad": "v2.0.0"},
    {"name": "station-service", "replicas": 2, "good": "v1.5.2", "bad": "v2.0.0"},
    {"name": "buyer-service", "replicas": 3, "good": "v1.9.1", "bad": "v2.0.0"},
    {"name": "wallet-service", "replicas": 3, "good": "v1.9.7", "bad": "v2.0.0"},
    {"name": "ranking-service", "replicas": 2, "good": "v1.3.9", "bad": "v2.0.0"},
    {"name": "agent-core", "replicas": 4, "good": "v1.9.4", "bad": "v2.0.0"},
]
FLAGS = {"FEATURE_AI_AGENTS": "true", "FEATURE_AI_AGENTS_ROLLOUT_PERCENTAGE": "10"}


def image(service: dict, release: str) -> str:
    return "%s/%s:%s" % (REGISTRY, service["name"], service[release])


def good_images() -> dict[str, dict[str, str]]:
    """Service -> {container: image} of the good release (what the health stand-in calls healthy)."""
    return {s["name"]: {s["name"]: image(s, "good")} for s in SERVICES}


def deployment(service: dict, release: str) -> dict:
    name = service["name"]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "labels": {"app": name, "app.kubernetes.io/part-of": "easymo", "tier": "core" if name == "agent-core" else "service"},
            "annotations": {"team": "platform" if name == "agent-core" else "services"},
        },
        "spec": {
            "replicas": service["replicas"],
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": name, "app.kubernetes.io/part-of": "easymo"}},
                "spec": {
                    "terminationGracePeriodSeconds": 5,
                    "containers": [{
                        "name": name,
                        "image": image(service, release),
                        "ports": [{"name": "http", "containerPort": 8080}],
                        "envFrom": [{"configMapRef": {"name": "feature-flags"}}],
                        "env": [
                            {"name": "SERVICE_NAME", "value": name},
                            {"name": "AI_ROLLOUT", "valueFrom": {"configMapKeyRef": {"name": "feature-flags", "key": "FEATURE_AI_AGENTS_ROLLOUT_PERCENTAGE"}}},
                        ],
                        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 5, "failureThreshold": 3},
                        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
                    }],
                },
            },
        },
    }


def _clients():
    from kubernetes import client, config

    config.load_kube_config(config_file=os.environ.get("KUBECONFIG") or str(REPO / ".lab" / "kubeconfig"))
    api = client.ApiClient()
    return api, client.CoreV1Api(api), client.AppsV1Api(api)


def _wait_rolled_out(api, names: list[str], timeout: float = 300) -> None:
    sys.path.insert(0, str(REPO / ".collections"))
    from ansible_collections.easymo.rollback.plugins.module_utils._deployments import wait_for_rollouts

    waits = wait_for_rollouts(api, [(NAMESPACE, n) for n in names], timeout)
    bad = [w for w in waits if w.state != "done"]
    if bad:
        raise SystemExit("fixture: rollout did not finish: %s" % "; ".join("%s %s %s" % (w.name, w.state, w.message) for w in bad))


def ensure_base(core) -> None:
    from kubernetes.client.exceptions import ApiException

    try:
        core.create_namespace({"metadata": {"name": NAMESPACE, "labels": {"app.kubernetes.io/part-of": "easymo"}}})
    except ApiException as exc:
        if exc.status != 409:
            raise
    # Pods are refused until the namespace's default ServiceAccount exists.
    for dummy_attempt in range(200):
        try:
            core.read_namespaced_service_account("default", NAMESPACE)
            break
        except ApiException:
            time.sleep(0.1)
    cm = {"metadata": {"name": "feature-flags", "namespace": NAMESPACE}, "data": dict(FLAGS)}
    try:
        core.create_namespaced_config_map(NAMESPACE, cm)
    except ApiException as exc:
        if exc.status != 409:
            raise
        core.replace_namespaced_config_map("feature-flags", NAMESPACE, cm)


def release(apps, api, which: str) -> None:
    """Roll every service to a release in deploy order (each patched, then all waited on)."""
    from kubernetes.client.exceptions import ApiException

    for s in SERVICES:
        body = deployment(s, which)
        try:
            current = apps.read_namespaced_deployment(s["name"], NAMESPACE)
        except ApiException as exc:
            if exc.status != 404:
                raise
            apps.create_namespaced_deployment(NAMESPACE, body)
            continue
        # A test may have planted lab behaviours (lab.easymo.com/never-ready...) in the template: a release
        # replaces the whole template, so they go; a merge patch would keep them.
        planted = {k: v for k, v in (current.spec.template.metadata.annotations or {}).items() if k.startswith("lab.easymo.com/")}
        wanted = {k: v for k, v in (body["spec"]["template"]["metadata"].get("annotations") or {}).items() if k.startswith("lab.easymo.com/")}
        if current.spec.template.spec.containers[0].image != image(s, which) or planted != wanted:
            apps.patch_namespaced_deployment(s["name"], NAMESPACE, [{"op": "replace", "path": "/spec/template", "value": body["spec"]["template"]}])
    _wait_rolled_out(api, [s["name"] for s in SERVICES])


def ensure_agent_core_db() -> None:
    """agent_core.agent_fallbacks: a day of fallbacks, with the last 10 minutes' errors concentrated on a few users."""
    import random

    import psycopg2
    import psycopg2.extras

    conn = psycopg2.connect(dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = 'agent_core'")
        if not cur.fetchone():
            cur.execute("CREATE DATABASE agent_core")
    conn.close()
    rng = random.Random(42)
    rows = []
    for _n in range(20000):  # older history, never in the 10-minute window
        rows.append(("u-%04d" % rng.randint(1, 3000), rng.choice(["error", "timeout", "low_confidence", "user_opt_out"]),
                     rng.uniform(15 * 60, 24 * 3600)))
    for user, count in (("u-1001", 41), ("u-1002", 27), ("u-1003", 13), ("u-1004", 8), ("u-1005", 5)):
        rows += [(user, "error", rng.uniform(5, 540)) for _i in range(count)]
    rows += [("u-%04d" % rng.randint(2000, 2999), "error", rng.uniform(5, 540)) for _i in range(30)]
    rows += [("u-%04d" % rng.randint(1, 3000), "timeout", rng.uniform(5, 540)) for _i in range(50)]
    conn = psycopg2.connect(dbname="agent_core")
    with conn, conn.cursor() as cur:
        cur.execute("""CREATE TABLE IF NOT EXISTS agent_fallbacks (
                         id bigserial PRIMARY KEY, user_id text NOT NULL, reason text NOT NULL,
                         created_at timestamptz NOT NULL DEFAULT now())""")
        cur.execute("CREATE INDEX IF NOT EXISTS agent_fallbacks_created_at ON agent_fallbacks (created_at)")
        cur.execute("TRUNCATE agent_fallbacks")
        psycopg2.extras.execute_values(
            cur, "INSERT INTO agent_fallbacks (user_id, reason, created_at) VALUES %s",
            rows, template="(%s, %s, now() - make_interval(secs => %s))", page_size=5000)
        # The verification checklist's tables: users, a day of orders, and agent sessions, none 'pending' (a pending
        # session untouched for an hour is the runbook's orphan: tests plant one; fixture rows would age into one).
        cur.execute("""CREATE TABLE IF NOT EXISTS users (id bigserial PRIMARY KEY, phone text NOT NULL UNIQUE,
                         created_at timestamptz NOT NULL DEFAULT now())""")
        cur.execute("""CREATE TABLE IF NOT EXISTS orders (id bigserial PRIMARY KEY,
                         user_id bigint NOT NULL REFERENCES users (id), total_cents integer NOT NULL,
                         created_at timestamptz NOT NULL DEFAULT now())""")
        cur.execute("""CREATE TABLE IF NOT EXISTS agent_sessions (id bigserial PRIMARY KEY,
                         user_id bigint NOT NULL REFERENCES users (id), status text NOT NULL,
                         updated_at timestamptz NOT NULL DEFAULT now())""")
        cur.execute("TRUNCATE agent_sessions, orders, users RESTART IDENTITY")
        cur.execute("INSERT INTO users (phone) SELECT '+2507' || lpad(g::text, 8, '0') FROM generate_series(1, 3000) g")
        cur.execute("""INSERT INTO orders (user_id, total_cents, created_at)
                       SELECT 1 + (g * 7919) % 3000, 500 + (g * 31) % 20000, now() - make_interval(mins => g % 2880)
                       FROM generate_series(1, 6000) g""")
        cur.execute("""INSERT INTO agent_sessions (user_id, status, updated_at)
                       SELECT 1 + (g * 104729) % 3000, CASE WHEN g % 5 = 0 THEN 'active' ELSE 'completed' END,
                              now() - make_interval(mins => CASE WHEN g % 5 = 0 THEN g % 30 ELSE g % 600 END)
                       FROM generate_series(1, 4000) g""")
    conn.close()


def reset_flags(core) -> None:
    """Exactly the incident's flags again (allow/deny lists from a Method 2 run removed)."""
    cm = core.read_namespaced_config_map("feature-flags", NAMESPACE)
    cm.data = dict(FLAGS)
    core.replace_namespaced_config_map("feature-flags", NAMESPACE, cm)


def show(apps) -> None:
    for s in SERVICES:
        d = apps.read_namespaced_deployment(s["name"], NAMESPACE)
        img = d.spec.template.spec.containers[0].image
        which = "good" if img == image(s, "good") else "bad" if img == image(s, "bad") else "other"
        print("%-26s %-5s rev %-3s ready %s/%s" % (s["name"], which, (d.metadata.annotations or {}).get("deployment.kubernetes.io/revision"),
                                                   d.status.ready_replicas or 0, d.spec.replicas))


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else "apply"
    if cmd == "db":
        ensure_agent_core_db()
        return 0
    api, core, apps = _clients()
    if cmd == "apply":
        ensure_base(core)
        release(apps, api, "good")
        release(apps, api, "bad")
        ensure_agent_core_db()
    elif cmd == "flags":
        reset_flags(core)
        if "--restart" in argv:
            # The incident as users see it: agent-core's pods started with these flags (env vars are read at start).
            sys.path.insert(0, str(REPO / ".collections"))
            from ansible_collections.easymo.rollback.plugins.module_utils._deployments import (
                patch_template_annotations,
                restart_stamp,
            )
            patch_template_annotations(api, NAMESPACE, "agent-core", {"kubectl.kubernetes.io/restartedAt": restart_stamp()}, False)
            _wait_rolled_out(api, ["agent-core"])
    elif cmd == "release" and len(argv) > 2 and argv[2] in ("good", "bad"):
        ensure_base(core)
        release(apps, api, argv[2])
    elif cmd == "show":
        show(apps)
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
