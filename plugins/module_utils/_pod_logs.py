# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Error lines in pods' recent logs: a pure counter and one thin reader (the API's pods/log, as kubectl logs)."""

from __future__ import annotations

import re
import typing as t

try:
    from kubernetes import client as k8s_client
except ImportError:  # reported by the client factory
    pass

SAMPLE_CHARS = 200


def pattern_problem(pattern: str) -> str | None:
    if not pattern:
        return "pattern is empty; it would count every line"
    try:
        re.compile(pattern)
    except re.error as exc:
        return "pattern %r is not a valid regular expression: %s" % (pattern, exc)
    return None


def count_matches(text: str, pattern: str, samples: int) -> dict[str, t.Any]:
    """How many lines match, and the first few of them (cut short: logs are for people, not for results)."""
    regex = re.compile(pattern)
    lines = [line for line in text.splitlines() if line.strip()]
    found = [line for line in lines if regex.search(line)]
    return {"lines": len(lines), "errors": len(found), "samples": [line[:SAMPLE_CHARS] for line in found[:samples]]}


def read_pod_log(api_client: t.Any, namespace: str, pod: str, container: str, tail_lines: int) -> str:
    return k8s_client.CoreV1Api(api_client).read_namespaced_pod_log(
        pod, namespace, container=container, tail_lines=tail_lines, _preload_content=True)
