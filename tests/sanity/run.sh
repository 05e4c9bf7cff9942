#!/usr/bin/env bash
# ansible-test sanity without Docker: it must run from .../ansible_collections/<ns>/<name>/, so the tracked
# files (and uncommitted edits) are copied into such a tree outside the checkout.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
venv_bin="$repo/.venv/bin"
# A fresh directory per run, so that two checkouts (or a CI run beside a developer) never share one.
work=$(mktemp -d "${TMPDIR:-/tmp}/easymo-rollback-sanity.XXXXXX")
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/easymo/rollback"
mkdir -p "$dest"
# lab/ and bench/ are not part of the collection (galaxy.yml build_ignore), so they are not sanity-tested.
(cd "$repo" && git ls-files -co --exclude-standard -z | grep -zEv '^(\.collections|lab|bench)/' | xargs -0 cp --parents -t "$dest")
(cd "$dest" && git init -q && git add -A)  # ansible-test lists files through git

# ansible-test bootstraps pip in the virtual environments it builds by downloading a get-pip script
# from a host we cannot reach; it looks for a cached copy first. This stand-in does the same job
# with ensurepip and PyPI.
ver=$("$venv_bin/python" - <<'PY'
import re, pathlib, ansible_test
src = pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
m = re.search(r"PIP_VERSION\s*=\s*'([^']+)'", src.read_text()) if src.exists() else None
print(m.group(1) if m else "24.2")
PY
)
cache="$HOME/.ansible/test/cache"
mkdir -p "$cache"
cat > "$cache/get_pip_${ver//./_}.py" <<'PY'
import subprocess, sys
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"])
if args:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check"] + args)
PY

cd "$dest"
PATH="$venv_bin:$PATH" "$venv_bin/ansible-test" sanity --local --python 3.11 --color no "$@"
