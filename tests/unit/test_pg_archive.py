"""Method 5's decisions on plain data: formats, headers, TOC parsing and filtering, errors, backup choice, plans."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ansible_collections.easymo.rollback.plugins.module_utils import _pg_archive as a

LISTING = """;
; Archive created at 2026-12-04 00:56:34 UTC
;     dbname: agent_core_prod
;     TOC Entries: 13
;     Dump Version: 1.14-0
;     Format: CUSTOM
;     Dumped from database version: 15.18 (Debian 15.18-0+deb12u1)
;     Dumped by pg_dump version: 15.18 (Debian 15.18-0+deb12u1)
;
; Selected TOC Entries:
;
6; 2615 16696 SCHEMA - auth supabase_admin
3399; 0 0 COMMENT - EXTENSION pgcrypto <owner>
2; 3079 16385 EXTENSION - pgcrypto <owner>
216; 1259 16697 TABLE auth users supabase_auth_admin
215; 1259 16691 TABLE public orders postgres
3356; 0 0 ACL public TABLE orders postgres
3348; 0 16691 TABLE DATA public orders postgres
3202; 2606 16695 CONSTRAINT public orders orders_pkey postgres
3205; 2606 16702 FK CONSTRAINT public orders orders_user_id_fkey postgres
3300; 3466 17000 EVENT TRIGGER - audit supabase_admin
3301; 6104 17001 PUBLICATION - supabase_realtime supabase_admin
3302; 6106 17002 PUBLICATION TABLE public supabase_realtime orders supabase_admin
""".replace("<owner>", "")  # pg_restore prints an empty owner as a trailing space


def test_header_and_toc():
    h = a.parse_header(LISTING)
    assert h["created_at"] == "2026-12-04T00:56:34Z" and h["dump_version"] == "1.14" and h["format"] == "custom"
    assert h["dbname"] == "agent_core_prod" and h["toc_entries"] == 13
    toc = {e["id"]: e for e in a.parse_toc(LISTING)}
    assert (toc[3348]["desc"], toc[3348]["schema"], toc[3348]["name"], toc[3348]["owner"]) == ("TABLE DATA", "public", "orders", "postgres")
    assert (toc[3205]["desc"], toc[3205]["name"]) == ("FK CONSTRAINT", "orders orders_user_id_fkey")
    assert (toc[3399]["desc"], toc[3399]["name"], toc[3399]["owner"]) == ("COMMENT", "EXTENSION pgcrypto", "")
    assert (toc[3356]["desc"], toc[3356]["name"]) == ("ACL", "TABLE orders")
    assert toc[3302]["desc"] == "PUBLICATION TABLE" and toc[2]["schema"] is None


def test_filter_skips_platform_objects_with_reasons():
    kept, skipped = a.filter_toc(a.parse_toc(LISTING), None)
    assert [e["id"] for e in kept] == [215, 3356, 3348, 3202, 3205]
    reasons = {s["entry"]: s["reason"] for s in skipped}
    assert reasons["TABLE auth users"].startswith("platform schema auth")
    assert reasons["EXTENSION - pgcrypto"].startswith("extension") and reasons["COMMENT - EXTENSION pgcrypto"].startswith("extension")
    assert reasons["EVENT TRIGGER - audit"].startswith("event trigger") and reasons["PUBLICATION - supabase_realtime"].startswith("publication")
    kept, _skipped = a.filter_toc(a.parse_toc(LISTING), None, restore_platform=True)
    assert 216 in [e["id"] for e in kept] and 6 in [e["id"] for e in kept]
    kept, skipped = a.filter_toc(a.parse_toc(LISTING), ["billing"])
    assert kept == [] and any("not one of the restored schemas (billing)" in s["reason"] for s in skipped)
    assert a.schemas_in(a.filter_toc(a.parse_toc(LISTING), None)[0]) == ["public"]


@pytest.mark.parametrize("head,is_dir,fmt", [
    (b"PGDMP\x01\x0e\x00", False, "custom"), (b"-- PostgreSQL database dump\n", False, "plain"),
    (b"SET statement_timeout = 0;", False, "plain"), (b"\x00" * 257 + b"ustar\x00" + b"\x00" * 10, False, "tar"),
    (b"", True, "directory"), (b"\x1f\x8b\x08", False, "unknown"),
])
def test_format_from_content(head, is_dir, fmt):
    assert a.detect_format(head, is_dir) == fmt


def test_versions():
    h = {"dump_version": "1.16", "dumped_from": "17.2"}
    assert "needs pg_restore 17 or newer" in a.compatibility_problem(h, 15, 17)
    assert "newer than the server" in a.compatibility_problem({"dump_version": "1.14"}, 17, 15)
    assert "dumped from PostgreSQL 17, newer than the target server (15)" in a.compatibility_problem(
        {"dump_version": "1.14", "dumped_from": "17.1"}, 15, 15)
    assert a.compatibility_problem({"dump_version": "1.14", "dumped_from": "15.18"}, 15, 15) is None


def test_errors_are_classified():
    stderr = """pg_restore: error: could not execute query: ERROR:  must be owner of extension pgcrypto
