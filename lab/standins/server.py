#!/usr/bin/env python3
"""Stand-ins for what cannot run in the lab, on one loopback port.

GET /health/<service>   200 {"status":"healthy"} when that Deployment is fully rolled out on its good
                        release, 503 {"status":"unhealthy", ...} otherwise (read from the lab cluster).
GET /metrics/errors     {"error_rate": <float>} derived from the cluster: which releases run, and the flags
                        agent-core's Ready pods actually started with (AI on/off, rollout percentage).
GET /metrics/summary    the dashboard's numbers: error_rate, p95_latency_seconds, throughput_rpm and its baseline.
GET /api/v2/alerts      Alertmanager's API v2: the alerts firing, derived from the same state (HighErrorRate,
                        HighLatency, ServiceUnhealthy), plus any planted with POST /_lab/alerts (reset:
                        POST /_lab/alerts/reset). Honours ?active=, ?silenced=, ?inhibited= and ?filter=name="v".
POST /simulate/order    {"user_id": "..."} -> a test order through catalog (marketplace-service), payment
                        (wallet-service) and confirmation (buyer-service): 200 completed, or 503 naming the step.
POST /slack/...          a Slack incoming webhook; POST /pagerduty/v2/enqueue the PagerDuty Events API v2;
                        both record what they get: GET /_lab/received, POST /_lab/received/reset.
POST /simulate/whatsapp {"user_id": "..."} -> {"flow": "ai"|"menu", "pod": ...}: a test message answered by a
                        Ready agent-core pod according to the flags that pod runs with.
GET /_lab/pod-flags     what each agent-core pod runs with (for tests and people).
GET /_lab/healthz       the stand-in itself is up.

Pod logs: for every pod it sees, the stand-in writes the container's log (CRI format, like a kubelet's) and a kwok
Logs object pointing at it, so `kubectl logs` and the API's pods/log answer through kube-apiserver and kwok.
A pod of a bad release logs ERROR lines; a pod of a good release does not.

Environment variables from a ConfigMap are fixed when a container starts, so, like a kubelet, the stand-in
resolves a pod's flags once, when it first sees the pod, by reading the ConfigMap at that moment.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import threading
import time
import os
import sys
import typing as t
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

LAB = Path(__file__).resolve().parent.parent
REPO = LAB.parent
sys.path.insert(0, str(LAB))
sys.path.insert(0, str(REPO / ".collections"))

import fixture  # noqa: E402  (the lab's own fixture definition: which release is good)
from ansible_collections.easymo.rollback.plugins.module_utils._rollout import (  # noqa: E402
    deployment_rollout_state,
    pod_is_ready,
    template_images,
)
from ansible_collections.easymo.rollback.plugins.module_utils._waiter import PODS, WaitTimeout, watch_until  # noqa: E402

POD_LOGS = REPO / ".lab" / "podlogs"


def pod_log_text(container: str, image: str, good_image: str | None) -> str:
    """60 lines of a container's log in the CRI format kubelets write; a bad release logs an ERROR every third line."""
    bad = good_image is not None and image != good_image
    now = time.time() - 60
    lines = []
    for i in range(60):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now + i)) + ".000000000Z"
        if bad and i % 3 == 0:
            text = "ERROR %s %s: upstream call failed: timeout after 3000ms (request %d)" % (container, image, i)
        else:
            text = "INFO %s %s: handled request %d in 42ms" % (container, image, i)
        lines.append("%s stdout F %s" % (stamp, text))
    return "\n".join(lines) + "\n"


BASE_ERROR_RATE = 0.004
PER_BAD_SERVICE = 0.0005
AI_ERROR_BAD_RELEASE = 0.6
AI_ERROR_GOOD_RELEASE = 0.01


