"""Fixtures for the cluster conformance tests: a control plane of their own, and helpers to
judge it.

These tests install and *remove* cluster-wide objects (CRDs, APIServices, RuntimeClasses) to
show each requirement flip both ways, so they must not share the session control plane: the
session's ``shared_crds`` fixture installs the real Kueue and InferencePool CRDs for the whole
run, and deleting them there would break other tests. A second control plane costs ~10 s.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kaico.cluster.reader import GatherOptions, gather_inventory_sync
from kaico.kube import config
from kaico_dev.localcluster import LocalCluster

from conformance.cluster.evaluation import ClusterEvaluation, RequirementStatus, evaluate_cluster
from tests.dependencies import start_control_plane

HERE = Path(__file__).resolve().parent
CRDS = HERE / "crds"


@pytest.fixture(scope="package")
def conformance_cluster() -> Iterator[LocalCluster]:
    cluster = start_control_plane()
    try:
        yield cluster
    finally:
        cluster.stop()


class Judge:
    """Evaluate the test cluster the way ``kaico cluster`` does, and run the CLI itself."""

    def __init__(self, cluster: LocalCluster):
        self.cluster = cluster

    def evaluate(self, version: str = "1.37", **options: Any) -> ClusterEvaluation:
        credentials = config.load(str(self.cluster.kubeconfig))
        inventory = gather_inventory_sync(credentials, GatherOptions(**options))
        return evaluate_cluster(inventory, version)

    def status(self, requirement: str, version: str = "1.37", **options: Any) -> RequirementStatus:
        result = self.evaluate(version, **options).result(requirement)
        assert result is not None, requirement
        return result.status

    def cli(self, *args: str) -> tuple[int, str, str]:
        from kaico.cli import main

        stdout, stderr = io.StringIO(), io.StringIO()
        code = main(["cluster", "--kubeconfig", str(self.cluster.kubeconfig), *args],
                    stdout=stdout, stderr=stderr)
        return code, stdout.getvalue(), stderr.getvalue()

    def cli_json(self, *args: str) -> dict[str, Any]:
        code, out, err = self.cli("-o", "json", *args)
        assert code in (0, 1), err
        return json.loads(out)

    # objects ------------------------------------------------------------------------------------
    def apply(self, *documents: dict[str, Any]) -> None:
        self.cluster.apply(list(documents))

    def apply_file(self, path: Path) -> list[str]:
        self.cluster.kubectl("apply", "--server-side", "--force-conflicts",
                             "--field-manager=kaico-tests", "-f", str(path))
        names = [d["metadata"]["name"] for d in yaml.safe_load_all(path.read_text())
                 if d and d.get("kind") == "CustomResourceDefinition"]
        if names:
            self.cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s",
                                 *[f"crd/{n}" for n in names])
        return names

    def delete(self, *references: str, namespace: str | None = None) -> None:
        """Delete and wait until gone (a CRD lingers while its instances are finalized)."""
        extra = ["-n", namespace] if namespace else []
        self.cluster.kubectl("delete", *extra, "--ignore-not-found", "--wait=true",
                             "--timeout=60s", *references)


@pytest.fixture(scope="package")
def judge(conformance_cluster: LocalCluster) -> Judge:
    return Judge(conformance_cluster)
