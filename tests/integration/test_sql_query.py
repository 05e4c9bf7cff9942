"""sql_query against the lab's real PostgreSQL: checks can never write, never hang, never crash."""

from __future__ import annotations

import os

import psycopg2
from conftest import run_module

DB = {"db": "agent_core"}


def count():
    with psycopg2.connect(dbname="agent_core") as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM agent_fallbacks")
        return cur.fetchone()[0]


def test_runbook_query_returns_rows_worst_first():
    result = run_module("sql_query", dict(DB, query=(
        "SELECT user_id, COUNT(*) AS error_count FROM agent_fallbacks WHERE created_at > NOW() - INTERVAL '10 minutes' "
        "AND reason = %(reason)s GROUP BY user_id ORDER BY error_count DESC LIMIT 20"), named_args={"reason": "error"}))
    assert result["columns"] == ["user_id", "error_count"] and result["rows"][0]["user_id"] == "u-1001"
    assert result["changed"] is False


def test_writes_are_refused_even_behind_commit():
    before = count()
    for query in ("COMMIT; DELETE FROM agent_fallbacks WHERE user_id = 'u-1001' RETURNING user_id",
                  "DELETE FROM agent_fallbacks WHERE user_id = 'u-1001' RETURNING user_id",
                  "WITH d AS (DELETE FROM agent_fallbacks RETURNING 1) SELECT count(*) FROM d"):
        result = run_module("sql_query", dict(DB, query=query))
        assert result["failed"] is True, query
        assert any(why in result["msg"] for why in ("more than one SQL statement", "read-only transaction", "must be a read")), result["msg"]
    assert count() == before


def test_a_held_lock_cancels_the_check_instead_of_hanging():
    conn = psycopg2.connect(dbname="agent_core")
    cur = conn.cursor()
    cur.execute("LOCK TABLE agent_fallbacks IN ACCESS EXCLUSIVE MODE")
    try:
        result = run_module("sql_query", dict(DB, query="SELECT count(*) FROM agent_fallbacks", statement_timeout=2))
    finally:
        conn.rollback()
        conn.close()
    assert result["failed"] is True and "statement_timeout=2" in result["msg"]


def test_bad_parameters_and_types_are_clear():
    missing = run_module("sql_query", dict(DB, query="SELECT %(missing)s AS x", named_args={"other": 1}))
    assert missing["failed"] is True and "named_args" in missing["msg"]
    types = run_module("sql_query", dict(DB, query="SELECT interval '90 seconds' AS i, ARRAY[1.5, 2]::numeric[] AS a, now() AS t"))
    assert types["rows"][0]["i"] == 90.0 and types["rows"][0]["a"] == [1.5, 2]
    bad_pw = run_module("sql_query", dict(DB, query="SELECT 1", login_password="planted-pg-secret-991"), verbosity=3)
    assert bad_pw["failed"] is True and "Cannot connect" in bad_pw["msg"]
    assert "planted-pg-secret-991" not in bad_pw["_stdout"] + bad_pw["_stderr"]
    assert "Traceback" not in missing["_stdout"] + types["_stdout"] + bad_pw["_stdout"]


def test_metric_url_password_is_masked_everywhere():
    base = os.environ["EASYMO_LAB_STANDINS_URL"].replace("http://", "http://viewer:PlantedPass77@")
    result = run_module("metric_watch", {"url": base + "/metrics/errors", "path": ".error_rate", "below": 1.0, "samples": 1}, verbosity=3)
    assert result["passed"] is True
    assert "PlantedPass77" not in result["_stdout"] + result["_stderr"]


def test_escape_string_cannot_hide_a_commit_and_copy_to_program_is_refused():
    """Helper finding: E'\\'' ends the string for PostgreSQL, so a plain-string reading saw one statement."""
    before = count()
    for query in ("SELECT E'\\''; COMMIT; START TRANSACTION READ WRITE; DELETE FROM agent_fallbacks; COMMIT; SELECT 'ok' AS x --'",
                  "COPY (SELECT 1) TO PROGRAM 'true'", "DO $$ BEGIN DELETE FROM agent_fallbacks; END $$"):
        result = run_module("sql_query", dict(DB, query=query))
        assert result["failed"] is True, query
        assert "Traceback" not in result["_stdout"] + result["_stderr"]
    assert count() == before
