# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small client for the Supabase Management API (functions endpoints), with a bounded 429 budget.

429 is retried after the advertised wait (``Retry-After``, else ``X-RateLimit-Reset``) while the budget lasts.
Reads are retried on 502/503/504. A deploy is never retried after a 5xx: it may have been applied, so
the caller reads the function back and compares (``DeployUncertain``).
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
import time
import typing as t
from dataclasses import dataclass, field

from ansible_collections.easymo.rollback.plugins.module_utils._http_probe import requests

DEFAULT_API_URL = "https://api.supabase.com"
PROJECT_REF_RE = re.compile(r"^[a-z]{20}$")
SLUG_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
MAX_SINGLE_WAIT = 60.0

SUPABASE_AUTH_ARG_SPEC: dict[str, dict[str, t.Any]] = {
    "project_ref": {"type": "str", "required": True},
    "access_token": {"type": "str", "no_log": True},
    "api_url": {"type": "str"},
    "request_timeout": {"type": "float", "default": 30},
    "rate_limit_budget": {"type": "float", "default": 60},
}


class SupabaseError(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class DeployUncertain(SupabaseError):
    """The deploy POST failed in a way that may or may not have applied it (5xx, transport error)."""


def slugs_problem(names: list[str] | None) -> str | None:
    """What is wrong with a list of function names (slugs), or None."""
    bad = [n for n in names or [] if not SLUG_RE.match(n or "")]
    if names and not bad:
        return None
    return "function names must be slugs (a letter, then letters, digits, _ or -): %s" % (
        ", ".join(repr(n) for n in bad) or "the list is empty")


def version_pattern_problem(pattern: str) -> str | None:
    """What is wrong with a version_pattern (a regular expression with one group around the version), or None."""
    try:
        if re.compile(pattern).groups < 1:
            return "version_pattern needs one group, (...), around the version, got %r" % pattern
    except re.error as exc:
        return "version_pattern %r is not a regular expression: %s" % (pattern, exc)
    return None


def validate_settings(params: dict[str, t.Any], env: t.Mapping[str, str]) -> tuple[str, str, str]:
    """(api_url, token, project_ref) from module options with environment fallbacks, or ValueError."""
    ref = (params.get("project_ref") or "").strip()
    if not PROJECT_REF_RE.match(ref):
        raise ValueError("project_ref %r is not a Supabase project ref (20 lowercase letters, as in "
                         "https://<ref>.supabase.co)" % ref)
    token = params.get("access_token") or env.get("SUPABASE_ACCESS_TOKEN") or ""
    token = token.strip()
    if not token:
        raise ValueError("no Supabase access token: set access_token or the environment variable SUPABASE_ACCESS_TOKEN "
                         "(an AWX credential can inject it)")
    if any(ch.isspace() for ch in token) or token.lower().startswith("bearer") or not token.isascii():
        raise ValueError("the Supabase access token must be the bare token (sbp_...), without spaces, other "
                         "characters or a 'Bearer' prefix")
    if not params.get("request_timeout", 30) > 0 or params.get("rate_limit_budget", 0) < 0:
        raise ValueError("request_timeout must be above 0 seconds and rate_limit_budget 0 or more")
    api_url = (params.get("api_url") or env.get("SUPABASE_API_URL") or DEFAULT_API_URL).rstrip("/")
    if not api_url.startswith(("http://", "https://")):
        raise ValueError("api_url %r must start with https:// (or http:// for a local stand-in)" % api_url)
    return api_url, token, ref


def advertised_wait(headers: t.Mapping[str, str]) -> float:
    """Seconds a 429 asks us to wait: Retry-After, else X-RateLimit-Reset, else 1."""
    for name in ("Retry-After", "X-RateLimit-Reset"):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value))
        except ValueError:
            continue
    return 1.0


def error_message(resp: t.Any) -> str:
    try:
        body = resp.json()
        if isinstance(body, dict) and body.get("message"):
            return str(body["message"])
    except ValueError:
        pass
    return (resp.text or "")[:200] or resp.reason or "no message"


def json_body(resp: t.Any, what: str) -> t.Any:
    """The answer's JSON, or SupabaseError when something else answered (a proxy's or login page's HTML)."""
    try:
        return resp.json()
    except ValueError:
        raise SupabaseError("%s: the answer (HTTP %s, %s) is not JSON; is api_url the Management API?" % (
            what, resp.status_code, resp.headers.get("Content-Type") or "no content type"), resp.status_code)


