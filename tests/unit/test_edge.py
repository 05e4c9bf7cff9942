"""Pure parts of Method 4: which files make up a function, verify_jwt, health verdicts, rate-limit waits."""

from __future__ import annotations

import pytest

from ansible_collections.easymo.rollback.plugins.module_utils import _edge_source as es
from ansible_collections.easymo.rollback.plugins.module_utils import _supabase_api as api
from ansible_collections.easymo.rollback.plugins.module_utils._http_probe import Answer


class DictTree:
    label = "test tree"

    def __init__(self, files: dict[str, str]) -> None:
        self.files = {k: v.encode() for k, v in files.items()}

    def read(self, path):
        return self.files.get(path)

    def paths(self):
        return sorted(self.files)


FN = "supabase/functions/wa-webhook/"


def test_default_entrypoint_relative_imports_and_function_import_map():
    tree = DictTree({FN + "index.ts": 'import { a } from "./a.ts";\nexport * from "../_shared/cors.ts";\nimport x from "npm:zod";',
                     FN + "a.ts": 'const m = await import("./lazy.ts");', FN + "lazy.ts": "", FN + "deno.json": "{}",
                     FN + "unused.ts": "", "supabase/functions/_shared/cors.ts": ""})
    src = es.collect_function(tree, "wa-webhook")
    assert src.entrypoint_path == FN + "index.ts" and src.import_map_path == FN + "deno.json"
    assert set(src.files) == {FN + "index.ts", FN + "a.ts", FN + "lazy.ts", FN + "deno.json", "supabase/functions/_shared/cors.ts"}


def test_import_map_precedence_config_then_function_then_shared():
    files = {FN + "index.ts": "", FN + "deno.jsonc": "{}", "supabase/functions/import_map.json": "{}",
             "supabase/maps/custom.json": "{}"}
    assert es.collect_function(DictTree(files), "wa-webhook").import_map_path == FN + "deno.jsonc"
    files.pop(FN + "deno.jsonc")
    assert es.collect_function(DictTree(files), "wa-webhook").import_map_path == "supabase/functions/import_map.json"
    files["supabase/config.toml"] = '[functions.wa-webhook]\nimport_map = "./maps/custom.json"\n'
    assert es.collect_function(DictTree(files), "wa-webhook").import_map_path == "supabase/maps/custom.json"
    assert es.collect_function(DictTree(files), "wa-webhook", "supabase/functions/import_map.json").import_map_path == \
        "supabase/functions/import_map.json"


def test_bare_specifiers_mapped_to_local_paths_are_followed():
    tree = DictTree({FN + "index.ts": 'import "@shared/cors.ts";', FN + "deno.jsonc": '{ // comment\n "imports": {"@shared/": "../_shared/",}}',
                     "supabase/functions/_shared/cors.ts": ""})
    assert "supabase/functions/_shared/cors.ts" in es.collect_function(tree, "wa-webhook").files


@pytest.mark.parametrize("spec", ["../../../../common/index.ts", "../../../../../outside.ts"])
def test_import_leaving_the_project_is_refused(spec):
    tree = DictTree({FN + "index.ts": 'import "%s";' % spec})
    with pytest.raises(es.SourceError, match="leaves the project"):
        es.collect_function(tree, "wa-webhook")


def test_missing_import_and_missing_entrypoint_are_named():
    with pytest.raises(es.SourceError, match="_shared/cors.ts"):
        es.collect_function(DictTree({FN + "index.ts": 'import "../_shared/cors.ts";'}), "wa-webhook")
    with pytest.raises(es.SourceError, match=FN + "index.ts"):
        es.collect_function(DictTree({}), "wa-webhook")


def test_static_files_and_nested_entrypoint_from_config():
    tree = DictTree({"supabase/config.toml": '[functions.public_my-fn]\nentrypoint = "./functions/public/my-fn/index.ts"\n'
                                             'static_files = ["./functions/public/my-fn/*.html"]\nverify_jwt = false\n',
                     "supabase/functions/public/my-fn/index.ts": "", "supabase/functions/public/my-fn/page.html": "<p>"})
    src = es.collect_function(tree, "public_my-fn")
    assert src.entrypoint_path == "supabase/functions/public/my-fn/index.ts"
    assert "supabase/functions/public/my-fn/page.html" in src.files
    assert src.static_patterns == ["supabase/functions/public/my-fn/*.html"] and src.config_verify_jwt is False


def test_disabled_function_and_bad_toml_are_refused():
    with pytest.raises(es.SourceError, match="disabled"):
        es.collect_function(DictTree({"supabase/config.toml": "[functions.wa-webhook]\nenabled = false\n", FN + "index.ts": ""}), "wa-webhook")
    with pytest.raises(es.SourceError, match="not valid TOML"):
        es.collect_function(DictTree({"supabase/config.toml": "[functions", FN + "index.ts": ""}), "wa-webhook")


