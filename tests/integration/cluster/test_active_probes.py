"""The active probes: their verdicts (against a scripted API, since kwok pods print nothing)
and a real run on the control plane, which must leave nothing behind."""

from __future__ import annotations

import time
from typing import Any

import pytest
from kaico.cluster.probes import (
    LoopProbeApi,
    ProbeApi,
    ProbeOptions,
    accelerator_mode,
    gang_probes,
    run_probes,
    secure_access_probes,
)
from kaico.cluster.reader import ClientReader, gather_inventory
from kaico.kube import config
from kaico.kube.blocking import BlockingClient

from conformance.cluster.evaluation import ProbeOutcome, RequirementStatus, evaluate_cluster
from conformance.cluster.inventory import ClusterInventory, NodeFact, ResourceSliceFact
from tests.integration.cluster.conftest import Judge

GPU_NODE = NodeFact("gpu-0", allocatable={"nvidia.com/gpu": "8"}, ready=True)
FAST = ProbeOptions(timeout=2, poll_interval=0.01, gang_negative_window=0.05)


class ScriptedApi(ProbeApi):
    """Pods finish at once on ``gpu-0`` and print the device count a test scripts per
    (pod, container); Jobs complete and their pods are bound unless told otherwise."""

    def __init__(self, counts: dict[tuple[str, str], int], gang_holds: bool = True):
        super().__init__()
        self.counts = counts
        self.gang_holds = gang_holds
        self.created: list[dict[str, Any]] = []
        self.deleted: list[str] = []

    def call(self, method: str, path: str, body: Any = None, accept: str = "application/json"):
        if "/log?container=" in path:
            pod = path.split("/pods/")[1].split("/")[0]
            container = path.rsplit("=", 1)[1]
            count = self.counts.get((pod, container))
            return (200, f"RESULT: ACCELERATOR_COUNT={count}\n") if count is not None else (404, "")
        if method == "POST":
            self.created.append(body)
            return 201, body
        if method == "DELETE":
            self.deleted.append(path)
            return 200, {}
        if path.endswith("/serviceaccounts/default"):
            return 200, {}
        if "/pods/" in path:
            return 200, {"spec": {"nodeName": "gpu-0"}, "status": {"phase": "Succeeded"}}
        if "/jobs/" in path:
            return 200, {"status": {"conditions": [{"type": "Complete", "status": "True"}]}}
        if "labelSelector=job-name%3Dkaico-gang-negative" in path:
            bound = [] if self.gang_holds else [{"metadata": {"name": "p"}, "spec": {"nodeName": "n"}}]
            return 200, {"items": bound}
        if "labelSelector=" in path:
            return 200, {"items": [{"metadata": {"name": "p"}, "spec": {"nodeName": "n"}}]}
        return 404, {}


def outcomes(results) -> dict[str, ProbeOutcome]:
    return {r.name.split("/")[1]: r.outcome for r in results}


def test_isolated_accelerators_pass_every_access_probe():
    api = ScriptedApi({("granted", "probe"): 1, ("ungranted", "probe"): 0,
                       ("shared", "authorized"): 1, ("shared", "unauthorized"): 0})
    results = secure_access_probes(api, ClusterInventory(nodes=(GPU_NODE,)), FAST, print)
    assert outcomes(results) == {"positive": ProbeOutcome.PASSED, "negative": ProbeOutcome.PASSED,
                                 "multi-container": ProbeOutcome.PASSED}
    pods = {b["metadata"]["name"]: b for b in api.created if b["kind"] == "Pod"}
    assert pods["granted"]["spec"]["containers"][0]["resources"] == {"limits": {"nvidia.com/gpu": "1"}}
    # The request-less pod is pinned to the node the granted pod ran on, as upstream does.
    assert pods["ungranted"]["spec"]["nodeName"] == "gpu-0"
    assert "resources" not in pods["ungranted"]["spec"]["containers"][0]
    assert any(path.startswith("/api/v1/namespaces/kaico-probe-access-") for path in api.deleted)


