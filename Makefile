# kaico: the verbs. `make setup` once, then `make demo` or `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
# Third-party CRDs and sample manifests used by the tests (never copied into the repo).
KAICO_SHARED ?= $(abspath $(CURDIR)/../shared)
export KAICO_SHARED

.PHONY: setup test test-unit bench lint demo tools cluster-up cluster-down clean

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
