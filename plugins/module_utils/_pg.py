# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL connection options (community.postgresql's names, libpq's environment fallbacks)."""

from __future__ import annotations

import traceback
import typing as t

from ansible.module_utils.basic import env_fallback

try:
    import psycopg2

    HAS_PSYCOPG2 = True
    PSYCOPG2_IMPORT_ERROR = None
except ImportError:
    HAS_PSYCOPG2 = False
    PSYCOPG2_IMPORT_ERROR = traceback.format_exc()

PG_CONNECTION_ARG_SPEC: dict[str, dict[str, t.Any]] = {
    "login_host": {"type": "str", "aliases": ["host"], "fallback": (env_fallback, ["PGHOST"])},
    "login_port": {"type": "int", "aliases": ["port"], "fallback": (env_fallback, ["PGPORT"])},
    "login_user": {"type": "str", "aliases": ["user"], "fallback": (env_fallback, ["PGUSER"])},
    "login_password": {"type": "str", "aliases": ["password"], "no_log": True, "fallback": (env_fallback, ["PGPASSWORD"])},
    "db": {"type": "str", "aliases": ["database"], "fallback": (env_fallback, ["PGDATABASE"])},
    "ssl_mode": {"type": "str", "default": "prefer", "choices": ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]},
    "connect_timeout": {"type": "int", "default": 10},
}


def connection_kwargs(params: dict[str, t.Any]) -> dict[str, t.Any]:
    """psycopg2.connect keyword arguments from the module options (absent ones left to libpq)."""
    mapping = {"login_host": "host", "login_port": "port", "login_user": "user", "login_password": "password", "db": "dbname"}
    kwargs = {dest: params[src] for src, dest in mapping.items() if params.get(src) not in (None, "")}
    kwargs["sslmode"] = params["ssl_mode"]
    kwargs["connect_timeout"] = params["connect_timeout"]
    kwargs["application_name"] = "easymo.rollback"
    return kwargs


def describe_target(params: dict[str, t.Any]) -> str:
    return "%s@%s:%s/%s" % (params.get("login_user") or "(default user)", params.get("login_host") or "(default host)",
                            params.get("login_port") or 5432, params.get("db") or "(default db)")


def connect(params: dict[str, t.Any]) -> t.Any:
    """A psycopg2 connection from the module options; raises psycopg2.Error."""
    return psycopg2.connect(**connection_kwargs(params))
