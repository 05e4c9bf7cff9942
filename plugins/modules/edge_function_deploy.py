#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: edge_function_deploy
short_description: Redeploy Supabase Edge Functions from a known-good source (a rollback is a new deploy of old source)
version_added: 0.1.0
description:
  - Supabase has no rollback API. This module deploys the source of a known-good version as a new version, through
    the Management API (what C(supabase functions deploy --use-api) does), and reads the function back.
  - "The source is one of: a git commit (O(source=git)), read with C(git cat-file) so the working tree and index
    are never touched (the runbook's C(git checkout <commit> -- path) changes the checkout); a backup folder
    (O(source=backup)), laid over the project as C(supabase/functions/<name>/); or the project folder as it is
    (O(source=path))."
  - The files are collected like the CLI does (entrypoint from C(supabase/config.toml) or the default
    C(supabase/functions/<name>/index.ts), relative imports including C(../_shared), the import map by the CLI's
    precedence, C(static_files)), and uploaded with project-relative names whatever the working directory.
    Unlike the CLI, an import that is missing or leaves the project is refused before anything is uploaded.
  - C(verify_jwt) is always sent explicitly. It is O(verify_jwt) if given, else the source's C(config.toml), else the
    deployed function's current value, so a webhook that had C(verify_jwt=false) never falls back to the default
    C(true). It is read back and corrected with a PATCH if the API did not apply it.
  - How a second run knows the target is already deployed. The API keeps no version history, so the module downloads
    the deployed source (C(GET .../body) as multipart) and compares every file's path and sha256 with the files it
    would upload, and the deployed C(verify_jwt) with the one it would send. Equal means no change. If the API does
    not return the source, the module deploys (and says why). O(force) deploys in any case.
  - A deploy answered with 5xx is never retried blindly. The function is read back; if its version moved and its
    source is the one sent, the deploy is reported as applied, otherwise as failed with the version unchanged.
  - All sources are collected and checked before the first upload; then functions are deployed one after another,
    and the result says for each exactly what state it is in.
author:
  - EasyMO DevOps (@easymo)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - easymo.rollback.supabase
attributes:
  platform:
    support: full
    platforms: posix
  check_mode:
    support: full
    details: Collects and checks the files and reads the remote function; uploads nothing.
  diff_mode:
    support: full
    details: Shows version, verify_jwt and the files (path and sha256) before and after.
options:
  names:
    description: Functions (slugs) to deploy, in this order.
    type: list
    elements: str
    required: true
    aliases: [name]
  project_dir:
    description:
      - The project root, the folder holding C(supabase/). With O(source=git), a folder inside the git repository.
      - Uploaded file names are relative to it, whatever the task's working directory.
    type: path
    required: true
  source:
    description: Where the known-good source comes from.
    type: str
    choices: [git, backup, path]
    default: path
  git_ref:
    description: With O(source=git), the commit, tag or branch holding the known-good source.
    type: str
  backup_dir:
    description:
      - With O(source=backup), the folder holding one folder per function (the runbook's C(backups/functions));
        C(<backup_dir>/<name>/) is deployed as C(supabase/functions/<name>/), the rest (C(_shared), C(config.toml))
        comes from O(project_dir).
    type: path
  verify_jwt:
    description: Force C(verify_jwt) for every function; by default taken from the source's config or kept from the remote.
    type: bool
  import_map:
    description: Project-relative path of an import map to use instead of the CLI's precedence.
    type: str
  version_pattern:
    description:
      - A regular expression whose first group is the release named in the source (returned as RV(functions[].source_version),
        for the health check to expect).
    type: str
    default: VERSION\s*=\s*["']([^"']+)["']
  force:
    description: Deploy even when the deployed source already equals the target.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Redeploy wa-webhook from the last known-good commit
  easymo.rollback.edge_function_deploy:
    project_ref: lhbowpbcpwoiparwnwgt
    names: [wa-webhook]
    project_dir: /srv/easymo
    source: git
    git_ref: 4f2c9e1
  register: deployed

- name: Or from the backup copy
  easymo.rollback.edge_function_deploy:
    project_ref: lhbowpbcpwoiparwnwgt
    names: wa-webhook
    project_dir: /srv/easymo
    source: backup
    backup_dir: /srv/easymo/backups/functions
"""

RETURN = r"""
functions:
  description: One entry per function, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The slug.
      type: str
      returned: always
    status:
      description: V(deployed), V(already_deployed), V(would_deploy) (check mode), V(failed) or V(not_attempted).
      type: str
      returned: always
    message:
      description: What happened, in words.
      type: str
      returned: always
    before:
      description: Version, status, verify_jwt and ezbr_sha256 before (null for a new function).
      type: dict
      returned: always
    after:
      description: The same read back after the deploy.
      type: dict
      returned: always
    files:
      description: Uploaded files (path, sha256, bytes).
      type: list
      returned: always
    entrypoint_path:
      description: Project-relative entrypoint sent.
      type: str
      returned: always
    import_map_path:
      description: Project-relative import map sent (empty when none).
      type: str
      returned: always
    verify_jwt:
      description: The value sent, and RV(functions[].verify_jwt_from) says why.
      type: bool
      returned: always
    verify_jwt_from:
      description: Where the verify_jwt value came from.
      type: str
      returned: always
    source:
      description: The source the files came from.
      type: str
      returned: always
    source_version:
      description: The release named in the source (by O(version_pattern)).
      type: str
      returned: always
    seconds:
      description: Time spent on this function.
      type: float
      returned: always
rate_limit_waits:
  description: Seconds waited on each HTTP 429.
  returned: always
  type: list
  elements: float
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.easymo.rollback.plugins.module_utils._edge_source import (
    DirTree,
    GitTree,
    OverlayTree,
    SourceError,
    collect_function,
    desired_verify_jwt,
    open_git_project,
    remote_fingerprint,
)
from ansible_collections.easymo.rollback.plugins.module_utils._http_probe import HAS_REQUESTS, REQUESTS_IMPORT_ERROR
from ansible_collections.easymo.rollback.plugins.module_utils._supabase_api import (
    SUPABASE_AUTH_ARG_SPEC,
    Client,
    DeployUncertain,
    SupabaseError,
    remote_summary,
    slugs_problem,
    validate_settings,
    version_pattern_problem,
)


def build_tree(module, p):
    project = p["project_dir"]
    if not os.path.isdir(project):
        raise SourceError("project_dir %s does not exist" % project)
    if p["source"] == "git":
        return open_git_project(project, p["git_ref"], lambda argv: module.run_command(argv, encoding=None))
    return DirTree(project, "folder %s" % project)


def source_for(module, p, base, name):
    tree = base
    if p["source"] == "backup":
        folder = os.path.join(p["backup_dir"], name)
        if not os.path.isdir(folder):
            raise SourceError("backup folder %s for function %s does not exist" % (folder, name))
        tree = OverlayTree(base, "supabase/functions/" + name, DirTree(folder, "backup %s" % folder))
    return collect_function(tree, name, p["import_map"])


def metadata_for(src, verify_jwt):
    return {"entrypoint_path": src.entrypoint_path, "import_map_path": src.import_map_path,
            "static_patterns": src.static_patterns, "verify_jwt": verify_jwt, "name": src.slug}


def deployed_equals(client, name, src, remote, verify_jwt):
    """(True, why) when the remote already runs exactly these files with this verify_jwt."""
    if remote is None:
        return False, "the function does not exist yet"
    if remote.get("status") != "ACTIVE":
        return False, "the function is %s" % remote.get("status")
    if remote.get("verify_jwt") != verify_jwt:
        return False, "verify_jwt is %s, want %s" % (remote.get("verify_jwt"), verify_jwt)
    files = client.get_body(name)
    if files is None:
        return False, "the API did not return the deployed source, so it cannot be compared"
    if remote_fingerprint(files) != src.fingerprint():
        return False, "the deployed source differs"
    return True, "the deployed source and verify_jwt already equal the target"


def main():
    argument_spec = dict(
        SUPABASE_AUTH_ARG_SPEC,
        names=dict(type="list", elements="str", required=True, aliases=["name"]),
        project_dir=dict(type="path", required=True),
        source=dict(type="str", choices=["git", "backup", "path"], default="path"),
        git_ref=dict(type="str"),
        backup_dir=dict(type="path"),
        verify_jwt=dict(type="bool"),
        import_map=dict(type="str"),
        version_pattern=dict(type="str", default=r"""VERSION\s*=\s*["']([^"']+)["']"""),
        force=dict(type="bool", default=False),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_if=[("source", "git", ["git_ref"]), ("source", "backup", ["backup_dir"])],
        supports_check_mode=True,
    )
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
    p = module.params
    problem = version_pattern_problem(p["version_pattern"])
    if problem:
        module.fail_json(msg="%s. Nothing was uploaded." % problem)
    try:
        api_url, token, ref = validate_settings(p, os.environ)
    except ValueError as exc:
        module.fail_json(msg="%s. Nothing was uploaded." % exc)
    for option, source in (("git_ref", "git"), ("backup_dir", "backup")):
        if p[option] and p["source"] != source:
            module.fail_json(msg="%s is given but source is %s: set source=%s to deploy from it (or drop %s). "
                                 "Nothing was uploaded." % (option, p["source"], source, option))
    names = p["names"]
    problem = slugs_problem(names)
    if problem:
        module.fail_json(msg="%s. Nothing was uploaded." % problem)
    if len(set(names)) != len(names):
        module.fail_json(msg="a function is named twice in names: %s. Nothing was uploaded." % names)

    # Every source is collected and checked before the first upload.
    sources = {}
    try:
        base = build_tree(module, p)
        for name in names:
            sources[name] = source_for(module, p, base, name)
    except SourceError as exc:
        module.fail_json(msg="%s. Nothing was uploaded." % exc)

    client = Client(api_url, token, ref, p["request_timeout"], p["rate_limit_budget"])
    results = []
    failed = False
    try:
        client.get_project()
        remotes = {name: client.get_function(name) for name in names}
    except SupabaseError as exc:
        module.fail_json(msg="%s. Nothing was uploaded." % exc, functions=[], rate_limit_waits=client.waits)

    for name in names:
        started = time.monotonic()
        src, remote = sources[name], remotes[name]
        verify_jwt, why = desired_verify_jwt(p["verify_jwt"], src, remote)
        entry = {"name": name, "source": src.origin, "files": src.summary(), "entrypoint_path": src.entrypoint_path,
                 "import_map_path": src.import_map_path, "verify_jwt": verify_jwt, "verify_jwt_from": why,
                 "source_version": src.version(p["version_pattern"]), "before": remote_summary(remote),
                 "after": remote_summary(remote)}
        if isinstance(base, GitTree):
            entry["git_commit"] = base.commit
        results.append(entry)
        if failed:
            entry.update(status="not_attempted", message="not attempted: an earlier function failed", seconds=0.0)
            continue
        try:
            same, reason = (False, "force") if p["force"] else deployed_equals(client, name, src, remote, verify_jwt)
            if same:
                entry.update(status="already_deployed", message=reason)
            elif module.check_mode:
                entry.update(status="would_deploy", message="would deploy %d files (%s)" % (len(src.files), reason))
            else:
                entry.update(deploy_one(client, name, src, remote, verify_jwt, reason))
        except SupabaseError as exc:
            entry.update(status="failed", message=str(exc))
        entry["seconds"] = round(time.monotonic() - started, 3)
        failed = failed or entry["status"] == "failed"

    changed = any(e["status"] in ("deployed", "would_deploy") for e in results)
    result = {"changed": changed, "functions": results, "rate_limit_waits": client.waits, "project_ref": ref}
    if module._diff:
        result["diff"] = [{"before_header": "%s (before)" % e["name"], "after_header": "%s (after)" % e["name"],
                           "before": _diff_side(e["before"], None),
                           "after": _diff_side(e["after"], e if e["status"] == "would_deploy" else None)} for e in results]
    if failed:
        states = ", ".join("%s: %s" % (e["name"], e["status"]) for e in results)
        module.fail_json(msg="Edge Function deploy failed (%s). %s" % (states, "; ".join(e["message"] for e in results if e["status"] == "failed")),
                         **result)
    module.exit_json(**result)


def _diff_side(summary, planned):
    """One side of the diff; in check mode the after side is the prediction (next version, files to upload)."""
    side = dict(summary or {})
    if planned is not None:
        side = {"version": (side.get("version") or 0) + 1, "status": "ACTIVE", "verify_jwt": planned["verify_jwt"],
                "files": ["%s %s" % (f["path"], f["sha256"][:12]) for f in planned["files"]]}
    return side


def deploy_one(client, name, src, remote, verify_jwt, reason):
    before_version = (remote or {}).get("version")
    try:
        client.deploy(name, src.files, metadata_for(src, verify_jwt))
        uncertain = None
    except DeployUncertain as exc:
        uncertain = exc
    after = client.get_function(name)
    if uncertain is not None and uncertain.status is None:
        # No answer at all (a timeout): the service may still be applying it, so watch for a while before judging.
        watch_until = time.monotonic() + max(5.0, client.request_timeout)
        while (after is None or after.get("version") == before_version) and time.monotonic() < watch_until:
            time.sleep(1)
            after = client.get_function(name)
    if uncertain is not None:
        moved = after is not None and after.get("version") != before_version
        files = client.get_body(name) if moved else None
        if moved and files is not None and remote_fingerprint(files) == src.fingerprint():
            return {"status": "deployed", "after": remote_summary(after),
                    "message": "the API answered an error (%s) but the function now runs version %s with this source"
                    % (uncertain, after.get("version"))}
        return {"status": "failed", "after": remote_summary(after),
                "message": "%s; not retried. Read back: version %s (before %s), %s" % (
                    uncertain, (after or {}).get("version"), before_version,
                    "unchanged, safe to run again" if not moved else "changed, but its source could not be confirmed")}
    if after is None:
        raise SupabaseError("function %s was deployed but cannot be read back" % name)
    message = "deployed version %s (%s)" % (after.get("version"), reason)
    if after.get("verify_jwt") != verify_jwt:
        after = client.patch_function(name, {"verify_jwt": verify_jwt})
        if after.get("verify_jwt") != verify_jwt:
            raise SupabaseError("function %s was deployed, but verify_jwt stays %s after a PATCH to %s" % (
                name, after.get("verify_jwt"), verify_jwt))
        message += "; verify_jwt was not applied by the deploy and was set with a PATCH"
    return {"status": "deployed", "after": remote_summary(after), "message": message}


if __name__ == "__main__":
    main()
