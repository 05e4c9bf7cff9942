# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure decisions about Deployment rollouts: no I/O here.

Everything works on plain dicts in the API's JSON shape (camelCase), as returned by the API server.
The rules mirror kubectl (rollback.go, rollout_status.go) where kubectl is right, and differ where it
is dangerous: the target is pinned and recorded before anything changes, so a second run does not
flip back to the bad release (see notes/kubernetes.md).
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import json
import typing as t
from dataclasses import dataclass, field

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
POD_TEMPLATE_HASH = "pod-template-hash"
TARGET_ANNOTATION = "rollback.easymo.com/target"
FLAGS_HASH_ANNOTATION = "rollback.easymo.com/flags-sha256"
# Template annotations that only restart pods; a template differing in them alone is not a new release.
RESTART_MARKERS = (RESTARTED_AT, FLAGS_HASH_ANNOTATION)


class RollbackRefused(Exception):
    """The rollback of one Deployment cannot go ahead; the message names it and says what to do."""


def _meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def object_ref(obj: dict) -> str:
    return "%s/%s" % (_meta(obj).get("namespace", ""), _meta(obj).get("name", ""))


def parse_k8s_time(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    # The API sends "...Z"; the Python client's sanitised objects carry isoformat "...+00:00".
    try:
        parsed = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.timezone.utc)


def revision_of(obj: dict) -> int:
    """The integer revision of a ReplicaSet or Deployment (absent or malformed = 0)."""
    try:
        return int((_meta(obj).get("annotations") or {}).get(REVISION, "0"))
    except (TypeError, ValueError):
        return 0


def revision_history_of(obj: dict) -> list[int]:
    """Earlier numbers this ReplicaSet carried before it was rolled back to (renumbered)."""
    raw = (_meta(obj).get("annotations") or {}).get(REVISION_HISTORY, "")
    numbers = []
    for part in raw.split(","):
        part = part.strip()
        if part.isdigit():
            numbers.append(int(part))
    return numbers


def owned_replicasets(deployment: dict, replicasets: t.Iterable[dict]) -> list[dict]:
    """ReplicaSets controlled by this Deployment (by ownerReference uid), never by label keys alone."""
    uid = _meta(deployment).get("uid")
    owned = []
    for rs in replicasets:
        for ref in _meta(rs).get("ownerReferences") or []:
            if ref.get("controller") and ref.get("uid") == uid:
                owned.append(rs)
                break
    return owned


def normalized_template(template: dict, ignore_restarts: bool = True) -> dict:
    """The pod template as it matters for rollback: no pod-template-hash, optionally no restart markers."""
    tmpl = copy.deepcopy(template or {})
    meta = tmpl.setdefault("metadata", {})
    labels = dict(meta.get("labels") or {})
    labels.pop(POD_TEMPLATE_HASH, None)
    meta["labels"] = labels
    annotations = dict(meta.get("annotations") or {})
    if ignore_restarts:
        for marker in RESTART_MARKERS:
            annotations.pop(marker, None)
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    meta.pop("creationTimestamp", None)
    return tmpl


