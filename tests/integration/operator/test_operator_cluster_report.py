"""``kaico run`` writes one ClusterConformanceReport per profile: printer columns, a requirement
that flips both ways when Gateway API is installed and removed (with an Event), the metric, and
no write while nothing changes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from operator_harness import REPO, Api, wait_for
from operator_manifests import profile

pytestmark = pytest.mark.usefixtures("kaico_crds", "shared_crds")

GATEWAY_API = REPO / "tests" / "integration" / "cluster" / "crds" / "gateway-api.yaml"
GATEWAY_CRDS = [f"{p}.gateway.networking.k8s.io" for p in ("gatewayclasses", "gateways", "httproutes")]
ACCEPTED = {"status": {"conditions": [{
    "type": "Accepted", "status": "True", "reason": "Accepted", "message": "ok",
    "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": 1}]}}


@pytest.fixture
def profile_name(api: Api, namespace: str, start_operator: Any) -> Iterator[str]:
    """As in test_operator: torn down (finalizer first) before the operator stops. Deleting the
    profile garbage-collects its ClusterConformanceReport."""
    name = f"p-{namespace}"
    yield name
    api.cluster.kubectl("patch", "conformanceprofile", name, "--type=merge",
                        "-p", '{"metadata":{"finalizers":null}}', check=False)
    api.delete("conformanceprofile", name, "--wait=false")


def requirement(report: dict[str, Any], requirement_id: str) -> dict[str, Any]:
    return next(r for r in report["status"]["requirements"] if r["id"] == requirement_id)


def wait_status(api: Api, name: str, requirement_id: str, status: str, timeout: float = 60) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        report = api.get("clusterconformancereport", name)
        if report and (report.get("status") or {}).get("requirements"):
            if requirement(report, requirement_id)["status"] == status:
                return report
        return None

    return wait_for(reached, timeout=timeout, message=f"{requirement_id} to become {status}")


def kaico_writes(metrics: str) -> dict[str, float]:
    """kaico_writes_total by operation."""
    return {line.split('"')[1]: float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
            if line.startswith("kaico_writes_total{")}


def profiles_in_the_cluster(api: Api) -> list[tuple[Any, ...]]:
    """What to look at when a quiet window was not quiet: every profile, its version, status and
    who wrote it last."""
    listing = api.get("conformanceprofiles") or {"items": []}
    return [(p["metadata"]["name"], p["metadata"]["resourceVersion"], p.get("status"),
             [(m.get("manager"), m.get("subresource"), m.get("time"))
              for m in p["metadata"].get("managedFields") or []]) for p in listing["items"]]


def test_the_cluster_report_follows_gateway_api_and_stays_quiet_when_nothing_changes(
    api: Api, namespace: str, start_operator, profile_name: str
) -> None:
    if api.get("crd", "gatewayclasses.gateway.networking.k8s.io") is not None:
        pytest.skip("Gateway API is already installed in this cluster")
    api.apply(profile(profile_name, namespace))
    operator = start_operator("--namespace", namespace)

    report = wait_status(api, profile_name, "ai_inference", "NotImplemented")
    status = report["status"]
    assert report["spec"]["profile"] == profile_name
    assert report["metadata"]["ownerReferences"][0]["kind"] == "ConformanceProfile"
    summary = status["summary"]
    header, row = api.kubectl("get", "clusterconformancereports", profile_name).splitlines()
    assert header.split() == ["NAME", "PROFILE", "VERSION", "MUST", "SHOULD", "CONFORMANT", "AGE"]
    assert row.split()[1:6] == [
        profile_name, status["kubernetesVersion"], f"{summary['mustMet']}/{summary['mustTotal']}",
        f"{summary['shouldMet']}/{summary['shouldTotal']}", "False",  # ai_inference is a MUST
    ]
    assert (f'kaico_cluster_requirements{{level="MUST",profile="{profile_name}",'
            f'requirement="ai_inference",status="NotImplemented"}} 1.0') in operator.metrics()

    try:
        api.kubectl("apply", "-f", str(GATEWAY_API))
        api.cluster.wait_crds_established(GATEWAY_CRDS, timeout=30)
        wait_for(lambda: api.cluster.kubectl("apply", "-f", "-", check=False, input=json.dumps({
            "apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
            "metadata": {"name": f"gw-{namespace}"},
            "spec": {"controllerName": "example.com/gateway-controller"}})).returncode == 0,
            message="the GatewayClass to be accepted by the API")
        # Play the gateway controller: accept the class.
        api.kubectl("patch", "gatewayclass", f"gw-{namespace}", "--subresource=status", "--type=merge",
                    "-p", json.dumps(ACCEPTED))
        flipped = wait_status(api, profile_name, "ai_inference", "Implemented")
        assert any(f"GatewayClass/gw-{namespace}" in e for e in requirement(flipped, "ai_inference")["evidence"])
        events = wait_for(lambda: [
            e for e in (api.get("events", "-n", "default", "--field-selector",
                                f"involvedObject.name={profile_name}") or {"items": []})["items"]
            if e["reason"] == "RequirementMet" and e["message"].startswith("ai_inference")
        ], timeout=10, message="a RequirementMet Event")
        assert events[0]["involvedObject"]["kind"] == "ClusterConformanceReport"

        # Quiet: the profile's 10 s interval re-reads the cluster at least once; nothing is written.
        time.sleep(2)
        before = (api.get("clusterconformancereport", profile_name)["metadata"]["resourceVersion"],
                  kaico_writes(operator.metrics()))
        time.sleep(12)
        after = (api.get("clusterconformancereport", profile_name)["metadata"]["resourceVersion"],
                 kaico_writes(operator.metrics()))
        assert after == before, profiles_in_the_cluster(api)
    finally:
        api.delete("-f", str(GATEWAY_API), "--wait=false")
    wait_status(api, profile_name, "ai_inference", "NotImplemented")
    operator.assert_alive()


def test_a_watched_change_re_judges_the_cluster_before_the_interval_is_due(
    api: Api, namespace: str, start_operator, profile_name: str
) -> None:
    # A 300 s interval: within this test only the RuntimeClass watch can cause a new pass. The
    # profile names its checklist (1.37 has workload_sandboxing) instead of following the cluster.
    api.apply(profile(profile_name, namespace, intervalSeconds=300, kubernetesVersion="1.37"))
    start_operator("--namespace", namespace)
    report = wait_for(lambda: (r := api.get("clusterconformancereport", profile_name))
                      and (r.get("status") or {}).get("requirements") and r, timeout=60,
                      message="the ClusterConformanceReport")
    assert report["spec"]["kubernetesVersion"] == report["status"]["kubernetesVersion"] == "1.37"
    initial = requirement(report, "workload_sandboxing")["status"]
    if initial == "Implemented":
        pytest.skip("a sandboxing RuntimeClass already exists in this cluster")
    name = f"gvisor-{namespace}"
    try:
        api.apply({"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": name},
                   "handler": "runsc"})
        flipped = wait_status(api, profile_name, "workload_sandboxing", "Implemented", timeout=30)
        assert f"RuntimeClass/{name} (handler runsc)" in requirement(flipped, "workload_sandboxing")["evidence"]
    finally:
        api.delete("runtimeclass", name)
    wait_status(api, profile_name, "workload_sandboxing", initial, timeout=30)
