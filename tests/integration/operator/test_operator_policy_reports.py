"""``kaico run --policy-reports`` on the real control plane with the real report CRDs
(/work/shared/crds/ecosystem): wg-policy PolicyReports while only they are served, OpenReports
once its CRDs are installed (the old flavour pruned); one report per target x profile named like
the ConformanceReport, owned by the target, rewritten after a deletion, nothing written while
nothing changes, a ClusterPolicyReport for the cluster requirements, and everything gone with
the target or the profile."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from kaico_dev.localcluster import LocalCluster
from operator_harness import Api, wait_for
from operator_manifests import inference_service, profile, vllm_companions, vllm_deployment
from test_operator import reports, samples

pytestmark = pytest.mark.usefixtures("kaico_crds", "shared_crds")

WGPOLICY_CRDS = ["wgpolicyk8s.io_policyreports.v1alpha2.yaml",
                 "wgpolicyk8s.io_clusterpolicyreports.v1alpha2.yaml"]
OPENREPORTS_CRDS = ["openreports.io_reports.yaml", "openreports.io_clusterreports.yaml"]
MANAGED = "app.kubernetes.io/managed-by=kaico"


def listed(api: Api, resource: str, *where: str) -> dict[str, dict[str, Any]]:
    body = api.get(resource, *where, "-l", MANAGED) or {"items": []}
    return {item["metadata"]["name"]: item for item in body["items"]}


def policy_writes(text: str) -> float:
    return sum(v for (name, labels), v in samples(text).items()
               if name == "kaico_writes_total" and "policyreport" in dict(labels).get("operation", ""))


def install(cluster: LocalCluster, directory: Path, files: list[str]) -> None:
    for file in files:
        cluster.kubectl("apply", "--server-side", "--force-conflicts", "--field-manager=kaico-tests",
                        "-f", str(directory / file))
    cluster.wait_crds_established(
        [f.split("_")[1].removesuffix(".yaml").removesuffix(".v1alpha2") + "." + f.split("_")[0]
         for f in files], 60)


def remove_openreports(cluster: LocalCluster) -> None:
    cluster.kubectl("delete", "crd", "reports.openreports.io", "clusterreports.openreports.io",
                    "--ignore-not-found", "--wait=true", timeout=120)


def test_policy_reports_follow_the_served_api_and_the_cluster(
    api: Api, namespace: str, start_operator, local_cluster: LocalCluster, shared_dir: Path
) -> None:
    ecosystem = shared_dir / "crds" / "ecosystem"
    remove_openreports(local_cluster)
    install(local_cluster, ecosystem, WGPOLICY_CRDS)
    name = f"pr-{namespace}"
    api.apply(profile(name, namespace), vllm_deployment(namespace), *vllm_companions(namespace),
              inference_service(namespace))
    try:
        operator = start_operator("--namespace", namespace, "--policy-reports")
        conformance = wait_for(lambda: (r := reports(api, namespace)) and len(r) == 2 and r,
                               message="the ConformanceReports")
        found = wait_for(lambda: (p := listed(api, "policyreports.wgpolicyk8s.io", "-n", namespace))
                         and len(p) == 2 and p, message="two PolicyReports")
        # Named like the ConformanceReport, scoped to and owned by the target.
        assert set(found) == {r["metadata"]["name"] for r in conformance.values()}
        by_target = {p["scope"]["name"]: p for p in found.values()}
        qwen = by_target["qwen"]
        isvc = api.get("inferenceservice", "qwen", "-n", namespace)
        assert qwen["scope"]["kind"] == "InferenceService"
        assert qwen["metadata"]["ownerReferences"][0]["uid"] == isvc["metadata"]["uid"]
        assert qwen["metadata"]["labels"]["kaico.dev/profile"] == name
        rules = {r["rule"]: r for r in qwen["results"]}
        failing = rules["scaling-disruption-budget"]
        assert (failing["policy"], failing["result"], failing["source"]) == (name, "fail", "kaico")
        assert failing["severity"] in ("critical", "high", "medium", "low", "info")
        assert failing["properties"]["remediation"] and "#scaling-disruption-budget" in \
            failing["properties"]["docs"]
        assert qwen["summary"]["fail"] >= 1 and by_target["llama"]["summary"]["fail"] == 0

        # The cluster requirements, one ClusterPolicyReport per profile.
        cluster = wait_for(lambda: listed(api, "clusterpolicyreports.wgpolicyk8s.io").get(f"kaico-{name}"),
                           message="the ClusterPolicyReport")
        assert cluster["results"] and {r["policy"] for r in cluster["results"]} == {name}
        assert {r["properties"]["level"] for r in cluster["results"]} <= {"MUST", "SHOULD"}

        # Steady: the 10 s profile interval re-evaluates, nothing is written.
        time.sleep(3)
        before, versions = operator.metrics(), {n: p["metadata"]["resourceVersion"] for n, p in found.items()}
        time.sleep(22)
        after = listed(api, "policyreports.wgpolicyk8s.io", "-n", namespace)
        assert {n: p["metadata"]["resourceVersion"] for n, p in after.items()} == versions
        assert policy_writes(operator.metrics()) == policy_writes(before)

        # Deleted by someone: written again.
        llama_report = next(n for n, p in found.items() if p["scope"]["name"] == "llama")
        api.delete("policyreports.wgpolicyk8s.io", llama_report, "-n", namespace)
        wait_for(lambda: llama_report in listed(api, "policyreports.wgpolicyk8s.io", "-n", namespace),
                 message="the deleted PolicyReport to come back")

        # OpenReports served: Reports replace the PolicyReports, ClusterReport the cluster one.
        install(local_cluster, ecosystem, OPENREPORTS_CRDS)
        opened = wait_for(lambda: (p := listed(api, "reports.openreports.io", "-n", namespace))
                          and len(p) == 2 and p, timeout=45, message="two OpenReports Reports")
        assert set(opened) == set(found)
        assert all(r["source"] == "kaico" for p in opened.values() for r in p["results"])
        wait_for(lambda: not listed(api, "policyreports.wgpolicyk8s.io", "-n", namespace),
                 timeout=45, message="the wg-policy PolicyReports to be pruned")
        wait_for(lambda: f"kaico-{name}" in listed(api, "clusterreports.openreports.io"), timeout=45,
                 message="the OpenReports ClusterReport")
        wait_for(lambda: f"kaico-{name}" not in listed(api, "clusterpolicyreports.wgpolicyk8s.io"),
                 timeout=45, message="the ClusterPolicyReport to be pruned")

        # The target goes: its report goes (garbage collection of the owned report).
        api.delete("deployment", "llama", "-n", namespace)
        wait_for(lambda: llama_report not in listed(api, "reports.openreports.io", "-n", namespace),
                 timeout=60, message="llama's Report to go with it")
    finally:
        api.delete("conformanceprofile", name, "--wait=false")
    # The profile goes: kaico deletes its reports (the other owner, the target, still exists).
    wait_for(lambda: not listed(api, "reports.openreports.io", "-n", namespace), timeout=60,
             message="the profile's Reports to be deleted")
    remove_openreports(local_cluster)