def template_fingerprint(template: dict) -> str:
    """A stable identity of a pod template, ignoring restart markers (a restart is not a new release)."""
    canonical = json.dumps(normalized_template(template), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def template_images(template: dict) -> dict[str, str]:
    """Container name -> image for containers and init containers (init ones prefixed `init:`)."""
    spec = (template or {}).get("spec") or {}
    images = {c.get("name", ""): c.get("image", "") for c in spec.get("containers") or []}
    for c in spec.get("initContainers") or []:
        images["init:" + c.get("name", "")] = c.get("image", "")
    return images


def selector_matches(selector: dict | None, labels: dict | None) -> bool:
    """Whether a LabelSelector (matchLabels and matchExpressions) selects these labels."""
    labels = labels or {}
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def recorded_target(deployment: dict) -> dict | None:
    """The target a previous run recorded on the Deployment, or None when absent or unreadable."""
    raw = (_meta(deployment).get("annotations") or {}).get(TARGET_ANNOTATION)
    if not raw:
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(record, dict) or not record.get("to") or not record.get("from"):
        return None
    return record


@dataclass
class RollbackPlan:
    """What will happen to one Deployment, decided before anything changes."""

    namespace: str
    name: str
    action: str  # "rollback" or "none"
    reason: str
    current_revision: int
    current_images: dict[str, str]
    current_fingerprint: str
    target_revision: int
    target_images: dict[str, str]
    target_fingerprint: str
    target_template: dict = field(default_factory=dict, repr=False)
    resume: bool = False

    def summary(self) -> dict[str, t.Any]:
        return {
            "namespace": self.namespace,
            "name": self.name,
            "action": self.action,
            "reason": self.reason,
            "revision_from": self.current_revision,
            "revision_to": self.target_revision,
            "images_from": self.current_images,
            "images_to": self.target_images,
        }


def _describe_history(replicasets: list[dict]) -> str:
    parts = []
    for rs in sorted(replicasets, key=revision_of, reverse=True):
        images = ",".join(sorted(template_images(rs.get("spec", {}).get("template", {})).values()))
        parts.append("%d (%s)" % (revision_of(rs), images))
    return "; ".join(parts) or "none"


def plan_rollback(
    deployment: dict,
    replicasets: list[dict],
    to_revision: int | None = None,
    target_images: dict[str, str] | None = None,
    resume_paused: bool = False,
) -> RollbackPlan:
    """Decide the rollback target of one Deployment.

    Order of precedence: an explicit ``to_revision``; pinned ``target_images``; the target a previous
    run recorded on the object (so re-runs converge instead of flipping back); otherwise the newest
    earlier revision whose template differs from the current one, ignoring restartedAt.
    Raises RollbackRefused with a message naming the Deployment and what to do.
    """
    meta = _meta(deployment)
    namespace, name = meta.get("namespace", ""), meta.get("name", "")
    ref = "Deployment %s/%s" % (namespace, name)
    spec = deployment.get("spec") or {}
    current_template = spec.get("template") or {}
    current_fp = template_fingerprint(current_template)
    current_rev = revision_of(deployment)
    owned = owned_replicasets(deployment, replicasets)
    if not current_rev:
        current_rev = max((revision_of(rs) for rs in owned if template_fingerprint(rs["spec"]["template"]) == current_fp), default=0)

    if spec.get("paused") and not resume_paused:
        raise RollbackRefused(
            "%s is paused (spec.paused=true): a rollback would not roll out. Resume it first "
            "(kubectl rollout resume deployment/%s -n %s) or run again with resume_paused=true." % (ref, name, namespace)
        )

    def by_fingerprint(fp: str) -> list[dict]:
        return sorted(
            (rs for rs in owned if template_fingerprint(rs.get("spec", {}).get("template", {})) == fp),
            key=revision_of,
            reverse=True,
        )

    target_rs: dict | None = None
    reason = ""
    if to_revision is not None:
        exact = [rs for rs in owned if revision_of(rs) == to_revision]
        renumbered = [rs for rs in owned if to_revision in revision_history_of(rs)]
        if exact:
            target_rs, reason = exact[0], "revision %d requested" % to_revision
        elif renumbered:
            target_rs = renumbered[0]
            reason = "revision %d requested; it was rolled back to and is now revision %d" % (to_revision, revision_of(target_rs))
        else:
            raise RollbackRefused(
                "%s has no revision %d (also not in any revision-history). Revisions present: %s. "
                "Pick one of them with to_revision, or pin images with target_images." % (ref, to_revision, _describe_history(owned))
            )
    elif target_images:
        def matches(rs: dict) -> bool:
            images = template_images(rs.get("spec", {}).get("template", {}))
            return all(images.get(c) == img for c, img in target_images.items())

        if all(template_images(current_template).get(c) == img for c, img in target_images.items()):
            target_template, reason = current_template, "already runs the pinned images"
            return _plan(deployment, "none", reason, current_rev, current_fp, current_rev, target_template)
        candidates = sorted((rs for rs in owned if matches(rs)), key=revision_of, reverse=True)
        if not candidates:
            raise RollbackRefused(
                "%s has no revision running images %s. Revisions present: %s. Deploy that release normally, "
                "or pin images of a revision still in history." % (ref, json.dumps(target_images, sort_keys=True), _describe_history(owned))
            )
        target_rs, reason = candidates[0], "pinned images"
    else:
        record = recorded_target(deployment)
        if record and record["to"] == current_fp:
            reason = "already at the recorded target (revision %d)" % current_rev
            return _plan(deployment, "none", reason, current_rev, current_fp, current_rev, current_template)
        if record and record["from"] == current_fp:
            recorded = by_fingerprint(record["to"])
            if not recorded:
                raise RollbackRefused(
                    "%s: the target recorded by an earlier rollback (%s) is no longer in the rollout history. "
                    "Pass to_revision or target_images explicitly. Revisions present: %s." % (ref, record.get("images"), _describe_history(owned))
                )
            target_rs, reason = recorded[0], "target recorded by an earlier run"
        else:
            if not [rs for rs in owned if revision_of(rs) != current_rev]:
                raise RollbackRefused(
                    "%s has no rollout history to roll back to (no other ReplicaSet it owns; revisionHistoryLimit is %s)."
                    % (ref, spec.get("revisionHistoryLimit", "10"))
                )
            earlier = sorted(
                (rs for rs in owned if revision_of(rs) < current_rev and template_fingerprint(rs.get("spec", {}).get("template", {})) != current_fp),
                key=revision_of,
                reverse=True,
            )
            if not earlier:
                raise RollbackRefused(
                    "%s has no earlier revision with a different pod template (restarts do not count). Revisions present: %s. "
                    "Pass to_revision or target_images." % (ref, _describe_history(owned))
                )
            target_rs, reason = earlier[0], "newest earlier revision with a different pod template"

    target_template = target_rs.get("spec", {}).get("template", {})
    target_fp = template_fingerprint(target_template)
    if target_fp == current_fp:
        return _plan(deployment, "none", "already at target (%s)" % reason, current_rev, current_fp, current_rev, current_template)

    clean = normalized_template(target_template, ignore_restarts=False)
    if not selector_matches(spec.get("selector"), clean.get("metadata", {}).get("labels")):
        raise RollbackRefused(
            "%s: the pod template of revision %d has labels %s that do not match the Deployment's selector %s; "
            "the API server would reject it. Roll back to another revision (to_revision) or redeploy the old image normally."
            % (ref, revision_of(target_rs), json.dumps(clean["metadata"].get("labels"), sort_keys=True), json.dumps(spec.get("selector"), sort_keys=True))
        )
    plan = _plan(deployment, "rollback", reason, current_rev, current_fp, revision_of(target_rs), clean)
    plan.resume = bool(spec.get("paused"))
    return plan


def _plan(deployment: dict, action: str, reason: str, current_rev: int, current_fp: str, target_rev: int, target_template: dict) -> RollbackPlan:
    meta = _meta(deployment)
    current_template = (deployment.get("spec") or {}).get("template") or {}
    return RollbackPlan(
        namespace=meta.get("namespace", ""),
        name=meta.get("name", ""),
        action=action,
        reason=reason,
        current_revision=current_rev,
        current_images=template_images(current_template),
        current_fingerprint=current_fp,
        target_revision=target_rev,
        target_images=template_images(target_template),
        target_fingerprint=template_fingerprint(target_template),
        target_template=target_template,
    )


def target_record(plan: RollbackPlan, decided_at: str) -> str:
    """The annotation value that pins the target for re-runs (fingerprints, not revision numbers,
    because the controller renumbers the target when it rolls forward to it)."""
    return json.dumps(
        {
            "from": plan.current_fingerprint,
            "to": plan.target_fingerprint,
            "revision_from": plan.current_revision,
            "revision_to": plan.target_revision,
            "images": plan.target_images,
            "at": decided_at,
        },
        sort_keys=True,
    )


def rollback_patch(plan: RollbackPlan, deployment: dict, decided_at: str) -> list[dict]:
    """A JSON patch that replaces the pod template and records the target, guarded by resourceVersion.

    Unlike kubectl, other Deployment annotations are left untouched (team labels, last-applied...).
    """
    meta = _meta(deployment)
    ops: list[dict] = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": meta.get("resourceVersion")},
        {"op": "replace", "path": "/spec/template", "value": plan.target_template},
    ]
    record = target_record(plan, decided_at)
    if meta.get("annotations"):
        ops.append({"op": "add", "path": "/metadata/annotations/" + TARGET_ANNOTATION.replace("~", "~0").replace("/", "~1"), "value": record})
    else:
        ops.append({"op": "add", "path": "/metadata/annotations", "value": {TARGET_ANNOTATION: record}})
    if plan.resume:
        ops.append({"op": "replace", "path": "/spec/paused", "value": False})
    return ops


