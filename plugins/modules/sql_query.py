#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: sql_query
short_description: Run a read-only SQL check and return its rows
version_added: 0.1.0
description:
  - The runbook's C(psql -h prod-db <<EOF SELECT ...) checks (affected users, row counts, orphaned sessions) with rows
    returned as data, so playbooks can print them as a table and assert on them.
  - Exactly one statement is allowed, and it must be a read (C(SELECT), C(WITH), C(VALUES), C(TABLE), C(SHOW),
    C(EXPLAIN); so no C(COPY ... TO PROGRAM), C(DO), C(CALL) or C(SET)); strings are read as the server reads them,
    C(E'...') escapes included. The session is read-only (C(default_transaction_read_only)), so a check can
    never change data, not even behind a C(COMMIT;). It also cannot hang behind a lock for longer than
    O(statement_timeout). Parameters are passed separately from the SQL text (C(%(name\)s)); write C(%%) for a literal C(%).
  - Use a read-only database role for checks all the same.
author:
  - EasyMO DevOps (@easymo)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - easymo.rollback.postgres
attributes:
  platform:
    support: full
    platforms: posix
  check_mode:
    support: full
    details: Read-only, so it runs in check mode too.
  diff_mode:
    support: none
options:
  query:
    description: One SQL statement.
    type: str
    required: true
  named_args:
    description: Values for C(%(name)s) placeholders.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Users with the most AI errors in the last 10 minutes
  easymo.rollback.sql_query:
    db: agent_core
    query: >-
      SELECT user_id, COUNT(*) AS error_count FROM agent_fallbacks
      WHERE created_at > NOW() - INTERVAL '10 minutes' AND reason = 'error'
      GROUP BY user_id ORDER BY error_count DESC LIMIT 20
"""

RETURN = r"""
rows:
  description: Result rows as mappings of column to value.
  returned: always
  type: list
  elements: dict
columns:
  description: Column names in order.
  returned: always
  type: list
  elements: str
rowcount:
  description: Number of rows.
  returned: always
  type: int
"""

import datetime
import decimal

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.easymo.rollback.plugins.module_utils._pg import (
    HAS_PSYCOPG2,
    PG_CONNECTION_ARG_SPEC,
    PSYCOPG2_IMPORT_ERROR,
    connect,
    describe_target,
    read_only_options,
    single_statement,
)

try:
    import psycopg2
    import psycopg2.extensions
except ImportError:  # reported through HAS_PSYCOPG2
    pass


def plain(value):
    """A JSON-friendly value for any column type psycopg2 returns."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def main():
    module = AnsibleModule(
        argument_spec=dict(PG_CONNECTION_ARG_SPEC, query=dict(type="str", required=True), named_args=dict(type="dict", default={})),
        supports_check_mode=True,
    )
    if not HAS_PSYCOPG2:
        module.fail_json(msg=missing_required_lib("psycopg2"), exception=PSYCOPG2_IMPORT_ERROR)
    p = module.params
    target = describe_target(p)
    try:
        statement = single_statement(p["query"])
    except ValueError as exc:
        module.fail_json(msg="query refused: %s." % exc)
    if p["statement_timeout"] < 1:
        module.fail_json(msg="statement_timeout must be at least 1 second, got %d." % p["statement_timeout"])
    try:
        conn = connect(p, options=read_only_options(p["statement_timeout"]))
    except psycopg2.Error as exc:
        module.fail_json(msg="Cannot connect to PostgreSQL %s: %s" % (target, str(exc).strip()))
    try:
        with conn.cursor() as cur:
            cur.execute(statement, p["named_args"] or None)
            if cur.description is None:
                module.fail_json(msg="The statement returned no rows; sql_query runs checks (SELECT) only.")
            columns = [d[0] for d in cur.description]
            rows = [dict(zip(columns, map(plain, row))) for row in cur.fetchall()]
        conn.rollback()
    except psycopg2.extensions.QueryCanceledError:
        module.fail_json(msg="Query on %s cancelled after statement_timeout=%d s (a long query or a lock held by someone else)."
                             % (target, p["statement_timeout"]))
    except psycopg2.Error as exc:
        module.fail_json(msg="Query failed on %s: %s" % (target, str(exc).strip()))
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        module.fail_json(msg="Query parameters do not fit the query: %s. Use %%(name)s placeholders for named_args and %%%% for a literal %%." % exc)
    finally:
        conn.close()
    module.exit_json(changed=False, rows=rows, columns=columns, rowcount=len(rows))


if __name__ == "__main__":
    main()
