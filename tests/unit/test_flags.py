"""Feature-flag validation and merge/replace/remove decisions, on plain data."""

from __future__ import annotations

import pytest

from ansible_collections.easymo.rollback.plugins.module_utils import _flags as f
from ansible_collections.easymo.rollback.plugins.module_utils._http_probe import Answer, MetricUnavailable, classify, extract_number


@pytest.mark.parametrize("value", ["15%", 150, -1, "abc", 1.5, True, "", None, [10], "101"])
def test_bad_percentages_are_refused(value):
    with pytest.raises(f.FlagError) as err:
        f.coerce("FEATURE_AI_AGENTS_ROLLOUT_PERCENTAGE", value)
    assert "FEATURE_AI_AGENTS_ROLLOUT_PERCENTAGE" in str(err.value)


@pytest.mark.parametrize("value,expected", [(0, "0"), (100, "100"), ("15", "15"), (" 7 ", "7"), (10.0, "10")])
def test_good_percentages(value, expected):
    assert f.coerce("FEATURE_AI_AGENTS_ROLLOUT_PERCENTAGE", value) == expected


@pytest.mark.parametrize("value,expected", [(False, "false"), (True, "true"), ("TRUE", "true"), ("false", "false")])
def test_booleans_are_written_as_strings(value, expected):
    assert f.coerce("FEATURE_AI_AGENTS", value) == expected


@pytest.mark.parametrize("value", ["yes", "off", 0, 1, "enabled"])
def test_ambiguous_booleans_are_refused(value):
    with pytest.raises(f.FlagError):
        f.coerce("FEATURE_AI_AGENTS", value)


def test_declared_types_win_over_names():
    assert f.coerce("AI_LIMIT", "5", "int") == "5"
    assert f.coerce("FEATURE_AI_AGENTS_DENYLIST", "u-1,u-2") == "u-1,u-2"
    with pytest.raises(f.FlagError):
        f.coerce("X", "1", "colour")


def test_merge_keeps_other_keys_replace_drops_them_K07():
    merged = f.plan_flags({"FLAG_A": "on"}, {"FLAG_B": "on"}, "merge", types={"FLAG_B": "string"})
    assert merged.after == {"FLAG_A": "on", "FLAG_B": "on"} and merged.added == ["FLAG_B"] and merged.removed == []
    replaced = f.plan_flags({"FLAG_A": "on"}, {"FLAG_B": "on"}, "replace", types={"FLAG_B": "string"})
    assert replaced.after == {"FLAG_B": "on"} and replaced.added == ["FLAG_B"] and replaced.removed == ["FLAG_A"]
    assert replaced.previous_values() == {"FLAG_A": "on", "FLAG_B": None}


def test_remove_and_no_change():
    plan = f.plan_flags({"A": "1", "B": "2"}, {}, "merge", remove=["B", "missing"])
    assert plan.after == {"A": "1"} and plan.removed == ["B"]
    same = f.plan_flags({"FEATURE_X": "false"}, {"FEATURE_X": False})
    assert not same.has_changes


def test_all_errors_reported_at_once_and_nothing_planned():
    with pytest.raises(f.FlagError) as err:
        f.plan_flags({}, {"FEATURE_AI_AGENTS": "maybe", "FEATURE_AI_AGENTS_ROLLOUT_PERCENTAGE": "15%"})
    assert "FEATURE_AI_AGENTS must be a boolean" in str(err.value) and "15%" in str(err.value)
    assert "Nothing was changed" in str(err.value)


def test_data_under_metadata_is_refused_K08():
    with pytest.raises(f.FlagError) as err:
        f.data_from_definition({"metadata": {"name": "feature-flags", "data": {"FEATURE_AI_AGENTS": "false"}}})
    assert "under `metadata`" in str(err.value)
    assert f.data_from_definition({"data": {"A": "1"}}) == {"A": "1"}


