#!/usr/bin/env bash
# Builds the local control plane's binaries (kube-apiserver, kube-controller-manager, kube-scheduler,
# kubectl, etcd, kwok), helm, the CNCF distribution registry (the chart's OCI test) and actionlint
# (the workflow lint test) from Go modules, into a cache outside the repo keyed by version.
#
# Why from source: no container registry, no dl.k8s.io and no Docker here, but the Go module proxy is
# reachable. Each tool has a wrapper module under hack/<tool>/ whose go.mod + go.sum pin every module,
# so builds are reproducible and never resolve anything new (-mod=readonly).
#
# Layout (one directory per tool and version, so bumping helm never rebuilds Kubernetes):
#   ${KAICO_TOOLS_DIR:-$HOME/.cache/kaico/tools}/k8s-v1.35.4/{kube-apiserver,kube-controller-manager,kube-scheduler,kubectl}
#                                              /etcd-v3.6.16/etcd
#                                              /kwok-v0.8.0/kwok
#                                              /helm-v3.22.0/helm
#                                              /registry-v3.1.2/registry
#                                              /actionlint-v1.7.12/actionlint
# kaico_dev.localcluster resolves binaries the same way (hack/kaico_dev/localcluster/tools.py).
#
# KUBEBUILDER_ASSETS (setup-envtest's directory with etcd, kube-apiserver, kubectl): binaries found
# there are not built; the harness takes them from there first.
#
# Usage: hack/build-tools.sh [--print-dirs]
set -euo pipefail

HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="${KAICO_TOOLS_DIR:-$HOME/.cache/kaico/tools}"

# Versions come from the pinned wrapper modules, the single source of truth.
modver() { sed -n "s|^[[:space:]]*require[[:space:]]*$2[[:space:]]\+\(v[^[:space:]]*\).*|\1|p; s|^[[:space:]]*$2[[:space:]]\+\(v[^[:space:]]*\).*|\1|p" "$HACK/$1/go.mod" | head -1; }
K8S_V="$(modver k8s k8s.io/kubernetes)"
ETCD_V="$(modver etcd go.etcd.io/etcd/server/v3)"
KWOK_V="$(modver kwok sigs.k8s.io/kwok)"
HELM_V="$(modver helm helm.sh/helm/v3)"
REGISTRY_V="$(modver registry github.com/distribution/distribution/v3)"
ACTIONLINT_V="$(modver actionlint github.com/rhysd/actionlint)"
for v in K8S_V ETCD_V KWOK_V HELM_V REGISTRY_V ACTIONLINT_V; do
  [ -n "${!v}" ] || { echo "build-tools: cannot read $v from hack/*/go.mod" >&2; exit 1; }
done
K8S_DIR="$ROOT/k8s-$K8S_V"; ETCD_DIR="$ROOT/etcd-$ETCD_V"; KWOK_DIR="$ROOT/kwok-$KWOK_V"; HELM_DIR="$ROOT/helm-$HELM_V"
REGISTRY_DIR="$ROOT/registry-$REGISTRY_V"; ACTIONLINT_DIR="$ROOT/actionlint-$ACTIONLINT_V"

if [ "${1:-}" = "--print-dirs" ]; then
  printf 'K8S_DIR=%s\nETCD_DIR=%s\nKWOK_DIR=%s\nHELM_DIR=%s\nREGISTRY_DIR=%s\nACTIONLINT_DIR=%s\n' \
    "$K8S_DIR" "$ETCD_DIR" "$KWOK_DIR" "$HELM_DIR" "$REGISTRY_DIR" "$ACTIONLINT_DIR"
  exit 0
fi

command -v go >/dev/null || { echo "build-tools: Go >= 1.26 is required (go not on PATH)" >&2; exit 1; }
# GOWORK=off: a go.work above the repo must not leak into the wrappers. CGO_ENABLED=0: static
# binaries as upstream ships them, no C toolchain needed. GOTOOLCHAIN=local: never download a Go.
export GOWORK=off CGO_ENABLED=0 GOTOOLCHAIN=local
mkdir -p "$ROOT"

