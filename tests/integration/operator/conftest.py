"""Fixtures for the operator on the local control plane: ``kaico run`` started as a subprocess
the way users run it (scoped to the test's namespace, metrics on loopback). kaico's CRDs come
from ``kaico_crds`` (tests/integration/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kaico_dev.localcluster import LocalCluster
from operator_harness import Api, OperatorProcess


@pytest.fixture
def start_operator(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., OperatorProcess]]:
    started: list[OperatorProcess] = []

    def start(*args: str) -> OperatorProcess:
        operator = OperatorProcess(list(args), tmp_path / f"kaico-run-{len(started)}.log").start()
        started.append(operator)
        return operator

    yield start
    for operator in started:
        operator.stop()
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        for operator in started:
            print(f"--- {operator.log} ---\n{operator.log.read_text()[-5000:]}")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def api(local_cluster: LocalCluster) -> Api:
    return Api(local_cluster)