@dataclass
class RolloutState:
    state: str  # "done", "progressing" or "failed"
    message: str


def deployment_rollout_state(deployment: dict) -> RolloutState:
    """kubectl's rollout-status rules, in kubectl's order, with ProgressDeadlineExceeded as a failure."""
    meta, spec, status = _meta(deployment), deployment.get("spec") or {}, deployment.get("status") or {}
    name = meta.get("name", "")
    if (status.get("observedGeneration") or 0) < (meta.get("generation") or 0):
        return RolloutState("progressing", "waiting for the controller to observe the new generation")
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            deadline = spec.get("progressDeadlineSeconds", 600)
            return RolloutState("failed", 'ProgressDeadlineExceeded: deployment "%s" exceeded its progress deadline (%ss)' % (name, deadline))
    replicas = spec.get("replicas", 1)
    updated = status.get("updatedReplicas") or 0
    total = status.get("replicas") or 0
    available = status.get("availableReplicas") or 0
    if updated < replicas:
        return RolloutState("progressing", "%d out of %d new replicas have been updated" % (updated, replicas))
    if total > updated:
        return RolloutState("progressing", "%d old replicas are pending termination" % (total - updated))
    if available < updated:
        return RolloutState("progressing", "%d of %d updated replicas are available" % (available, updated))
    return RolloutState("done", "successfully rolled out")


