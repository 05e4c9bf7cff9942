#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: edge_function_info
short_description: A Supabase Edge Function's deployed state and the git history of its source
version_added: 0.1.0
description:
  - The runbook's "identify previous version" step. Supabase keeps no version history, so the history is git's,
    the commits that changed C(supabase/functions/<name>/) or C(supabase/functions/_shared/), newest first.
  - With O(bad_ref), also the previous good version, the newest commit before the bad one that changed those folders,
    and the release its source names.
  - Reads the remote function (version, status, verify_jwt, ezbr_sha256) unless O(remote=false).
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
    details: Changes nothing.
  diff_mode:
    support: none
options:
  names:
    description: Functions (slugs).
    type: list
    elements: str
    required: true
    aliases: [name]
  project_dir:
    description: The project root (the folder holding C(supabase/)) inside a git repository.
    type: path
    required: true
  history_ref:
    description: The commit whose history is listed.
    type: str
    default: HEAD
  depth:
    description: How many commits of history to list.
    type: int
    default: 5
  bad_ref:
    description: The commit that introduced the problem; RV(functions[].previous_good) is the one before it.
    type: str
  version_pattern:
    description: A regular expression whose first group is the release named in the source.
    type: str
    default: VERSION\s*=\s*["']([^"']+)["']
  remote:
    description: Read the deployed function from the Management API.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Which version was good before the bad commit
  easymo.rollback.edge_function_info:
    project_ref: lhbowpbcpwoiparwnwgt
    names: [wa-webhook]
    project_dir: /srv/easymo
    bad_ref: 9b1d7c2
  register: wa_info
"""

RETURN = r"""
functions:
  description: One entry per function.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The slug.
      type: str
      returned: always
    remote:
      description: Version, status, verify_jwt, ezbr_sha256 and updated_at of the deployed function (null if none).
      type: dict
      returned: always
    history:
      description: Commits that changed the function (commit, short, date, author, subject), newest first.
      type: list
      elements: dict
      returned: always
    previous_good:
      description: With O(bad_ref), the newest earlier commit that changed the function, with its C(source_version).
      type: dict
      returned: when bad_ref is given
"""

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.easymo.rollback.plugins.module_utils._edge_source import (
    SourceError,
    collect_function,
    commit_before,
    git_history,
    open_git_project,
)
from ansible_collections.easymo.rollback.plugins.module_utils._http_probe import HAS_REQUESTS, REQUESTS_IMPORT_ERROR
from ansible_collections.easymo.rollback.plugins.module_utils._supabase_api import (
    SUPABASE_AUTH_ARG_SPEC,
    Client,
    SupabaseError,
    remote_summary,
    slugs_problem,
    validate_settings,
    version_pattern_problem,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            SUPABASE_AUTH_ARG_SPEC,
            names=dict(type="list", elements="str", required=True, aliases=["name"]),
            project_dir=dict(type="path", required=True),
            history_ref=dict(type="str", default="HEAD"),
            depth=dict(type="int", default=5),
            bad_ref=dict(type="str"),
            version_pattern=dict(type="str", default=r"""VERSION\s*=\s*["']([^"']+)["']"""),
            remote=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    problem = version_pattern_problem(p["version_pattern"]) or slugs_problem(p["names"])
    if problem:
        module.fail_json(msg=problem + ".")
    if not 1 <= p["depth"] <= 1000:
        module.fail_json(msg="depth must be from 1 to 1000, got %d." % p["depth"])
    if not os.path.isdir(p["project_dir"]):
        module.fail_json(msg="project_dir %s does not exist." % p["project_dir"])
    client = None
    if p["remote"]:
        if not HAS_REQUESTS:
            module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
        try:
            client = Client(*validate_settings(p, os.environ), request_timeout=p["request_timeout"],
                            rate_limit_budget=p["rate_limit_budget"])
        except ValueError as exc:
            module.fail_json(msg=str(exc))

    def run(argv):
        return module.run_command(argv, encoding=None)

    functions = []
    try:
        if client:
            client.get_project()
        head = open_git_project(p["project_dir"], p["history_ref"], run)
        bad_tree = open_git_project(p["project_dir"], p["bad_ref"], run) if p["bad_ref"] else None
        for name in p["names"]:
            entry = {"name": name, "history": git_history(head, name, p["depth"])}
            if bad_tree is not None:
                good = commit_before(bad_tree, name)
                good_tree = open_git_project(p["project_dir"], good["commit"], run)
                good["source_version"] = collect_function(good_tree, name).version(p["version_pattern"])
                try:
                    good["bad_source_version"] = collect_function(bad_tree, name).version(p["version_pattern"])
                except SourceError:  # the bad release may be broken in exactly this way; it is not deployed
                    good["bad_source_version"] = None
                entry["previous_good"] = good
            entry["remote"] = remote_summary(client.get_function(name)) if client else None
            functions.append(entry)
    except SourceError as exc:
        module.fail_json(msg=str(exc), functions=functions)
    except SupabaseError as exc:
        module.fail_json(msg=str(exc), functions=functions)
    module.exit_json(changed=False, functions=functions)


if __name__ == "__main__":
    main()
