#!/usr/bin/env python3
"""Supabase stand-in: the Management API and the function host, following the public contract.

Management API (port --api-port), every answer with X-RateLimit-Limit/Remaining/Reset:
  GET    /v1/projects/{ref}
  GET    /v1/projects/{ref}/functions
  GET    /v1/projects/{ref}/functions/{slug}                 404 when missing
  POST   /v1/projects/{ref}/functions/deploy?slug=...        multipart; 201 (bundleOnly=true: stored, not activated)
  PUT    /v1/projects/{ref}/functions                        bulk activate/replace: 200 {"functions": [...]}
  PATCH  /v1/projects/{ref}/functions/{slug}                 {"verify_jwt": ..., "name": ...}
  DELETE /v1/projects/{ref}/functions/{slug}                 200 {"message": "ok"}
  GET    /v1/projects/{ref}/functions/{slug}/body            multipart with Accept: multipart/form-data
Function host (port --functions-port): /functions/v1/<slug>/... ; /_health answers
  {"status": "healthy", "version": <VERSION found in the deployed source>}.

Lab controls (no auth, not part of the contract): POST /_lab/faults (JSON, merged), POST /_lab/reset,
GET /_lab/state (functions with their deployed files and every deploy request received).
Faults: deploy_429 (count) + retry_after (s); deploy_500 (count) + deploy_500_applies (bool: the deploy
happened although 500 was answered) + deploy_500_slug (only that function); deploy_409 (count); slow_ms
(every answer); deploy_latency_ms (server-side bundling time of a deploy); stale_probes (old version served
for N probes after each deploy); blob_missing, boot_error (function host).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".collections"))
# The same multipart reader as the collection's client; the real CLI's uploads are checked against this
# stand-in by the tests, so a parser that misread them would fail there.
from ansible_collections.easymo.rollback.plugins.module_utils._supabase_api import parse_multipart  # noqa: E402

REF_RE = re.compile(r"^[a-z]{20}$")
SLUG_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
VERSION_RE = re.compile(r"""VERSION\s*=\s*["']([^"']+)["']""")
RATE_LIMIT = 120
RATE_WINDOW = 60.0


def now_ms() -> int:
    return int(time.time() * 1000)


def build_multipart(parts: list[tuple[str, str | None, bytes]]) -> tuple[str, bytes]:
    boundary = "easymo-lab-" + uuid.uuid4().hex
    out = b""
    for name, filename, content in parts:
        disp = 'form-data; name="%s"' % name + ('; filename="%s"' % filename if filename else "")
        out += b"--" + boundary.encode() + b"\r\nContent-Disposition: " + disp.encode() + b"\r\n"
        out += b"Content-Type: application/octet-stream\r\n\r\n" if filename else b"\r\n"
        out += content + b"\r\n"
    out += b"--" + boundary.encode() + b"--\r\n"
    return "multipart/form-data; boundary=" + boundary, out


class State:
    def __init__(self, token: str, refs: list[str]) -> None:
        self.token = token
        self.refs = set(refs)
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.functions: dict[tuple[str, str], dict] = {}  # (ref, slug) -> function object
            self.files: dict[tuple[str, str], list[tuple[str, bytes]]] = {}  # active source
            self.metadata: dict[tuple[str, str], dict] = {}
            self.previous_version: dict[tuple[str, str], str | None] = {}
            self.stale_left: dict[tuple[str, str], int] = {}
            self.faults: dict = {}
            self.deploys: list[dict] = []  # every deploy request, for tests
            self.rate: dict[str, list[float]] = {}

    def fault(self, name: str) -> bool:
        """Consume one count of a counted fault."""
        left = int(self.faults.get(name) or 0)
        if left > 0:
            self.faults[name] = left - 1
            return True
        return False

    def rate_headers(self, endpoint: str) -> tuple[dict[str, str], bool]:
        t = time.time()
        with self.lock:
            window = [x for x in self.rate.get(endpoint, []) if t - x < RATE_WINDOW]
            over = len(window) >= RATE_LIMIT
            if not over:
                window.append(t)
            self.rate[endpoint] = window
            reset = int(RATE_WINDOW - (t - window[0])) + 1 if window else int(RATE_WINDOW)
        return ({"X-RateLimit-Limit": str(RATE_LIMIT), "X-RateLimit-Remaining": str(max(0, RATE_LIMIT - len(window))),
                 "X-RateLimit-Reset": str(reset)}, over)


def source_version(files: list[tuple[str, bytes]]) -> str | None:
    for _name, content in files:
        found = VERSION_RE.search(content.decode("utf-8", "replace"))
        if found:
            return found.group(1)
    return None


def deploy(state: State, ref: str, slug: str, parts: list[tuple[str, str | None, bytes]], bundle_only: bool) -> tuple[int, dict]:
    files = [(fn, content) for name, fn, content in parts if name == "file" and fn]
    meta_parts = [content for name, _fn, content in parts if name == "metadata"]
    if not meta_parts:
        return 400, {"message": "metadata is required"}
    try:
        meta = json.loads(meta_parts[0])
    except ValueError:
        return 400, {"message": "metadata must be JSON"}
    if not isinstance(meta, dict):
        return 400, {"message": "metadata must be a JSON object"}
    entry = meta.get("entrypoint_path")
    if not entry:
        return 400, {"message": "entrypoint_path is required"}
    if entry not in {fn for fn, _c in files}:
        return 400, {"message": "Entrypoint path does not exist - %s" % entry}
    import_map = meta.get("import_map_path") or ""
    if import_map and import_map not in {fn for fn, _c in files}:
        return 400, {"message": "Import map path does not exist - %s" % import_map}
    key = (ref, slug)
    with state.lock:
        state.deploys.append({"ref": ref, "slug": slug, "metadata": meta, "files": [fn for fn, _c in files],
                              "bundle_only": bundle_only})
        if state.fault("deploy_409"):
            return 409, {"message": "Deployment already exists"}
        targeted = state.faults.get("deploy_500_slug")
        fail = (targeted in (None, slug)) and state.fault("deploy_500")
        if fail and not state.faults.get("deploy_500_applies"):
            return 500, {"message": "Failed to deploy function"}
        old = state.functions.get(key)
        fn = dict(old) if old else {"id": str(uuid.uuid4()), "slug": slug, "created_at": now_ms(), "version": 0,
                                    "verify_jwt": True}
        if bundle_only:
            obj = dict(fn, version=fn["version"] + 1, status="ACTIVE" if old else "REMOVED")
            return (500, {"message": "Failed to deploy function"}) if fail else (201, obj)
        fn["version"] += 1
        fn["name"] = meta.get("name") or fn.get("name") or slug
        fn["status"] = "ACTIVE"
        fn["updated_at"] = now_ms()
        if "verify_jwt" in meta and meta["verify_jwt"] is not None:
            fn["verify_jwt"] = bool(meta["verify_jwt"])
        fn["entrypoint_path"] = "file:///tmp/user_fn_%s_%s_%d/source/%s" % (ref, fn["id"][:8], fn["version"], entry)
        fn["import_map"] = bool(import_map)
        if import_map:
            fn["import_map_path"] = "file:///tmp/user_fn_%s_%s_%d/source/%s" % (ref, fn["id"][:8], fn["version"], import_map)
        else:
            fn.pop("import_map_path", None)
        digest = hashlib.sha256()
        for name, content in sorted(files):
            digest.update(name.encode() + b"\0" + content + b"\0")
        fn["ezbr_sha256"] = digest.hexdigest()
        state.previous_version[key] = source_version(state.files.get(key, [])) if old else None
        state.stale_left[key] = int(state.faults.get("stale_probes") or 0) if old else 0
        state.functions[key] = fn
        state.files[key] = files
        state.metadata[key] = meta
        if fail:
            return 500, {"message": "Failed to deploy function"}
        return 201, dict(fn)


def make_api_handler(state: State):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def send(self, code: int, body, extra: dict | None = None, content_type: str = "application/json") -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def body(self) -> bytes:
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def handle_any(self) -> None:
            raw = self.body()
            url = urlsplit(self.path)
            path, query = url.path.rstrip("/"), parse_qs(url.query)
            if path.startswith("/_lab/"):
                return self.lab(path, raw)
            slow = int(state.faults.get("slow_ms") or 0)
            if slow:
                time.sleep(slow / 1000.0)
            parts = path.split("/")
            # endpoint template for rate limiting, e.g. "POST /v1/projects/{ref}/functions/deploy"
            template = "/".join("{ref}" if i == 3 else ("{slug}" if i == 5 and p != "deploy" else p) for i, p in enumerate(parts))
            headers, over = state.rate_headers(self.command + " " + template)
            if self.headers.get("Authorization") != "Bearer " + state.token:
                return self.send(401, {"message": "Unauthorized"}, headers)
            if over:
                return self.send(429, {"message": "Too many requests"}, dict(headers, **{"Retry-After": headers["X-RateLimit-Reset"]}))
            if len(parts) < 4 or parts[1:3] != ["v1", "projects"]:
                return self.send(404, {"message": "Not found"}, headers)
            ref = parts[3]
            if not REF_RE.match(ref):
                return self.send(400, {"message": "Invalid project ref format. Must be 20 lowercase letters."}, headers)
            if ref not in state.refs:
                return self.send(404, {"message": "Project not found"}, headers)
            rest = parts[4:]
            if not rest:
                if self.command != "GET":
                    return self.send(405, {"message": "Method not allowed"}, headers)
                return self.send(200, {"id": ref, "ref": ref, "organization_id": "easymo-lab", "name": "easymo-lab",
                                       "region": "local", "created_at": "2026-01-01T00:00:00Z", "status": "ACTIVE_HEALTHY"}, headers)
            if rest[0] != "functions":
                return self.send(404, {"message": "Not found"}, headers)
            if len(rest) == 1:
                if self.command == "GET":
                    with state.lock:
                        items = [dict(f) for (r, _s), f in state.functions.items() if r == ref]
                    return self.send(200, items, headers)
                if self.command == "PUT":
                    return self.bulk(ref, raw, headers)
                return self.send(405, {"message": "Method not allowed"}, headers)
            if rest[1] == "deploy" and len(rest) == 2:
                if self.command != "POST":
                    return self.send(405, {"message": "Method not allowed"}, headers)
                slug = (query.get("slug") or [""])[0]
                if not SLUG_RE.match(slug):
                    return self.send(400, {"message": "Invalid function slug: %r" % slug}, headers)
                if state.fault("deploy_429"):
                    retry = str(state.faults.get("retry_after", 1))
                    return self.send(429, {"message": "Too many requests"}, dict(headers, **{"Retry-After": retry}))
                latency = int(state.faults.get("deploy_latency_ms") or 0)
                if latency:  # the real service bundles server-side before it answers
                    time.sleep(latency / 1000.0)
                try:
                    form = parse_multipart(self.headers.get("Content-Type") or "", raw)
                except ValueError as exc:
                    return self.send(400, {"message": str(exc)}, headers)
                code, out = deploy(state, ref, slug, form, (query.get("bundleOnly") or [""])[0] == "true")
                return self.send(code, out, headers)
            slug = rest[1]
            key = (ref, slug)
            with state.lock:
                fn = state.functions.get(key)
            if fn is None:
                return self.send(404, {"message": "Function not found"}, headers)
            if len(rest) == 2:
                if self.command == "GET":
                    return self.send(200, fn, headers)
                if self.command == "PATCH":
                    try:
                        change = json.loads(raw or b"{}")
                    except ValueError:
                        return self.send(400, {"message": "body must be JSON"}, headers)
                    with state.lock:
                        for k in ("verify_jwt", "name"):
                            if k in change:
                                fn[k] = change[k]
                        fn["updated_at"] = now_ms()
                    return self.send(200, fn, headers)
                if self.command == "DELETE":
                    with state.lock:
                        state.functions.pop(key, None)
                        state.files.pop(key, None)
                    return self.send(200, {"message": "ok"}, headers)
            if len(rest) == 3 and rest[2] == "body" and self.command == "GET":
                with state.lock:
                    files, meta = list(state.files.get(key, [])), dict(state.metadata.get(key, {}))
                if "multipart/form-data" in (self.headers.get("Accept") or ""):
                    ctype, data = build_multipart([("metadata", None, json.dumps(meta).encode())] + [("file", n, c) for n, c in files])
                    return self.send(200, data, headers, ctype)
                return self.send(200, b"ESZIP2.3" + b"".join(c for _n, c in files), headers, "application/octet-stream")
            return self.send(404, {"message": "Not found"}, headers)

        def bulk(self, ref: str, raw: bytes, headers: dict) -> None:
            try:
                items = json.loads(raw or b"[]")
            except ValueError:
                return self.send(400, {"message": "body must be JSON"}, headers)
            if not isinstance(items, list):
                return self.send(400, {"message": "body must be an array of functions"}, headers)
            out = []
            with state.lock:
                for item in items:
                    slug = item.get("slug") if isinstance(item, dict) else None
                    if not slug or not SLUG_RE.match(slug):
                        return self.send(400, {"message": "every function needs a valid slug"}, headers)
                    fn = dict(state.functions.get((ref, slug)) or {"id": str(uuid.uuid4()), "created_at": now_ms()})
                    fn.update({k: v for k, v in item.items() if k in ("slug", "name", "status", "version", "verify_jwt",
                                                                       "import_map", "entrypoint_path", "import_map_path",
                                                                       "ezbr_sha256")})
                    fn["updated_at"] = now_ms()
                    state.functions[(ref, slug)] = fn
                    out.append(dict(fn))
            return self.send(200, {"functions": out}, headers)

        def lab(self, path: str, raw: bytes) -> None:
            if path == "/_lab/healthz":
                return self.send(200, {"ok": True})
            if path == "/_lab/reset" and self.command == "POST":
                state.reset()
                return self.send(200, {"ok": True})
            if path == "/_lab/faults" and self.command == "POST":
                with state.lock:
                    state.faults.update(json.loads(raw or b"{}"))
                    faults = dict(state.faults)
                return self.send(200, faults)
            if path == "/_lab/state":
                with state.lock:
                    out = {"functions": {"%s/%s" % k: dict(v, files=[n for n, _c in state.files.get(k, [])])
                                         for k, v in state.functions.items()},
                           "deploys": list(state.deploys), "faults": dict(state.faults)}
                return self.send(200, out)
            return self.send(404, {"message": "Not found"})

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

        def log_message(self, fmt: str, *args) -> None:
            sys.stderr.write("api %s %s\n" % (self.log_date_time_string(), fmt % args))

    return Handler


def make_functions_handler(state: State, ref: str):
    """The function host for one project (https://<ref>.supabase.co in production)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def send(self, code: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def handle_any(self) -> None:
            n = int(self.headers.get("Content-Length") or 0)
            if n:
                self.rfile.read(n)
            parts = urlsplit(self.path).path.split("/")
            if len(parts) < 4 or parts[1:3] != ["functions", "v1"] or not parts[3]:
                return self.send(404, {"code": "NOT_FOUND", "message": "Requested function was not found"})
            slug, key = parts[3], (ref, parts[3])
            with state.lock:
                fn = state.functions.get(key)
                files = list(state.files.get(key, []))
                faults = dict(state.faults)
                stale = state.stale_left.get(key, 0)
                if stale > 0:
                    state.stale_left[key] = stale - 1
                previous = state.previous_version.get(key)
            if fn is None or fn.get("status") != "ACTIVE":
                return self.send(404, {"code": "NOT_FOUND", "message": "Requested function was not found"})
            if fn.get("verify_jwt", True):
                auth = self.headers.get("Authorization") or ""
                if not auth:
                    return self.send(401, {"code": 401, "message": "Missing authorization header"})
                if not auth.startswith("Bearer ") or auth.count(".") != 2:
                    return self.send(401, {"code": 401, "message": "Invalid JWT"})
            if faults.get("blob_missing"):
                return self.send(404, {"code": "NOT_FOUND_FUNCTION_BLOB", "message": "Function blob not found"})
            if faults.get("boot_error"):
                return self.send(503, {"code": "BOOT_ERROR", "message": "Function failed to start (please check logs)"})
            version = previous if stale > 0 and previous else source_version(files)
            if parts[-1] == "_health":
                return self.send(200, {"status": "healthy", "version": version})
            return self.send(200, {"function": slug, "version": version})

        do_GET = do_POST = handle_any

        def log_message(self, fmt: str, *args) -> None:
            sys.stderr.write("fn %s %s\n" % (self.log_date_time_string(), fmt % args))

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--api-port", type=int, required=True)
    parser.add_argument("--functions-port", type=int, required=True)
    parser.add_argument("--token-file", required=True)
    parser.add_argument("--project-ref", required=True)
    args = parser.parse_args()
    with open(args.token_file, encoding="utf-8") as fh:
        token = fh.read().strip()
    state = State(token, [args.project_ref])
    api = ThreadingHTTPServer(("127.0.0.1", args.api_port), make_api_handler(state))
    host = ThreadingHTTPServer(("127.0.0.1", args.functions_port), make_functions_handler(state, args.project_ref))
    for server in (api, host):
        server.daemon_threads = True
    threading.Thread(target=host.serve_forever, daemon=True).start()
    api.serve_forever()


if __name__ == "__main__":
    main()