class Cluster:
    def __init__(self) -> None:
        from kubernetes import client, config

        config.load_kube_config(config_file=os.environ.get("KUBECONFIG"))
        self.api = client.ApiClient()
        self.apps = client.AppsV1Api(self.api)
        self.core = client.CoreV1Api(self.api)
        self.lock = threading.Lock()
        self.pods: dict[str, dict] = {}  # agent-core pods by name, as last seen
        self.pod_flags: dict[str, dict] = {}  # pod uid -> flags resolved when the pod was first seen
        self.logged: set[str] = set()  # pod uids whose log exists

    def flags_now(self) -> dict:
        from kubernetes.client.exceptions import ApiException

        try:
            return dict(self.core.read_namespaced_config_map("feature-flags", fixture.NAMESPACE).data or {})
        except ApiException:
            return {}

    def follow_pods(self) -> None:
        """Keep self.pods current from one watch; resolve flags for every new pod."""
        def check(objects: dict, deleted: set) -> None:
            agent = {n: o for n, o in objects.items() if (o["metadata"].get("labels") or {}).get("app") == "agent-core"}
            new = [o for o in agent.values() if o["metadata"]["uid"] not in self.pod_flags]
            if new:
                flags = self.flags_now()
                with self.lock:
                    for o in new:
                        self.pod_flags[o["metadata"]["uid"]] = flags
            with self.lock:
                self.pods = agent
            for o in objects.values():
                if o["metadata"]["uid"] not in self.logged:
                    self.write_pod_log(o)
            return None

        while True:
            try:
                watch_until(self.api, PODS, fixture.NAMESPACE, check, time.monotonic() + 3600)
            except WaitTimeout:
                continue
            except Exception as exc:  # the namespace may not exist yet; keep trying like a kubelet would
                sys.stderr.write("pod watch: %s\n" % exc)
                time.sleep(1)

    def write_pod_log(self, pod: dict) -> None:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        meta = pod["metadata"]
        good = fixture.good_images().get((meta.get("labels") or {}).get("app", ""), {})
        files = []
        for container in pod["spec"].get("containers", []):
            path = POD_LOGS / ("%s_%s_%s.log" % (meta["namespace"], meta["name"], container["name"]))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(pod_log_text(container["name"], container["image"], good.get(container["name"])))
            files.append({"containers": [container["name"]], "logsFile": str(path)})
        body = {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Logs",
                "metadata": {"name": meta["name"], "namespace": meta["namespace"]}, "spec": {"logs": files}}
        try:
            client.CustomObjectsApi(self.api).create_namespaced_custom_object("kwok.x-k8s.io", "v1alpha1", meta["namespace"], "logs", body)
        except ApiException as exc:
            if exc.status != 409:
                sys.stderr.write("pod log %s/%s: %s\n" % (meta["namespace"], meta["name"], exc))
                return
        self.logged.add(meta["uid"])

    def ready_agent_pods(self) -> list[tuple[str, dict]]:
        with self.lock:
            return sorted((o["metadata"]["name"], self.pod_flags.get(o["metadata"]["uid"], {}))
                          for o in self.pods.values() if pod_is_ready(o) and not o["metadata"].get("deletionTimestamp"))

    def all_deployments(self) -> list[dict]:
        return [self.api.sanitize_for_serialization(d) for d in self.apps.list_namespaced_deployment(fixture.NAMESPACE).items]

    def deployment(self, namespace: str, name: str) -> dict | None:
        from kubernetes.client.exceptions import ApiException

        try:
            return self.api.sanitize_for_serialization(self.apps.read_namespaced_deployment(name, namespace))
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise


def service_health(cluster: Cluster, service: str) -> tuple[int, dict]:
    good = fixture.good_images().get(service)
    if good is None:
        return 404, {"status": "unknown", "error": "no such service: %s" % service}
    dep = cluster.deployment(fixture.NAMESPACE, service)
    if dep is None:
        return 503, {"status": "unhealthy", "reason": "deployment not found"}
    state = deployment_rollout_state(dep)
    images = template_images(dep["spec"]["template"])
    if images != good:
        return 503, {"status": "unhealthy", "reason": "running %s, known good is %s" % (images, good)}
    if state.state != "done":
        return 503, {"status": "unhealthy", "reason": state.message}
    return 200, {"status": "healthy"}


def _bucket(user_id: str) -> int:
    return int(hashlib.sha256(user_id.encode()).hexdigest(), 16) % 100


def _listed(flags: dict, key: str) -> set[str]:
    return {u.strip() for u in (flags.get(key) or "").split(",") if u.strip()}


