"""The PRODUCT.yaml document of a CNCF AI Conformance submission, and the validator's rules.

``product_document`` fills the version's checklist with an evaluation: every id present,
``description`` and ``level`` copied from the checklist, ``status`` from the validator's four
values, notes on every entry (required on N/A). ``validate_product`` applies the rules the CNCF
validator (``scripts/validate.go`` in cncf/k8s-ai-conformance) enforces that can be checked
offline; URL reachability and CNCF-membership of ``vendorName`` need the network and are left
to the real validator.

An ``Unknown`` result has no faithful checklist value. A SHOULD is left blank (the validator
skips a SHOULD with empty status and evidence); a MUST becomes "Not Implemented" with a note
saying kaico could not verify it, because a submission cannot claim what was not shown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.cluster.catalogue import Level, RequirementCatalogue, minor_of
from conformance.cluster.evaluation import ClusterEvaluation, RequirementResult, RequirementStatus

PRODUCT_STATUS = {
    RequirementStatus.IMPLEMENTED: "Implemented",
    RequirementStatus.NOT_IMPLEMENTED: "Not Implemented",
    RequirementStatus.PARTIALLY_IMPLEMENTED: "Partially Implemented",
    RequirementStatus.NOT_APPLICABLE: "N/A",
}
VALID_STATUSES = frozenset(PRODUCT_STATUS.values())

# (camelCase key, required, the checklist template's placeholder)
METADATA_FIELDS: tuple[tuple[str, bool, str], ...] = (
    ("kubernetesVersion", True, ""),
    ("platformName", True, "[Platform Name]"),
    ("platformVersion", True, "[Platform Version]"),
    ("vendorName", True, "[Vendor Name]"),
    ("websiteUrl", True, "[Website URL]"),
    ("repoUrl", False, "[Repository URL]"),
    ("documentationUrl", True, "[Documentation URL]"),
    ("productLogoUrl", True, "[Product Logo URL]"),
    ("description", True, "[Description]"),
    ("contactEmailAddress", True, "[Contact Email Address]"),
    ("k8sConformanceUrl", True, "[Kubernetes Conformance URL]"),
)
K8S_CONFORMANCE_URL = re.compile(
    r"^https://github\.com/cncf/k8s-conformance/tree/(master|main)/v\d+\.\d+/[^/]+/?$"
)
UNVERIFIED_PREFIX = "Not verified by kaico (passive detection could not decide): "


def snake_case(key: str) -> str:
    """The validator also accepts snake_case metadata keys ("vendorName" -> "vendor_name")."""
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", key).lower()


def _entry(result: RequirementResult, evidence: list[str]) -> dict[str, Any]:
    if result.status is RequirementStatus.UNKNOWN:
        if result.level is Level.SHOULD:
            status, evidence = "", []
        else:
            status = PRODUCT_STATUS[RequirementStatus.NOT_IMPLEMENTED]
        notes = UNVERIFIED_PREFIX + result.notes
    else:
        status, notes = PRODUCT_STATUS[result.status], result.notes
    if result.evidence:
        notes += " Observed: " + "; ".join(result.evidence) + "."
    return {
        "id": result.id,
        "description": result.description,
        "level": result.level.value,
        "status": status,
        "evidence": evidence,
        "notes": notes.strip(),
    }


def product_document(
    evaluation: ClusterEvaluation,
    catalogue: RequirementCatalogue,
    metadata: Mapping[str, str | None],
    *,
    evidence: Mapping[str, list[str]] | None = None,
) -> dict[str, Any]:
    """The PRODUCT.yaml mapping. ``metadata`` uses the camelCase keys; a missing required one
    keeps the template's placeholder (which the validator rejects, so it is not forgotten).
    ``evidence`` adds URLs or files (relative to the PRODUCT.yaml) per requirement id."""
    filled: dict[str, str] = {"kubernetesVersion": f"v{catalogue.kubernetes_version}"}
    for key, required, placeholder in METADATA_FIELDS[1:]:
        value = metadata.get(key)
        if value:
            filled[key] = value
        elif required:
            filled[key] = placeholder
    results = {r.id: r for r in evaluation.results}
    spec: dict[str, list[dict[str, Any]]] = {}
    for category, requirements in catalogue.by_category().items():
        spec[category.value] = [
            _entry(results[r.id], list((evidence or {}).get(r.id, [])))
            for r in requirements if r.id in results
        ]
    return {"metadata": filled, "spec": spec}


@dataclass
class ProductValidation:
    """``errors``: the document breaks a validator rule on its form (missing id, bad status,
    N/A without notes, bad metadata). ``unmet``: MUSTs not Implemented, which the validator
    also rejects; they describe the cluster, not the document. ``warnings``: accepted with a
    warning (N/A on cluster_autoscaling) or not checkable offline."""

    errors: list[str] = field(default_factory=list)
    unmet: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def well_formed(self) -> bool:
        return not self.errors


def _metadata_problems(metadata: Mapping[str, Any], catalogue: RequirementCatalogue) -> list[str]:
    problems = []
    for key, required, _ in METADATA_FIELDS:
        value = metadata.get(key, metadata.get(snake_case(key)))
        if value is None:
            if required:
                problems.append(f"metadata.{key}: missing")
            continue
        if not isinstance(value, str):
            problems.append(f"metadata.{key}: not a string")
        elif not value:
            if required:
                problems.append(f"metadata.{key}: empty")
        elif value.startswith("[") and value.endswith("]"):
            problems.append(f"metadata.{key}: placeholder {value}")
        elif key == "k8sConformanceUrl" and not K8S_CONFORMANCE_URL.match(value):
            problems.append(
                f"metadata.{key}: {value} is not "
                "https://github.com/cncf/k8s-conformance/tree/main/vX.Y/<product>"
            )
    version = metadata.get("kubernetesVersion", metadata.get("kubernetes_version"))
    if isinstance(version, str) and version and minor_of(version) != catalogue.kubernetes_version:
        problems.append(f"metadata.kubernetesVersion: {version} is not v{catalogue.kubernetes_version}")
    return problems


def validate_product(
    document: Any,
    catalogue: RequirementCatalogue,
    product_dir: Path | None = None,
) -> ProductValidation:
    """Check a PRODUCT.yaml mapping against the checklist of ``catalogue``'s version."""
    validation = ProductValidation()
    if not isinstance(document, dict):
        validation.errors.append("the document is not a mapping")
        return validation
    metadata = document.get("metadata")
    if not isinstance(metadata, dict):
        validation.errors.append("metadata: missing")
    else:
        validation.errors.extend(_metadata_problems(metadata, catalogue))
    spec = document.get("spec")
    if not isinstance(spec, dict):
        validation.errors.append("spec: missing")
        return validation
    for category, requirements in catalogue.by_category().items():
        entries = spec.get(category.value)
        if not isinstance(entries, list):
            validation.errors.append(f"spec.{category.value}: missing")
            continue
        by_id = {e.get("id"): e for e in entries if isinstance(e, dict)}
        for requirement in requirements:
            where = f"spec.{category.value}.{requirement.id}"
            entry = by_id.get(requirement.id)
            if entry is None:
                validation.errors.append(f"{where}: missing")
                continue
            status = entry.get("status") or ""
            evidence = entry.get("evidence") or []
            notes = entry.get("notes") or ""
            if entry.get("level") != requirement.level.value:
                validation.errors.append(f"{where}.level: {entry.get('level')!r} is not the checklist's {requirement.level.value}")
            if entry.get("description") != requirement.description:
                validation.errors.append(f"{where}.description: changed from the checklist")
            if requirement.level is Level.SHOULD and not status and not evidence:
                continue
            if status not in VALID_STATUSES:
                validation.errors.append(f"{where}.status: {status!r} is not one of {sorted(VALID_STATUSES)}")
            if status == "N/A" and not notes:
                validation.errors.append(f"{where}.notes: required when status is N/A")
            if requirement.level is Level.MUST and status != "Implemented":
                if status == "N/A" and requirement.not_applicable_accepted:
                    validation.warnings.append(f"{where}: N/A on a conditional MUST (accepted with a warning)")
                else:
                    validation.unmet.append(f"{where}: a MUST must be Implemented, is {status or 'blank'!r}")
            if not isinstance(evidence, list):
                validation.errors.append(f"{where}.evidence: not a list")
                continue
            for item in evidence:
                if not isinstance(item, str) or not item:
                    continue
                if item.startswith(("http://", "https://")):
                    continue  # reachability is the online validator's to check
                if product_dir is not None and not (product_dir / item).exists():
                    validation.errors.append(f"{where}.evidence: file {item} not found next to PRODUCT.yaml")
    return validation


def evidence_markdown(result: RequirementResult, evaluation: ClusterEvaluation) -> str:
    """A per-requirement evidence file: what kaico observed, for the submission's reviewers."""
    lines = [
        f"# {result.id}",
        "",
        f"- Level: {result.level.value}",
        f"- Status (kaico): {result.status.value}",
        f"- Checklist: Kubernetes AI Conformance v{evaluation.kubernetes_version}",
        f"- Cluster version: {evaluation.cluster_version or 'unknown'}",
        "",
        "## Observed objects",
        "",
        *([f"- {item}" for item in result.evidence] or ["- none"]),
        "",
        "## Notes",
        "",
        result.notes,
        "",
    ]
    return "\n".join(lines)
