"""Method 4 against the lab's Supabase stand-in, and the stand-in against the real Supabase CLI.

Case ids refer to ../shared/cases/supabase.md.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from conftest import REPO, run_module, run_playbook

sys.path.insert(0, str(REPO / "lab"))
import edge_fixture  # noqa: E402  (the lab's fixture: good/bad releases, the real CLI)

API = os.environ["SUPABASE_API_URL"]
FUNCTIONS = os.environ["EASYMO_FUNCTIONS_URL"]
REF = os.environ["EASYMO_SUPABASE_PROJECT_REF"]
TOKEN = os.environ["SUPABASE_ACCESS_TOKEN"]
AUTH = {"Authorization": "Bearer " + TOKEN}


def lab_get(path: str) -> dict:
    resp = requests.get(API + path, timeout=10)
    resp.raise_for_status()
    return resp.json()


def lab_post(path: str, body: dict | None = None) -> dict:
    resp = requests.post(API + path, json=body or {}, timeout=10)
    resp.raise_for_status()
    return resp.json()


def state() -> dict:
    return lab_get("/_lab/state")


def faults(**kw) -> None:
    lab_post("/_lab/faults", kw)


def remote(slug: str = "wa-webhook") -> dict:
    return requests.get("%s/v1/projects/%s/functions/%s" % (API, REF, slug), headers=AUTH, timeout=10).json()


@pytest.fixture(autouse=True)
def clean_stand_in():
    lab_post("/_lab/reset")
    yield


def git_repo(root: Path, commits: list[dict[str, str | None]]) -> list[str]:
    """A repository with one commit per mapping (path -> text, None deletes); returns the commit ids."""
    root.mkdir(parents=True, exist_ok=True)
    edge_fixture.git(root, "init", "-q", "-b", "main")
    ids = []
    for i, files in enumerate(commits):
        for rel, text in files.items():
            path = root / rel
            if text is None:
                path.unlink()
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
        edge_fixture.git(root, "add", "-A")
        edge_fixture.git(root, "commit", "-q", "-m", "commit %d" % i)
        ids.append(edge_fixture.git(root, "rev-parse", "HEAD"))
    return ids


def fixture_repo(tmp_path: Path) -> dict:
    return edge_fixture.create(tmp_path / "project")


def deploy(project: Path | str, check: bool = False, diff: bool = False, env: dict | None = None, **args) -> dict:
    module_args = {"project_ref": REF, "names": ["wa-webhook"], "project_dir": str(project)}
    module_args.update(args)
    return run_module("edge_function_deploy", module_args, check=check, diff=diff, env=env)


def health(**args) -> dict:
    module_args = {"names": ["wa-webhook"], "functions_url": FUNCTIONS, "interval": 0.2, "timeout": 10}
    module_args.update(args)
    return run_module("edge_function_health", module_args)


def assert_clean(result: dict) -> None:
    out = result["_stdout"] + result["_stderr"] + json.dumps({k: v for k, v in result.items() if not k.startswith("_")})
    assert "Traceback" not in out
    assert TOKEN not in out


def cli_deploy(project: Path, slug: str = "wa-webhook", extra: list[str] | None = None) -> subprocess.CompletedProcess:
    return edge_fixture.cli_deploy(project, slug, extra)


# ---------------------------------------------------------------- the real CLI against the stand-in

def test_real_cli_deploy_is_accepted_and_served(tmp_path):
    repo = Path(fixture_repo(tmp_path)["repo"])
    out = cli_deploy(repo)
    assert out.returncode == 0, out.stdout + out.stderr
    st = state()
    [sent] = st["deploys"]
    assert sent["metadata"]["entrypoint_path"] == "supabase/functions/wa-webhook/index.ts"
    assert sent["metadata"]["verify_jwt"] is False  # from config.toml
    assert "supabase/functions/_shared/cors.ts" in sent["files"]
    assert remote()["version"] == 1
    served = requests.get(FUNCTIONS + "/functions/v1/wa-webhook/_health", timeout=5).json()
    assert served == {"status": "healthy", "version": edge_fixture.BAD_VERSION}


def test_real_cli_retries_429_and_fails_on_500_like_the_service(tmp_path):
    repo = Path(fixture_repo(tmp_path)["repo"])
    faults(deploy_429=1, retry_after=1)
    out = cli_deploy(repo)
    assert out.returncode == 0, out.stdout + out.stderr
    assert len(state()["deploys"]) == 1
    faults(deploy_500=1)
    out = cli_deploy(repo)
    assert out.returncode != 0
    assert len(state()["deploys"]) == 2  # not retried by the CLI either
    assert remote()["version"] == 1


def test_cli_and_module_agree_on_the_file_set(tmp_path):
    repo = Path(fixture_repo(tmp_path)["repo"])
    assert cli_deploy(repo).returncode == 0
    result = deploy(repo, force=True)
    assert result["functions"][0]["status"] == "deployed", result["msg"] if result.get("failed") else ""
    cli_sent, ours = state()["deploys"]
    assert sorted(cli_sent["files"]) == sorted(ours["files"])
    assert cli_sent["metadata"] == ours["metadata"]


# ---------------------------------------------------------------- the stand-in's contract

def _multipart_deploy(slug: str, files: dict[str, str], metadata: dict, metadata_first: bool = False, as_blob: bool = False):
    parts = [("file", (name, text.encode(), "application/octet-stream")) for name, text in files.items()]
    meta = ("metadata", ("blob", json.dumps(metadata), "application/json") if as_blob else (None, json.dumps(metadata)))
    parts = [meta] + parts if metadata_first else parts + [meta]
    return requests.post("%s/v1/projects/%s/functions/deploy" % (API, REF), params={"slug": slug}, files=parts,
                         headers=AUTH, timeout=10)


def test_s09_stand_in_refuses_an_entrypoint_that_was_not_uploaded():
    resp = _multipart_deploy("wa-webhook", {"supabase/functions/wa-webhook/other.ts": "x"},
                             {"entrypoint_path": "supabase/functions/wa-webhook/index.ts", "name": "wa-webhook"})
    assert resp.status_code == 400
    assert resp.json()["message"].startswith("Entrypoint path does not exist - ")
    assert "X-RateLimit-Remaining" in resp.headers


def test_stand_in_contract_versions_verify_jwt_and_part_order():
    files = {"supabase/functions/hook/index.ts": 'export const VERSION = "v1";'}
    meta = {"entrypoint_path": "supabase/functions/hook/index.ts", "name": "hook"}
    first = _multipart_deploy("hook", files, meta, metadata_first=True, as_blob=True)
    assert first.status_code == 201 and first.json()["version"] == 1 and first.json()["verify_jwt"] is True
    requests.patch("%s/v1/projects/%s/functions/hook" % (API, REF), json={"verify_jwt": False}, headers=AUTH, timeout=10)
    second = _multipart_deploy("hook", files, meta)  # verify_jwt absent: kept
    assert second.status_code == 201 and second.json()["version"] == 2 and second.json()["verify_jwt"] is False
    assert requests.get("%s/v1/projects/%s/functions/nope" % (API, REF), headers=AUTH, timeout=10).status_code == 404
    assert requests.get("%s/v1/projects/%s/functions" % (API, REF), timeout=10).status_code == 401
    assert requests.get("%s/v1/projects/%s/functions" % (API, "BADREF"), headers=AUTH, timeout=10).status_code == 400
    bad_slug = _multipart_deploy("9lives", files, meta)
    assert bad_slug.status_code == 400
    gone = requests.delete("%s/v1/projects/%s/functions/hook" % (API, REF), headers=AUTH, timeout=10)
    assert gone.status_code == 200 and gone.json() == {"message": "ok"}


# ---------------------------------------------------------------- deploy

def test_rollback_from_git_ref_leaves_the_checkout_alone_and_second_run_changes_nothing(tmp_path):
    fx = fixture_repo(tmp_path)
    repo = Path(fx["repo"])
    assert cli_deploy(repo).returncode == 0  # the bad release (HEAD) is live
    (repo / "supabase/functions/wa-webhook/index.ts").write_text("// work in progress\n")  # a dirty checkout
    status_before = edge_fixture.git(repo, "status", "--porcelain")

    first = deploy(repo, source="git", git_ref=fx["good"], diff=True)
    assert_clean(first)
    fn = first["functions"][0]
    assert first["changed"] is True and fn["status"] == "deployed"
    assert fn["before"]["version"] == 1 and fn["after"]["version"] == 2
    assert fn["source_version"] == edge_fixture.GOOD_VERSION
    assert fn["git_commit"] == fx["good"]
    assert edge_fixture.git(repo, "status", "--porcelain") == status_before  # working tree and index untouched
    assert "work in progress" in (repo / "supabase/functions/wa-webhook/index.ts").read_text()

    second = deploy(repo, source="git", git_ref=fx["good"])
    assert second["changed"] is False and second["functions"][0]["status"] == "already_deployed"
    assert len(state()["deploys"]) == 2  # the CLI's and ours; the second run uploaded nothing


def test_check_mode_uploads_nothing(tmp_path):
    fx = fixture_repo(tmp_path)
    result = deploy(fx["repo"], source="git", git_ref=fx["good"], check=True, diff=True)
    assert result["changed"] is True and result["functions"][0]["status"] == "would_deploy"
    assert {f["path"] for f in result["functions"][0]["files"]} >= {"supabase/functions/wa-webhook/index.ts",
                                                                    "supabase/functions/_shared/cors.ts"}
    assert state()["deploys"] == []


def test_s01_import_leaving_the_project_is_refused_before_upload(tmp_path):
    fx = fixture_repo(tmp_path)
    repo = Path(fx["repo"])
    (repo / "supabase/functions/wa-webhook/index.ts").write_text('import { x } from "../../../../common/index.ts";\n')
    result = deploy(repo)
    assert result["failed"] is True
    assert "../../../../common/index.ts" in result["msg"] and "leaves the project" in result["msg"]
    assert "Nothing was uploaded" in result["msg"]
    assert state()["deploys"] == []
    assert_clean(result)


def test_missing_import_is_refused_before_upload(tmp_path):
    fx = fixture_repo(tmp_path)
    repo = Path(fx["repo"])
    (repo / "supabase/functions/_shared/cors.ts").unlink()
    result = deploy(repo)
    assert result["failed"] is True and "supabase/functions/_shared/cors.ts" in result["msg"]
    assert state()["deploys"] == []


def test_s02_old_commit_uploads_its_own_import_map(tmp_path):
    base = {"supabase/config.toml": edge_fixture.CONFIG_TOML, "supabase/functions/_shared/cors.ts": edge_fixture.CORS_TS,
            "supabase/functions/wa-webhook/version.ts": edge_fixture.version_ts("v1.0.0"),
            "supabase/functions/wa-webhook/index.ts": 'import { corsHeaders } from "shared/cors.ts";\nimport { VERSION } from "./version.ts";\n',
            "supabase/functions/import_map.json": '{"imports": {"shared/": "./_shared/"}}'}
    newer = {"supabase/functions/import_map.json": None,
             "supabase/functions/wa-webhook/deno.json": '{"imports": {"shared/": "../_shared/"}}',
             "supabase/functions/wa-webhook/version.ts": edge_fixture.version_ts("v2.0.0")}
    old, _new = git_repo(tmp_path / "p", [base, newer])
    result = deploy(tmp_path / "p", source="git", git_ref=old)
    assert result.get("failed") is not True, result.get("msg")
    [sent] = state()["deploys"]
    assert sent["metadata"]["import_map_path"] == "supabase/functions/import_map.json"
    assert "supabase/functions/import_map.json" in sent["files"]
    assert "supabase/functions/wa-webhook/deno.json" not in sent["files"]
    assert "supabase/functions/_shared/cors.ts" in sent["files"]  # reached through the import map
    assert result["functions"][0]["source_version"] == "v1.0.0"


def test_s03_verify_jwt_false_from_known_good_config_replaces_remote_true(tmp_path):
    fx = fixture_repo(tmp_path)
    repo = Path(fx["repo"])
    assert cli_deploy(repo).returncode == 0
    requests.patch("%s/v1/projects/%s/functions/wa-webhook" % (API, REF), json={"verify_jwt": True}, headers=AUTH, timeout=10)
    result = deploy(repo, source="git", git_ref=fx["good"])
    fn = result["functions"][0]
    assert fn["before"]["verify_jwt"] is True and fn["after"]["verify_jwt"] is False
    assert remote()["verify_jwt"] is False  # read back from the API


def test_s04_verify_jwt_false_is_kept_when_old_config_has_no_stanza(tmp_path):
    commits = git_repo(tmp_path / "p", [{
        "supabase/config.toml": 'project_id = "easymo"\n',
        "supabase/functions/wa-webhook/index.ts": 'export const VERSION = "v0.9.0";\n'}])
    repo = Path(fixture_repo(tmp_path)["repo"])
    assert cli_deploy(repo).returncode == 0 and remote()["verify_jwt"] is False
    result = deploy(tmp_path / "p", source="git", git_ref=commits[0])
    fn = result["functions"][0]
    assert fn["verify_jwt"] is False and fn["verify_jwt_from"] == "kept from the deployed function"
    assert state()["deploys"][-1]["metadata"]["verify_jwt"] is False  # sent explicitly, not left to the default
    assert remote()["verify_jwt"] is False


def test_s08_nested_entrypoint_from_config(tmp_path):
    git_repo(tmp_path / "p", [{
        "supabase/config.toml": '[functions.public_my-fn]\nentrypoint = "./functions/public/my-fn/index.ts"\nverify_jwt = false\n',
        "supabase/functions/public/my-fn/index.ts": 'import "./helper.ts";\n',
        "supabase/functions/public/my-fn/helper.ts": 'export const VERSION = "v3";\n'}])
    result = deploy(tmp_path / "p", names=["public_my-fn"])
    assert result.get("failed") is not True, result.get("msg")
    [sent] = state()["deploys"]
    assert sent["slug"] == "public_my-fn"
    assert sent["metadata"]["entrypoint_path"] == "supabase/functions/public/my-fn/index.ts"
    assert sorted(sent["files"]) == ["supabase/functions/public/my-fn/helper.ts", "supabase/functions/public/my-fn/index.ts"]


def test_s10_file_names_are_project_relative_whatever_the_working_directory(tmp_path):
    fx = fixture_repo(tmp_path)
    # run_module runs ansible-playbook from the collection checkout, not from the project
    result = deploy(fx["repo"])
    assert result.get("failed") is not True, result.get("msg")
    [sent] = state()["deploys"]
    assert all(name.startswith("supabase/functions/") for name in sent["files"]), sent["files"]
    assert sent["metadata"]["entrypoint_path"] in sent["files"]  # S09: we never send an entrypoint we did not upload


def test_s11_two_functions_second_fails_each_state_reported(tmp_path):
    fx = fixture_repo(tmp_path)
    repo = Path(fx["repo"])
    shutil.copytree(repo / "supabase/functions/wa-webhook", repo / "supabase/functions/wa-status")
    faults(deploy_500=1, deploy_500_slug="wa-status")
    result = deploy(repo, names=["wa-webhook", "wa-status"])
    assert result["failed"] is True
    by_name = {f["name"]: f for f in result["functions"]}
    assert by_name["wa-webhook"]["status"] == "deployed" and by_name["wa-webhook"]["after"]["version"] == 1
    assert by_name["wa-status"]["status"] == "failed"
    assert "wa-webhook: deployed" in result["msg"] and "wa-status: failed" in result["msg"]
    assert remote("wa-webhook")["version"] == 1
    assert remote("wa-status").get("message") == "Function not found"


def test_s12_rate_limited_deploy_waits_and_retries_within_budget(tmp_path):
    fx = fixture_repo(tmp_path)
    faults(deploy_429=2, retry_after=1)
    result = deploy(fx["repo"])
    assert result.get("failed") is not True, result.get("msg")
    assert result["rate_limit_waits"] == [1.0, 1.0]
    assert result["functions"][0]["status"] == "deployed"


def test_rate_limit_budget_is_bounded(tmp_path):
    fx = fixture_repo(tmp_path)
    faults(deploy_429=10, retry_after=1)
    result = deploy(fx["repo"], rate_limit_budget=1.5)
    assert result["failed"] is True and "retry budget" in result["msg"]
    assert_clean(result)


def test_s13_missing_entrypoint_is_named_and_backup_folder_deploys(tmp_path):
    fx = fixture_repo(tmp_path)
    repo = Path(fx["repo"])
    shutil.rmtree(repo / "supabase/functions/wa-webhook")
    missing = deploy(repo)
    assert missing["failed"] is True and "supabase/functions/wa-webhook/index.ts" in missing["msg"]
    assert state()["deploys"] == []
    result = deploy(repo, source="backup", backup_dir=str(repo / "backups/functions"))
    assert result.get("failed") is not True, result.get("msg")
    fn = result["functions"][0]
    assert fn["source_version"] == edge_fixture.GOOD_VERSION
    assert "supabase/functions/wa-webhook/index.ts" in state()["deploys"][0]["files"]
    assert "supabase/functions/_shared/cors.ts" in state()["deploys"][0]["files"]


def test_s14_deploy_500_is_not_retried_and_read_back(tmp_path):
    fx = fixture_repo(tmp_path)
    repo = Path(fx["repo"])
    assert cli_deploy(repo).returncode == 0
    faults(deploy_500=1)
    result = deploy(repo, source="git", git_ref=fx["good"])
    assert result["failed"] is True
    fn = result["functions"][0]
    assert fn["status"] == "failed" and "not retried" in fn["message"] and "unchanged" in fn["message"]
    assert fn["after"]["version"] == 1
    assert len(state()["deploys"]) == 2  # the CLI's and one attempt of ours

    faults(deploy_500=1, deploy_500_applies=True)
    applied = deploy(repo, source="git", git_ref=fx["good"])
    assert applied.get("failed") is not True, applied.get("msg")
    assert applied["functions"][0]["status"] == "deployed" and "answered an error" in applied["functions"][0]["message"]
    assert remote()["version"] == 2


def test_s15_unknown_ref_or_ref_without_function_is_named(tmp_path):
    fx = fixture_repo(tmp_path)
    result = deploy(fx["repo"], source="git", git_ref="no-such-ref")
    assert result["failed"] is True and "no-such-ref" in result["msg"] and "does not exist" in result["msg"]
    other = deploy(fx["repo"], source="git", git_ref=fx["good"], names=["not-there"])
    assert other["failed"] is True and "supabase/functions/not-there/index.ts" in other["msg"]
    assert state()["deploys"] == []
    assert_clean(result)


def test_bad_inputs_are_refused_before_any_call(tmp_path):
    fx = fixture_repo(tmp_path)
    for args, needle in [({"project_ref": "Not-A-Ref"}, "project_ref"), ({"names": ["bad slug"]}, "slugs"),
                         ({"names": ["wa-webhook", "wa-webhook"]}, "twice"), ({"project_dir": "/nonexistent"}, "/nonexistent"),
                         ({"source": "backup", "backup_dir": "/nonexistent"}, "/nonexistent/wa-webhook")]:
        result = deploy(fx["repo"], **args)
        assert result["failed"] is True and needle in result["msg"], (args, result.get("msg"))
        assert_clean(result)
    assert state()["deploys"] == []


def test_planted_token_never_reaches_output(tmp_path):
    fx = fixture_repo(tmp_path)
    planted = "sbp_" + "5eC7e7" * 6 + "abcd"
    result = deploy(fx["repo"], env={"SUPABASE_ACCESS_TOKEN": planted})
    assert result["failed"] is True and "401" in result["msg"]
    out = result["_stdout"] + result["_stderr"] + json.dumps(result)
    assert planted not in out
    as_param = deploy(fx["repo"], access_token=planted)
    assert planted not in as_param["_stdout"] + as_param["_stderr"] + json.dumps(as_param)


# ---------------------------------------------------------------- health

def _deploy_good(repo: Path) -> None:
    result = deploy(repo, source="backup", backup_dir=str(repo / "backups/functions"))
    assert result.get("failed") is not True, result.get("msg")


def test_s05_old_version_served_for_a_while_is_waited_out(tmp_path):
    repo = Path(fixture_repo(tmp_path)["repo"])
    assert cli_deploy(repo).returncode == 0
    faults(stale_probes=3)
    _deploy_good(repo)
    result = health(expected_version=edge_fixture.GOOD_VERSION)
    fn = result["functions"][0]
    assert result.get("failed") is not True, result.get("msg")
    assert fn["verdict"] == "healthy" and fn["attempts"] == 4
    assert any("old_version" in h for h in fn["history"])


def test_s05_old_version_past_the_deadline_fails_naming_both(tmp_path):
    repo = Path(fixture_repo(tmp_path)["repo"])
    assert cli_deploy(repo).returncode == 0
    faults(stale_probes=10000)
    _deploy_good(repo)
    result = health(expected_version=edge_fixture.GOOD_VERSION, timeout=2)
    assert result["failed"] is True
    assert edge_fixture.BAD_VERSION in result["msg"] and edge_fixture.GOOD_VERSION in result["msg"]
    assert result["functions"][0]["verdict"] == "old_version"


def test_s06_jwt_gate_is_its_own_verdict_and_stops_at_once(tmp_path):
    repo = Path(fixture_repo(tmp_path)["repo"])
    _deploy_good(repo)
    requests.patch("%s/v1/projects/%s/functions/wa-webhook" % (API, REF), json={"verify_jwt": True}, headers=AUTH, timeout=10)
    result = health(expected_version=edge_fixture.GOOD_VERSION, timeout=30)
    fn = result["functions"][0]
    assert result["failed"] is True and fn["verdict"] == "jwt_gate" and fn["attempts"] == 1
    assert "JWT gate (401" in fn["reason"]
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.planted-signature-31f0"
    with_jwt = health(expected_version=edge_fixture.GOOD_VERSION, jwt=jwt)
    assert with_jwt["functions"][0]["verdict"] == "healthy"
    assert jwt not in with_jwt["_stdout"] + with_jwt["_stderr"] + json.dumps(with_jwt)


def test_s07_listed_active_but_blob_missing_suggests_redeploy(tmp_path):
    repo = Path(fixture_repo(tmp_path)["repo"])
    _deploy_good(repo)
    assert remote()["status"] == "ACTIVE"
    faults(blob_missing=True)
    result = health(timeout=1)
    fn = result["functions"][0]
    assert result["failed"] is True and fn["verdict"] == "blob_missing" and "redeploy" in fn["reason"]
    faults(blob_missing=False, boot_error=True)
    boot = health(timeout=1)
    assert boot["functions"][0]["verdict"] == "boot_error"


# ---------------------------------------------------------------- info and the playbook

def test_info_names_the_previous_good_commit(tmp_path):
    fx = fixture_repo(tmp_path)
    result = run_module("edge_function_info", {"project_ref": REF, "names": ["wa-webhook"], "project_dir": fx["repo"],
                                               "bad_ref": fx["bad"]})
    fn = result["functions"][0]
    assert fn["previous_good"]["commit"] == fx["good"]
    assert fn["previous_good"]["source_version"] == edge_fixture.GOOD_VERSION
    assert fn["previous_good"]["bad_source_version"] == edge_fixture.BAD_VERSION
    assert [c["commit"] for c in fn["history"]] == [fx["bad"], fx["good"]]
    assert fn["remote"] is None
    first = run_module("edge_function_info", {"project_ref": REF, "names": ["wa-webhook"], "project_dir": fx["repo"],
                                              "bad_ref": fx["good"]})
    assert first["failed"] is True and "no commit before" in first["msg"]


@pytest.mark.parametrize("how", ["bad_ref", "backup"])
def test_playbook_rolls_back_and_second_run_changes_nothing(tmp_path, how):
    fx = fixture_repo(tmp_path)
    repo = Path(fx["repo"])
    assert cli_deploy(repo).returncode == 0
    extra = ["-e", "edge_function_rollback_bad_ref=%s" % fx["bad"]] if how == "bad_ref" else ["-e", "edge_function_rollback_source=backup"]
    env = {"EASYMO_EDGE_REPO": str(repo)}
    first = run_playbook(REPO / "playbooks/edge_function_rollback.yml", "-i", str(REPO / "inventories/lab"), *extra, env=env)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    assert "Supabase deploy #1 -> #2" in first.stdout and "serving %s" % edge_fixture.GOOD_VERSION in first.stdout
    second = run_playbook(REPO / "playbooks/edge_function_rollback.yml", "-i", str(REPO / "inventories/lab"), *extra, env=env)
    assert second.returncode == 0 and "changed=0" in second.stdout, second.stdout[-3000:]
    assert remote()["version"] == 2
    assert TOKEN not in first.stdout + first.stderr + second.stdout + second.stderr


def test_playbook_without_a_source_says_what_to_give():
    out = run_playbook(REPO / "playbooks/edge_function_rollback.yml", "-i", str(REPO / "inventories/lab"))
    assert out.returncode != 0
    assert "edge_function_rollback_good_ref" in out.stdout and "Nothing was changed" in out.stdout
    assert state()["deploys"] == []


def test_bad_version_pattern_is_refused(tmp_path):
    fx = fixture_repo(tmp_path)
    for pattern, needle in [("VERSION = (", "not a regular expression"), ("VERSION", "needs one group")]:
        result = deploy(fx["repo"], version_pattern=pattern)
        assert result["failed"] is True and needle in result["msg"]
        assert_clean(result)
    assert state()["deploys"] == []


# ---------------------------------------------------------------- second helper's findings

def test_git_ref_or_backup_dir_without_their_source_is_refused(tmp_path):
    fx = fixture_repo(tmp_path)
    ref_only = deploy(fx["repo"], git_ref=fx["good"], check=True)
    assert ref_only["failed"] is True and "set source=git" in ref_only["msg"]
    backup_only = deploy(fx["repo"], backup_dir=str(Path(fx["repo"]) / "backups/functions"), check=True)
    assert backup_only["failed"] is True and "set source=backup" in backup_only["msg"]


def test_symlink_in_a_commit_is_refused_not_uploaded_as_its_path(tmp_path):
    repo = tmp_path / "p"
    ids = git_repo(repo, [{"supabase/functions/wa-webhook/index.ts": 'import "./link.ts";\n',
                           "supabase/functions/wa-webhook/real.ts": 'export const VERSION = "v1";\n'}])
    (repo / "supabase/functions/wa-webhook/link.ts").symlink_to("real.ts")
    edge_fixture.git(repo, "add", "-A")
    edge_fixture.git(repo, "commit", "-q", "-m", "link")
    result = deploy(repo, source="git", git_ref="HEAD")
    assert result["failed"] is True and "symbolic link" in result["msg"] and "link.ts" in result["msg"]
    assert ids and state()["deploys"] == []


def test_commented_out_import_is_not_followed(tmp_path):
    repo = tmp_path / "p"
    git_repo(repo, [{"supabase/functions/wa-webhook/index.ts":
                     '// import "./gone.ts";\n/* import "./also-gone.ts"; */\nconst url = "https://x//y";\nexport const VERSION = "v1";\n'}])
    result = deploy(repo)
    assert result.get("failed") is not True, result.get("msg")
    assert state()["deploys"][0]["files"] == ["supabase/functions/wa-webhook/index.ts"]


@pytest.mark.parametrize("config,needle", [
    ('[functions.wa-webhook]\nverify_jwt = "false"\n', "must be true or false"),
    ('functions = "oops"\n', "must be a table"),
    ('[functions.wa-webhook]\nstatic_files = 5\n', "list of glob strings"),
])
def test_malformed_config_toml_is_named(tmp_path, config, needle):
    repo = tmp_path / "p"
    git_repo(repo, [{"supabase/config.toml": config, "supabase/functions/wa-webhook/index.ts": ""}])
    result = deploy(repo)
    assert result["failed"] is True and needle in result["msg"] and "config.toml" in result["msg"]
    assert_clean(result)


def test_import_map_with_a_list_of_imports_is_named(tmp_path):
    repo = tmp_path / "p"
    git_repo(repo, [{"supabase/functions/wa-webhook/index.ts": "", "supabase/functions/wa-webhook/deno.json": '{"imports": ["a"]}'}])
    result = deploy(repo)
    assert result["failed"] is True and '"imports" must be an object' in result["msg"]
    assert_clean(result)


def test_a_deploy_that_times_out_but_lands_is_reported_as_deployed(tmp_path):
    fx = fixture_repo(tmp_path)
    faults(deploy_latency_ms=3000)
    result = deploy(fx["repo"], request_timeout=1)
    fn = result["functions"][0]
    assert fn["status"] == "deployed", fn["message"]
    assert "ReadTimeout" in fn["message"] and fn["after"]["version"] == 1


def test_non_supabase_api_url_fails_before_any_post(tmp_path):
    fx = fixture_repo(tmp_path)
    result = deploy(fx["repo"], api_url=os.environ["EASYMO_LAB_STANDINS_URL"])
    assert result["failed"] is True and "check project_ref and api_url" in result["msg"]
    assert_clean(result)
    assert state()["deploys"] == []
    timeout = deploy(fx["repo"], request_timeout=0)
    assert timeout["failed"] is True and "request_timeout must be above 0" in timeout["msg"]


def test_health_expected_version_must_cover_every_function_and_be_a_string(tmp_path):
    repo = Path(fixture_repo(tmp_path)["repo"])
    _deploy_good(repo)
    for expected, needle in [({"other": "v9"}, "names no version for wa-webhook"), (True, "version string"), ([1], "version string")]:
        result = health(expected_version=expected)
        assert result["failed"] is True and needle in result["msg"], (expected, result.get("msg"))


def test_playbook_refuses_two_sources_at_once():
    out = run_playbook(REPO / "playbooks/edge_function_rollback.yml", "-i", str(REPO / "inventories/lab"),
                       "-e", "edge_function_rollback_source=backup", "-e", "edge_function_rollback_bad_ref=HEAD")
    assert out.returncode != 0 and "in one way" in out.stdout and "Nothing was changed" in out.stdout
    none = run_playbook(REPO / "playbooks/edge_function_rollback.yml", "-i", str(REPO / "inventories/lab"),
                        "-e", '{"edge_function_rollback_functions": []}')
    assert none.returncode != 0 and "No function to roll back" in none.stdout
    assert state()["deploys"] == []
