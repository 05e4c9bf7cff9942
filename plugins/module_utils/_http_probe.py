# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one HTTP prober: probe many endpoints at once until each is healthy or one deadline passes.

Classification is a pure function of the answer; I/O is requests in a few threads.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
import traceback
import typing as t
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

# The collection's one guarded import of requests: the other HTTP adapters (Supabase, notifications) take it
# from here, and every module reports a missing library with missing_required_lib.
try:
    import requests

    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:
    requests = None  # type: ignore[assignment]
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()


MAX_BODY_CHARS = 2000
# A day: longer than any rollback budget, short enough that a typo cannot block a job for ever.
MAX_SECONDS = 86400

# The options of every probing module (doc fragment probe).
PROBE_ARG_SPEC: dict[str, dict[str, t.Any]] = {
    "timeout": {"type": "int", "default": 60},
    "interval": {"type": "float", "default": 2},
    "request_timeout": {"type": "float", "default": 5},
    "validate_certs": {"type": "bool", "default": True},
    "fail_on_unhealthy": {"type": "bool", "default": True},
}


def probe_limits_error(params: dict[str, t.Any]) -> str | None:
    """What is wrong with the timing options, or None."""
    limits = [("timeout", params["timeout"], 0, MAX_SECONDS), ("interval", params["interval"], 0.01, 3600),
              ("request_timeout", params["request_timeout"], 0.01, 3600)]
    for option, value, low, high in limits:
        if not low <= value <= high:
            return "%s must be from %s to %s seconds, got %s." % (option, low, high, value)
    return None


_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def headers_problem(headers: t.Mapping[str, t.Any] | None) -> str | None:
    """What is wrong with request headers, naming the header but never its value (values are secrets), or None.

    A value with a line break would make requests fail with the value in its message."""
    for name, value in (headers or {}).items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            return "header name %r is not valid (letters, digits and - only)" % (name,)
        if not isinstance(value, str):
            return "header %s must be a string" % name
        if any(ord(ch) < 32 and ch != "\t" or ord(ch) == 127 for ch in value):
            return "header %s has a line break or another control character in its value (a copy-paste slip?)" % name
    return None


def url_problem(url: str, what: str) -> str | None:
    """What is wrong with an http(s) URL (without showing a password in it), or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError as exc:
        return "%s is not a valid URL (%s)" % (what, exc)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "%s must be an http:// or https:// URL with a host, got %r" % (what, redact_url(url))
    return None


def redact_url(url: str) -> str:
    """The URL without a user:password part, for output."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(an invalid URL)"
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, "***@" + host, parts.path, parts.query, parts.fragment))


def url_password(url: str) -> str | None:
    """The password in a URL's user:password part, for the module to mask in all its output."""
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def short_body(body: t.Any) -> t.Any:
    """A body small enough for a task result (a health endpoint may answer megabytes)."""
    if isinstance(body, (dict, list)):
        text = json.dumps(body)
        return body if len(text) <= MAX_BODY_CHARS else text[:MAX_BODY_CHARS] + "... (truncated)"
    return body


@dataclass
class Answer:
    status_code: int | None
    body: t.Any  # parsed JSON, or the first 300 characters of text
    error: str | None = None
    elapsed: float = 0.0


def classify(answer: Answer, expected_status: int, expected_json: dict[str, t.Any] | None) -> tuple[str, str]:
    """("healthy" | "unhealthy" | "unreachable", reason) for one answer."""
    if answer.error is not None:
        return "unreachable", answer.error
    if answer.status_code != expected_status:
        detail = ""
        if isinstance(answer.body, dict):
            detail = ": " + ", ".join("%s=%s" % (k, v) for k, v in sorted(answer.body.items()))
        return "unhealthy", "HTTP %s (expected %s)%s" % (answer.status_code, expected_status, detail)
    if expected_json:
        if not isinstance(answer.body, dict):
            return "unhealthy", "answer is not a JSON object: %r" % (str(answer.body)[:80],)
        for key, want in expected_json.items():
            if answer.body.get(key) != want:
                return "unhealthy", "%s is %r, expected %r" % (key, answer.body.get(key), want)
    return "healthy", "HTTP %s" % answer.status_code


def fetch(session: t.Any, url: str, request_timeout: float, headers: dict[str, str] | None, verify: bool) -> Answer:
    started = time.monotonic()
    try:
        resp = session.get(url, timeout=request_timeout, headers=headers or {}, verify=verify, allow_redirects=False)
    except requests.RequestException as exc:
        return Answer(None, None, "%s: %s" % (type(exc).__name__, exc), round(time.monotonic() - started, 3))
    try:
        body: t.Any = resp.json()
    except ValueError:
        body = resp.text[:300]
    return Answer(resp.status_code, body, None, round(time.monotonic() - started, 3))


