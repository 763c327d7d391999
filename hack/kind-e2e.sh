#!/usr/bin/env bash
# End-to-end: kaico installed with its Helm chart watches the examples and writes the reports the
# offline CLI predicts. `make kind-e2e` runs it on a fresh kind cluster; the local-control-plane
# test (tests/e2e/test_kind_e2e_script.py) runs this same script with the kind and image steps
# switched off, so every other step is exercised on every `make test`.
#
# Steps: [kind] create a cluster -> [image] docker build + kind load -> GPU-like nodes (extended
# resources patched into node status) -> third-party CRDs -> helm install -> [local] operator
# process -> apply examples/ -> `kaico check` predicts each report -> `kubectl wait` for each
# report's Conformant condition to say the same -> print the reports -> helm uninstall (the
# post-delete hook must leave no report; the CRDs stay) -> teardown.
#
# Switches (environment):
#   SKIP_KIND=1          use the cluster $KUBECONFIG points at; create and delete no kind cluster
#   SKIP_IMAGE_BUILD=1   no `docker build` and no `kind load` (the image must already be pullable)
#   OPERATOR=pod         (default) the chart's Deployment runs the image
#   OPERATOR=local       the chart is installed as usual, but the operator runs here as a process,
#                        `kaico run` with the Deployment's own flags and the chart's ServiceAccount
#                        token (`kubectl create token`): exactly the chart's permissions. For a
#                        control plane without a container runtime (kwok's pods run nothing).
#   KEEP=1               leave everything installed (and the kind cluster up)
#   ARTIFACTS=DIR        on failure, save the operator log and the kaico objects (YAML) in DIR
#   CLUSTER_NAME=kaico-e2e  IMAGE=kaico:e2e  RELEASE=kaico  NAMESPACE=kaico-system
#   TIMEOUT=180s         per wait
#   THIRD_PARTY_CRDS="file|dir ..."  CRDs the examples need (default: $KAICO_SHARED/crds if present)
#   GPU_NODE_SELECTOR=   label selector of the nodes made GPU-like (default: every node)
#   GPU_COUNT=8          nvidia.com/gpu per node
#   KUBECTL, HELM, KIND, DOCKER, KAICO   binaries (default: from PATH; KAICO also .venv/bin/kaico)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SKIP_KIND="${SKIP_KIND:-0}"
SKIP_IMAGE_BUILD="${SKIP_IMAGE_BUILD:-0}"
OPERATOR="${OPERATOR:-pod}"
KEEP="${KEEP:-0}"
CLUSTER_NAME="${CLUSTER_NAME:-kaico-e2e}"
IMAGE="${IMAGE:-kaico:e2e}"
RELEASE="${RELEASE:-kaico}"
NAMESPACE="${NAMESPACE:-kaico-system}"
TIMEOUT="${TIMEOUT:-180s}"
GPU_NODE_SELECTOR="${GPU_NODE_SELECTOR:-}"
GPU_COUNT="${GPU_COUNT:-8}"
KUBECTL="${KUBECTL:-kubectl}"
HELM="${HELM:-helm}"
KIND="${KIND:-kind}"
DOCKER="${DOCKER:-docker}"
if [ -z "${KAICO:-}" ]; then
  if [ -x "$ROOT/.venv/bin/kaico" ]; then KAICO="$ROOT/.venv/bin/kaico"; else KAICO=kaico; fi
fi
if [ -z "${THIRD_PARTY_CRDS:-}" ] && [ -d "${KAICO_SHARED:-$ROOT/../shared}/crds" ]; then
  THIRD_PARTY_CRDS="${KAICO_SHARED:-$ROOT/../shared}/crds"
fi
THIRD_PARTY_CRDS="${THIRD_PARTY_CRDS:-}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/kaico-e2e.XXXXXX")"
OPERATOR_PID=""

log() { printf '[kind-e2e %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { log "FAILED: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null || die "$1 not found (set ${2:-} or put it on PATH)"; }

case "$OPERATOR" in pod|local) ;; *) die "OPERATOR must be pod or local, not '$OPERATOR'" ;; esac
need "$KUBECTL" KUBECTL
need "$HELM" HELM
need "$KAICO" KAICO
need python3
[ "$SKIP_KIND" = 1 ] || need "$KIND" KIND
[ "$SKIP_IMAGE_BUILD" = 1 ] || need "$DOCKER" DOCKER

