#!/usr/bin/env bash
# Installs the real Supabase CLI from the npm registry (the package ships its binary: no other download),
# cached outside the work tree and keyed by version. The tests run it against the lab's stand-in.
set -euo pipefail
version=2.117.0
cache=${EASYMO_LAB_CACHE:-$HOME/.cache/easymo-rollback-lab}
dir="$cache/supabase-cli-$version"
if [ -x "$dir/node_modules/.bin/supabase" ]; then exit 0; fi
command -v npm >/dev/null || { echo "setup: npm is needed for the Supabase CLI (apt-get install npm)" >&2; exit 1; }
echo "setup: installing supabase@$version (npm) into $dir"
mkdir -p "$dir"
(cd "$dir" && npm init -y >/dev/null && npm i -E --no-audit --no-fund --loglevel=error "supabase@$version" >/dev/null)
"$dir/node_modules/.bin/supabase" --version >/dev/null
