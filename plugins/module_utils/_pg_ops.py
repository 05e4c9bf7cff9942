# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Thin I/O for Method 5: server facts, exact table measurements, sessions, and the client tools.

Decisions live in _pg_archive; this only asks the server and runs programs (argument lists, no shell).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import threading
import typing as t

from ansible_collections.easymo.rollback.plugins.module_utils._pg import client_env, client_tool, tool_major
from ansible_collections.easymo.rollback.plugins.module_utils._pg_archive import PLATFORM_SCHEMAS, quote_ident

SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")


def server_facts(cur: t.Any) -> dict[str, t.Any]:
    cur.execute("SELECT current_setting('server_version_num')::int / 10000, current_user, "
                "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user), current_database()")
    major, user, superuser, db = cur.fetchone()
    return {"major": major, "user": user, "superuser": bool(superuser), "database": db}


def application_schemas(cur: t.Any, platform: t.Iterable[str] = PLATFORM_SCHEMAS) -> list[str]:
    cur.execute("SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%%' AND nspname <> 'information_schema' "
                "ORDER BY nspname")
    skip = set(platform)
    return [name for (name,) in cur.fetchall() if name not in skip]


def tables_in(cur: t.Any, schemas: list[str]) -> list[tuple[str, str, list[str]]]:
    """(schema, table, primary-key columns) of ordinary and partitioned tables, partitions left out (the parent counts them)."""
    cur.execute("""
        SELECT n.nspname, c.relname,
               COALESCE((SELECT array_agg(a.attname ORDER BY k.ord)
                         FROM pg_constraint p CROSS JOIN LATERAL unnest(p.conkey) WITH ORDINALITY AS k(attnum, ord)
                         JOIN pg_attribute a ON a.attrelid = p.conrelid AND a.attnum = k.attnum
                         WHERE p.conrelid = c.oid AND p.contype = 'p'), '{}')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = ANY(%s)
        ORDER BY 1, 2""", (list(schemas),))
    return [(s, r, list(pk)) for s, r, pk in cur.fetchall()]


def measure(cur: t.Any, schema: str, table: str, pk: list[str]) -> dict[str, t.Any]:
    """Exact count, distinct primary keys and a primary-key-ordered checksum of the rows (never reltuples, never sizes)."""
    rel = "%s.%s" % (quote_ident(schema), quote_ident(table))
    keys = ", ".join("t.%s" % quote_ident(c) for c in pk)
    order = keys or "t::text"
    distinct = "count(DISTINCT (%s))" % keys if pk else "NULL::bigint"
    # md5 of the rows' md5s in key order: 32 bytes a row in memory (a string_agg of the rows themselves hits
    # PostgreSQL's 1 GB limit on big tables).
    cur.execute("SELECT count(*), %s, md5(coalesce(string_agg(md5(t::text), '' ORDER BY %s), '')) FROM %s t"
                % (distinct, order, rel))
    rows, distinct_pk, checksum = cur.fetchone()
    return {"rows": rows, "distinct_pk": distinct_pk, "checksum": checksum, "pk": pk}


def measure_all(cur: t.Any, schemas: list[str], only: list[str] | None = None) -> dict[str, dict[str, t.Any]]:
    out = {}
    for schema, table, pk in tables_in(cur, schemas):
        name = "%s.%s" % (schema, table)
        if only and name not in only:
            continue
        out[name] = measure(cur, schema, table, pk)
    return out


def row_counts(cur: t.Any, schemas: list[str]) -> dict[str, int]:
    """Exact counts only: the cheap first look (a checksum reads every row's text)."""
    out = {}
    for schema, table, _pk in tables_in(cur, schemas):
        cur.execute("SELECT count(*) FROM %s.%s" % (quote_ident(schema), quote_ident(table)))
        out["%s.%s" % (schema, table)] = cur.fetchone()[0]
    return out


def sessions_on(cur: t.Any, database: str) -> list[dict[str, t.Any]]:
    """Other sessions connected to the database (ours excluded)."""
    cur.execute("SELECT pid, usename, application_name, state, client_addr::text FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend' ORDER BY pid", (database,))
    return [{"pid": p, "user": u, "application": a, "state": s, "client": c} for p, u, a, s, c in cur.fetchall()]