# The image's repository and tag as the chart takes them (a registry port's ':' is not a tag).
IMAGE_REPOSITORY="${IMAGE%:*}"
IMAGE_TAG="${IMAGE##*:}"

stop_local_operator() {
  if [ -n "$OPERATOR_PID" ]; then
    kill "$OPERATOR_PID" 2>/dev/null || true
    wait "$OPERATOR_PID" 2>/dev/null || true
    OPERATOR_PID=""
  fi
}

# A kubeconfig for the current cluster that authenticates as ServiceAccount $1 of $NAMESPACE.
serviceaccount_kubeconfig() {
  local account="$1" file="$2" token server
  token="$("$KUBECTL" -n "$NAMESPACE" create token "$account" --duration=2h)"
  server="$("$KUBECTL" config view --raw --minify -o jsonpath='{.clusters[0].cluster.server}')"
  "$KUBECTL" config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' \
    | base64 -d >"$WORK/ca.crt"
  "$KUBECTL" config --kubeconfig="$file" set-cluster e2e --server="$server" \
    --certificate-authority="$WORK/ca.crt" --embed-certs=true >/dev/null
  "$KUBECTL" config --kubeconfig="$file" set-credentials "$account" --token="$token" >/dev/null
  "$KUBECTL" config --kubeconfig="$file" set-context e2e --cluster=e2e --user="$account" >/dev/null
  "$KUBECTL" config --kubeconfig="$file" use-context e2e >/dev/null
}