def test_verify_jwt_never_falls_back_to_default_true_when_remote_had_false():
    src = es.FunctionSource("wa-webhook", "t", {}, FN + "index.ts", "")
    assert es.desired_verify_jwt(None, src, {"verify_jwt": False}) == (False, "kept from the deployed function")
    assert es.desired_verify_jwt(True, src, {"verify_jwt": False})[0] is True
    src.config_verify_jwt = False
    assert es.desired_verify_jwt(None, src, {"verify_jwt": True})[0] is False
    assert es.desired_verify_jwt(None, es.FunctionSource("x", "t", {}, "", ""), None) == (True, "default for a new function")


def test_remote_names_are_normalised_for_comparison():
    assert es.normalise_remote_name("file:///tmp/user_fn_abc/source/supabase/functions/x/index.ts") == "supabase/functions/x/index.ts"
    assert es.remote_fingerprint([("/supabase/functions/x/a.ts", b"1")]) == \
        es.FunctionSource("x", "t", {"supabase/functions/x/a.ts": b"1"}, "", "").fingerprint()


def test_source_version_prefers_the_function_folder():
    src = es.FunctionSource("x", "t", {"supabase/functions/_shared/v.ts": b'VERSION = "shared"',
                                       FN + "version.ts": b'export const VERSION = "v1.4.2";'}, FN + "index.ts", "")
    assert src.version() == "v1.4.2"


@pytest.mark.parametrize("status,body,verdict", [
    (200, {"status": "healthy", "version": "v1"}, "healthy"),
    (200, {"status": "healthy", "version": "v2"}, "old_version"),
    (401, {"code": 401, "message": "Missing authorization header"}, "jwt_gate"),
    (404, {"code": "NOT_FOUND_FUNCTION_BLOB"}, "blob_missing"),
    (404, {"code": "NOT_FOUND"}, "not_found"),
    (503, {"code": "BOOT_ERROR"}, "boot_error"),
    (546, {"code": "WORKER_LIMIT"}, "worker_error"),
    (200, "<html>", "unhealthy"),
    (502, "bad gateway", "unhealthy"),
])
def test_function_health_verdicts(status, body, verdict):
    assert api.classify_function_health(Answer(status, body), "v1")[0] == verdict


def test_unreachable_and_reason_names_both_versions():
    assert api.classify_function_health(Answer(None, None, "ConnectionError"), "v1")[0] == "unreachable"
    assert "v2" in api.classify_function_health(Answer(200, {"status": "healthy", "version": "v2"}), "v1")[1]


def test_advertised_wait():
    assert api.advertised_wait({"Retry-After": "2"}) == 2.0
    assert api.advertised_wait({"X-RateLimit-Reset": "7"}) == 7.0
    assert api.advertised_wait({"Retry-After": "soon", "X-RateLimit-Reset": "3"}) == 3.0
    assert api.advertised_wait({"Retry-After": "9999"}) == 9999.0  # reported as asked; the client refuses waits past its cap
    assert api.advertised_wait({}) == 1.0


@pytest.mark.parametrize("params,env,needle", [
    ({"project_ref": "short"}, {}, "project_ref"),
    ({"project_ref": "a" * 20}, {}, "SUPABASE_ACCESS_TOKEN"),
    ({"project_ref": "a" * 20, "access_token": "Bearer sbp_x"}, {}, "bare token"),
    ({"project_ref": "a" * 20, "api_url": "api.supabase.com"}, {"SUPABASE_ACCESS_TOKEN": "sbp_x"}, "https://"),
])
def test_settings_are_validated(params, env, needle):
    with pytest.raises(ValueError, match=needle):
        api.validate_settings(params, env)


def test_settings_fall_back_to_environment():
    assert api.validate_settings({"project_ref": "a" * 20}, {"SUPABASE_ACCESS_TOKEN": " sbp_1 ", "SUPABASE_API_URL": "http://x/"}) == \
        ("http://x", "sbp_1", "a" * 20)


class FakeResponse:
    status_code = 200
    headers = {"Content-Type": "text/html"}

    def json(self):
        raise ValueError("Expecting value")


def test_html_answer_is_a_clear_error_not_a_traceback():
    with pytest.raises(api.SupabaseError, match="not JSON; is api_url the Management API"):
        api.json_body(FakeResponse(), "function wa-webhook")


def test_non_ascii_token_is_refused():
    with pytest.raises(ValueError, match="bare token"):
        api.validate_settings({"project_ref": "a" * 20, "access_token": "sbp_\u00e9"}, {})


def test_header_values_with_line_breaks_are_refused_without_showing_them():
    from ansible_collections.easymo.rollback.plugins.module_utils._http_probe import headers_problem, url_problem
    problem = headers_problem({"Authorization": "Bearer TOPSECRET123\n"})
    assert "Authorization" in problem and "TOPSECRET123" not in problem
    assert headers_problem({"Authorization": "Bearer ok"}) is None
    assert "not valid" in headers_problem({"Bad Name": "x"})
    assert "not a valid URL" in url_problem("http://[::1", "base_url")
    assert "http:// or https://" in url_problem("ftp://x", "url")
    assert "secret" not in url_problem("ftp://u:secret@x", "url")
    assert url_problem("https://api.easymo.com/health", "base_url") is None