def parse_multipart(content_type: str, body: bytes) -> list[tuple[str, str | None, bytes]]:
    """(field name, filename, content) of every part of a multipart/form-data body."""
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    if not msg.is_multipart():
        raise ValueError("answer is not multipart")
    out = []
    for part in msg.iter_parts():
        out.append((part.get_param("name", header="content-disposition"),
                    part.get_param("filename", header="content-disposition"),
                    part.get_payload(decode=True) or b""))
    return out


@dataclass
class Client:
    api_url: str
    token: str
    project_ref: str
    request_timeout: float = 30.0
    rate_limit_budget: float = 60.0
    waits: list[float] = field(default_factory=list)  # every 429 wait, for the result
    requests_made: int = 0
    session: t.Any = None

    def __post_init__(self) -> None:
        self.session = requests.Session()
        self.session.headers.update({"Authorization": "Bearer " + self.token, "User-Agent": "easymo.rollback"})
        self._budget_left = self.rate_limit_budget

    def _url(self, path: str) -> str:
        return "%s/v1/projects/%s%s" % (self.api_url, self.project_ref, path)

    def request(self, method: str, path: str, retry_5xx: bool = True, **kwargs: t.Any) -> t.Any:
        read_retries = 2 if retry_5xx else 0
        while True:
            self.requests_made += 1
            try:
                resp = self.session.request(method, self._url(path), timeout=self.request_timeout, **kwargs)
            except requests.RequestException as exc:
                if not retry_5xx:
                    raise DeployUncertain("%s %s: %s" % (method, path, type(exc).__name__))
                if read_retries > 0:
                    read_retries -= 1
                    time.sleep(1)
                    continue
                raise SupabaseError("cannot reach the Supabase API at %s: %s" % (self.api_url, type(exc).__name__))
            if resp.status_code == 429:
                wait = advertised_wait(resp.headers)
                if wait > min(self._budget_left, MAX_SINGLE_WAIT):
                    raise SupabaseError("rate limited (429) on %s %s: the API asks to wait %.0f s, more than the retry "
                                        "budget left (%.0f of %.0f s); try again in %.0f s" % (
                                            method, path, wait, self._budget_left, self.rate_limit_budget, wait), 429)
                self._budget_left -= wait
                self.waits.append(wait)
                time.sleep(wait)
                continue
            if resp.status_code in (502, 503, 504) and read_retries > 0:
                read_retries -= 1
                time.sleep(1)
                continue
            if resp.status_code >= 500 and not retry_5xx:
                raise DeployUncertain("%s %s answered %s: %s" % (method, path, resp.status_code, error_message(resp)),
                                      resp.status_code)
            if resp.status_code == 401:
                raise SupabaseError("the Supabase API refused the access token (401) for project %s: check "
                                    "SUPABASE_ACCESS_TOKEN" % self.project_ref, 401)
            return resp

    def get_project(self) -> dict:
        """The project, read first by every module (like the CLI): a wrong ref or api_url fails here, before a 404
        on a function could be mistaken for "does not exist yet"."""
        resp = self.request("GET", "")
        if resp.status_code != 200:
            raise SupabaseError("project %s at %s: %s (HTTP %s); check project_ref and api_url" % (
                self.project_ref, self.api_url, error_message(resp), resp.status_code), resp.status_code)
        project = json_body(resp, "project %s" % self.project_ref)
        if not isinstance(project, dict) or project.get("ref", self.project_ref) != self.project_ref:
            raise SupabaseError("project %s: the answer is not this project; is api_url the Management API?" % self.project_ref)
        return project

    def get_function(self, slug: str) -> dict | None:
        resp = self.request("GET", "/functions/%s" % slug)
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            message = "function %s in project %s: %s (HTTP %s)" % (slug, self.project_ref, error_message(resp), resp.status_code)
            raise SupabaseError(message, resp.status_code)
        fn = json_body(resp, "function %s in project %s" % (slug, self.project_ref))
        if not isinstance(fn, dict):
            raise SupabaseError("function %s in project %s: the answer is not a function object; is api_url the "
                                "Management API?" % (slug, self.project_ref))
        return fn

    def get_body(self, slug: str) -> list[tuple[str, bytes]] | None:
        """The deployed source files, or None when the API does not give them as multipart."""
        resp = self.request("GET", "/functions/%s/body" % slug, headers={"Accept": "multipart/form-data"})
        if resp.status_code != 200:
            return None
        try:
            parts = parse_multipart(resp.headers.get("Content-Type") or "", resp.content)
        except ValueError:
            return None
        return [(fn, content) for _name, fn, content in parts if fn]

    def deploy(self, slug: str, files: dict[str, bytes], metadata: dict[str, t.Any]) -> dict:
        """POST the deploy; 201 gives the function. A 5xx raises DeployUncertain, never retried here."""
        parts: list[tuple[str, t.Any]] = [("file", (path, content, "application/octet-stream")) for path, content in files.items()]
        parts.append(("metadata", (None, json.dumps(metadata), "application/json")))
        resp = self.request("POST", "/functions/deploy", retry_5xx=False, params={"slug": slug}, files=parts)
        if resp.status_code != 201:
            raise SupabaseError("deploy of %s refused: %s (HTTP %s)" % (slug, error_message(resp), resp.status_code),
                                resp.status_code)
        deployed = json_body(resp, "deploy of %s in project %s" % (slug, self.project_ref))
        if not isinstance(deployed, dict):
            raise DeployUncertain("deploy of %s answered 201 without a function object" % slug, resp.status_code)
        return deployed

    def patch_function(self, slug: str, change: dict[str, t.Any]) -> dict:
        resp = self.request("PATCH", "/functions/%s" % slug, json=change)
        if resp.status_code != 200:
            raise SupabaseError("updating %s failed: %s (HTTP %s)" % (slug, error_message(resp), resp.status_code),
                                resp.status_code)
        updated = json_body(resp, "update of %s in project %s" % (slug, self.project_ref))
        if not isinstance(updated, dict):
            raise SupabaseError("update of %s answered without a function object" % slug)
        return updated


