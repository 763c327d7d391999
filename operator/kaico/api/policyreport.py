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
from typing import TYPE_CHECKING, Any

from conformance.findings import Finding, Result, Severity
from conformance.report import Report, finding_to_dict
from kaico.api.conventions import MANAGED_BY, digest

if TYPE_CHECKING:
    # The cluster pipeline (and its pydantic catalogue) is only for cluster reports: the CLI's
    # `-o policyreport` imports this module without it.
    from conformance.cluster.results import ClusterEvaluation, RequirementResult

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


# The operator labels its reports with the profile, so a profile's reports are found (and
# pruned) from the index without reading names.
PROFILE_LABEL = "kaico.dev/profile"
CONTENT_FIELDS = ("scope", "summary", "results", "source")


def served_api(served: Iterable[tuple[str, str, str]]) -> ReportApi | None:
    """The flavour to write: OpenReports when its Report kind is served, else wg-policy when
    PolicyReport is, else None (neither CRD installed)."""
    keys = set(served)
    for api in (OPENREPORTS, WGPOLICY):
        if (api.group, api.version, api.plural) in keys:
            return api
    return None


def content_digest(body: Mapping[str, Any]) -> str:
    """A fingerprint of what a report says (scope, summary, results) and of the labels and
    owner that make it kaico's: equal for the body kaico builds and the object as stored."""
    metadata = body.get("metadata") or {}
    return digest({
        **{key: body.get(key) for key in CONTENT_FIELDS},
        "labels": metadata.get("labels") or {},
        "owners": [o.get("uid") for o in metadata.get("ownerReferences") or []],
    })


@dataclass(frozen=True)
class StoredPolicyReport:
    """What the watch last saw of one report kaico wrote: enough to decide whether to write.
    Indexed under ``key``: (group, namespace, name), namespace "" for the cluster kinds."""

    group: str
    namespace: str
    name: str
    profile: str
    resource_version: str
    digest: str

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> StoredPolicyReport:
        metadata = body.get("metadata") or {}
        return cls(
            group=str(body.get("apiVersion") or "").partition("/")[0],
            namespace=metadata.get("namespace") or "",
            name=metadata.get("name") or "",
            profile=(metadata.get("labels") or {}).get(PROFILE_LABEL, ""),
            resource_version=str(metadata.get("resourceVersion") or ""),
            digest=content_digest(body),
        )

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.group, self.namespace, self.name)


def stored_report(index: Mapping[Any, Any], key: tuple[str, str, str]) -> StoredPolicyReport | None:
    """The report stored under ``key`` in a kopf index of ``StoredPolicyReport`` values."""
    store = index.get(key)
    return next(iter(store), None) if store else None


# --- cluster requirements ---------------------------------------------------------------------
# A requirement is a rule of the checklist; MUST counts as high severity, SHOULD as medium.
# Met (Implemented, or NotApplicable) passes; NotImplemented fails a MUST and warns a SHOULD;
# PartiallyImplemented warns; Unknown skips (passive detection could not decide).

_LEVEL_SEVERITY = {"MUST": Severity.HIGH, "SHOULD": Severity.MEDIUM}  # Level's values


def requirement_entry(requirement: RequirementResult, policy: str) -> dict[str, Any]:
    from conformance.cluster.catalogue import Level
    from conformance.cluster.results import RequirementStatus

    status = requirement.status
    if requirement.met:
        result = Result.PASS
    elif status is RequirementStatus.NOT_IMPLEMENTED:
        result = Result.FAIL if requirement.level is Level.MUST else Result.WARN
    elif status is RequirementStatus.PARTIALLY_IMPLEMENTED:
        result = Result.WARN
    else:
        result = Result.SKIP
    properties = {"level": requirement.level.value, "status": status.value}
    if requirement.evidence:
        properties["evidence"] = "; ".join(requirement.evidence)
    return {
        "source": SOURCE,
        "policy": policy,
        "rule": requirement.id,
        "category": requirement.category,
        "severity": _LEVEL_SEVERITY.get(requirement.level, Severity.MEDIUM).value,
        "result": result.value,
        "message": requirement.notes or requirement.description,
        "scored": True,
        "properties": properties,
    }


def cluster_report_name(profile: str) -> str:
    """Cluster reports share one namespace-less space with other tools': prefixed."""
    return f"kaico-{profile}"


def cluster_policy_report(profile: str, evaluation: ClusterEvaluation, api: ReportApi = WGPOLICY,
                          owner_references: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The cluster-scoped report of one profile's CNCF AI Conformance requirements."""
    results = [requirement_entry(r, profile) for r in evaluation.results]
    metadata: dict[str, Any] = {
        "name": cluster_report_name(profile),
        "labels": {**MANAGED_BY, PROFILE_LABEL: profile},
    }
    if owner_references:
        metadata["ownerReferences"] = owner_references
    body: dict[str, Any] = {
        "apiVersion": api.api_version,
        "kind": api.cluster_kind,
        "metadata": metadata,
        "summary": summary_of(results),
        "results": results,
    }
    if api is OPENREPORTS:
        body["source"] = SOURCE
    return body
