"""Evaluating a cluster inventory against one Kubernetes minor's AI Conformance requirements.

``evaluate_cluster`` is pure and deterministic: the same inventory (and probe results) always
gives the same ``ClusterEvaluation``. Each requirement's passive decision lives in
``conformance.cluster.requirements``; this module runs them in checklist order, folds in the
active probe results when there are any, and shapes the output for the CLI table, JSON, the
ClusterConformanceReport status and the PRODUCT.yaml writer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from conformance.cluster.catalogue import (
    CatalogueError,
    Level,
    Requirement,
    RequirementCatalogue,
    catalogue_for_cluster,
    load_catalogue,
)
from conformance.cluster.inventory import ClusterInventory
from conformance.cluster.requirements import DECISIONS
from conformance.cluster.results import (
    ClusterEvaluation,
    Decision,
    ProbeOutcome,
    ProbeResult,
    RequirementResult,
    RequirementStatus,
    WorkloadTally,
)

# The result types are importable from here too (they are what ``evaluate_cluster`` returns).
__all__ = [
    "ClusterEvaluation", "Decision", "ProbeOutcome", "ProbeResult", "RequirementResult",
    "RequirementStatus", "StatusTransition", "WorkloadTally", "evaluate_cluster",
    "status_transitions",
]


def _fold_probes(decision: Decision, probes: list[ProbeResult]) -> Decision:
    """Active probes outrank passive detection: one failure makes the requirement
    NotImplemented, all passing make it Implemented; inconclusive ones only add notes."""
    if not probes:
        return decision
    lines = [f"Probe {p.name} {p.outcome.value}: {p.detail.rstrip('.')}." for p in probes]
    evidence = decision.evidence + tuple(
        f"probe {p.name} ({p.outcome.value})" for p in probes
        if p.outcome is not ProbeOutcome.INCONCLUSIVE
    )
    if any(p.outcome is ProbeOutcome.FAILED for p in probes):
        status = RequirementStatus.NOT_IMPLEMENTED
    elif all(p.outcome is ProbeOutcome.PASSED for p in probes):
        status = RequirementStatus.IMPLEMENTED
    else:
        status = decision.status
    return Decision(status, " ".join([decision.notes, *lines]).strip(), evidence)


def _fold_tally(decision: Decision, tally: WorkloadTally | None) -> Decision:
    if tally is None or (tally.passing == 0 and tally.failing == 0):
        return decision
    note = f"Workload checks for this requirement: {tally.passing} passing, {tally.failing} failing"
    if tally.failing_checks:
        note += f" ({', '.join(tally.failing_checks)})"
    return Decision(decision.status, f"{decision.notes} {note}.".strip(), decision.evidence)


def evaluate_cluster(
    inventory: ClusterInventory,
    version: str | None = None,
    *,
    probes: tuple[ProbeResult, ...] = (),
    workload_tallies: Mapping[str, WorkloadTally] | None = None,
) -> ClusterEvaluation:
    """Judge ``inventory`` against the checklist of ``version`` ("1.35"), or of the cluster's
    own minor when ``version`` is None. Raises ``CatalogueError`` when neither names a
    checklist kaico ships (a caller error: the CLI exits 2 on it)."""
    warnings: list[str] = []
    catalogue: RequirementCatalogue
    if version is not None:
        catalogue = load_catalogue(version)
    elif inventory.server_version:
        catalogue, note = catalogue_for_cluster(inventory.server_version)
        if note:
            warnings.append(note)
    else:
        raise CatalogueError("the cluster's version is unknown; name one (e.g. 1.35)")
    warnings.extend(inventory.problems)

    results = []
    for requirement in catalogue.requirements:
        decide = DECISIONS.get(requirement.id)
        if decide is None:
            decision = Decision(RequirementStatus.UNKNOWN, "kaico has no check for this requirement")
        else:
            decision = decide(inventory, requirement)
        decision = _fold_probes(decision, [p for p in probes if p.requirement == requirement.id])
        decision = _fold_tally(decision, (workload_tallies or {}).get(requirement.id))
        decision = _guard_not_applicable(decision, requirement)
        results.append(RequirementResult(
            id=requirement.id,
            category=requirement.category.value,
            level=requirement.level,
            status=decision.status,
            evidence=decision.evidence,
            notes=decision.notes,
            description=requirement.description,
        ))
    return ClusterEvaluation(
        kubernetes_version=catalogue.kubernetes_version,
        cluster_version=inventory.server_version,
        results=tuple(results),
        warnings=tuple(warnings),
    )


def _guard_not_applicable(decision: Decision, requirement: Requirement) -> Decision:
    """N/A is a claim that a requirement's condition does not hold: it needs a condition and a
    note. A decision that breaks that is a kaico bug; report Unknown rather than a false N/A."""
    if decision.status is not RequirementStatus.NOT_APPLICABLE:
        return decision
    if requirement.condition is None or not decision.notes:
        return Decision(
            RequirementStatus.UNKNOWN,
            f"{decision.notes} (N/A needs a conditional requirement and a justification)".strip(),
            decision.evidence,
        )
    return decision


@dataclass(frozen=True)
class StatusTransition:
    """A requirement whose status changed between two evaluations (an Event's content)."""

    id: str
    level: Level
    previous: RequirementStatus | None
    current: RequirementStatus


def status_transitions(
    previous: ClusterEvaluation | None, current: ClusterEvaluation
) -> list[StatusTransition]:
    """The requirements whose status differs from ``previous`` (all of them on the first run,
    with ``previous`` None), in checklist order. A checklist switch (the cluster was upgraded)
    reports requirements that appeared as new and drops those that left."""
    before = {r.id: r.status for r in previous.results} if previous else {}
    return [
        StatusTransition(r.id, r.level, before.get(r.id), r.status)
        for r in current.results if before.get(r.id) is not r.status
    ]
