# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure decisions about feature flags kept in a ConfigMap: validation, merge/replace/remove, the hash
that tells whether a consumer started with the current flags. No I/O here."""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import typing as t
from dataclasses import dataclass, field

from ansible_collections.easymo.rollback.plugins.module_utils._rollout import parse_k8s_time

# The template annotation _rollout.FLAGS_HASH_ANNOTATION carries the hash of the flags a consumer's pods were
# started with. Environment variables never see ConfigMap updates, so a differing hash means the pods
# still run old flags.

FLAG_TYPES = ("bool", "percentage", "int", "string", "idlist")
_INT = re.compile(r"^-?[0-9]+$")
_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")  # what the API accepts as a ConfigMap key
_ID = re.compile(r"^[A-Za-z0-9._:@+-]+$")


class FlagError(ValueError):
    """A flag value or definition is invalid; the message names the key and what is allowed."""


def infer_type(key: str) -> str:
    """The type a key has by EasyMO's naming: *_PERCENTAGE are percentages, other FEATURE_* are booleans."""
    upper = key.upper()
    if upper.endswith("_PERCENTAGE"):
        return "percentage"
    if upper.endswith(("_LIST", "_ALLOWLIST", "_DENYLIST", "_USERS")):
        return "idlist"
    if upper.startswith("FEATURE_"):
        return "bool"
    return "string"


def coerce(key: str, value: t.Any, declared: str | None = None) -> str:
    """The ConfigMap string for one flag value, or FlagError naming the key."""
    kind = declared or infer_type(key)
    if kind not in FLAG_TYPES:
        raise FlagError("%s: unknown flag type %r (use one of %s)" % (key, kind, ", ".join(FLAG_TYPES)))
    if kind == "idlist":
        return _id_list(key, value)
    if value is None or isinstance(value, (dict, list, tuple, set)):
        raise FlagError("%s: %r is not a flag value (use a string, number or boolean)" % (key, value))
    if kind == "bool":
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower()
        raise FlagError("%s must be a boolean (true or false), got %r" % (key, value))
    if kind in ("percentage", "int"):
        if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
            raise FlagError("%s must be a whole number%s, got %r" % (key, " from 0 to 100" if kind == "percentage" else "", value))
        text = str(int(value)) if isinstance(value, (int, float)) else str(value).strip()
        if not _INT.match(text):
            raise FlagError("%s must be a whole number%s, got %r" % (key, " from 0 to 100" if kind == "percentage" else "", value))
        number = int(text)
        if kind == "percentage" and not 0 <= number <= 100:
            raise FlagError("%s must be a percentage from 0 to 100, got %r" % (key, value))
        return str(number)
    return value if isinstance(value, str) else json.dumps(value)


def _id_list(key: str, value: t.Any) -> str:
    """A list of user ids (or a comma-separated string of them) as "a,b,c": no blanks, spaces or duplicates."""
    if isinstance(value, str) and value.strip().startswith("["):
        try:  # `-e name=[]` or `-e 'name=["u-1","u-2"]'` arrive as strings
            value = json.loads(value)
        except ValueError:
            raise FlagError("%s: %r is neither a JSON list nor comma-separated ids" % (key, value))
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise FlagError("%s must be a list of ids, got %r" % (key, value))
    ids, bad = [], []
    for item in items:
        text = item.strip() if isinstance(item, str) else None
        if not text or not _ID.match(text):
            if not (isinstance(value, str) and text == ""):
                bad.append(item)
            continue
        if text not in ids:
            ids.append(text)
    if bad:
        raise FlagError("%s: not valid ids %s (letters, digits and . _ : @ + - only; no spaces, commas or blanks)" % (key, bad))
    return ",".join(ids)


