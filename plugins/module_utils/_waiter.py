# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one waiting engine: list, then watch, many objects, one deadline.

kubectl waits on one object after another and kubernetes.core polls every 5 s, one after another; we
keep a live view of every object of a kind in a namespace from a single watch and re-check the whole set
on every event, so a rollback of many services takes about as long as the slowest one.
A dropped watch is resumed from the last resourceVersion; "410 Gone" leads to a fresh list.
"""

from __future__ import annotations

import threading
import time
import typing as t
from dataclasses import dataclass, field

from ansible_collections.easymo.rollback.plugins.module_utils._k8s_client import ApiException

try:
    from kubernetes import client as k8s_client
    from kubernetes import watch as k8s_watch
    from urllib3.exceptions import HTTPError as Urllib3HTTPError
except ImportError:  # reported by the client factory
    Urllib3HTTPError = OSError  # type: ignore[misc,assignment]

# A check sees the live objects (name -> dict) and the names deleted since the wait began, and returns
# None to keep waiting or any value to finish with it.
Check = t.Callable[[t.Dict[str, dict], t.Set[str]], t.Any]

# Each server-side watch lasts at most this long; it then ends cleanly and is resumed, which also
# keeps idle connections from being cut by proxies.
WATCH_CHUNK_SECONDS = 50


class WaitTimeout(Exception):
    """The deadline passed; ``objects`` is the last view, for the caller's report."""

    def __init__(self, message: str, objects: dict[str, dict], deleted: set[str]):
        super().__init__(message)
        self.objects = objects
        self.deleted = deleted


@dataclass
class WatchStats:
    lists: int = 0
    watches: int = 0
    events: int = 0
    resumed_after_drop: int = 0
    relisted_after_gone: int = 0


@dataclass
class Kind:
    """How to list and watch one kind of object in a namespace (typed client methods)."""

    name: str
    list_method: str  # attribute of the API class, e.g. "list_namespaced_deployment"
    api: str  # "AppsV1Api" or "CoreV1Api"

    def lister(self, api_client: t.Any) -> t.Callable[..., t.Any]:
        return getattr(getattr(k8s_client, self.api)(api_client), self.list_method)


DEPLOYMENTS = Kind("Deployment", "list_namespaced_deployment", "AppsV1Api")
REPLICASETS = Kind("ReplicaSet", "list_namespaced_replica_set", "AppsV1Api")
PODS = Kind("Pod", "list_namespaced_pod", "CoreV1Api")


def _plain(api_client: t.Any, obj: t.Any) -> dict:
    return obj if isinstance(obj, dict) else api_client.sanitize_for_serialization(obj)


def list_objects(api_client: t.Any, kind: Kind, namespace: str, label_selector: str | None = None) -> tuple[dict[str, dict], str]:
    """All objects of a kind in a namespace as plain dicts by name, and the list's resourceVersion."""
    kwargs = {"label_selector": label_selector} if label_selector else {}
    result = kind.lister(api_client)(namespace, **kwargs)
    items = {}
    for item in result.items:
        plain = _plain(api_client, item)
        items[plain["metadata"]["name"]] = plain
    return items, result.metadata.resource_version


def watch_until(
    api_client: t.Any,
    kind: Kind,
    namespace: str,
    check: Check,
    deadline: float,
    label_selector: str | None = None,
    stats: WatchStats | None = None,
    chunk_seconds: int = WATCH_CHUNK_SECONDS,
    initial_resource_version: str | None = None,
) -> t.Any:
    """Keep a live view of the kind in the namespace until ``check`` returns a value or the deadline passes."""
    stats = stats or WatchStats()
    objects, rv = list_objects(api_client, kind, namespace, label_selector)
    stats.lists += 1
    deleted: set[str] = set()
    if initial_resource_version is not None:
        rv = initial_resource_version  # tests use this to force a "410 Gone"
    outcome = check(objects, deleted)
    if outcome is not None:
        return outcome
    lister = kind.lister(api_client)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WaitTimeout("deadline passed", objects, deleted)
        kwargs: dict[str, t.Any] = {
            "resource_version": rv,
            "allow_watch_bookmarks": True,
            "timeout_seconds": max(1, int(min(remaining, chunk_seconds))),
            "_request_timeout": min(remaining, chunk_seconds) + 10,
        }
        if label_selector:
            kwargs["label_selector"] = label_selector
        stats.watches += 1
        gone = False
        try:
            for event in k8s_watch.Watch().stream(lister, namespace, **kwargs):
                etype = event.get("type")
                raw = event.get("raw_object") or {}
                if etype == "ERROR":
                    if raw.get("code") == 410:
                        gone = True
                        break
                    raise ApiException(status=raw.get("code"), reason=raw.get("message"))
                rv = (raw.get("metadata") or {}).get("resourceVersion") or rv
                if etype == "BOOKMARK":
                    continue
                stats.events += 1
                name = raw["metadata"]["name"]
                if etype == "DELETED":
                    objects.pop(name, None)
                    deleted.add(name)
                else:
                    objects[name] = raw
                    deleted.discard(name)
                outcome = check(objects, deleted)
                if outcome is not None:
                    return outcome
                if time.monotonic() >= deadline:
                    break
        except ApiException as exc:
            if exc.status != 410:
                raise
            gone = True
        except (Urllib3HTTPError, OSError):
            # A dropped connection: resume from the last resourceVersion seen.
            stats.resumed_after_drop += 1
            time.sleep(0.2)
            continue
        if gone:
            stats.relisted_after_gone += 1
            fresh, rv = list_objects(api_client, kind, namespace, label_selector)
            stats.lists += 1
            deleted |= set(objects) - set(fresh)
            objects = fresh
            outcome = check(objects, deleted)
            if outcome is not None:
                return outcome


