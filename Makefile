# kaico: the verbs. `make setup` once, then `make demo` or `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
# Third-party CRDs and sample manifests used by the tests (never copied into the repo).
KAICO_SHARED ?= $(abspath $(CURDIR)/../shared)
export KAICO_SHARED

.PHONY: setup test test-unit bench lint demo tools cluster-up cluster-down clean chart kind-e2e

$(BIN)/kaico: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

## setup: create the virtual environment and install kaico with its dev dependencies
setup: $(BIN)/kaico

## test: every test (unit, integration on the local control plane, e2e)
test: setup tools
	$(BIN)/pytest -q

## test-unit: the pure engine and CLI tests only (no control plane)
test-unit: setup
	$(BIN)/pytest -q -m "not cluster"

## tools: build kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd, kwok, helm, the OCI registry and actionlint from Go modules into ~/.cache/kaico/tools (skips what is built; docs/local-control-plane.md)
tools:
	hack/build-tools.sh

## cluster-up: start the local control plane with fake GPU nodes in the background and print `export KUBECONFIG=…`
cluster-up: setup
	@hack/build-tools.sh >&2
	@$(BIN)/python -m kaico.localcluster up

## cluster-down: stop the local control plane started by cluster-up
cluster-down: setup
	@$(BIN)/python -m kaico.localcluster down

## demo: the local control plane with GPU nodes, the examples, the operator, and the reports
demo: setup tools
	$(BIN)/python -m kaico.demo $(DEMO_ARGS)

## bench: engine throughput and CLI wall time (prints ratios against a baseline)
bench: setup
	$(BIN)/python bench/engine_bench.py

## lint: ruff over the Python code
lint: setup
	$(BIN)/ruff check conformance operator tests bench

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

## docs: regenerate the README sections that come from code (the check table)
docs: setup
	$(BIN)/python hack/update_readme.py

## chart: regenerate the chart's copies (crds/ and the default profile from their single sources), the README's values table and the Grafana dashboard
chart: setup
	rm -f charts/kaico/crds/*.yaml
	cp crds/*.yaml charts/kaico/crds/
	cp conformance/profiles/default.yaml charts/kaico/files/default-profile.yaml
	$(BIN)/python hack/values_table.py --write
	$(BIN)/python hack/grafana_dashboard.py --write

## kind-e2e: on a machine with Docker and kind: build the image, install the chart on a kind cluster, wait for the reports, tear down
kind-e2e:
	hack/kind-e2e.sh