teardown() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    log "diagnostics (exit $rc):"
    "$KUBECTL" get conformancereports -A 2>&1 | sed 's/^/  /' || true
    "$KUBECTL" -n "$NAMESPACE" get pods -o wide 2>&1 | sed 's/^/  /' || true
    "$KUBECTL" get conformanceprofiles -o wide 2>&1 | sed 's/^/  /' || true
    if [ -n "${port:-}" ] && [ "$OPERATOR" = local ]; then
      python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
        "http://127.0.0.1:$port/metrics" 2>&1 \
        | grep -E '^kaico_(evaluations_total|writes_total|report_repairs_total|targets)' | sed 's/^/  metrics: /' || true
    fi
    if [ -f "$WORK/operator.log" ]; then
      grep -E ' (WARNING|ERROR) ' "$WORK/operator.log" | tail -n 40 | sed 's/^/  operator: /'
      tail -n 20 "$WORK/operator.log" | sed 's/^/  operator: /'
    fi
    if [ -n "${ARTIFACTS:-}" ]; then
      mkdir -p "$ARTIFACTS"
      cp "$WORK"/*.log "$ARTIFACTS"/ 2>/dev/null || true
      "$KUBECTL" get conformanceprofiles,conformancereports -A -o yaml >"$ARTIFACTS/kaico-objects.yaml" 2>&1 || true
      log "logs and objects saved in $ARTIFACTS"
    fi
    if [ "$OPERATOR" = pod ]; then
      "$KUBECTL" -n "$NAMESPACE" logs "deployment/$RELEASE" --tail=40 2>&1 | sed 's/^/  operator: /' || true
    fi
  fi
  if [ "$KEEP" = 1 ]; then
    stop_local_operator
    log "KEEP=1: left installed (KUBECONFIG=${KUBECONFIG:-})"
  else
    log "teardown"
    # After a failure the release may still be there; its uninstall hook is not waited for here.
    "$KUBECTL" delete -R -f examples/workloads --ignore-not-found --wait=false >/dev/null 2>&1 || true
    "$KUBECTL" delete quota -A --field-selector metadata.name=kaico-e2e-no-pods >/dev/null 2>&1 || true
    "$KUBECTL" delete -R -f examples/profiles --ignore-not-found --timeout=60s >/dev/null 2>&1 || true
    "$KUBECTL" delete conformanceprofiles -l "app.kubernetes.io/instance=$RELEASE" \
      --ignore-not-found --timeout=60s >/dev/null 2>&1 || true
    stop_local_operator
    "$HELM" uninstall "$RELEASE" -n "$NAMESPACE" --no-hooks --wait --timeout=60s >/dev/null 2>&1 || true
    "$KUBECTL" delete conformancereports -A -l app.kubernetes.io/managed-by=kaico \
      --ignore-not-found --wait=false >/dev/null 2>&1 || true
    if [ "$SKIP_KIND" != 1 ]; then "$KIND" delete cluster --name "$CLUSTER_NAME" >/dev/null 2>&1 || true; fi
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap teardown EXIT

# --- [kind] a cluster ---------------------------------------------------------------------------
if [ "$SKIP_KIND" != 1 ]; then
  log "creating kind cluster $CLUSTER_NAME"
  export KUBECONFIG="$WORK/kubeconfig"
  "$KIND" create cluster --name "$CLUSTER_NAME" --kubeconfig "$KUBECONFIG" --wait 120s
else
  : "${KUBECONFIG:?SKIP_KIND=1 needs KUBECONFIG pointing at the cluster to use}"
  export KUBECONFIG
  log "using the cluster of KUBECONFIG=$KUBECONFIG"
fi

# --- [image] build and load ---------------------------------------------------------------------
if [ "$SKIP_IMAGE_BUILD" != 1 ]; then
  log "building $IMAGE"
  "$DOCKER" build -f operator/Dockerfile -t "$IMAGE" .
  if [ "$SKIP_KIND" != 1 ]; then
    "$KIND" load docker-image "$IMAGE" --name "$CLUSTER_NAME"
  fi
fi

# --- GPU-like nodes: extended resources in node status, as a device plugin would advertise ------
# The API accepts any extended resource patched into status; the kubelet keeps it (the documented
# way to advertise a node-level extended resource). The label is what GPU Feature Discovery sets.
selector_args=()
[ -n "$GPU_NODE_SELECTOR" ] && selector_args=(-l "$GPU_NODE_SELECTOR")
nodes="$("$KUBECTL" get nodes "${selector_args[@]}" -o name)"
[ -n "$nodes" ] || die "no nodes match GPU_NODE_SELECTOR='$GPU_NODE_SELECTOR'"
for node in $nodes; do
  "$KUBECTL" patch "$node" --subresource=status --type=json -p "[
    {\"op\": \"add\", \"path\": \"/status/capacity/nvidia.com~1gpu\", \"value\": \"$GPU_COUNT\"},
    {\"op\": \"add\", \"path\": \"/status/allocatable/nvidia.com~1gpu\", \"value\": \"$GPU_COUNT\"}]" >/dev/null
  "$KUBECTL" label "$node" nvidia.com/gpu.present=true --overwrite >/dev/null
done
log "GPU-like nodes ($GPU_COUNT x nvidia.com/gpu): $(echo "$nodes" | tr '\n' ' ')"

# --- third-party CRDs the examples use (KServe, LeaderWorkerSet, Gateway API, monitors) ----------
if [ -n "$THIRD_PARTY_CRDS" ]; then
  for source in $THIRD_PARTY_CRDS; do
    # Server-side: several real CRDs exceed the client-side last-applied annotation limit.
    "$KUBECTL" apply --server-side --force-conflicts --field-manager=kaico-e2e -f "$source" >/dev/null
  done
  "$KUBECTL" wait --for=condition=Established crd --all --timeout="$TIMEOUT" >/dev/null
  log "third-party CRDs installed from: $THIRD_PARTY_CRDS"
fi

# --- the chart ------------------------------------------------------------------------------------
log "helm install $RELEASE (image $IMAGE_REPOSITORY:$IMAGE_TAG, operator: $OPERATOR)"
"$HELM" upgrade --install "$RELEASE" charts/kaico -n "$NAMESPACE" --create-namespace \
  --set "image.repository=$IMAGE_REPOSITORY" --set "image.tag=$IMAGE_TAG" \
  --set image.pullPolicy=IfNotPresent >"$WORK/helm-install.txt"
sed -n '/^NOTES:/,$p' "$WORK/helm-install.txt"
if [ "$OPERATOR" = pod ]; then
  "$KUBECTL" -n "$NAMESPACE" rollout status "deployment/$RELEASE" --timeout="$TIMEOUT"
else
  # The Deployment's own flags, with the metrics endpoint moved to a free loopback port, served
  # plain: the pod's mounted certificate (metrics.secure) is not here.
  args="$("$KUBECTL" -n "$NAMESPACE" get "deployment/$RELEASE" -o jsonpath='{.spec.template.spec.containers[0].args}')"
  mapfile -t operator_args < <(python3 -c 'import json,sys; print("\n".join(a for a in json.loads(sys.argv[1]) if not a.startswith(("--metrics-auth", "--metrics-cert=", "--metrics-key="))))' "$args")
  sa_kubeconfig="$WORK/serviceaccount.kubeconfig"
  serviceaccount_kubeconfig "$RELEASE" "$sa_kubeconfig"
  log "starting: kaico run ${operator_args[*]} (as system:serviceaccount:$NAMESPACE:$RELEASE)"
  # A free port can be taken by another process before kaico binds it: try a few.
  for _attempt in 1 2 3; do
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    KUBECONFIG="$sa_kubeconfig" "$KAICO" run "${operator_args[@]}" \
      --metrics-address=127.0.0.1 --metrics-port="$port" >"$WORK/operator.log" 2>&1 &
    OPERATOR_PID=$!
    deadline=$((SECONDS + 60))
    until python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
        "http://127.0.0.1:$port/readyz" 2>/dev/null; do
      if ! kill -0 "$OPERATOR_PID" 2>/dev/null; then OPERATOR_PID=""; break; fi
      [ "$SECONDS" -lt "$deadline" ] || die "kaico run not ready after 60s"
      sleep 1
    done
    [ -n "$OPERATOR_PID" ] && break
    grep -q "address already in use" "$WORK/operator.log" || die "kaico run exited"
  done
  [ -n "$OPERATOR_PID" ] || die "kaico run found no free port"
  log "operator ready (metrics on 127.0.0.1:$port)"
fi

# --- the examples ---------------------------------------------------------------------------------
# The examples are evaluated, never run: a zero-pod quota keeps a CI runner from pulling
# multi-gigabyte model-server images (kaico reads the manifests, not the pods).
while read -r ns; do
  "$KUBECTL" create namespace "$ns" --dry-run=client -o yaml | "$KUBECTL" apply -f - >/dev/null
  "$KUBECTL" -n "$ns" create quota kaico-e2e-no-pods --hard=pods=0 --dry-run=client -o yaml \
    | "$KUBECTL" apply -f - >/dev/null
done < <(grep -rhoE '^  namespace: [a-z0-9-]+' examples/workloads | awk '{print $2}' | sort -u)
"$KUBECTL" apply -R -f examples/profiles -f examples/workloads >/dev/null \
  || die "applying examples/ failed: a kind without its CRD? (THIRD_PARTY_CRDS)"
log "applied examples/workloads and examples/profiles"

# --- what the reports must say: `kaico check` on the same objects, as the API server has them ---
# The live objects, not the files: the operator also reads their status (a Deployment with no
# ready replica is not Ready), so the offline CLI is given exactly what the operator sees. Status
# settles a little after the apply, so predictions and reports are compared until they agree.
profiles=(default)
for f in examples/profiles/*.yaml; do profiles+=("$f"); done
expect="$WORK/expected.txt"
predict() {
  "$KUBECTL" get nodes -o yaml >"$WORK/nodes.yaml"
  "$KUBECTL" get -R -f examples/workloads -o yaml >"$WORK/live.yaml"
  : >"$expect"
  local profile rc
  for profile in "${profiles[@]}"; do
    # Exit 1 just means something is non-conformant; 2 is bad input.
    rc=0
    "$KAICO" check -f "$WORK/live.yaml" --cluster-facts "$WORK/nodes.yaml" --profile "$profile" \
      -o json >"$WORK/check.json" || rc=$?
    [ "$rc" -le 1 ] || die "kaico check --profile $profile failed (exit $rc)"
    python3 - "$WORK/check.json" >>"$expect" <<'PY'
import json, sys
for report in json.load(open(sys.argv[1]))["reports"]:
    t = report["target"]
    verdict = "True" if report["conformant"] else "False"
    print(t["namespace"], t["kind"], t["name"], report["profile"], verdict)
PY
  done
}
report_name() {  # namespace kind name profile -> report name, or nothing yet
  "$KUBECTL" -n "$1" get conformancereports --no-headers \
    -o custom-columns='N:.metadata.name,K:.spec.targetRef.kind,T:.spec.targetRef.name,P:.spec.profile' \
    | awk -v k="$2" -v t="$3" -v p="$4" '$2 == k && $3 == t && $4 == p {print $1}'
}
disagreements() {  # prints one line per report missing or not (yet) saying what kaico check says
  local ns kind name profile want report got
  while read -r ns kind name profile want; do
    report="$(report_name "$ns" "$kind" "$name" "$profile")"
    got=""
    if [ -n "$report" ]; then
      got="$("$KUBECTL" -n "$ns" get "conformancereport/$report" \
        -o jsonpath='{.status.conditions[?(@.type=="Conformant")].status}')"
    fi
    [ "$got" = "$want" ] || echo "$kind $ns/$name under $profile: report ${report:-missing} says '${got}', kaico check says $want"
  done <"$expect"
}
deadline=$((SECONDS + ${TIMEOUT%s}))
while :; do
  predict
  pending="$(disagreements)"
  [ -n "$pending" ] || break
  [ "$SECONDS" -lt "$deadline" ] || die "reports disagree with kaico check after $TIMEOUT:
$pending"
  sleep 2
done
log "expected: $(wc -l <"$expect") reports ($(grep -c ' True$' "$expect" || true) conformant)"
# The check users script against: `kubectl wait` on each report's Conformant condition.
while read -r ns kind name profile want; do
  report="$(report_name "$ns" "$kind" "$name" "$profile")"
  "$KUBECTL" -n "$ns" wait "conformancereport/$report" --for="condition=Conformant=$want" \
    --timeout="$TIMEOUT" >/dev/null || die "$kind $ns/$name under $profile: Conformant is not $want"
  log "ok: $kind $ns/$name under $profile: Conformant=$want"
done <"$expect"

"$KUBECTL" get conformancereports -A

# Least privilege, checked from the other side: the operator never hit a permission it lacks.
if [ "$OPERATOR" = local ]; then
  cp "$WORK/operator.log" "$WORK/operator-final.log"
else
  "$KUBECTL" -n "$NAMESPACE" logs "deployment/$RELEASE" >"$WORK/operator-final.log"
fi
# A bare \b403\b would match log timestamps ("18:46:18,403"): match how a refusal is reported.
if grep -iE 'forbidden|HTTP 403|status[=: ]+403' "$WORK/operator-final.log"; then
  die "the operator was refused an API call with the chart's RBAC (above)"
fi
log "PASSED: every report agrees with kaico check"
[ "$KEEP" = 1 ] && exit 0

# --- uninstall: the post-delete hook removes every report; the CRDs stay --------------------------
stop_local_operator
log "helm uninstall $RELEASE"
"$HELM" uninstall "$RELEASE" -n "$NAMESPACE" --wait --timeout="$TIMEOUT" >"$WORK/helm-uninstall.txt" 2>&1 &
helm_pid=$!
if [ "$OPERATOR" = local ]; then
  # No kubelet runs the hook's Pod: run its command here as its ServiceAccount, then report the
  # Pod's phase as a kubelet would.
  hook="$RELEASE-cleanup"
  deadline=$((SECONDS + ${TIMEOUT%s}))
  until "$KUBECTL" -n "$NAMESPACE" get pod "$hook" >/dev/null 2>&1; do
    kill -0 "$helm_pid" 2>/dev/null || die "helm uninstall ended without a cleanup Pod: $(cat "$WORK/helm-uninstall.txt")"
    [ "$SECONDS" -lt "$deadline" ] || die "no cleanup Pod after $TIMEOUT"
    sleep 1
  done
  command="$("$KUBECTL" -n "$NAMESPACE" get pod "$hook" -o jsonpath='{.spec.containers[0].command}')"
  mapfile -t hook_command < <(python3 -c 'import json,sys; print("\n".join(json.loads(sys.argv[1])[1:]))' "$command")
  serviceaccount_kubeconfig "$("$KUBECTL" -n "$NAMESPACE" get pod "$hook" -o jsonpath='{.spec.serviceAccountName}')" \
    "$WORK/cleanup.kubeconfig"
  phase=Succeeded
  KUBECONFIG="$WORK/cleanup.kubeconfig" "$KAICO" "${hook_command[@]}" || phase=Failed
  "$KUBECTL" -n "$NAMESPACE" patch pod "$hook" --subresource=status --type=merge \
    -p "{\"status\":{\"phase\":\"$phase\"}}" >/dev/null
fi
wait "$helm_pid" || die "helm uninstall failed: $(cat "$WORK/helm-uninstall.txt")"
left="$("$KUBECTL" get conformancereports,clusterconformancereports -A -l app.kubernetes.io/managed-by=kaico -o name)"
[ -z "$left" ] || die "reports left after helm uninstall: $left"
"$KUBECTL" get crd conformancereports.kaico.dev clusterconformancereports.kaico.dev conformanceprofiles.kaico.dev >/dev/null \
  || die "helm uninstall removed kaico's CRDs"
log "PASSED: helm uninstall removed every report and kept the CRDs"
