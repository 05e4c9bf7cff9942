# -*- coding: utf-8 -*-
# Copyright: (c) 2026, EasyMO DevOps
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Database backups and restores (Method 5): pure decisions on archives, TOC listings and client output.

Nothing here runs a program or connects; the modules feed it what pg_dump, pg_restore and the server said.
"""

from __future__ import annotations

import re
import typing as t
from datetime import datetime, timezone

# Schemas Supabase's platform owns: never restored by default (the restoring `postgres` role cannot).
PLATFORM_SCHEMAS = (
    "auth", "storage", "realtime", "extensions", "vault", "pgsodium", "pgsodium_masks", "graphql", "graphql_public",
    "supabase_functions", "supabase_migrations", "cron", "net", "pgbouncer", "_realtime", "_analytics",
)

# Multi-word TOC descriptions, longest first, so "TABLE DATA" is not read as "TABLE" + a schema called "DATA".
_TOC_DESCS = sorted([
    "TABLE DATA", "FK CONSTRAINT", "DEFAULT ACL", "EVENT TRIGGER", "SEQUENCE SET", "SEQUENCE OWNED BY",
    "MATERIALIZED VIEW DATA", "MATERIALIZED VIEW", "FOREIGN TABLE", "FOREIGN DATA WRAPPER", "SERVER", "USER MAPPING",
    "PUBLICATION TABLES IN SCHEMA", "PUBLICATION TABLE", "PUBLICATION", "SUBSCRIPTION", "ROW SECURITY", "POLICY",
    "TEXT SEARCH CONFIGURATION", "TEXT SEARCH DICTIONARY", "TEXT SEARCH PARSER", "TEXT SEARCH TEMPLATE",
    "LARGE OBJECT", "BLOB", "BLOBS", "INDEX ATTACH", "TABLE ATTACH", "CONSTRAINT", "CHECK CONSTRAINT", "DEFAULT",
    "TABLE", "VIEW", "SEQUENCE", "INDEX", "TRIGGER", "RULE", "FUNCTION", "PROCEDURE", "AGGREGATE", "TYPE", "DOMAIN",
    "SCHEMA", "EXTENSION", "COMMENT", "ACL", "COLLATION", "CONVERSION", "CAST", "OPERATOR", "OPERATOR CLASS",
    "OPERATOR FAMILY", "STATISTICS", "ACCESS METHOD", "DATABASE", "DATABASE PROPERTIES", "ENCODING", "STDSTRINGS",
    "SEARCHPATH", "PROCEDURAL LANGUAGE", "SHELL TYPE",
], key=len, reverse=True)


class ArchiveError(Exception):
    """The archive cannot be used; the message says why and what to do."""


def detect_format(head: bytes, is_directory: bool = False) -> str:
    """custom, directory, tar or plain, from the content (never the file name); unknown otherwise."""
    if is_directory:
        return "directory"
    if head.startswith(b"PGDMP"):
        return "custom"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    text = head[:512].decode("utf-8", "replace").lstrip()
    if text.startswith("--") or text.upper().startswith(("SET ", "CREATE ", "BEGIN", "\\")):
        return "plain"
    return "unknown"


def parse_header(listing: str) -> dict[str, t.Any]:
    """The archive header that `pg_restore --list` prints (created at, versions, format)."""
    fields = {}
    for line in listing.splitlines():
        m = re.match(r";\s+(Archive created at|dbname|TOC Entries|Dump Version|Format|Dumped from database version|"
                     r"Dumped by pg_dump version)\s*:?\s*(.*)$", line)
        if m:
            fields[m.group(1)] = m.group(2).strip()
    created = None
    if "Archive created at" in fields:
        m = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", fields["Archive created at"])
        if m:
            # pg_dump writes the dumping server's time zone name after the time; it is read as UTC, the zone the
            # backups here are taken in.
            created = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
    version = tuple(int(x) for x in re.findall(r"\d+", fields.get("Dump Version", ""))[:2]) or None
    return {
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ") if created else None,
        "created_at_raw": fields.get("Archive created at"),
        "dbname": fields.get("dbname"),
        "dump_version": ".".join(map(str, version)) if version else None,
        "format": (fields.get("Format") or "").lower() or None,
        "dumped_from": fields.get("Dumped from database version"),
        "dumped_by": fields.get("Dumped by pg_dump version"),
        "toc_entries": int(fields["TOC Entries"]) if fields.get("TOC Entries", "").isdigit() else None,
    }


def major_version(text: str | None) -> int | None:
    m = re.match(r"\s*(\d+)", text or "")
    return int(m.group(1)) if m else None


def compatibility_problem(header: dict[str, t.Any], client_major: int, server_major: int) -> str | None:
    """Why these client tools cannot restore this archive into this server, or None."""
    version = tuple(int(x) for x in (header.get("dump_version") or "0.0").split("."))
    needs = 17 if version >= (1, 16) else 16 if version >= (1, 15) else None
    if needs and client_major < needs:
        return ("archive format %s needs pg_restore %d or newer, these client tools are %d; use the binaries of "
                "PostgreSQL %d or newer (client_bin_dir)" % (header["dump_version"], needs, client_major, needs))
    if client_major > server_major:
        return ("pg_restore %d is newer than the server (%d) and can emit settings it rejects (transaction_timeout before "
                "17); use the client tools of the server's version, /usr/lib/postgresql/%d/bin (client_bin_dir)"
                % (client_major, server_major, server_major))
    dumped_from = major_version(header.get("dumped_from"))
    if dumped_from and dumped_from > server_major:
        return "the archive was dumped from PostgreSQL %d, newer than the target server (%d)" % (dumped_from, server_major)
    return None


def parse_toc(listing: str) -> list[dict[str, t.Any]]:
    """TOC entries of `pg_restore --list`: id, desc, schema (None for '-'), name, owner and the line itself."""
    entries = []
    for line in listing.splitlines():
        m = re.match(r"^(\d+); (\d+) (\d+) (.*)$", line)
        if not m:
            continue
        rest = m.group(4)
        desc = next((d for d in _TOC_DESCS if rest == d or rest.startswith(d + " ")), rest.split(" ", 1)[0])
        # The owner is the last word and may be empty (a trailing space): keep it.
        tail = rest[len(desc):].lstrip(" ").split(" ")
        schema = tail[0] if tail else "-"
        owner = tail[-1] if len(tail) >= 3 else ""
        name = " ".join(tail[1:-1]) if len(tail) >= 3 else " ".join(tail[1:])
        entries.append({"id": int(m.group(1)), "desc": desc, "schema": None if schema == "-" else schema,
                        "name": name, "owner": owner, "line": line})
    return entries


def filter_toc(entries: list[dict[str, t.Any]], schemas: list[str] | None, restore_platform: bool = False,
               platform_schemas: t.Iterable[str] = PLATFORM_SCHEMAS,
               keep_extensions: bool = False) -> tuple[list[dict], list[dict]]:
    """Split the TOC into what is restored and what is skipped (with the reason), before anything runs.

    Extensions, event triggers and publications belong to the platform (their owner is not the restoring role);
    platform schemas are left alone unless asked; with ``schemas``, only those schemas are restored.
    ``keep_extensions``: a superuser restoring a whole self-hosted database keeps its extensions.
    """
    platform = set(platform_schemas)
    wanted = set(schemas or [])
    kept, skipped = [], []

    def schema_of(entry: dict[str, t.Any]) -> str | None:
        if entry["desc"] == "SCHEMA":
            return entry["name"]
        if entry["desc"] in ("ACL", "COMMENT") and entry["name"].startswith("SCHEMA "):
            return entry["name"][len("SCHEMA "):]
        return entry["schema"]

    for entry in entries:
        desc, schema = entry["desc"], schema_of(entry)
        reason = None
        if not keep_extensions and (desc == "EXTENSION" or (desc == "COMMENT" and entry["name"].startswith("EXTENSION "))):
            reason = "extension: owned by the platform; create it on the target first if it is missing"
        elif desc == "EVENT TRIGGER" or (desc == "COMMENT" and entry["name"].startswith("EVENT TRIGGER ")):
            reason = "event trigger: needs a superuser; the platform keeps its own"
        elif desc.startswith("PUBLICATION") or desc == "SUBSCRIPTION":
            reason = "publication: owned by the platform (realtime)"
        elif desc in ("DATABASE", "DATABASE PROPERTIES"):
            reason = "database-level entry: the target database is kept"
        elif schema and schema in platform and not restore_platform:
            reason = "platform schema %s: left alone (restore_platform_schemas to include it)" % schema
        elif wanted and schema and schema not in wanted:
            reason = "schema %s is not one of the restored schemas (%s)" % (schema, ", ".join(sorted(wanted)))
        if reason:
            skipped.append({"entry": "%s %s %s" % (desc, schema or "-", entry["name"]), "reason": reason})
        else:
            kept.append(entry)
    return kept, skipped


def toc_list_text(kept: list[dict[str, t.Any]]) -> str:
    """A `-L` list file: the kept lines, in the archive's order."""
    return "\n".join(e["line"] for e in kept) + "\n"


