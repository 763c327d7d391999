"""What a ClusterConformanceReport says, computed purely: body, status, condition, the Events
for requirement transitions, workload tallies and probe warnings. ``kaico.cluster.controller``
decides when to judge and writes what this module builds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from conformance.catalogue import catalogue
from conformance.cluster import (
    ClusterEvaluation,
    Level,
    ProbeResult,
    RequirementResult,
    RequirementStatus,
    StatusTransition,
    WorkloadTally,
    status_transitions,
)
from kaico.api import API_VERSION
from kaico.api.conventions import (
    CONFORMANT,
    MANAGED_BY,
    find_condition,
    owner_reference,
    timestamp,
)
from kaico.cluster.probes import refused

KIND = "ClusterConformanceReport"
PLURAL = "clusterconformancereports"
CONDITION_REASONS = {"True": "MustRequirementsMet", "False": "MustRequirementsNotMet",
                     "Unknown": "NotEvaluated"}


# --- workload tallies -------------------------------------------------------------------------


def workload_tallies(results: Iterable[Any], profile: str) -> dict[str, WorkloadTally]:
    """Per requirement, how the profile's workloads fared on the checks that carry
    ``requirement=``: a target passes when it has a pass and no fail/error among them."""
    requirement_of = {check.id: check.requirement for check in catalogue().values() if check.requirement}
    passing: dict[str, int] = {}
    failing: dict[str, int] = {}
    failing_checks: dict[str, set[str]] = {}
    for result in results:
        if result.profile != profile:
            continue
        verdicts: dict[str, set[str]] = {}
        for check, _severity, outcome in result.outcomes:
            requirement = requirement_of.get(check)
            if requirement is None:
                continue
            verdicts.setdefault(requirement, set()).add(outcome)
            if outcome in ("fail", "error"):
                failing_checks.setdefault(requirement, set()).add(check)
        for requirement, outcomes in verdicts.items():
            if outcomes & {"fail", "error"}:
                failing[requirement] = failing.get(requirement, 0) + 1
            elif "pass" in outcomes:
                passing[requirement] = passing.get(requirement, 0) + 1
    return {
        requirement: WorkloadTally(requirement, passing.get(requirement, 0), failing.get(requirement, 0),
                                   tuple(sorted(failing_checks.get(requirement, ()))))
        for requirement in sorted(set(passing) | set(failing))
    }


# --- what is written --------------------------------------------------------------------------


def report_spec(profile: str, kubernetes_version: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"profile": profile}
    if kubernetes_version:
        spec["kubernetesVersion"] = kubernetes_version
    return spec


def report_body(profile: str, profile_uid: str | None, kubernetes_version: str | None) -> dict[str, Any]:
    """A new report, named after its profile (one per profile) and owned by it, so deleting the
    profile deletes the report."""
    metadata: dict[str, Any] = {"name": profile, "labels": dict(MANAGED_BY)}
    if profile_uid:
        metadata["ownerReferences"] = [
            owner_reference(API_VERSION, "ConformanceProfile", profile, profile_uid)
        ]
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata,
            "spec": report_spec(profile, kubernetes_version)}


def _tri_condition(status: str, message: str, previous: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
    """The Conformant condition, True/False/Unknown; the reason follows the status only and
    lastTransitionTime moves only when the status does."""
    transition = timestamp(now)
    if previous and previous.get("status") == status and previous.get("lastTransitionTime"):
        transition = previous["lastTransitionTime"]
    return {"type": CONFORMANT, "status": status, "reason": CONDITION_REASONS[status],
            "message": message, "lastTransitionTime": transition}


def _unmet(evaluation: ClusterEvaluation, level: Level) -> list[RequirementResult]:
    return [r for r in evaluation.results if r.level is level and not r.met]


def conformant_message(evaluation: ClusterEvaluation) -> str:
    met, total = evaluation.must
    unmet = _unmet(evaluation, Level.MUST)
    if not unmet:
        return f"all {total} MUST requirements of Kubernetes {evaluation.kubernetes_version} are met"
    names = ", ".join(f"{r.id} ({r.status.value})" for r in unmet[:10])
    return f"{total - met} of {total} MUST requirements not met: {names}"


def cluster_status(evaluation: ClusterEvaluation, previous: dict[str, Any] | None, now: datetime,
                   extra_warnings: Iterable[str] = ()) -> dict[str, Any]:
    """The report status: the engine's ``to_dict`` (the same shape ``kaico cluster -o json``
    prints) plus the "met/total" strings the printer columns show, and the condition."""
    status = evaluation.to_dict()
    must_met, must_total = evaluation.must
    should_met, should_total = evaluation.should
    status["summary"]["must"] = f"{must_met}/{must_total}"
    status["summary"]["should"] = f"{should_met}/{should_total}"
    status["warnings"] = [*status["warnings"], *extra_warnings]
    status["conditions"] = [_tri_condition(
        "True" if evaluation.musts_met else "False", conformant_message(evaluation),
        find_condition(previous, CONFORMANT), now,
    )]
    return status


def unevaluated_status(kubernetes_version: str | None, problem: str, previous: dict[str, Any] | None,
                       now: datetime) -> dict[str, Any]:
    """No checklist applies (a version kaico does not ship): say so, judge nothing. The nulls
    make the merge patch remove an earlier evaluation rather than leave it looking current."""
    return {
        "kubernetesVersion": kubernetes_version,
        "clusterVersion": None,
        "summary": None,
        "requirements": None,
        "warnings": [problem],
        "conditions": [_tri_condition("Unknown", problem, find_condition(previous, CONFORMANT), now)],
    }


def evaluation_from_status(status: Mapping[str, Any] | None) -> ClusterEvaluation | None:
    """What a stored report says, as an evaluation, so a restarted operator compares with it and
    posts no Events for transitions it already reported."""
    if not status or not status.get("requirements"):
        return None
    results = []
    for entry in status.get("requirements") or []:
        try:
            results.append(RequirementResult(
                id=str(entry["id"]), category=str(entry.get("category", "")), level=Level(entry["level"]),
                status=RequirementStatus(entry["status"]), evidence=tuple(entry.get("evidence") or ()),
                notes=str(entry.get("notes") or ""), description="",
            ))
        except (KeyError, ValueError):
            continue  # an entry this kaico cannot read: treated as new on the next pass
    return ClusterEvaluation(str(status.get("kubernetesVersion") or ""), status.get("clusterVersion"),
                             tuple(results))


def transition_events(
    previous: ClusterEvaluation | None, current: ClusterEvaluation
) -> list[tuple[str, str, str]]:
    """(type, reason, message) per Event to post. On the first evaluation only the requirements
    that are not met are worth an Event (as a workload's first report posts only when it is
    non-conformant); afterwards one per status transition."""
    transitions: list[StatusTransition] = status_transitions(previous, current)
    met = {r.id: r.met for r in current.results}
    events = []
    for transition in transitions:
        if previous is None and met.get(transition.id, False):
            continue
        was = transition.previous.value if transition.previous else "new"
        message = (f"{transition.id} ({transition.level.value}): {was} -> {transition.current.value} "
                   f"(Kubernetes {current.kubernetes_version} checklist)")
        if met.get(transition.id, False):
            events.append(("Normal", "RequirementMet", message))
        else:
            events.append(("Warning", "RequirementNotMet", message))
    return events


# --- active probes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProbeRun:
    """The latest active-probe results, shared by every profile that asks for probes."""

    results: tuple[ProbeResult, ...]
    finished: datetime
    problem: str | None = None  # the run itself broke (a bug, not a verdict)


def probe_warnings(run: ProbeRun | None) -> list[str]:
    """What a profile with ``activeProbes`` says about the probe results it was judged with."""
    if run is None:
        return ["activeProbes: the first active probe run is in progress; the probed "
                "requirements rest on passive detection until it finishes"]
    when = timestamp(run.finished)
    if run.problem is not None:
        return [f"activeProbes: the probe run that ended at {when} failed ({run.problem}); "
                "it is retried after the profile's intervalSeconds"]
    warnings = [f"activeProbes: probe results of the run that ended at {when} (refreshed "
                "after the profile's intervalSeconds)"]
    if refused(run.results):
        warnings.append("activeProbes: the API server refused to create the probes' objects "
                        "(403 Forbidden): kaico's ServiceAccount lacks the probes' permissions "
                        "(Helm: activeProbes.rbac=true), so the probed requirements rest on "
                        "passive detection")
    return warnings