def flow_for(user_id: str, flags: dict) -> str:
    """What agent-core does with a message: AI when the flags running in that pod say so for this user."""
    if user_id in _listed(flags, "FEATURE_AI_AGENTS_DENYLIST"):
        return "menu"
    if user_id in _listed(flags, "FEATURE_AI_AGENTS_ALLOWLIST") and flags.get("FEATURE_AI_AGENTS") == "true":
        return "ai"
    try:
        pct = int(flags.get("FEATURE_AI_AGENTS_ROLLOUT_PERCENTAGE", "0"))
    except ValueError:
        pct = 0
    return "ai" if flags.get("FEATURE_AI_AGENTS") == "true" and _bucket(user_id) < pct else "menu"


def simulate(cluster: Cluster, user_id: str) -> tuple[int, dict]:
    pods = cluster.ready_agent_pods()
    if not pods:
        return 503, {"error": "no Ready agent-core pod"}
    name, flags = pods[_bucket(user_id) % len(pods)]
    return 200, {"user_id": user_id, "flow": flow_for(user_id, flags), "pod": name}


def ai_share(pods: list[tuple[str, dict]]) -> float:
    """The share of traffic the AI flow serves, from the flags the Ready agent-core pods run with."""
    share = 0.0
    for _name, flags in pods:
        try:
            pct = int(flags.get("FEATURE_AI_AGENTS_ROLLOUT_PERCENTAGE", "0"))
        except ValueError:
            pct = 0
        share += (pct / 100.0) if flags.get("FEATURE_AI_AGENTS") == "true" else 0.0
    return share / len(pods) if pods else 0.0


def agent_core_is_bad(deployments: dict[str, dict]) -> bool:
    agent = deployments.get("agent-core")
    return agent is None or template_images(agent["spec"]["template"]) != fixture.good_images()["agent-core"]


def cluster_view(cluster: Cluster) -> tuple[dict[str, dict], list[tuple[str, dict]]]:
    """Deployments by name and agent-core's Ready pods with their flags: what every metric is derived from."""
    return {d["metadata"]["name"]: d for d in cluster.all_deployments()}, cluster.ready_agent_pods()


def error_rate_of(deployments: dict[str, dict], pods: list[tuple[str, dict]]) -> float:
    good = fixture.good_images()
    bad_services = [n for n, d in deployments.items() if n != "agent-core" and template_images(d["spec"]["template"]) != good.get(n)]
    ai_error = AI_ERROR_BAD_RELEASE if agent_core_is_bad(deployments) else AI_ERROR_GOOD_RELEASE
    return round(BASE_ERROR_RATE + PER_BAD_SERVICE * len(bad_services) + ai_share(pods) * ai_error, 6)


def error_rate(cluster: Cluster) -> float:
    return error_rate_of(*cluster_view(cluster))


BASELINE_THROUGHPUT_RPM = 1200.0
# The bad agent-core release answers AI requests in about 4 s; once more than 5 % of requests are AI ones that
# is the 95th percentile.
SLOW_AI_SECONDS = 4.0
NORMAL_P95_SECONDS = 0.35


def metrics_summary(cluster: Cluster) -> dict:
    deployments, pods = cluster_view(cluster)  # one read for all the numbers
    rate = error_rate_of(deployments, pods)
    p95 = SLOW_AI_SECONDS if agent_core_is_bad(deployments) and ai_share(pods) > 0.05 else NORMAL_P95_SECONDS
    return {"error_rate": rate, "p95_latency_seconds": p95,
            "throughput_rpm": round(BASELINE_THROUGHPUT_RPM * (1 - rate), 1) if pods else 0.0,
            "baseline_throughput_rpm": BASELINE_THROUGHPUT_RPM}