@dataclass
class ProbeResult:
    name: str
    url: str
    verdict: str = "unreachable"
    reason: str = "not probed"
    status_code: int | None = None
    body: t.Any = None
    attempts: int = 0
    seconds: float = 0.0
    history: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, t.Any]:
        return {"name": self.name, "url": redact_url(self.url), "healthy": self.verdict == "healthy", "verdict": self.verdict,
                "reason": self.reason, "status_code": self.status_code, "body": short_body(self.body),
                "attempts": self.attempts, "seconds": self.seconds, "history": self.history[-20:]}


def probe_all(
    targets: list[tuple[str, str]],
    timeout: float,
    interval: float,
    request_timeout: float,
    expected_status: int = 200,
    expected_json: dict[str, t.Any] | None = None,
    headers: dict[str, str] | None = None,
    verify: bool = True,
    wait: bool = True,
    classifier: t.Callable[[str, Answer], tuple[str, str]] | None = None,
    final_verdicts: t.Collection[str] = (),
) -> list[ProbeResult]:
    """Probe every (name, url) concurrently; each stops at its first healthy answer or at the deadline.

    ``classifier(name, answer)`` replaces the status/JSON comparison (e.g. Edge Function answers); a verdict in
    ``final_verdicts`` stops probing that target at once, since waiting cannot change it.
    """
    judge = classifier or (lambda _name, answer: classify(answer, expected_status, expected_json))
    started = time.monotonic()
    deadline = started + timeout
    results = [ProbeResult(name, url) for name, url in targets]

    def run(res: ProbeResult) -> None:
        with requests.Session() as session:
            while True:
                answer = fetch(session, res.url, min(request_timeout, max(0.5, deadline - time.monotonic())), headers, verify)
                res.attempts += 1
                res.verdict, res.reason = judge(res.name, answer)
                res.status_code, res.body = answer.status_code, answer.body
                res.seconds = round(time.monotonic() - started, 2)
                seen = "%s: %s" % (res.verdict, res.reason)
                if not res.history or res.history[-1].split(" ", 1)[1] != seen:
                    res.history.append("%.1fs %s" % (res.seconds, seen))  # transitions only: what changed when
                if res.verdict == "healthy" or res.verdict in final_verdicts or not wait or time.monotonic() + interval > deadline:
                    return
                time.sleep(interval)

    threads = [threading.Thread(target=run, args=(res,), daemon=True) for res in results]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return results


class MetricUnavailable(ValueError):
    """The answer holds no number at the path (an HTML page, an error, a string): metrics unavailable."""


def extract_number(body: t.Any, path: str) -> float:
    """The number at a simple path like jq's: `.error_rate`, `data.errors[0].rate`."""
    if not isinstance(body, (dict, list)):
        raise MetricUnavailable("answer is not JSON: %r" % (str(body)[:60],))
    node: t.Any = body
    for part in [p for p in path.strip().lstrip(".").replace("[", ".[").split(".") if p]:
        if part.startswith("[") and part.endswith("]"):
            try:
                node = node[int(part[1:-1])]
            except (ValueError, IndexError, KeyError, TypeError):
                raise MetricUnavailable("no element %s at %s" % (part, path))
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise MetricUnavailable("no field %r at %s" % (part, path))
    if isinstance(node, bool) or not isinstance(node, (int, float)) or not math.isfinite(node):
        raise MetricUnavailable("value at %s is not a finite number: %r" % (path, node))
    return float(node)


def metric_checks_problem(checks: list[dict[str, t.Any]]) -> str | None:
    """Each check names a path and exactly one finite bound; names are unique."""
    seen = set()
    for i, check in enumerate(checks):
        label = "checks[%d] (%s)" % (i, check.get("name") or check.get("path"))
        if not str(check.get("path") or "").strip():
            return "%s needs a path like .error_rate" % label
        bounds = [b for b in ("below", "above") if check.get(b) is not None]
        if len(bounds) != 1:
            return "%s needs exactly one of below or above" % label
        value = check[bounds[0]]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return "%s: %s must be a finite number, got %r" % (label, bounds[0], value)
        name = check.get("name") or check["path"]
        if name in seen:
            return "%s: the name %r is used twice" % (label, name)
        seen.add(name)
    return None


def evaluate_metrics(body: t.Any, checks: list[dict[str, t.Any]]) -> tuple[dict[str, float | None], list[str]]:
    """Every check's value in one answer, and what is wrong with it (empty when every bound holds)."""
    values: dict[str, float | None] = {}
    problems: list[str] = []
    for check in checks:
        name = check.get("name") or check["path"]
        try:
            value = extract_number(body, check["path"])
        except MetricUnavailable as exc:
            values[name] = None
            problems.append("%s: metrics unavailable: %s" % (name, exc))
            continue
        values[name] = value
        if check.get("below") is not None and not value < check["below"]:
            problems.append("%s %s is not below %s" % (name, value, check["below"]))
        if check.get("above") is not None and not value > check["above"]:
            problems.append("%s %s is not above %s" % (name, value, check["above"]))
    return values, problems