def test_pods_on_other_flags():
    written = f.parse_k8s_time("2026-12-03T10:00:00Z")
    pods = [{"metadata": {"name": "a", "annotations": {"k": "h1"}, "creationTimestamp": "2026-12-03T10:00:00Z"}},
            {"metadata": {"name": "b", "annotations": {"k": "old"}, "creationTimestamp": "2026-12-03T10:00:05Z"}},
            {"metadata": {"name": "c", "deletionTimestamp": "t", "annotations": {"k": "old"}}},
            {"metadata": {"name": "d", "creationTimestamp": "2026-12-03T10:00:05Z"}},
            # The right hash, but started before the flags were last written: restarted by hand on other flags.
            {"metadata": {"name": "e", "annotations": {"k": "h1"}, "creationTimestamp": "2026-12-03T09:59:59Z"}},
            # Started in the very second of the write: only the hash can tell.
            {"metadata": {"name": "g", "annotations": {"k": "old"}, "creationTimestamp": "2026-12-03T10:00:00Z"}}]
    # b and d started after the write, so they read the current flags whatever their template's hash says (after a
    # Deployment rollback the template carries an old revision's hash): restarting them would change nothing.
    assert f.pods_on_other_flags(pods, "h1", "k", written) == ["e", "g"]
    # Without a write time, the hash is all there is.
    assert f.pods_on_other_flags(pods, "h1", "k", None) == ["b", "d", "g"]


def test_id_lists_are_sets_and_json_lists_are_accepted():
    plan = f.plan_flags({"FEATURE_AI_AGENTS_DENYLIST": "u-1001,u-1002"}, {"FEATURE_AI_AGENTS_DENYLIST": ["u-1002", "u-1001"]})
    assert not plan.has_changes and plan.after["FEATURE_AI_AGENTS_DENYLIST"] == "u-1001,u-1002"
    assert f.coerce("FEATURE_AI_AGENTS_DENYLIST", "[]") == ""
    assert f.coerce("FEATURE_AI_AGENTS_DENYLIST", '["u-1", "u-2"]') == "u-1,u-2"
    with pytest.raises(f.FlagError, match="neither a JSON list"):
        f.coerce("FEATURE_AI_AGENTS_DENYLIST", "[u-1")


def test_last_written_is_newest_managed_fields_time():
    cm = {"metadata": {"managedFields": [{"time": "2026-12-03T10:00:00Z"}, {"time": "2026-12-03T11:00:00Z"}, {}]}}
    assert f.last_written(cm) == f.parse_k8s_time("2026-12-03T11:00:00Z")
    assert f.last_written({"metadata": {}}) is None
    # The Python client's sanitised objects use isoformat with an offset.
    assert f.parse_k8s_time("2026-12-03T11:00:00+00:00") == f.parse_k8s_time("2026-12-03T11:00:00Z")


@pytest.mark.parametrize("body,path,expected", [({"error_rate": 0.05}, ".error_rate", 0.05), ({"a": {"b": [1, 2.5]}}, "a.b[1]", 2.5),
                                                ({"error_rate": 3}, "error_rate", 3.0)])
def test_extract_number(body, path, expected):
    assert extract_number(body, path) == expected


@pytest.mark.parametrize("body", ["<html>oops</html>", {"error_rate": "n/a"}, {"error_rate": True}, {"x": 1}, {"a": [1]}])
def test_metric_unavailable(body):
    with pytest.raises(MetricUnavailable):
        extract_number(body, ".error_rate" if not isinstance(body, dict) or "a" not in body else "a[3]")


def test_classify_health_answers():
    assert classify(Answer(200, {"status": "healthy"}), 200, {"status": "healthy"})[0] == "healthy"
    assert classify(Answer(503, {"status": "unhealthy"}), 200, {"status": "healthy"})[0] == "unhealthy"
    assert classify(Answer(200, "<html>"), 200, {"status": "healthy"})[0] == "unhealthy"
    assert classify(Answer(None, None, "ConnectionError: refused"), 200, None)[0] == "unreachable"