# Two `make tools` at once (a developer and CI on one machine) would race on the same outputs.
exec 9>"$ROOT/.build.lock"
if command -v flock >/dev/null; then
  flock -n 9 || { echo "build-tools: another build holds $ROOT/.build.lock; waiting"; flock 9; }
fi

log() { printf '[tools %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# A cold Kubernetes build prints nothing for many minutes; a heartbeat keeps CI logs alive and
# tells a developer it is still working.
run_with_heartbeat() {
  local what="$1"; shift
  local start=$SECONDS
  # fd 9 closed: a lingering `sleep` must not keep holding the build lock.
  ( exec 9>&-; while sleep 60; do log "  … still building $what ($((SECONDS - start))s)"; done ) &
  local hb=$!
  local rc=0
  "$@" || rc=$?
  kill "$hb" 2>/dev/null; wait "$hb" 2>/dev/null || true
  if [ "$rc" -ne 0 ]; then log "FAILED: $what (exit $rc)"; return "$rc"; fi
  log "built $what in $((SECONDS - start))s"
}

# have NAME DIR EXPECT CMD...: the binary exists, runs, and reports the expected version. Running it
# (not just testing the file) catches a binary truncated by an interrupted build.
have() {
  local name="$1" dir="$2" expect="$3"; shift 3
  [ -x "$dir/$name" ] || return 1
  local out
  # Captured first: `cmd | grep -q` under pipefail fails when grep closes the pipe early.
  out="$("$dir/$name" "$@" 2>&1)" || return 1
  [[ "$out" == *"$expect"* ]]
}

# From KUBEBUILDER_ASSETS, if it holds a working copy.
from_assets() {
  [ -n "${KUBEBUILDER_ASSETS:-}" ] && [ -x "$KUBEBUILDER_ASSETS/$1" ]
}

# --- Kubernetes: one `go build` for all four, so shared packages compile once ------------------
MINOR="${K8S_V#v1.}"; MINOR="${MINOR%%.*}"
K8S_LDFLAGS="-s -w"
# Module zips keep the unexpanded `$Format:%H$` placeholder, so without these the binaries and the
# API's /version would say v0.0.0-master. A fixed buildDate keeps the link cacheable.
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  K8S_LDFLAGS+=" -X $p.gitVersion=$K8S_V -X $p.gitMajor=1 -X $p.gitMinor=$MINOR"
  K8S_LDFLAGS+=" -X $p.gitTreeState=clean -X $p.buildDate=2026-01-01T00:00:00Z"
done
k8s_todo=()
have kube-apiserver "$K8S_DIR" "Kubernetes $K8S_V" --version || from_assets kube-apiserver || k8s_todo+=(kube-apiserver)
have kube-controller-manager "$K8S_DIR" "Kubernetes $K8S_V" --version || from_assets kube-controller-manager || k8s_todo+=(kube-controller-manager)
have kube-scheduler "$K8S_DIR" "Kubernetes $K8S_V" --version || from_assets kube-scheduler || k8s_todo+=(kube-scheduler)
have kubectl "$K8S_DIR" "$K8S_V" version --client || from_assets kubectl || k8s_todo+=(kubectl)
if [ ${#k8s_todo[@]} -eq 0 ]; then
  log "kubernetes $K8S_V: up to date in $K8S_DIR"
else
  log "kubernetes $K8S_V: building ${k8s_todo[*]} into $K8S_DIR (cold: ~10-20 min on 2 cores, warm Go cache: ~2 min)"
  mkdir -p "$K8S_DIR"
  pkgs=(); for b in "${k8s_todo[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  (cd "$HACK/k8s" && run_with_heartbeat "kubernetes ${k8s_todo[*]}" \
    go build -mod=readonly -trimpath -tags=selinux,notest,grpcnotrace -ldflags="$K8S_LDFLAGS" \
      -o "$K8S_DIR/" "${pkgs[@]}")
fi

# --- etcd --------------------------------------------------------------------------------------
if have etcd "$ETCD_DIR" "etcd Version: ${ETCD_V#v}" --version || from_assets etcd; then
  log "etcd $ETCD_V: up to date"
else
  log "etcd $ETCD_V: building into $ETCD_DIR"
  mkdir -p "$ETCD_DIR"
  # The package path ends in /v3, so name the output explicitly.
  (cd "$HACK/etcd" && run_with_heartbeat "etcd" \
    go build -mod=readonly -trimpath -ldflags="-s -w" -o "$ETCD_DIR/etcd" go.etcd.io/etcd/server/v3)
fi

# --- kwok: its version is a source constant, no ldflags needed ----------------------------------
if have kwok "$KWOK_DIR" "${KWOK_V#v}" --version || from_assets kwok; then
  log "kwok $KWOK_V: up to date"
else
  log "kwok $KWOK_V: building into $KWOK_DIR"
  mkdir -p "$KWOK_DIR"
  (cd "$HACK/kwok" && run_with_heartbeat "kwok" \
    go build -mod=readonly -trimpath -ldflags="-s -w" -o "$KWOK_DIR/kwok" sigs.k8s.io/kwok/cmd/kwok)
fi

# --- helm: stamp the version and the default Kubernetes version used by `helm template/lint` ----
if have helm "$HELM_DIR" "$HELM_V" version --short || from_assets helm; then
  log "helm $HELM_V: up to date"
else
  log "helm $HELM_V: building into $HELM_DIR"
  mkdir -p "$HELM_DIR"
  # helm's own Makefile derives the capabilities' default from its client-go version (v0.X.Y -> 1.X).
  CG="$(cd "$HACK/helm" && go list -mod=readonly -m -f '{{.Version}}' k8s.io/client-go)"
  CGMINOR="${CG#v0.}"; CGMINOR="${CGMINOR%%.*}"
  H=helm.sh/helm/v3
  HELM_LDFLAGS="-s -w -X $H/internal/version.version=$HELM_V -X $H/internal/version.gitTreeState=clean"
  HELM_LDFLAGS+=" -X $H/pkg/chartutil.k8sVersionMajor=1 -X $H/pkg/chartutil.k8sVersionMinor=$CGMINOR"
  HELM_LDFLAGS+=" -X $H/pkg/lint/rules.k8sVersionMajor=1 -X $H/pkg/lint/rules.k8sVersionMinor=$CGMINOR"
  (cd "$HACK/helm" && run_with_heartbeat "helm" \
    go build -mod=readonly -trimpath -ldflags="$HELM_LDFLAGS" -o "$HELM_DIR/helm" $H/cmd/helm)
fi

# --- the CNCF distribution registry: a local OCI registry for `helm push` / `helm install oci://` --
if have registry "$REGISTRY_DIR" "$REGISTRY_V" --version; then
  log "registry $REGISTRY_V: up to date"
else
  log "registry $REGISTRY_V: building into $REGISTRY_DIR"
  mkdir -p "$REGISTRY_DIR"
  R=github.com/distribution/distribution/v3
  (cd "$HACK/registry" && run_with_heartbeat "registry" \
    go build -mod=readonly -trimpath -ldflags="-s -w -X $R/version.version=$REGISTRY_V" \
      -o "$REGISTRY_DIR/registry" $R/cmd/registry)
fi

# --- actionlint: checks .github/workflows/*.yaml ----------------------------------------------------
if have actionlint "$ACTIONLINT_DIR" "$ACTIONLINT_V" -version; then
  log "actionlint $ACTIONLINT_V: up to date"
else
  log "actionlint $ACTIONLINT_V: building into $ACTIONLINT_DIR"
  mkdir -p "$ACTIONLINT_DIR"
  (cd "$HACK/actionlint" && run_with_heartbeat "actionlint" \
    go build -mod=readonly -trimpath -ldflags="-s -w -X github.com/rhysd/actionlint.version=$ACTIONLINT_V" \
      -o "$ACTIONLINT_DIR/actionlint" github.com/rhysd/actionlint/cmd/actionlint)
fi

log "tools ready: $K8S_DIR $ETCD_DIR $KWOK_DIR $HELM_DIR $REGISTRY_DIR $ACTIONLINT_DIR${KUBEBUILDER_ASSETS:+ (and KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS)}"
