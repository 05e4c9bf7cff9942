# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL connection options (community.postgresql's names, libpq's environment fallbacks)."""

from __future__ import annotations

import re
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
    "statement_timeout": {"type": "int", "default": 30},
}


def connection_kwargs(params: dict[str, t.Any]) -> dict[str, t.Any]:
    """psycopg2.connect keyword arguments from the module options (absent ones left to libpq)."""
    mapping = {"login_host": "host", "login_port": "port", "login_user": "user", "login_password": "password", "db": "dbname"}
    kwargs = {dest: params[src] for src, dest in mapping.items() if params.get(src) not in (None, "")}
    kwargs["sslmode"] = params["ssl_mode"]
    kwargs["connect_timeout"] = params["connect_timeout"]
    kwargs["application_name"] = "easymo.rollback"
    return kwargs


def read_only_options(statement_timeout: int) -> str:
    """libpq `options` for checks: every transaction read-only, and no statement or lock wait longer than
    the timeout (a check must never hang behind a migration's lock during an incident).
    standard_conforming_strings=on makes the server read '...' strings as single_statement() does."""
    ms = max(1, int(statement_timeout)) * 1000
    return ("-c default_transaction_read_only=on -c statement_timeout=%d -c lock_timeout=%d "
            "-c standard_conforming_strings=on" % (ms, ms))


# What a check may start with: statements that read. COPY (which can run programs), DO, CALL, SET, BEGIN,
# COMMIT and the like are refused before anything is sent.
READ_STATEMENTS = ("select", "with", "values", "table", "show", "explain")


def single_statement(sql: str) -> str:
    """The statement without trailing semicolons; ValueError when the text holds more than one statement or
    does not start like a read.

    Strings ('' doubling; E'' with backslash escapes), dollar quotes, quoted identifiers and comments (nested
    /* */ too) are skipped, so a ';' inside them is fine; the server is told to parse strings the same way.
    """
    text = sql.strip()
    i, n, end = 0, len(text), None
    while i < n:
        c = text[i]
        if c in ("'", '"'):
            escapes = c == "'" and i > 0 and text[i - 1] in "eE" and (i < 2 or not (text[i - 2].isalnum() or text[i - 2] in "_$"))
            j = i + 1
            while j < n:
                if escapes and text[j] == "\\":
                    j += 2
                    continue
                if text[j] == c:
                    if j + 1 < n and text[j + 1] == c:
                        j += 2
                        continue
                    break
                j += 1
            if j >= n:
                raise ValueError("a quoted string or identifier is not closed")
            i = j + 1
        elif c == "-" and text.startswith("--", i):
            nl = text.find("\n", i)
            i = n if nl < 0 else nl + 1
        elif c == "/" and text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            if depth:
                raise ValueError("a /* comment */ is not closed")
            i = j
        elif c == "$" and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] in "_$")):
            m = re.match(r"\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$", text[i:])
            if m:
                close = text.find(m.group(0), i + len(m.group(0)))
                if close < 0:
                    raise ValueError("a $$ quoted string is not closed")
                i = close + len(m.group(0))
            else:
                i += 1
        elif c == ";":
            if end is None:
                end = i
            i += 1
        else:
            if end is not None and not c.isspace():
                raise ValueError("more than one SQL statement; a check runs exactly one (no COMMIT/ROLLBACK/SET before it)")
            i += 1
    statement = text if end is None else text[:end]
    if not statement.strip():
        raise ValueError("the query is empty")
    first = re.match(r"\s*(?:(?:--[^\n]*\n|/\*.*?\*/)\s*)*\(*\s*([A-Za-z]+)", statement, re.S)
    if not first or first.group(1).lower() not in READ_STATEMENTS:
        allowed = ", ".join(word.upper() for word in READ_STATEMENTS)
        raise ValueError("a check must be a read (%s), not %r" % (allowed, first.group(1) if first else statement[:20]))
    return statement


def describe_target(params: dict[str, t.Any]) -> str:
    return "%s@%s:%s/%s" % (params.get("login_user") or "(default user)", params.get("login_host") or "(default host)",
                            params.get("login_port") or 5432, params.get("db") or "(default db)")


def connect(params: dict[str, t.Any], options: str | None = None) -> t.Any:
    """A psycopg2 connection from the module options; raises psycopg2.Error."""
    kwargs = connection_kwargs(params)
    if options:
        kwargs["options"] = options
    return psycopg2.connect(**kwargs)


# ---------------------------------------------------------------- client tools (pg_dump, pg_restore, psql)

def client_env(params: dict[str, t.Any], base_env: dict[str, str]) -> dict[str, str]:
    """libpq environment for the client tools: the password never goes on a command line."""
    env = {k: v for k, v in base_env.items() if not k.startswith("PG")}
    mapping = {"login_host": "PGHOST", "login_port": "PGPORT", "login_user": "PGUSER", "login_password": "PGPASSWORD",
               "db": "PGDATABASE"}
    for src, dest in mapping.items():
        if params.get(src) not in (None, ""):
            env[dest] = str(params[src])
    env["PGSSLMODE"] = params["ssl_mode"]
    env["PGCONNECT_TIMEOUT"] = str(params["connect_timeout"])
    env["PGAPPNAME"] = "easymo.rollback"
    env["LC_MESSAGES"] = "C"  # error texts are classified, so they must be English
    env["LC_ALL"] = "C.UTF-8"
    return env


def client_tool(tool: str, server_major: int | None, bin_dir: str | None, which: t.Callable[[str], str | None],
                exists: t.Callable[[str], bool]) -> str | None:
    """The client tool to use: from bin_dir if given, else Debian's binaries of the server's major version, else PATH."""
    import os.path

    if bin_dir:
        path = os.path.join(bin_dir, tool)
        return path if exists(path) else None
    if server_major:
        path = "/usr/lib/postgresql/%d/bin/%s" % (server_major, tool)
        if exists(path):
            return path
    return which(tool)


def tool_major(version_output: str) -> int | None:
    """12 from 'pg_restore (PostgreSQL) 12.3'."""
    m = re.search(r"\(PostgreSQL\)\s+(\d+)", version_output or "")
    return int(m.group(1)) if m else None