def remote_summary(fn: dict | None) -> dict[str, t.Any] | None:
    """The fields a rollback records before and after."""
    if fn is None:
        return None
    return {k: fn.get(k) for k in ("version", "status", "verify_jwt", "ezbr_sha256", "updated_at")}


# Verdicts that waiting cannot change: stop probing at once.
FINAL_HEALTH_VERDICTS = ("jwt_gate",)


def classify_function_health(answer: t.Any, expected_version: str | None) -> tuple[str, str]:
    """(verdict, reason) for one answer of ``/functions/v1/<name>/_health`` (an ``_http_probe.Answer``).

    healthy, old_version, jwt_gate, blob_missing, not_found, boot_error, worker_error, unhealthy, unreachable.
    """
    if answer.error is not None:
        return "unreachable", answer.error
    body = answer.body if isinstance(answer.body, dict) else {}
    code, message = body.get("code"), str(body.get("message") or "")
    if answer.status_code == 401:
        return "jwt_gate", ("JWT gate (401 %s): the function has verify_jwt on; send an Authorization header or "
                            "deploy it with verify_jwt false" % (message or "Unauthorized"))
    if answer.status_code == 404 and code == "NOT_FOUND_FUNCTION_BLOB":
        return "blob_missing", ("404 NOT_FOUND_FUNCTION_BLOB: the function is listed but its code is missing on the "
                                "platform; redeploy it")
    if answer.status_code == 404:
        return "not_found", "404 %s: no such function is served at this URL" % (code or message or "Not Found")
    if answer.status_code == 503 and code == "BOOT_ERROR":
        return "boot_error", "503 BOOT_ERROR: the function fails to start (%s)" % (message or "see its logs")
    if answer.status_code in (500, 546) and code in ("WORKER_ERROR", "WORKER_LIMIT"):
        return "worker_error", "%s %s: %s" % (answer.status_code, code, message or "the worker failed")
    if answer.status_code != 200:
        return "unhealthy", "HTTP %s%s" % (answer.status_code, (": " + message) if message else "")
    if body.get("status") != "healthy":
        return "unhealthy", "status is %r, not 'healthy'" % (body.get("status") if body else str(answer.body)[:80])
    served = body.get("version")
    if expected_version is not None and served != expected_version:
        return "old_version", "serving version %s, expected %s" % (served, expected_version)
    return "healthy", "healthy, version %s" % served