def schemas_in(kept: list[dict[str, t.Any]]) -> list[str]:
    """The schemas the kept entries touch (those a restore replaces)."""
    found = set()
    for e in kept:
        if e["desc"] == "SCHEMA":
            found.add(e["name"])
        elif e["schema"]:
            found.add(e["schema"])
    return sorted(found)


_ERROR_KINDS = [
    ("ownership", r"must be owner of"),
    ("membership", r"must be member of role|must be able to SET ROLE"),
    ("permission", r"permission denied"),
    ("missing_role", r"role \"[^\"]+\" does not exist"),
    ("missing_schema", r"schema \"[^\"]+\" does not exist"),
    ("already_exists", r"already exists"),
    ("dependency", r"because other objects depend on it"),
    ("lock_timeout", r"canceling statement due to lock timeout|lock timeout"),
    ("disk_full", r"No space left on device|could not extend file"),
    ("connection", r"connection to server .* failed|server closed the connection|terminating connection"),
    ("format", r"unsupported version|input file appears to be a text format dump|could not read input file|"
               r"unexpected end of file|did not find magic string|input file is too short"),
]


def classify_errors(stderr: str) -> list[dict[str, str]]:
    """Each error pg_restore or psql reported, with a kind and the command that failed (run with LC_MESSAGES=C)."""
    found = []
    lines = stderr.splitlines()
    for i, line in enumerate(lines):
        m = re.search(r"(?:pg_\w+: error: |psql:[^:]*:\d+: |^)(?:could not execute query: |query failed: )?(?:ERROR|FATAL|error):\s+(.*)$", line)
        lost = re.search(r"(server closed the connection unexpectedly|connection to server was lost|"
                         r"terminating connection because of crash of another server process|the database system is shutting down)", line)
        if (not m and not lost) or "errors ignored on restore" in line:
            continue
        message = (m.group(1) if m else lost.group(1)).strip()
        command = ""
        if i + 1 < len(lines) and lines[i + 1].startswith("Command was:"):
            command = lines[i + 1][len("Command was:"):].strip()
        kind = next((k for k, pattern in _ERROR_KINDS if re.search(pattern, message)), "other")
        found.append({"kind": kind, "message": message[:500], "command": command[:300]})
    return found


