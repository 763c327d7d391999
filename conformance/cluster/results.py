"""What a cluster evaluation is made of: requirement statuses, per-requirement decisions, probe
results and the evaluation itself. Data only: the decisions (``requirements``) and the evaluation
loop (``evaluation``) both build on these types, and neither is imported back here."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from conformance.cluster.catalogue import Level


class RequirementStatus(StrEnum):
    IMPLEMENTED = "Implemented"
    NOT_IMPLEMENTED = "NotImplemented"
    PARTIALLY_IMPLEMENTED = "PartiallyImplemented"
    NOT_APPLICABLE = "NotApplicable"
    # Passive detection cannot decide; the notes say what would.
    UNKNOWN = "Unknown"


@dataclass(frozen=True)
class Decision:
    """What one requirement's check concluded: a status, the objects that show it, and notes."""

    status: RequirementStatus
    notes: str
    evidence: tuple[str, ...] = ()


class ProbeOutcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    # The probe could not run to a verdict (no accelerator node, timeout while pending, ...).
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class ProbeResult:
    """One active probe's verdict on one requirement (``kaico cluster --active-probes``)."""

    requirement: str
    name: str  # e.g. "gang-scheduling/negative"
    outcome: ProbeOutcome
    detail: str


@dataclass(frozen=True)
class WorkloadTally:
    """How the workload checks that support a requirement fared across the cluster's
    workloads: context for the notes, never the requirement's status (a platform capability
    is not disproved by one misconfigured workload)."""

    requirement: str
    passing: int = 0
    failing: int = 0
    failing_checks: tuple[str, ...] = ()


@dataclass(frozen=True)
class RequirementResult:
    id: str
    category: str
    level: Level
    status: RequirementStatus
    evidence: tuple[str, ...]
    notes: str
    description: str

    @property
    def met(self) -> bool:
        """Implemented, or NotApplicable (only ever decided when a requirement's condition
        does not hold)."""
        return self.status in (RequirementStatus.IMPLEMENTED, RequirementStatus.NOT_APPLICABLE)

    def to_dict(self) -> dict[str, Any]:
        """The ClusterConformanceReport status entry and the JSON output shape."""
        return {
            "id": self.id,
            "category": self.category,
            "level": self.level.value,
            "status": self.status.value,
            "evidence": list(self.evidence),
            "notes": self.notes,
        }


@dataclass(frozen=True)
class ClusterEvaluation:
    kubernetes_version: str  # the checklist's minor, "1.35"
    cluster_version: str | None  # what the API server reported, "v1.35.4"
    results: tuple[RequirementResult, ...]
    # Why the checklist differs from the cluster's minor, or what could not be read.
    warnings: tuple[str, ...] = ()

    def _counts(self, level: Level) -> tuple[int, int]:
        members = [r for r in self.results if r.level is level]
        return sum(1 for r in members if r.met), len(members)

    @property
    def must(self) -> tuple[int, int]:
        """(met, total) over the MUST requirements."""
        return self._counts(Level.MUST)

    @property
    def should(self) -> tuple[int, int]:
        return self._counts(Level.SHOULD)

    @property
    def musts_met(self) -> bool:
        met, total = self.must
        return met == total

    def result(self, requirement_id: str) -> RequirementResult | None:
        return next((r for r in self.results if r.id == requirement_id), None)

    def to_dict(self) -> dict[str, Any]:
        must_met, must_total = self.must
        should_met, should_total = self.should
        return {
            "kubernetesVersion": self.kubernetes_version,
            "clusterVersion": self.cluster_version,
            "summary": {
                "mustMet": must_met, "mustTotal": must_total,
                "shouldMet": should_met, "shouldTotal": should_total,
            },
            "requirements": [r.to_dict() for r in self.results],
            "warnings": list(self.warnings),
        }
