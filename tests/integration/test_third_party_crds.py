"""The real third-party CRDs ($KAICO_SHARED/crds) install on the local API server and the real
samples ($KAICO_SHARED/samples) pass server-side validation (``kubectl apply --dry-run=server``).

Decisions, so the expectations are explicit:
* Every shared CRD is installed for real; kserve's ``.minimal`` InferenceService variant shares its
  name with the full one, so the full one is installed and the minimal one is checked by dry-run.
* Samples need one kind the shared CRDs lack: NIMCache (next to every NIMService sample). A minimal
  CRD for it lives in tests/integration/crds/. Every other kind in the samples is either built into
  Kubernetes 1.35 (e.g. resource.k8s.io/v1 ResourceClaimTemplate, autoscaling/v2 HPA) or defined by
  a shared CRD, so every sample must be accepted, with two exceptions these tests found:
  - gateway-api-inference-extension's vllm-cpu-deployment.yaml sets an init container's
    ``restartPolicy: IfNotPresent`` (an imagePullPolicy value): core validation rejects it;
  - k8s-nim-operator's nimservice-kserve-standard.yaml sets ``replicas`` together with
    ``scale.enabled: true``, which the NIMService CRD's own CEL rule forbids.
  Both are asserted to fail with exactly that error (KNOWN_REJECTIONS), so a fixed upstream copy,
  or a different rejection, shows up as a test failure. (This is what a mock API would miss.)
* Samples that pin a namespace (default, nim-service, gpu-test1) are moved into the test's
  namespace, because a dry run cannot create the namespace its objects live in.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from kaico_dev.localcluster import LocalCluster

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("KAICO_SHARED") or REPO.parent / "shared")
SAMPLES = sorted((SHARED / "samples").glob("*/*.yaml"))

# Samples the real API server rejects, with the reason it must give.
KNOWN_REJECTIONS = {
    "gateway-api-inference-extension/vllm-cpu-deployment.yaml":
        'initContainers[0].restartPolicy: Unsupported value: "IfNotPresent"',
    "k8s-nim-operator/nimservice-kserve-standard.yaml":
        "spec.replicas cannot be set when spec.scale.enabled is true",
}

# The CRDs the issue names, which kaico's adapters read.
EXPECTED_CRDS = {
    "inferenceservices.serving.kserve.io",
    "llminferenceservices.serving.kserve.io",
    "servingruntimes.serving.kserve.io",
    "clusterservingruntimes.serving.kserve.io",
    "leaderworkersets.leaderworkerset.x-k8s.io",
    "inferencepools.inference.networking.k8s.io",
    "scaledobjects.keda.sh",
    "rayservices.ray.io",
    "nimservices.apps.nvidia.com",
}


@pytest.fixture(scope="module")
def cluster_scoped_kinds(local_cluster: LocalCluster, shared_crds: list[str],
                         local_crds: list[str]) -> set[str]:
    out = local_cluster.kubectl("api-resources", "--namespaced=false", "--no-headers").stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


def test_shared_crds_are_established(local_cluster: LocalCluster, shared_crds: list[str]) -> None:
    assert EXPECTED_CRDS <= set(shared_crds)
    for name in shared_crds:
        conds = local_cluster.kubectl(
            "get", f"crd/{name}", "-o",
            "jsonpath={.status.conditions[?(@.type=='Established')].status}").stdout
        assert conds == "True", name


def test_minimal_crd_variants_are_valid(local_cluster: LocalCluster, shared_crds: list[str],
                                        shared_dir: Path) -> None:
    for f in sorted((shared_dir / "crds").glob("*.minimal.yaml")):
        local_cluster.kubectl("apply", "--server-side", "--force-conflicts", "--dry-run=server",
                              "--field-manager=kaico-tests", "-f", str(f))


def test_crd_schema_validation_is_real(local_cluster: LocalCluster, shared_crds: list[str],
                                       namespace: str) -> None:
    bad = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
           "metadata": {"name": "bad", "namespace": namespace},
           "spec": {"predictor": {"minReplicas": "two"}}}
    res = local_cluster.kubectl("apply", "--dry-run=server", "-f", "-",
                                input=yaml.safe_dump(bad), check=False)
    assert res.returncode != 0
    assert "minReplicas" in res.stderr


def _into_namespace(docs: list[dict[str, Any]], ns: str, cluster_kinds: set[str]) -> list[dict[str, Any]]:
    for d in docs:
        if d.get("kind") not in cluster_kinds:
            d.setdefault("metadata", {})["namespace"] = ns
    return docs


@pytest.mark.parametrize("sample", SAMPLES, ids=[f"{p.parent.name}/{p.name}" for p in SAMPLES])
def test_sample_passes_server_side_validation(local_cluster: LocalCluster, namespace: str,
                                              cluster_scoped_kinds: set[str], sample: Path) -> None:
    docs = [d for d in yaml.safe_load_all(sample.read_text()) if d]
    docs = _into_namespace(docs, namespace, cluster_scoped_kinds)
    res = local_cluster.kubectl("apply", "--dry-run=server", "-f", "-",
                                input=yaml.safe_dump_all(docs), check=False)
    expected_error = KNOWN_REJECTIONS.get(f"{sample.parent.name}/{sample.name}")
    if expected_error:
        assert res.returncode != 0 and expected_error in res.stderr, res.stderr
        return
    assert res.returncode == 0, f"{sample} rejected:\n{res.stderr}"
    assert res.stdout.count("(server dry run)") == len(docs)


def test_samples_are_present() -> None:
    # Guards against a silently empty parametrization when KAICO_SHARED points somewhere wrong.
    assert len(SAMPLES) >= 20, f"expected the shared samples under {SHARED}/samples"
