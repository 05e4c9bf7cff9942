#!/usr/bin/env python3
"""The Edge Function fixture: a git repository with wa-webhook's history, and releases deployed with the real CLI.

    edge_fixture.py create [PATH]     make the repository (default $EASYMO_EDGE_REPO); prints its commits as JSON
    edge_fixture.py release good|bad  deploy that commit's wa-webhook to the lab's stand-in with the real
                                      Supabase CLI (`functions deploy --use-api`), as a developer would

The repository: supabase/config.toml ([functions.wa-webhook] verify_jwt = false), supabase/functions/wa-webhook/
(index.ts, deno.json, version.ts), supabase/functions/_shared/cors.ts, backups/functions/wa-webhook (a copy of the
good release); commit 1 is the good release v1.4.2, commit 2 the bad release v2.0.0 (tags of the same names).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

GOOD_VERSION = "v1.4.2"
BAD_VERSION = "v2.0.0"
SLUG = "wa-webhook"
CLI_VERSION = "2.117.0"

CONFIG_TOML = """project_id = "easymo"

[functions.wa-webhook]
verify_jwt = false
"""
CORS_TS = 'export const corsHeaders = { "Access-Control-Allow-Origin": "*", "Content-Type": "application/json" };\n'
DENO_JSON = '{\n  "imports": {\n    "std/": "https://deno.land/std@0.224.0/"\n  }\n}\n'
INDEX_GOOD = """import { corsHeaders } from "../_shared/cors.ts";
import { VERSION } from "./version.ts";

// WhatsApp webhook: verify the subscription, then hand each message to agent-core.
Deno.serve(async (req) => {
  const url = new URL(req.url);
  if (url.pathname.endsWith("/_health")) {
    return new Response(JSON.stringify({ status: "healthy", version: VERSION }), { headers: corsHeaders });
  }
  const body = await req.json().catch(() => ({}));
  return new Response(JSON.stringify({ received: Boolean(body) }), { headers: corsHeaders });
});
"""
INDEX_BAD = INDEX_GOOD.replace("return new Response(JSON.stringify({ received: Boolean(body) })",
                               "// v2: route through the AI agent first\n  const reply = body.entry[0].changes[0];\n"
                               "  return new Response(JSON.stringify({ received: Boolean(reply) })")


def version_ts(version: str) -> str:
    return 'export const VERSION = "%s";\n' % version


def git(repo: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="EasyMO Dev", GIT_AUTHOR_EMAIL="dev@easymo.com",
               GIT_COMMITTER_NAME="EasyMO Dev", GIT_COMMITTER_EMAIL="dev@easymo.com")
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout.strip()


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def function_files(version: str, index: str) -> dict[str, str]:
    fn = "supabase/functions/%s/" % SLUG
    return {fn + "index.ts": index, fn + "deno.json": DENO_JSON, fn + "version.ts": version_ts(version)}


def create(repo: Path) -> dict[str, str]:
    if repo.exists():
        shutil.rmtree(repo)
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    good = dict(function_files(GOOD_VERSION, INDEX_GOOD))
    good.update({"supabase/config.toml": CONFIG_TOML, "supabase/functions/_shared/cors.ts": CORS_TS,
                 "README.md": "EasyMO Supabase project (lab fixture)\n"})
    good.update({"backups/functions/%s/%s" % (SLUG, Path(k).name): v for k, v in function_files(GOOD_VERSION, INDEX_GOOD).items()})
    write(repo, good)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "wa-webhook %s" % GOOD_VERSION)
    git(repo, "tag", GOOD_VERSION)
    write(repo, function_files(BAD_VERSION, INDEX_BAD))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "wa-webhook %s: route messages through the AI agent" % BAD_VERSION)
    git(repo, "tag", BAD_VERSION)
    return {"repo": str(repo), "good": git(repo, "rev-parse", GOOD_VERSION), "bad": git(repo, "rev-parse", BAD_VERSION),
            "good_version": GOOD_VERSION, "bad_version": BAD_VERSION}


def cli_path() -> Path:
    cache = Path(os.environ.get("EASYMO_LAB_CACHE", Path.home() / ".cache" / "easymo-rollback-lab"))
    return cache / ("supabase-cli-" + CLI_VERSION) / "node_modules" / ".bin" / "supabase"


def cli_env(project_dir: Path) -> dict[str, str]:
    """The environment the real CLI needs to talk to the stand-in (see notes/supabase.md)."""
    (project_dir / "supabase" / ".temp").mkdir(parents=True, exist_ok=True)
    (project_dir / "supabase" / ".temp" / "cli-latest").write_text("v%s\n" % CLI_VERSION)  # no update check
    return dict(os.environ, SUPABASE_TELEMETRY_DISABLED="1")


def cli_deploy(project_dir: Path, slug: str, extra: list[str] | None = None) -> subprocess.CompletedProcess:
    ref = os.environ["EASYMO_SUPABASE_PROJECT_REF"]
    argv = [str(cli_path()), "functions", "deploy", slug, "--project-ref", ref, "--use-api", *(extra or [])]
    return subprocess.run(argv, cwd=project_dir, env=cli_env(project_dir), capture_output=True, text=True, timeout=120, check=False)


def export(repo: Path, ref: str, into: Path) -> None:
    archive = subprocess.run(["git", "-C", str(repo), "archive", ref], check=True, capture_output=True).stdout
    into.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)


def release(which: str) -> None:
    repo = Path(os.environ["EASYMO_EDGE_REPO"])
    if not repo.exists():
        create(repo)
    with tempfile.TemporaryDirectory() as tmp:
        export(repo, GOOD_VERSION if which == "good" else BAD_VERSION, Path(tmp))
        out = cli_deploy(Path(tmp), SLUG)
    if out.returncode != 0:
        sys.exit("supabase functions deploy failed (%d):\n%s%s" % (out.returncode, out.stdout, out.stderr))
    print("wa-webhook %s deployed with the Supabase CLI %s" % (GOOD_VERSION if which == "good" else BAD_VERSION, CLI_VERSION))


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "create":
        target = Path(argv[2] if len(argv) > 2 else os.environ["EASYMO_EDGE_REPO"])
        print(json.dumps(create(target), indent=2))
        return 0
    if cmd == "release" and len(argv) > 2 and argv[2] in ("good", "bad"):
        release(argv[2])
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
