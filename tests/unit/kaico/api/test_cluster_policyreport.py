"""The cluster requirements as a ClusterPolicyReport / OpenReports ClusterReport (valid against
the real CRDs), the choice of report API, and the fingerprint that decides whether to write."""

from __future__ import annotations

import copy

import jsonschema
import pytest
import yaml
from kaico.api.policyreport import (
    OPENREPORTS,
    WGPOLICY,
    ReportApi,
    StoredPolicyReport,
    cluster_policy_report,
    content_digest,
    policy_report,
    served_api,
)
from test_policyreport import CRDS, GPU_DEPLOYMENT

from conformance.cluster import ClusterInventory, InventoryClass, evaluate_cluster
from conformance.engine import evaluate_objects
from conformance.profile import builtin_profile, now_utc


def cluster_schema(api: ReportApi) -> dict:
    name = {OPENREPORTS: "openreports.io_clusterreports.yaml",
            WGPOLICY: "wgpolicyk8s.io_clusterpolicyreports.v1alpha2.yaml"}[api]
    crd = yaml.safe_load((CRDS / name).read_text())
    version = next(v for v in crd["spec"]["versions"] if v["name"] == api.version)
    return version["schema"]["openAPIV3Schema"]


def evaluation():
    inventory = ClusterInventory(known=frozenset(c.value for c in InventoryClass),
                                 server_version="v1.35.4")
    return evaluate_cluster(inventory, "1.35")


@pytest.mark.parametrize("api", [OPENREPORTS, WGPOLICY], ids=lambda a: a.group)
def test_the_cluster_report_validates_against_the_real_crd(api: ReportApi):
    judged = evaluation()
    body = cluster_policy_report("default", judged, api, [{"apiVersion": "kaico.dev/v1alpha1",
                                 "kind": "ConformanceProfile", "name": "default", "uid": "u"}])
    jsonschema.validate(body, cluster_schema(api))
    assert body["kind"] == api.cluster_kind and body["metadata"]["name"] == "kaico-default"
    assert "namespace" not in body["metadata"]
    assert len(body["results"]) == len(judged.results) == sum(body["summary"].values())
    by_rule = {r["rule"]: r for r in body["results"]}
    for requirement in judged.results:
        entry = by_rule[requirement.id]
        assert entry["policy"] == "default" and entry["properties"]["level"] == requirement.level.value
        assert entry["properties"]["status"] == requirement.status.value
        if requirement.met:
            assert entry["result"] == "pass"
        elif requirement.status.value == "NotImplemented":
            assert entry["result"] == ("fail" if requirement.level.value == "MUST" else "warn")
    # An empty cluster misses MUST requirements: some result fails.
    assert body["summary"]["fail"] > 0


def test_openreports_wins_when_served_else_wgpolicy_else_none():
    both = {("openreports.io", "v1alpha1", "reports"), ("wgpolicyk8s.io", "v1alpha2", "policyreports")}
    assert served_api(both) is OPENREPORTS
    assert served_api({("wgpolicyk8s.io", "v1alpha2", "policyreports")}) is WGPOLICY
    assert served_api({("apps", "v1", "deployments")}) is None


def test_the_fingerprint_of_a_built_report_equals_that_of_it_as_stored():
    report = evaluate_objects([(GPU_DEPLOYMENT, "x")], builtin_profile("default"), now_utc()).reports[0]
    built = policy_report("r-1", report, WGPOLICY, owner_references=[{"uid": "u-1"}])
    stored = copy.deepcopy(built)
    stored["metadata"].update(resourceVersion="42", uid="x", creationTimestamp="2026-01-01T00:00:00Z",
                              managedFields=[{"manager": "kaico"}])
    assert content_digest(stored) == content_digest(built)
    assert StoredPolicyReport.from_body(stored).resource_version == "42"
    changed = copy.deepcopy(stored)
    changed["results"][0]["message"] += " (edited)"
    assert content_digest(changed) != content_digest(built)
    relabelled = copy.deepcopy(stored)
    relabelled["metadata"]["labels"] = {}
    assert content_digest(relabelled) != content_digest(built)
