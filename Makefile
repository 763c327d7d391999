# kaico: the verbs. `make setup` once, then `make demo` or `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Development tools (local control plane, demo, generators) live in hack/kaico_dev, outside the wheel.
DEV_PYTHON = PYTHONPATH=$(CURDIR)/hack $(BIN)/python
export PATH := $(CURDIR)/$(BIN):$(PATH)
# Third-party CRDs and sample manifests used by the tests (never copied into the repo).
KAICO_SHARED ?= $(abspath $(CURDIR)/../shared)
export KAICO_SHARED
# The CRD generator (writes crds/*.yaml from the API models; takes --output-dir DIR).
CRDGEN ?= $(DEV_PYTHON) -m kaico_dev.crdgen

# `make test` runs test files on this many pytest-xdist workers, each with its own control plane
# (a file's tests stay on one worker, sharing its module fixtures). TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2

# Benchmarks run one at a time on a shared machine: every one takes this lock.
HEAVY_LOCK ?= $(if $(wildcard /work/.heavy.lock),/work/.heavy.lock,$(CURDIR)/.heavy.lock)

.PHONY: setup test test-unit bench bench-operator bench-admission lint demo tools cluster-up cluster-down clean generate verify docs chart kind-e2e

$(BIN)/kaico: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

## setup: create the virtual environment and install kaico with its dev dependencies
setup: $(BIN)/kaico

## test: every test (unit, integration on the local control plane, e2e)
test: setup tools
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=25

## test-unit: the pure engine and CLI tests only (no control plane)
test-unit: setup
	$(BIN)/pytest -q -m "not cluster"

## tools: build kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd, kwok, helm, the OCI registry and actionlint from Go modules into ~/.cache/kaico/tools (skips what is built; docs/local-control-plane.md)
tools:
	hack/build-tools.sh

## cluster-up: start the local control plane with fake GPU nodes in the background and print `export KUBECONFIG=…`
cluster-up: setup
	@hack/build-tools.sh >&2
	@$(DEV_PYTHON) -m kaico_dev.localcluster up

## cluster-down: stop the local control plane started by cluster-up
cluster-down: setup
	@$(DEV_PYTHON) -m kaico_dev.localcluster down

## demo: the local control plane with GPU nodes, the examples, the operator, and the reports
demo: setup tools
	$(DEV_PYTHON) -m kaico_dev.demo $(DEMO_ARGS)

## bench: engine throughput, CLI wall time, and `kaico check` vs kube-score (built into the tools cache; skipped with a message without Go): ratios against baselines of the same run
bench: setup
	flock $(HEAVY_LOCK) $(BIN)/python bench/engine_bench.py --no-clones
	flock $(HEAVY_LOCK) $(BIN)/python bench/cli_bench.py

## lint: ruff over the Python code
lint: setup
	$(BIN)/ruff check conformance operator hack tests bench
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

## generate: regenerate every generated file: the CRDs, the chart's copies of them and of the default profile, the check catalogue (docs/checks.md), the values table (docs/install.md) and the Grafana dashboard
generate: setup
	$(CRDGEN)
	rm -f charts/kaico/crds/*.yaml
	cp crds/*.yaml charts/kaico/crds/
	cp conformance/profiles/default.yaml charts/kaico/files/default-profile.yaml
	$(BIN)/python hack/checks_doc.py --write
	$(BIN)/python hack/values_table.py --write
	$(BIN)/python hack/grafana_dashboard.py --write

## verify: fail with a diff when any generated file is stale (writes nothing in the tree)
verify: setup
	@scratch=$$(mktemp -d) && trap 'rm -rf "$$scratch"' EXIT && stale=0 && \
	$(CRDGEN) --output-dir "$$scratch/crds" >/dev/null && \
	{ diff -ru crds "$$scratch/crds" || stale=1; } && \
	{ diff -ru crds charts/kaico/crds || stale=1; } && \
	{ diff -u conformance/profiles/default.yaml charts/kaico/files/default-profile.yaml || stale=1; } && \
	{ $(BIN)/python hack/checks_doc.py --check || stale=1; } && \
	{ $(BIN)/python hack/values_table.py --check || stale=1; } && \
	{ $(BIN)/python hack/grafana_dashboard.py --check || stale=1; } && \
	if [ $$stale = 1 ]; then echo "generated files are stale: run \`make generate\`" >&2; exit 1; fi

## docs, chart: older names of `generate`
docs chart: generate

## kind-e2e: on a machine with Docker and kind: build the image, install the chart on a kind cluster, wait for the reports, tear down
kind-e2e:
	hack/kind-e2e.sh

## bench-operator: the operator at scale on the local control plane (N GPU Deployments, 200 GPU nodes; raw floor in the same run): `make bench-operator N=5000 [QUIET=120]`
N ?= 5000
QUIET ?= 120
bench-operator: setup tools
	flock $(HEAVY_LOCK) $(DEV_PYTHON) bench/operator_bench.py --workloads $(N) --quiet $(QUIET) $(BENCH_ARGS)

## bench-admission: admission latency (200 server-side dry-run applies with and without the webhook, alternating) with the operator watching N targets: `make bench-admission N=5000`
bench-admission: setup tools
	flock $(HEAVY_LOCK) $(DEV_PYTHON) bench/admission_bench.py --workloads $(N) $(BENCH_ARGS)
