"""Integration tests against the local control plane (real etcd, kube-apiserver, controllers,
scheduler and kwok GPU nodes; see kaico_dev.localcluster).

* Every test under tests/integration is marked ``cluster`` by the hook below, so
  ``pytest -m "not cluster"`` runs the pure tests alone.
* ``local_cluster`` starts one control plane per session and exports KUBECONFIG for subprocesses
  (kubectl, kopf) started by tests; ``namespace`` gives each test a fresh namespace.
* ``shared_crds`` installs the real third-party CRDs from $KAICO_SHARED/crds (never copied into the
  repo); ``local_crds`` installs the minimal ones in tests/integration/crds/.
* A failing test's report gets the tail of every component's log.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kaico_dev.localcluster import LocalCluster

from tests.dependencies import start_control_plane

HERE = Path(__file__).resolve().parent
LOCAL_CRDS = HERE / "crds"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # tryfirst: the marker must be on the items before `-m` deselection looks at them.
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.cluster)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None]:
    outcome = yield
    report = outcome.get_result()
    cluster = _CLUSTER.get("cluster")
    if report.failed and cluster is not None and "local_cluster" in getattr(item, "fixturenames", ()):
        report.sections.append(("local control plane logs", cluster.tail_logs(25)))


_CLUSTER: dict[str, LocalCluster] = {}


@pytest.fixture(scope="session")
def local_cluster() -> Iterator[LocalCluster]:
    """The session's control plane, with two 8-GPU nodes and one CPU node."""
    cluster = start_control_plane()
    _CLUSTER["cluster"] = cluster
    old = os.environ.get("KUBECONFIG")
    os.environ["KUBECONFIG"] = str(cluster.kubeconfig)
    try:
        yield cluster
    finally:
        _CLUSTER.pop("cluster", None)
        if old is None:
            os.environ.pop("KUBECONFIG", None)
        else:
            os.environ["KUBECONFIG"] = old
        cluster.stop()


@pytest.fixture
def namespace(local_cluster: LocalCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace named after the test; deleted (in the background) afterwards."""
    base = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"{base}-{secrets.token_hex(3)}"
    local_cluster.create_namespace(name, labels={"kaico.dev/test": "true"})
    yield name
    local_cluster.delete_namespace(name)


def _crd_docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d and d.get("kind") ==
            "CustomResourceDefinition"]


def install_crds(cluster: LocalCluster, files: list[Path], timeout: float = 60) -> list[str]:
    """Server-side apply (several real CRDs exceed the 256 KiB last-applied annotation), then wait
    until every CRD is Established. Returns the CRD names."""
    names: list[str] = []
    for f in files:
        cluster.kubectl("apply", "--server-side", "--force-conflicts",
                        "--field-manager=kaico-tests", "-f", str(f))
        names += [d["metadata"]["name"] for d in _crd_docs(f)]
    cluster.wait_crds_established(names, timeout)
    return names


def shared_crd_files(shared: Path) -> list[Path]:
    """The real CRDs, one file per CRD name: where kserve ships a full and a `.minimal` variant of
    the same CRD, the full one wins (the minimal one is checked separately)."""
    files = sorted((shared / "crds").glob("*.yaml"))
    by_name: dict[str, Path] = {}
    for f in files:
        for d in _crd_docs(f):
            name = d["metadata"]["name"]
            if name not in by_name or ".minimal" in by_name[name].name:
                by_name[name] = f
    return sorted(set(by_name.values()))


@pytest.fixture(scope="session")
def shared_crds(local_cluster: LocalCluster, shared_dir: Path) -> list[str]:
    """Install the real third-party CRDs from $KAICO_SHARED/crds once per session."""
    return install_crds(local_cluster, shared_crd_files(shared_dir), timeout=120)


@pytest.fixture(scope="session")
def local_crds(local_cluster: LocalCluster) -> list[str]:
    """Minimal CRDs for kinds the shared set lacks (tests/integration/crds/)."""
    return install_crds(local_cluster, sorted(LOCAL_CRDS.glob("*.yaml")))


KAICO_CRDS = HERE.parents[1] / "crds"


def install_kaico_crds(cluster: LocalCluster) -> list[str]:
    """kaico's own CRDs from crds/, as the chart installs them; their names."""
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "--field-manager=kaico-tests",
                    "-f", str(KAICO_CRDS))
    names = [yaml.safe_load(f.read_text())["metadata"]["name"] for f in sorted(KAICO_CRDS.glob("*.yaml"))]
    cluster.wait_crds_established(names)
    return names


@pytest.fixture(scope="session")
def kaico_crds(local_cluster: LocalCluster) -> list[str]:
    return install_kaico_crds(local_cluster)