class Alerts:
    """Alertmanager's GET /api/v2/alerts: gettableAlerts with labels, annotations, times, fingerprint and status."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.planted: list[dict] = []
        self.since: dict[str, str] = {}

    def plant(self, body: dict) -> tuple[int, dict]:
        labels = body.get("labels") if isinstance(body, dict) else None
        if not isinstance(labels, dict) or not labels.get("alertname"):
            return 400, {"error": "labels.alertname is required"}
        with self.lock:
            self.planted.append({"labels": {str(k): str(v) for k, v in labels.items()},
                                 "annotations": dict(body.get("annotations") or {})})
        return 200, {"ok": True}

    def reset(self) -> None:
        with self.lock:
            self.planted = []

    def _alert(self, labels: dict, annotations: dict) -> dict:
        fingerprint = hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        starts = self.since.setdefault(fingerprint, now)
        return {"labels": labels, "annotations": annotations, "startsAt": starts, "updatedAt": now,
                "endsAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 300)),
                "fingerprint": fingerprint, "generatorURL": "http://prometheus.lab/graph",
                "receivers": [{"name": "oncall"}], "status": {"state": "active", "silencedBy": [], "inhibitedBy": []}}

    def firing(self, cluster: Cluster) -> list[dict]:
        summary = metrics_summary(cluster)
        alerts = []
        if summary["error_rate"] > 0.05:
            alerts.append(({"alertname": "HighErrorRate", "severity": "critical"},
                           {"summary": "error rate %.1f%% above 5%%" % (summary["error_rate"] * 100)}))
        if summary["p95_latency_seconds"] > 1:
            alerts.append(({"alertname": "HighLatency", "severity": "warning"},
                           {"summary": "p95 latency %.1f s above 1 s" % summary["p95_latency_seconds"]}))
        for service in fixture.good_images():
            code, body = service_health(cluster, service)
            if code != 200:
                alerts.append(({"alertname": "ServiceUnhealthy", "severity": "critical", "service": service},
                               {"summary": "%s: %s" % (service, body.get("reason", body.get("status")))}))
        with self.lock:
            alerts += [(a["labels"], a["annotations"]) for a in self.planted]
            return [self._alert(dict(labels, namespace=fixture.NAMESPACE), annotations) for labels, annotations in alerts]


ALERTS = Alerts()


def _query_flag(query: dict, name: str) -> bool:
    return (query.get(name) or ["true"])[-1].lower() != "false"


def alerts_answer(cluster: Cluster, query: dict) -> list[dict]:
    """Every alert here is active, unsilenced and uninhibited: ?active=false alone hides them all."""
    if not _query_flag(query, "active"):
        return []
    found = ALERTS.firing(cluster)
    for matcher in query.get("filter", []):
        name, _, value = matcher.partition("=")
        found = [a for a in found if a["labels"].get(name.strip()) == value.strip().strip('"')]
    return found


ORDER_STEPS = [("catalog", "marketplace-service"), ("payment", "wallet-service"), ("confirmation", "buyer-service")]


def simulate_order(cluster: Cluster, user_id: str) -> tuple[int, dict]:
    done = []
    for step, service in ORDER_STEPS:
        code, body = service_health(cluster, service)
        if code != 200:
            return 503, {"user_id": user_id, "status": "failed", "failed_step": step, "service": service,
                         "reason": body.get("reason", body.get("status")), "completed_steps": done}
        done.append(step)
    return 200, {"user_id": user_id, "status": "completed", "completed_steps": done}


class Received:
    """Slack incoming webhooks and the PagerDuty Events API v2, as their public contracts answer, recorded for tests.

    Slack: POST /slack/<T>/<B>/<secret> with JSON holding "text" or "blocks" -> 200 "ok"; otherwise 400
    "invalid_payload"; a secret of "gone" -> 404 "no_service" (a revoked webhook).
    PagerDuty: POST /pagerduty/v2/enqueue with routing_key (32 characters), event_action trigger/acknowledge/resolve,
    and for trigger a payload with summary, source and severity (critical/error/warning/info) -> 202
    {"status":"success","message":"Event processed","dedup_key":...}; otherwise 400 "Event object is invalid".
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.slack_messages: list[dict] = []
            self.pagerduty_events: list[dict] = []

    def snapshot(self) -> dict:
        with self.lock:
            return {"slack": list(self.slack_messages), "pagerduty": list(self.pagerduty_events)}

    def slack(self, path: str, body: dict) -> tuple[int, str]:
        if path.rstrip("/").endswith("/gone"):
            return 404, "no_service"
        if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
            return 400, "invalid_payload"
        with self.lock:
            self.slack_messages.append({"path": path, "body": body})
        return 200, "ok"

    def pagerduty(self, body: dict) -> tuple[int, dict]:
        errors = []
        if not isinstance(body, dict):
            body, errors = {}, ["Event must be a JSON object."]
        if len(str(body.get("routing_key") or "")) != 32:
            errors.append("'routing_key' must be 32 characters.")
        action = body.get("event_action")
        if action not in ("trigger", "acknowledge", "resolve"):
            errors.append("'event_action' is invalid (must be one of: trigger, acknowledge, resolve).")
        payload = body.get("payload") or {}
        if action == "trigger":
            for field in ("summary", "source", "severity"):
                if not payload.get(field):
                    errors.append("'payload.%s' is missing or blank." % field)
            if payload.get("severity") and payload["severity"] not in ("critical", "error", "warning", "info"):
                errors.append("'payload.severity' is invalid (must be one of: critical, error, warning, info).")
        elif action in ("acknowledge", "resolve") and not body.get("dedup_key"):
            errors.append("'dedup_key' is required for %s." % action)
        if errors:
            return 400, {"status": "invalid event", "message": "Event object is invalid", "errors": errors}
        dedup = body.get("dedup_key") or hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32]
        with self.lock:
            self.pagerduty_events.append(dict(body, dedup_key=dedup))
        return 202, {"status": "success", "message": "Event processed", "dedup_key": dedup}