def terminate_sessions(cur: t.Any, database: str) -> int:
    cur.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend'", (database,))
    return cur.fetchone()[0]


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ClientTools:
    """pg_dump, pg_restore and psql of the right version, with the connection in libpq's environment."""

    def __init__(self, params: dict[str, t.Any], server_major: int | None):
        self.params = params
        self.server_major = server_major
        self.env = client_env(params, dict(os.environ))
        self.paths: dict[str, str] = {}
        self.major: int | None = None
        for tool in ("pg_dump", "pg_restore", "psql"):
            path = client_tool(tool, server_major, params.get("client_bin_dir"), shutil.which, os.path.exists)
            if path is None:
                raise FileNotFoundError("%s not found (%s); install the PostgreSQL %s client tools or set client_bin_dir"
                                        % (tool, params.get("client_bin_dir") or "PATH and /usr/lib/postgresql/*/bin",
                                           server_major or ""))
            self.paths[tool] = path
        out = subprocess.run([self.paths["pg_restore"], "--version"], capture_output=True, text=True, check=False)
        self.major = tool_major(out.stdout)

    def run(self, tool: str, args: list[str], database: str | None = None) -> subprocess.CompletedProcess:
        env = dict(self.env)
        if database:
            env["PGDATABASE"] = database
        return subprocess.run([self.paths[tool], *args], env=env, capture_output=True, text=True, check=False)

    def restore_through_psql(self, restore_args: list[str], preamble: str, database: str) -> tuple[int, str]:
        """`pg_restore -f - ...` streamed into one `psql --single-transaction`, after our preamble: all or nothing."""
        env = dict(self.env, PGDATABASE=database)
        psql = subprocess.Popen([self.paths["psql"], "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-d", database],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        dump = subprocess.Popen([self.paths["pg_restore"], "-f", "-", *restore_args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env)
        errors: list[bytes] = []
        reader = threading.Thread(target=lambda: errors.append(psql.stderr.read()), daemon=True)
        reader.start()
        dump_err: list[bytes] = []
        dump_reader = threading.Thread(target=lambda: dump_err.append(dump.stderr.read()), daemon=True)
        dump_reader.start()
        try:
            psql.stdin.write(preamble.encode())
            for block in iter(lambda: dump.stdout.read(1 << 16), b""):
                psql.stdin.write(block)
        except BrokenPipeError:
            dump.kill()  # psql stopped at the first error (its message says which); pg_restore would block on a full pipe
        finally:
            try:
                psql.stdin.close()
            except BrokenPipeError:
                pass
        dump_rc = dump.wait()
        psql_rc = psql.wait()
        reader.join()
        dump_reader.join()
        text = (b"".join(dump_err) + b"".join(errors)).decode("utf-8", "replace")
        return (psql_rc or dump_rc), text


def constraints_in(cur: t.Any, schemas: list[str]) -> set[tuple[str, str]]:
    """(schema.table, constraint name) of every constraint in the schemas."""
    cur.execute("""SELECT n.nspname || '.' || c.relname, k.conname FROM pg_constraint k
                   JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = ANY(%s)""", (list(schemas),))
    return set(cur.fetchall())


def foreign_key_orphans(cur: t.Any, schemas: list[str]) -> list[dict[str, t.Any]]:
    """For every foreign key of a table in the schemas, the child rows whose parent is missing (0 while the key is
    valid; counted anyway, since a key the restore could not re-create is simply absent)."""
    cur.execute("""SELECT k.conname, cn.nspname, c.relname, pn.nspname, pc.relname,
                          (SELECT array_agg(a.attname ORDER BY x.ord) FROM unnest(k.conkey) WITH ORDINALITY x(n, ord)
                           JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = x.n),
                          (SELECT array_agg(a.attname ORDER BY x.ord) FROM unnest(k.confkey) WITH ORDINALITY x(n, ord)
                           JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = x.n)
                   FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace
                   JOIN pg_class pc ON pc.oid = k.confrelid JOIN pg_namespace pn ON pn.oid = pc.relnamespace
                   WHERE k.contype = 'f' AND cn.nspname = ANY(%s) AND NOT c.relispartition ORDER BY 2, 3, 1""", (list(schemas),))
    out = []
    for name, cs, ct, ps, pt, ccols, pcols in cur.fetchall():
        join = " AND ".join("p.%s = c.%s" % (quote_ident(pc), quote_ident(cc)) for cc, pc in zip(ccols, pcols))
        not_null = " AND ".join("c.%s IS NOT NULL" % quote_ident(cc) for cc in ccols)
        cur.execute("SELECT count(*) FROM %s.%s c WHERE %s AND NOT EXISTS (SELECT 1 FROM %s.%s p WHERE %s)" % (
            quote_ident(cs), quote_ident(ct), not_null, quote_ident(ps), quote_ident(pt), join))
        out.append({"constraint": name, "child": "%s.%s" % (cs, ct), "parent": "%s.%s" % (ps, pt), "orphans": cur.fetchone()[0]})
    return out


def table_sizes(cur: t.Any, schemas: list[str], limit: int = 20) -> list[dict[str, t.Any]]:
    cur.execute("""SELECT schemaname || '.' || tablename, pg_total_relation_size(quote_ident(schemaname) || '.' || quote_ident(tablename))
                   FROM pg_tables WHERE schemaname = ANY(%s) ORDER BY 2 DESC LIMIT %s""", (list(schemas), limit))
    return [{"table": name, "bytes": size} for name, size in cur.fetchall()]


def objects_in(cur: t.Any, schemas: list[str]) -> list[dict[str, t.Any]]:
    """What a restore replaces in the schemas: relations, routines and types, with their owner and whether the
    current role may drop them (owner is a role it belongs to). Extension members, partitions, sequences owned by a
    column and the implicit types of relations are left out (they go with their parent)."""
    cur.execute("""
        WITH ext AS (SELECT objid, classid FROM pg_depend WHERE deptype = 'e'),
        rels AS (
          SELECT CASE c.relkind WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'TABLE' WHEN 'v' THEN 'VIEW'
                                WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'S' THEN 'SEQUENCE' END AS kind,
                 n.nspname AS schema, c.relname AS name, format('%%I.%%I', n.nspname, c.relname) AS ident, c.relowner AS owner
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = ANY(%(s)s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND NOT c.relispartition
            AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.objid = c.oid AND ext.classid = 'pg_class'::regclass)
            AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid
                                                 AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))),
        procs AS (
          SELECT CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END,
                 n.nspname, format('%%s(%%s)', p.proname, pg_get_function_identity_arguments(p.oid)),
                 format('%%I.%%I(%%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)), p.proowner
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
          WHERE n.nspname = ANY(%(s)s) AND p.prokind <> 'w'
            AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.objid = p.oid AND ext.classid = 'pg_proc'::regclass)),
        types AS (
          SELECT CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, n.nspname, t.typname,
                 format('%%I.%%I', n.nspname, t.typname), t.typowner
          FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
          WHERE n.nspname = ANY(%(s)s) AND t.typtype IN ('e', 'd', 'r', 'c', 'm') AND t.typelem = 0
            AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
            AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.objid = t.oid AND ext.classid = 'pg_type'::regclass)
            AND NOT EXISTS (SELECT 1 FROM pg_range r WHERE r.rngmultitypid = t.oid))
        SELECT o.kind, o.schema, o.name, o.ident, r.rolname, pg_has_role(current_user, o.owner, 'USAGE')
        FROM (SELECT * FROM rels UNION ALL SELECT * FROM procs UNION ALL SELECT * FROM types) o
        JOIN pg_roles r ON r.oid = o.owner ORDER BY 2, 1, 3""", {"s": list(schemas)})
    return [{"kind": k, "schema": s, "name": n, "ident": i, "owner": o, "droppable": bool(d)} for k, s, n, i, o, d in cur.fetchall()]


def existing_schemas(cur: t.Any, names: list[str]) -> set[str]:
    cur.execute("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", (list(names),))
    return {n for (n,) in cur.fetchall()}


def member_roles(cur: t.Any, roles: t.Iterable[str]) -> dict[str, bool]:
    """Whether the current role can act as each role (missing roles: False)."""
    out = {}
    for role in sorted(set(r for r in roles if r)):
        cur.execute("SELECT pg_has_role(current_user, oid, 'USAGE') FROM pg_roles WHERE rolname = %s", (role,))
        row = cur.fetchone()
        out[role] = bool(row and row[0])
    return out