def watch_each_namespace(
    api_client: t.Any,
    kind: Kind,
    checks: dict[str, Check],
    deadline: float,
    label_selectors: dict[str, str | None] | None = None,
) -> dict[str, t.Any]:
    """Run one watch per namespace concurrently against the same deadline.

    Returns namespace -> the check's value, or the WaitTimeout/exception raised for that namespace.
    """
    results: dict[str, t.Any] = {}

    def run(ns: str) -> None:
        try:
            results[ns] = watch_until(api_client, kind, ns, checks[ns], deadline, (label_selectors or {}).get(ns))
        except Exception as exc:  # handed to the caller, which reports it per object
            results[ns] = exc

    if len(checks) == 1:
        ns = next(iter(checks))
        run(ns)
        return results
    threads = [threading.Thread(target=run, args=(ns,), daemon=True) for ns in checks]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return results


@dataclass
class ObjectWait:
    """The outcome of waiting on one named object."""

    namespace: str
    name: str
    state: str = "waiting"  # done, failed, deleted, not_found, timeout, error
    message: str = ""
    seconds: float | None = None
    last: dict = field(default_factory=dict, repr=False)

    def as_dict(self) -> dict[str, t.Any]:
        return {"namespace": self.namespace, "name": self.name, "state": self.state, "message": self.message, "seconds": self.seconds}


def wait_for_named(
    api_client: t.Any,
    kind: Kind,
    targets: list[tuple[str, str]],
    evaluate: t.Callable[[dict], t.Any],
    timeout: float,
) -> list[ObjectWait]:
    """Wait until every named object is done (or has failed) by ``evaluate``, with one deadline.

    ``evaluate(obj)`` returns an object with ``state`` ("done", "failed" or anything else to keep
    waiting) and ``message``. Objects deleted while waiting are reported as such.
    """
    started = time.monotonic()
    deadline = started + timeout
    waits = {(ns, name): ObjectWait(ns, name) for ns, name in targets}
    by_ns: dict[str, list[ObjectWait]] = {}
    for w in waits.values():
        by_ns.setdefault(w.namespace, []).append(w)

    def make_check(ns_waits: list[ObjectWait]) -> Check:
        first = [True]

        def check(objects: dict[str, dict], deleted: set[str]) -> t.Any:
            for w in ns_waits:
                if w.state in ("done", "failed", "deleted", "not_found"):
                    continue
                obj = objects.get(w.name)
                if obj is None:
                    if first[0] and w.name not in deleted:
                        w.state, w.message = "not_found", "%s %s/%s not found" % (kind.name, w.namespace, w.name)
                    else:
                        w.state = "deleted"
                        w.message = "%s %s/%s was deleted while waiting for it" % (kind.name, w.namespace, w.name)
                    w.seconds = round(time.monotonic() - started, 2)
                    continue
                w.last = obj
                verdict = evaluate(obj)
                w.message = verdict.message
                if verdict.state in ("done", "failed"):
                    w.state = verdict.state
                    w.seconds = round(time.monotonic() - started, 2)
            first[0] = False
            if all(w.state != "waiting" for w in ns_waits):
                return True
            return None

        return check

    outcomes = watch_each_namespace(api_client, kind, {ns: make_check(ws) for ns, ws in by_ns.items()}, deadline)
    for ns, outcome in outcomes.items():
        for w in by_ns[ns]:
            if w.state != "waiting":
                continue
            if isinstance(outcome, WaitTimeout):
                w.state = "timeout"
                w.message = "timed out after %s s; last status: %s" % (_fmt_seconds(timeout), w.message or "no status yet")
            elif isinstance(outcome, Exception):
                w.state = "error"
                w.message = "waiting failed: %s" % (outcome,)
            w.seconds = round(time.monotonic() - started, 2)
    return [waits[key] for key in targets]


def _fmt_seconds(value: float) -> str:
    return ("%d" % value) if float(value).is_integer() else ("%.1f" % value)