def choose_backup(candidates: list[dict[str, t.Any]], before: datetime | None) -> dict[str, t.Any]:
    """The newest archive created (by its own header) strictly before the deployment time."""
    usable = [c for c in candidates if c.get("created_at")]
    if not usable:
        raise ArchiveError("no readable archive among %d candidate(s); each must be a pg_dump archive with a header"
                           % len(candidates))
    if before is not None:
        earlier = [c for c in usable if _parse(c["created_at"]) < before]
        if not earlier:
            raise ArchiveError("no archive was created before %s: %s" % (
                before.strftime("%Y-%m-%dT%H:%M:%SZ"), ", ".join("%s (%s)" % (c["path"], c["created_at"]) for c in usable)))
        usable = earlier
    return max(usable, key=lambda c: _parse(c["created_at"]))


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def backup_file_name(prefix: str, when: datetime) -> str:
    """<prefix>_<YYYYMMDD_HHMMSS>.dump, like the runbook's supabase_prod_<TIMESTAMP>.dump."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", prefix) or "backup"
    return "%s_%s.dump" % (safe, when.astimezone(timezone.utc).strftime("%Y%m%d_%H%M%S"))


def quote_ident(name: str) -> str:
    return '"%s"' % name.replace('"', '""')


def compare_to_manifest(manifest: dict[str, t.Any], measured: dict[str, dict[str, t.Any]]) -> list[dict[str, t.Any]]:
    """Each table of the manifest against what the database holds now: rows, distinct keys, checksum, primary key."""
    results = []
    for table, want in sorted((manifest.get("tables") or {}).items()):
        got = measured.get(table)
        problems = []
        if got is None:
            problems.append("table is missing")
        else:
            for key, label in (("rows", "rows"), ("distinct_pk", "distinct primary keys"), ("checksum", "checksum")):
                if want.get(key) is not None and got.get(key) != want.get(key):
                    problems.append("%s %s, expected %s" % (label, got.get(key), want.get(key)))
            if want.get("pk") and not got.get("pk"):
                problems.append("primary key missing")
        results.append({"table": table, "expected_rows": want.get("rows"), "rows": (got or {}).get("rows"),
                        "passed": not problems, "problems": problems})
    return results


_OWNED_DESCS = {"TABLE", "VIEW", "MATERIALIZED VIEW", "FOREIGN TABLE", "SEQUENCE", "FUNCTION", "PROCEDURE", "AGGREGATE",
                "TYPE", "DOMAIN", "SCHEMA", "COLLATION", "CONVERSION", "TEXT SEARCH CONFIGURATION", "TEXT SEARCH DICTIONARY",
                "OPERATOR", "OPERATOR CLASS", "OPERATOR FAMILY", "STATISTICS", "PUBLICATION", "EVENT TRIGGER"}
_DROP_ORDER = ["VIEW", "MATERIALIZED VIEW", "TABLE", "FOREIGN TABLE", "SEQUENCE", "AGGREGATE", "PROCEDURE", "FUNCTION",
               "DOMAIN", "TYPE"]


def plan_in_place(kept: list[dict[str, t.Any]], objects: list[dict[str, t.Any]], existing_schemas: set[str],
                  superuser: bool, members: dict[str, bool]) -> dict[str, t.Any]:
    """The in-place restore: drop what the restoring role owns in the replaced schemas (the bad migration's objects
    too, so the result is exactly the backup), leave what it cannot drop and skip those entries of the archive,
    keep existing schemas (their owner and grants), and give up ownership only when it cannot be kept."""
    droppable = [o for o in objects if superuser or o["droppable"]]
    left = [o for o in objects if not (superuser or o["droppable"])]
    left_keys = {(o["schema"], o["name"]): o for o in left}
    entries, skipped = [], []
    for e in kept:
        if e["desc"] == "SCHEMA" and e["name"] in existing_schemas:
            skipped.append({"entry": "SCHEMA %s" % e["name"], "reason": "schema exists: kept with its owner and grants, its objects replaced"})
            continue
        target = e["name"]
        if e["desc"] in ("ACL", "COMMENT") and " " in target:
            target = target.split(" ", 1)[1]
        if e["desc"] in ("CONSTRAINT", "FK CONSTRAINT", "TRIGGER", "INDEX", "DEFAULT", "POLICY", "RULE") and " " in target:
            target = target.split(" ", 1)[0]  # "<table> <name>": goes with its table
        hit = left_keys.get((e["schema"], target))
        if hit is not None:
            skipped.append({"entry": "%s %s %s" % (e["desc"], e["schema"] or "-", e["name"]),
                            "reason": "left in place: owned by %s, which the restoring role cannot drop" % hit["owner"]})
            continue
        entries.append(e)
    # Only entries that become objects get an ALTER ... OWNER; ACLs and comments name their grantor, not an owner.
    owners = sorted({e["owner"] for e in entries if e["owner"] and e["desc"] in _OWNED_DESCS})
    foreign = [o for o in owners if not superuser and not members.get(o, False)]
    order = {kind: i for i, kind in enumerate(_DROP_ORDER)}
    drops = ["DROP %s IF EXISTS %s CASCADE;" % (o["kind"], o["ident"])
             for o in sorted(droppable, key=lambda o: (order.get(o["kind"], 99), o["ident"]))]
    return {"entries": entries, "skipped": skipped, "drops": drops, "dropped": [o["ident"] for o in droppable],
            "left_in_place": [{"object": o["ident"], "kind": o["kind"], "owner": o["owner"]} for o in left],
            "no_owner": bool(foreign), "foreign_owners": foreign}


def cascaded_objects(stderr: str) -> list[str]:
    """Objects outside the plan that DROP ... CASCADE took with it (psql's NOTICE lines)."""
    found = []
    for line in stderr.splitlines():
        m = re.search(r"drop cascades to (.+)$", line)
        if m:
            found.append(m.group(1).strip())
    return found
