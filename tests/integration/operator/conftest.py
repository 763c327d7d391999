"""Fixtures for the operator on the local control plane: kaico's CRDs, and ``kaico run`` started
as a subprocess the way users run it (scoped to the test's namespace, metrics on loopback)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from kaico_dev.localcluster import LocalCluster
from operator_harness import REPO, Api, OperatorProcess


@pytest.fixture(scope="session")
def kaico_crds(local_cluster: LocalCluster) -> list[str]:
    """kaico's own CRDs from crds/, as the chart installs them."""
    local_cluster.kubectl("apply", "--server-side", "--force-conflicts", "--field-manager=kaico-tests",
                          "-f", str(REPO / "crds"))
    names = [yaml.safe_load(f.read_text())["metadata"]["name"] for f in sorted((REPO / "crds").glob("*.yaml"))]
    local_cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", *[f"crd/{n}" for n in names])
    return names


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


