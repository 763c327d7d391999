#!/usr/bin/env bash
# Builds kube-score (the Go manifest checker `make bench` compares `kaico check` with) from the Go
# module proxy into the tools cache, keyed by version like the control plane's binaries:
#   ${KAICO_TOOLS_DIR:-$HOME/.cache/kaico/tools}/kube-score-<version>/kube-score
# Prints the binary's path on stdout. Exits 1 with a message (and builds nothing) when Go is
# missing or the module cannot be fetched; `make bench` then skips the comparison.
set -euo pipefail
VERSION="${KUBE_SCORE_VERSION:-v1.20.0}"
ROOT="${KAICO_TOOLS_DIR:-$HOME/.cache/kaico/tools}"
DIR="$ROOT/kube-score-$VERSION"
if [ -x "$DIR/kube-score" ]; then
  echo "$DIR/kube-score"
  exit 0
fi
command -v go >/dev/null || { echo "build-kube-score: go is not on PATH" >&2; exit 1; }
mkdir -p "$ROOT"
exec 9>"$ROOT/.kube-score.lock"
flock 9
if [ ! -x "$DIR/kube-score" ]; then
  echo "build-kube-score: building kube-score $VERSION into $DIR" >&2
  GOWORK=off CGO_ENABLED=0 GOTOOLCHAIN=local GOBIN="$DIR" \
    go install "github.com/zegl/kube-score/cmd/kube-score@$VERSION" >&2 \
    || { echo "build-kube-score: go install github.com/zegl/kube-score/cmd/kube-score@$VERSION failed" >&2; exit 1; }
fi
echo "$DIR/kube-score"
