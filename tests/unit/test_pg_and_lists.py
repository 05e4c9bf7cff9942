"""One-statement rule for SQL checks, id lists and null-removes in flags (plain data)."""

from __future__ import annotations

import pytest

from ansible_collections.easymo.rollback.plugins.module_utils import _flags as f
from ansible_collections.easymo.rollback.plugins.module_utils._pg import read_only_options, single_statement


@pytest.mark.parametrize("sql", [
    "SELECT 1", "SELECT 1;", "  SELECT ';' AS x ;  ", "SELECT $$a;b$$", "SELECT $tag$ ; $tag$", "SELECT 1 -- ; comment",
    "SELECT /* ; */ 1", 'SELECT 1 AS "a;b"', "SELECT 'it''s;'", r"SELECT E'\';' AS x", "SELECT /* a /* ; */ b */ 1",
    "SELECT e'a\\'b;c'",
])
def test_single_statements_pass(sql):
    assert single_statement(sql).strip().startswith("SELECT")


@pytest.mark.parametrize("sql", [
    "COMMIT; DELETE FROM agent_fallbacks", "ROLLBACK; CREATE TABLE x(i int); COMMIT; SELECT 1",
    "SELECT 1; SET default_transaction_read_only = off", ";", "", "   ",
    # helper finding: E'\'' ends the string for PostgreSQL; a plain-string reading would hide the COMMIT
    "SELECT E'\\''; COMMIT; START TRANSACTION READ WRITE; DELETE FROM t; COMMIT; SELECT 'ok' AS x --'",
    "SELECT 'open", "SELECT /* /* */ 1; DELETE FROM t", "SELECT $$x; DELETE FROM t",
    # one statement, but not a read
    "COPY (SELECT 1) TO PROGRAM 'true'", "DO $$ BEGIN DELETE FROM t; END $$", "START TRANSACTION READ WRITE",
    "DELETE FROM t", "CALL p()", "SET default_transaction_read_only = off",
])
def test_more_than_one_statement_or_none_is_refused(sql):
    with pytest.raises(ValueError):
        single_statement(sql)


def test_read_only_options_set_timeouts_in_milliseconds():
    opts = read_only_options(30)
    assert "standard_conforming_strings=on" in opts
    assert "default_transaction_read_only=on" in opts and "statement_timeout=30000" in opts and "lock_timeout=30000" in opts


@pytest.mark.parametrize("value,expected", [
    (["u-1001", "u-1002"], "u-1001,u-1002"), ("u-1001,u-1002", "u-1001,u-1002"), (" u-1 , u-2 ,u-1", "u-1,u-2"),
    ([], ""), ("", ""),
])
def test_id_lists(value, expected):
    assert f.coerce("FEATURE_AI_AGENTS_ALLOWLIST", value) == expected


@pytest.mark.parametrize("value", [["u 1004"], [None], [""], [1005], ["a,b"], {"u": 1}, 7])
def test_bad_id_lists_refused(value):
    with pytest.raises(f.FlagError) as err:
        f.coerce("FEATURE_AI_AGENTS_DENYLIST", value)
    assert "FEATURE_AI_AGENTS_DENYLIST" in str(err.value)


def test_previous_values_roll_forward_with_null_meaning_remove():
    plan = f.plan_flags({"FEATURE_X": "true"}, {"FEATURE_X": False, "FEATURE_Y": True})
    back = f.plan_flags(plan.after, plan.previous_values())
    assert back.after == {"FEATURE_X": "true"} and back.removed == ["FEATURE_Y"]


def test_bad_keys_refused():
    with pytest.raises(f.FlagError) as err:
        f.plan_flags({}, {"bad key/x": "1", "": "2"})
    assert "'bad key/x' is not a valid ConfigMap key" in str(err.value)