def test_a_leaking_device_fails_the_negative_probe_and_the_requirement():
    api = ScriptedApi({("granted", "probe"): 1, ("ungranted", "probe"): 2,
                       ("shared", "authorized"): 1, ("shared", "unauthorized"): 1})
    results = secure_access_probes(api, ClusterInventory(nodes=(GPU_NODE,)), FAST, print)
    assert outcomes(results)["negative"] is ProbeOutcome.FAILED
    assert outcomes(results)["multi-container"] is ProbeOutcome.FAILED
    inventory = ClusterInventory(known=frozenset({"nodes"}), server_version="v1.35.0", nodes=(GPU_NODE,))
    evaluation = evaluate_cluster(inventory, probes=tuple(results))
    assert evaluation.result("secure_accelerator_access").status is RequirementStatus.NOT_IMPLEMENTED


def test_dra_is_preferred_when_the_nvidia_driver_publishes_devices():
    slices = (ResourceSliceFact("s", driver="gpu.nvidia.com", node="gpu-0", devices=8),)
    inventory = ClusterInventory(nodes=(GPU_NODE,), device_classes=frozenset({"gpu.nvidia.com"}),
                                 resource_slices=slices)
    assert accelerator_mode(inventory) == ("dra", "gpu-0")
    api = ScriptedApi({("granted", "probe"): 1, ("ungranted", "probe"): 0,
                       ("shared", "authorized"): 1, ("shared", "unauthorized"): 0})
    secure_access_probes(api, inventory, FAST, print)
    template = next(b for b in api.created if b["kind"] == "ResourceClaimTemplate")
    request = template["spec"]["spec"]["devices"]["requests"][0]
    assert request["exactly"] == {"deviceClassName": "gpu.nvidia.com", "allocationMode": "ExactCount",
                                  "count": 1}
    granted = next(b for b in api.created if b["metadata"]["name"] == "granted")
    assert granted["spec"]["resourceClaims"][0]["resourceClaimTemplateName"] == "accelerator-claim-template"


def test_no_accelerator_node_is_inconclusive_not_a_pass():
    results = secure_access_probes(ScriptedApi({}), ClusterInventory(), FAST, print)
    assert outcomes(results) == {"positive": ProbeOutcome.INCONCLUSIVE}


def test_gang_probes_pass_when_the_oversized_job_is_held_back():
    api = ScriptedApi({}, gang_holds=True)
    results = gang_probes(api, ProbeOptions(timeout=2, poll_interval=0.01, gang_negative_window=0.05,
                                            gang_job_labels={"kueue.x-k8s.io/queue-name": "q"}), print)
    assert outcomes(results) == {"positive": ProbeOutcome.PASSED, "negative": ProbeOutcome.PASSED}
    jobs = [b for b in api.created if b["kind"] == "Job"]
    assert [j["spec"]["parallelism"] for j in jobs] == [2, 1000]
    assert all(j["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "q" for j in jobs)
    assert sum("/jobs/" in path for path in api.deleted) == 2


def test_gang_probes_fail_when_pods_are_placed_piecemeal():
    results = gang_probes(ScriptedApi({}, gang_holds=False), FAST, print)
    assert outcomes(results)["negative"] is ProbeOutcome.FAILED


@pytest.mark.timeout(300)
def test_probes_on_the_control_plane_judge_and_clean_up(judge: Judge):
    options = ProbeOptions(timeout=15, gang_negative_window=10, poll_interval=0.5)
    lines: list[str] = []
    with BlockingClient(config.load(str(judge.cluster.kubeconfig))) as kube:
        inventory = kube.run(gather_inventory(ClientReader(kube.client)))
        results = run_probes(LoopProbeApi(kube.loop, kube.probe_request), inventory, options, lines.append)
    found = {r.name: r.outcome for r in results}
    # kwok runs Job pods to completion but has no kubelet to print logs: access is inconclusive.
    assert found["secure-accelerator-access/positive"] is ProbeOutcome.INCONCLUSIVE
    # The default scheduler binds the 2-pod Job, and binds the 1000-pod one piecemeal.
    assert found["gang-scheduling/positive"] is ProbeOutcome.PASSED
    assert found["gang-scheduling/negative"] is ProbeOutcome.FAILED
    assert len(lines) == len(results)
    evaluation = evaluate_cluster(inventory, "1.35", probes=results)
    assert evaluation.result("gang_scheduling").status is RequirementStatus.NOT_IMPLEMENTED

    def leftovers() -> list[str]:
        out = judge.cluster.kubectl("get", "namespaces", "-l", "kaico.dev/probe=true", "-o", "name").stdout
        return out.split()

    deadline = time.monotonic() + 120
    while leftovers() and time.monotonic() < deadline:
        time.sleep(1)
    assert leftovers() == []