RECEIVED = Received()


def make_handler(cluster: Cluster):
    class Handler(BaseHTTPRequestHandler):
        def _reply(self, code: int, content_type: str, data: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _send(self, code: int, body: t.Any) -> None:
            self._reply(code, "application/json", json.dumps(body).encode())

        def _send_text(self, code: int, text: str) -> None:
            self._reply(code, "text/plain", text.encode())

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            path, _, raw_query = self.path.partition("?")
            if path == "/_lab/healthz":
                return self._send(200, {"ok": True})
            if path.startswith("/health/"):
                try:
                    code, body = service_health(cluster, path[len("/health/"):])
                except Exception as exc:  # a stand-in that cannot read the cluster answers like a broken backend
                    code, body = 502, {"status": "unhealthy", "reason": "stand-in error: %s" % exc}
                return self._send(code, body)
            if path == "/metrics/errors":
                return self._send(200, {"error_rate": error_rate(cluster)})
            if path == "/metrics/summary":
                return self._send(200, metrics_summary(cluster))
            if path == "/api/v2/alerts":
                return self._send(200, alerts_answer(cluster, parse_qs(raw_query)))
            if path == "/_lab/html":  # what a metrics URL answers when it points at a dashboard or a login page
                return self._reply(200, "text/html", b"<html><body>Sign in</body></html>")
            if path == "/_lab/received":
                return self._send(200, RECEIVED.snapshot())
            if path == "/_lab/pod-flags":
                return self._send(200, {name: flags for name, flags in cluster.ready_agent_pods()})
            return self._send(404, {"error": "not found"})

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            path = self.path.split("?", 1)[0]
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                return self._send(400, {"error": "body must be JSON"})
            if path.startswith("/slack/"):
                code, answer = RECEIVED.slack(path, body)
                return self._send_text(code, answer)
            if path == "/pagerduty/v2/enqueue":
                code, answer = RECEIVED.pagerduty(body)
                return self._send(code, answer)
            if path == "/_lab/received/reset":
                RECEIVED.reset()
                return self._send(200, {"ok": True})
            if path == "/simulate/whatsapp":
                user = str(body.get("user_id") or "")
                if not user:
                    return self._send(400, {"error": "user_id is required"})
                code, answer = simulate(cluster, user)
                return self._send(code, answer)
            if path == "/simulate/order":
                user = str(body.get("user_id") or "")
                if not user:
                    return self._send(400, {"error": "user_id is required"})
                code, answer = simulate_order(cluster, user)
                return self._send(code, answer)
            if path == "/_lab/alerts":
                code, answer = ALERTS.plant(body)
                return self._send(code, answer)
            if path == "/_lab/alerts/reset":
                ALERTS.reset()
                return self._send(200, {"ok": True})
            return self._send(404, {"error": "not found"})

        def log_message(self, fmt: str, *args) -> None:
            sys.stderr.write("%s %s\n" % (self.log_date_time_string(), fmt % args))

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    cluster = Cluster()
    threading.Thread(target=cluster.follow_pods, daemon=True).start()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(cluster))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
