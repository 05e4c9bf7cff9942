#!/usr/bin/env python3
"""Stand-ins for what cannot run in the lab, on one loopback port.

GET /health/<service>   200 {"status":"healthy"} when that Deployment is fully rolled out on its good
                        release, 503 {"status":"unhealthy", ...} otherwise (read from the lab cluster).
GET /_lab/healthz       the stand-in itself is up.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

LAB = Path(__file__).resolve().parent.parent
REPO = LAB.parent
sys.path.insert(0, str(LAB))
sys.path.insert(0, str(REPO / ".collections"))

import fixture  # noqa: E402  (the lab's own fixture definition: which release is good)
from ansible_collections.easymo.rollback.plugins.module_utils._rollout import deployment_rollout_state, template_images  # noqa: E402


class Cluster:
    def __init__(self) -> None:
        from kubernetes import client, config

        config.load_kube_config(config_file=os.environ.get("KUBECONFIG"))
        self.api = client.ApiClient()
        self.apps = client.AppsV1Api(self.api)

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


def make_handler(cluster: Cluster):
    class Handler(BaseHTTPRequestHandler):
        def _send(self, code: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            path = self.path.split("?", 1)[0]
            if path == "/_lab/healthz":
                return self._send(200, {"ok": True})
            if path.startswith("/health/"):
                try:
                    code, body = service_health(cluster, path[len("/health/"):])
                except Exception as exc:  # a stand-in that cannot read the cluster answers like a broken backend
                    code, body = 502, {"status": "unhealthy", "reason": "stand-in error: %s" % exc}
                return self._send(code, body)
            return self._send(404, {"error": "not found"})

        def log_message(self, fmt: str, *args) -> None:
            sys.stderr.write("%s %s\n" % (self.log_date_time_string(), fmt % args))

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(Cluster()))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