def data_from_definition(definition: dict) -> dict[str, t.Any]:
    """The `data` of a ConfigMap-like definition; `data` under `metadata` is refused (K08)."""
    if not isinstance(definition, dict):
        raise FlagError("definition must be a mapping like a ConfigMap manifest")
    meta = definition.get("metadata") or {}
    if isinstance(meta, dict) and "data" in meta:
        raise FlagError("definition has `data` under `metadata`; it belongs at the top level (definition.data). Nothing was changed.")
    data = definition.get("data")
    if not isinstance(data, dict) or not data:
        raise FlagError("definition has no `data` mapping with flags to set")
    return data


@dataclass
class FlagsPlan:
    before: dict[str, str]
    after: dict[str, str]
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def previous_values(self) -> dict[str, str | None]:
        """Each touched key's value before (None when it did not exist), for a later roll-forward:
        passed back as ``flags``, None removes the key again."""
        return {k: self.before.get(k) for k in sorted(set(self.added) | set(self.changed) | set(self.removed))}


def plan_flags(
    current: dict[str, str] | None,
    flags: dict[str, t.Any],
    mode: str = "merge",
    remove: list[str] | None = None,
    types: dict[str, str] | None = None,
) -> FlagsPlan:
    """What the ConfigMap's data becomes. ``merge`` keeps other keys, ``replace`` keeps only ``flags``."""
    if mode not in ("merge", "replace"):
        raise FlagError("mode must be merge or replace, got %r" % (mode,))
    current = dict(current or {})
    remove = list(remove or [])
    overlap = sorted(set(remove) & {k for k, v in flags.items() if v is not None})
    if overlap:
        raise FlagError("keys both set and removed: %s" % ", ".join(overlap))
    errors = []
    desired: dict[str, str] = {}
    for key, value in flags.items():
        key = str(key)
        if not _KEY.match(key) or len(key) > 253:
            errors.append("%r is not a valid ConfigMap key (letters, digits, '-', '_', '.')" % key)
        elif value is None:
            remove.append(key)  # null = "did not exist": how `previous` rolls forward
        else:
            try:
                desired[key] = coerce(key, value, (types or {}).get(key))
            except FlagError as exc:
                errors.append(str(exc))
    if errors:
        raise FlagError("; ".join(errors) + ". Nothing was changed.")
    for key, value in desired.items():
        # An id list is a set: the same ids in another order change nothing (no rewrite, no restart).
        kind = (types or {}).get(key) or infer_type(key)
        if kind == "idlist" and key in current and set(filter(None, current[key].split(","))) == set(filter(None, value.split(","))):
            desired[key] = current[key]
    after = dict(desired) if mode == "replace" else dict(current, **desired)
    for key in remove:
        after.pop(key, None)
    return FlagsPlan(
        before=current,
        after=after,
        added=sorted(k for k in after if k not in current),
        changed=sorted(k for k in after if k in current and current[k] != after[k]),
        removed=sorted(k for k in current if k not in after),
    )


def flags_hash(data: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


def last_written(configmap: dict) -> datetime.datetime | None:
    """When the ConfigMap was last written (the newest managedFields time; second precision)."""
    times = [parse_k8s_time(f.get("time")) for f in (configmap.get("metadata") or {}).get("managedFields") or []]
    times = [x for x in times if x]
    return max(times) if times else None


def pods_on_other_flags(pods: list[dict], digest: str, annotation: str, written_at: datetime.datetime | None) -> list[str]:
    """Running pods that may not run the flags now in the ConfigMap.

    A container reads its environment when it starts, so what decides is when the pod started against
    when the ConfigMap was last written: before means old flags (someone restarted by hand, then the flags
    changed), after means the current ones, whatever the template's flags-hash annotation says (a Deployment
    rollback brings back an old revision's annotation with its old pods' hash). The hash decides only where
    time cannot: the same second (both have second precision), or a ConfigMap without managedFields.
    """
    stale = []
    for pod in pods:
        meta = pod.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            continue
        created = parse_k8s_time(meta.get("creationTimestamp"))
        hash_differs = (meta.get("annotations") or {}).get(annotation) != digest
        if written_at is None or created is None or created == written_at:
            if hash_differs:
                stale.append(meta.get("name", ""))
        elif created < written_at:
            stale.append(meta.get("name", ""))
    return sorted(stale)