Command was: COMMENT ON EXTENSION pgcrypto IS 'x';
psql:<stdin>:40: ERROR:  role "p03_reporting" does not exist
pg_dump: error: query failed: ERROR:  permission denied for schema auth
psql:<stdin>:80: server closed the connection unexpectedly
pg_restore: warning: errors ignored on restore: 3
"""
    found = a.classify_errors(stderr)
    assert [e["kind"] for e in found] == ["ownership", "missing_role", "permission", "connection"]
    assert found[0]["command"].startswith("COMMENT ON EXTENSION")


def test_backup_choice_by_header_time():
    c = [{"path": "a", "created_at": "2026-12-04T01:00:00Z"}, {"path": "b", "created_at": "2026-12-04T02:00:00Z"},
         {"path": "c", "created_at": "2026-12-04T03:00:00Z"}, {"path": "x", "created_at": None}]
    at = datetime(2026, 12, 4, 2, 30, tzinfo=timezone.utc)
    assert a.choose_backup(c, at)["path"] == "b" and a.choose_backup(c, None)["path"] == "c"
    with pytest.raises(a.ArchiveError, match="no archive was created before 2026-12-04T00:00:00Z"):
        a.choose_backup(c, datetime(2026, 12, 4, tzinfo=timezone.utc))
    assert a.backup_file_name("supabase prod", at) == "supabase_prod_20261204_023000.dump"


def test_in_place_plan_drops_what_it_owns_and_leaves_the_rest():
    kept, _skipped = a.filter_toc(a.parse_toc(LISTING), None)
    objects = [
        {"kind": "TABLE", "schema": "public", "name": "orders", "ident": "public.orders", "owner": "postgres", "droppable": True},
        {"kind": "VIEW", "schema": "public", "name": "order_ai_scores", "ident": "public.order_ai_scores", "owner": "postgres", "droppable": True},
        {"kind": "TABLE", "schema": "public", "name": "audit", "ident": "public.audit", "owner": "supabase_admin", "droppable": False},
    ]
    plan = a.plan_in_place(kept + [{"id": 9, "desc": "TABLE", "schema": "public", "name": "audit", "owner": "supabase_admin",
                                    "line": "9; 1259 1 TABLE public audit supabase_admin"}], objects, {"public"}, False, {"postgres": True})
    assert plan["drops"] == ["DROP VIEW IF EXISTS public.order_ai_scores CASCADE;", "DROP TABLE IF EXISTS public.orders CASCADE;"]
    assert plan["left_in_place"] == [{"object": "public.audit", "kind": "TABLE", "owner": "supabase_admin"}]
    assert any("owned by supabase_admin" in s["reason"] for s in plan["skipped"]) and plan["no_owner"] is False
    assert 9 not in [e["id"] for e in plan["entries"]]
    assert a.plan_in_place(kept, objects, {"public"}, False, {"postgres": False})["no_owner"] is True
    assert len(a.plan_in_place(kept, objects, {"public"}, True, {})["drops"]) == 3  # a superuser drops everything


def test_manifest_comparison():
    manifest = {"tables": {"public.orders": {"rows": 10, "distinct_pk": 10, "checksum": "abc", "pk": ["id"]},
                           "public.gone": {"rows": 1, "distinct_pk": 1, "checksum": "x", "pk": ["id"]}}}
    measured = {"public.orders": {"rows": 20, "distinct_pk": 10, "checksum": "def", "pk": []}}
    got = {r["table"]: r for r in a.compare_to_manifest(manifest, measured)}
    assert got["public.orders"]["problems"] == ["rows 20, expected 10", "checksum def, expected abc", "primary key missing"]
    assert got["public.gone"]["problems"] == ["table is missing"]
    assert a.cascaded_objects("NOTICE:  drop cascades to 2 other objects\nDETAIL:  drop cascades to view x\ndrop cascades to constraint y on table z") == [
        "2 other objects", "view x", "constraint y on table z"]
