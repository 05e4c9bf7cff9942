#!/usr/bin/env bash
# Builds the lab's Kubernetes binaries from the Go module proxy (no binary downloads) and caches them
# outside the work tree, keyed by version. Only missing binaries are built.
# Prints the cache's bin directory on the last line of stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab/versions.env
. "$here/versions.env"
cache=${EASYMO_LAB_CACHE:-$HOME/.cache/easymo-rollback-lab}
bin="$cache/bin"
src="$cache/src"
mkdir -p "$bin" "$src"
export GOFLAGS=-buildvcs=false
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

log() { printf '[lab build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

want() { [ -x "$bin/$1-$2" ] && return 1; return 0; }

k8s_tools=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
missing_k8s=()
for t in "${k8s_tools[@]}"; do want "$t" "$K8S_VERSION" && missing_k8s+=("$t"); done

if [ ${#missing_k8s[@]} -gt 0 ]; then
  mod="$src/kubernetes-$K8S_VERSION"
  mkdir -p "$mod"
  staging_version="v0.${K8S_VERSION#v1.}"
  if [ ! -f "$mod/go.sum" ]; then
    log "resolving k8s.io/kubernetes $K8S_VERSION (staging modules at $staging_version); first time downloads ~1 GB of modules"
    upstream_mod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
    {
      echo "module easymo.local/labbuild"
      echo
      grep -E '^go [0-9]' "$upstream_mod"
      grep -E '^godebug ' "$upstream_mod" || true
      echo
      echo "require k8s.io/kubernetes $K8S_VERSION"
      echo
      echo "replace ("
      # Every staging module the release replaces with a local path, pinned to its published version.
      sed -n '/^replace (/,/^)/p' "$upstream_mod" | awk -v v="$staging_version" '$2 == "=>" && $3 ~ /^\.\/staging\// {print "\t" $1 " => " $1 " " v}'
      echo ")"
    } > "$mod/go.mod"
    {
      echo "//go:build tools"
      echo
      echo "package labbuild"
      echo
      echo "import ("
      for t in "${k8s_tools[@]}"; do echo "	_ \"k8s.io/kubernetes/cmd/$t\""; done
      echo ")"
    } > "$mod/tools.go"
    (cd "$mod" && go mod tidy)
  fi
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2) -X k8s.io/component-base/version.gitTreeState=clean"
  n=0
  for t in "${missing_k8s[@]}"; do
    n=$((n + 1))
    log "building $t $K8S_VERSION ($n/${#missing_k8s[@]}; several minutes each on a cold cache)"
    (cd "$mod" && go build -trimpath -ldflags "$ldflags" -o "$bin/$t-$K8S_VERSION.tmp" "k8s.io/kubernetes/cmd/$t")
    mv "$bin/$t-$K8S_VERSION.tmp" "$bin/$t-$K8S_VERSION"
  done
fi

if want etcd "$ETCD_VERSION"; then
  mod="$src/etcd-$ETCD_VERSION"
  mkdir -p "$mod"
  log "building etcd $ETCD_VERSION"
  cat > "$mod/main.go" <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  if [ ! -f "$mod/go.mod" ]; then
    (cd "$mod" && go mod init easymo.local/labetcd >/dev/null 2>&1 && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" && go mod tidy)
  fi
  (cd "$mod" && go build -trimpath -ldflags "-s -w" -o "$bin/etcd-$ETCD_VERSION.tmp" .)
  mv "$bin/etcd-$ETCD_VERSION.tmp" "$bin/etcd-$ETCD_VERSION"
fi

if want kwok "$KWOK_VERSION"; then
  log "building kwok $KWOK_VERSION"
  GOBIN="$src/kwok-$KWOK_VERSION" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  mv "$src/kwok-$KWOK_VERSION/kwok" "$bin/kwok-$KWOK_VERSION"
fi

log "binaries ready in $bin"
echo "$bin"
