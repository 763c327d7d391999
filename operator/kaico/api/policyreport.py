"""kaico's results in the report APIs other tools read: OpenReports (``openreports.io/v1alpha1``
Report / ClusterReport, where Kyverno and Policy Reporter are moving) and the wg-policy
PolicyReport (``wgpolicyk8s.io/v1alpha2`` PolicyReport / ClusterPolicyReport). Both carry the
same result shape, so one pure builder serves the CLI's ``-o policyreport`` and the operator.

One report per target x profile, scoped to the target (the per-resource model Kyverno moved to):
its size is bounded by one target's checks, and a change rewrites one small object.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from conformance.findings import Finding, Result
from conformance.report import Report, finding_to_dict
from kaico.api.conventions import MANAGED_BY

SOURCE = "kaico"


@dataclass(frozen=True)
class ReportApi:
    """One flavour of the report API: its group, version and the two kinds."""

    group: str
    version: str
    kind: str
    cluster_kind: str
    plural: str
    cluster_plural: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


OPENREPORTS = ReportApi("openreports.io", "v1alpha1", "Report", "ClusterReport",
                        "reports", "clusterreports")
WGPOLICY = ReportApi("wgpolicyk8s.io", "v1alpha2", "PolicyReport", "ClusterPolicyReport",
                     "policyreports", "clusterpolicyreports")


def result_entry(finding: Finding, policy: str) -> dict[str, Any]:
    """A finding as a report result: policy = the profile, rule = the check id; the catalogue's
    remediation and docs URL, a waiver and the check's own properties go in ``properties``
    (a string map in both APIs). A waived result is reported as ``skip``."""
    as_dict = finding_to_dict(finding)
    properties = {str(k): str(v) for k, v in (finding.properties or {}).items()}
    for key in ("remediation", "docs"):
        if key in as_dict:
            properties[key] = str(as_dict[key])
    if finding.waived:
        properties["waived"] = "true"
    entry: dict[str, Any] = {
        "source": SOURCE,
        "policy": policy,
        "rule": finding.check,
        "category": finding.category,
        "severity": finding.severity.value,
        "result": Result.SKIP.value if finding.waived else finding.result.value,
        "message": finding.message,
        "scored": True,
    }
    if properties:
        entry["properties"] = properties
    return entry


def summary_of(results: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Counts of the results as written (a waived failure counts as skip)."""
    counts = {result.value: 0 for result in Result}
    for entry in results:
        counts[str(entry["result"])] += 1
    return counts


def policy_report(name: str, report: Report, api: ReportApi = WGPOLICY,
                  annotations: Mapping[str, str] | None = None,
                  owner_references: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The namespaced report of one target under one profile, scoped to the target."""
    results = [result_entry(f, report.profile) for f in report.results]
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": report.target.namespace or "default",
        "labels": dict(MANAGED_BY),
    }
    if annotations:
        metadata["annotations"] = dict(annotations)
    if owner_references:
        metadata["ownerReferences"] = owner_references
    body: dict[str, Any] = {
        "apiVersion": api.api_version,
        "kind": api.kind,
        "metadata": metadata,
        "scope": {
            "apiVersion": report.target.api_version, "kind": report.target.kind,
            "name": report.target.name, "namespace": report.target.namespace or "default",
            **({"uid": report.target.uid} if report.target.uid else {}),
        },
        "summary": summary_of(results),
        "results": results,
    }
    if api is OPENREPORTS:
        body["source"] = SOURCE
    return body