def leftover_replicasets(deployment: dict, replicasets: list[dict]) -> list[dict[str, t.Any]]:
    """Owned ReplicaSets other than the current one that still have pods (reported after a rollback)."""
    current_fp = template_fingerprint((deployment.get("spec") or {}).get("template") or {})
    left = []
    for rs in owned_replicasets(deployment, replicasets):
        replicas = (rs.get("status") or {}).get("replicas") or 0
        if replicas and template_fingerprint(rs.get("spec", {}).get("template", {})) != current_fp:
            left.append({"name": _meta(rs).get("name"), "revision": revision_of(rs), "replicas": replicas,
                         "images": template_images(rs.get("spec", {}).get("template", {}))})
    return left


def pod_is_ready(pod: dict) -> bool:
    status = pod.get("status") or {}
    if status.get("phase") != "Running":
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


def pod_report(deployment: dict, replicasets: list[dict], pods: list[dict]) -> dict[str, t.Any]:
    """The Deployment's pods (through its ReplicaSets, by ownerReference): ready, not ready, terminating."""
    rs_uids = {_meta(rs).get("uid") for rs in owned_replicasets(deployment, replicasets)}
    ready, not_ready, terminating = [], [], []
    for pod in pods:
        owners = _meta(pod).get("ownerReferences") or []
        if not any(ref.get("controller") and ref.get("uid") in rs_uids for ref in owners):
            continue
        name = _meta(pod).get("name")
        if _meta(pod).get("deletionTimestamp"):
            terminating.append(name)
        elif pod_is_ready(pod):
            ready.append(name)
        else:
            status = pod.get("status") or {}
            waiting = [
                (cs.get("state") or {}).get("waiting", {}).get("reason")
                for cs in status.get("containerStatuses") or []
                if (cs.get("state") or {}).get("waiting")
            ]
            not_ready.append({"name": name, "phase": status.get("phase", "Unknown"),
                              "reason": ", ".join(r for r in waiting if r) or status.get("reason") or "not ready"})
    return {"ready": sorted(ready), "not_ready": sorted(not_ready, key=lambda p: p["name"]), "terminating": sorted(terminating)}
