"""Fixtures for the end-to-end tests: helm, and a local control plane with kaico's CRDs.

helm is built by `make tools` (hack/build-tools.sh), like the control plane. Outside CI a missing
helm skips the tests that need it, with the command to run; in CI (CI=true, where `make test` has
just run `make tools`) it fails them, so the chart is never silently untested.

``e2e_cluster`` is this directory's own control plane (tests/integration's fixtures are scoped to
that directory): it is started only when a test here asks for it. Tests that use it are marked
``cluster``, so `pytest -m "not cluster"` leaves it off.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import ROOT, third_party_crd_files
from kaico_dev.localcluster import LocalCluster, ToolNotFound, find_binary

from tests.dependencies import missing as _missing
from tests.dependencies import start_control_plane


@pytest.fixture(scope="session")
def helm() -> Path:
    try:
        return find_binary("helm")
    except ToolNotFound as missing:
        _missing(f"{missing}")
        raise


@pytest.fixture(scope="session")
def e2e_cluster(shared_dir: Path) -> Iterator[LocalCluster]:
    """A control plane with GPU nodes, kaico's CRDs and the third-party CRDs kaico watches."""
    cluster = start_control_plane()
    try:
        files = [ROOT / "crds", *third_party_crd_files(shared_dir)]
        # One server-side apply: several real CRDs exceed the client-side annotation size limit.
        cluster.kubectl(
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager=kaico-e2e",
            *[arg for path in files for arg in ("-f", str(path))],
            timeout=300,
        )
        cluster.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=120s")
        yield cluster
    finally:
        cluster.stop()
