"""The engine: evaluate a profile over one workload and the cluster facts.

Pure and deterministic: the caller passes ``now`` (waiver expiry is the only time-dependent
rule), and nothing here reads files, clocks or the network. A check that raises is a bug, but
it must not take the run down: it becomes an ``error`` finding naming the exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from conformance.accelerators import shared_workload_asks
from conformance.facts import ClusterFacts, missing_facts_message
from conformance.findings import Finding, Outcome, Result, Severity
from conformance.profile import Profile
from conformance.registry import Category, CheckSpec, catalogue
from conformance.report import Report, TargetRef
from conformance.shared import shared
from conformance.workload import ServingWorkload

# Findings about the input itself (an adapter could not read part of the body) use this id.
INPUT_CHECK = "input-valid"
INPUT_CATEGORY = "input"
# Finding.category is the plain string (reading an enum's .value costs a descriptor call).
_CATEGORY_VALUES = {category: category.value for category in Category}

def run_check(
    spec: CheckSpec, workload: ServingWorkload, facts: ClusterFacts, profile: Profile, asks: bool
) -> Outcome:
    if spec.accelerators_only and not asks:
        return Outcome(Result.SKIP, "the workload asks for no accelerator")
    missing = [need for need in spec.needs if not facts.knows(need)] if spec.needs else None
    if missing:
        return Outcome(Result.SKIP, missing_facts_message(missing))
    try:
        outcome = spec.function(workload, facts, profile.parameters)
    except Exception as error:  # noqa: BLE001 - a faulty check must not stop the run
        return Outcome(Result.ERROR, f"check failed on this input: {type(error).__name__}: {error}")
    if not isinstance(outcome, Outcome):
        return Outcome(Result.ERROR, f"check returned {type(outcome).__name__}, not an outcome")
    return outcome


def apply_waiver(
    finding: Finding, workload: ServingWorkload, profile: Profile, now: datetime
) -> Finding:
    if finding.result not in (Result.FAIL, Result.WARN, Result.ERROR) or not profile.spec.waivers:
        return finding
    waiver = profile.waiver_for(finding.check, workload.kind, workload.namespace, workload.name)
    if waiver is None:
        return finding
    until = waiver.expires_at.isoformat().replace("+00:00", "Z")
    if waiver.expires_at <= now:
        return Finding(
            finding.check, finding.category, finding.result, finding.severity,
            f"{finding.message} (waiver expired {until}; not honoured)",
            waived=False,
            properties={**finding.properties, "waiverExpired": until},
        )
    return Finding(
        finding.check, finding.category, finding.result, finding.severity,
        f"{finding.message} (waived until {until}: {waiver.reason})",
        waived=True,
        properties={**finding.properties, "waivedUntil": until, "waiverReason": waiver.reason},
    )


def evaluate(
    workload: ServingWorkload,
    facts: ClusterFacts,
    profile: Profile,
    now: datetime,
    source: str | None = None,
) -> Report:
    """Run every check of ``profile`` on ``workload``; one finding per check."""
    findings: list[Finding] = [
        Finding(INPUT_CHECK, INPUT_CATEGORY, Result.ERROR, Severity.HIGH, message)
        for message in workload.errors
    ]
    asks = shared_workload_asks(shared(workload, facts, profile.parameters))
    specs = catalogue()
    for check_id, severity in profile.severities.items():
        spec = specs[check_id]
        outcome = run_check(spec, workload, facts, profile, asks)
        finding = Finding(
            check=check_id,
            category=_CATEGORY_VALUES[spec.category],
            result=outcome.result,
            severity=severity,
            message=outcome.message,
            properties=dict(outcome.properties),
        )
        findings.append(apply_waiver(finding, workload, profile, now))
    return Report(
        target=TargetRef(
            workload.api_version, workload.kind, workload.namespace, workload.name, workload.uid
        ),
        profile=profile.name,
        results=tuple(findings),
        conformance_threshold=profile.spec.conformance_threshold,
        observed_generation=workload.generation,
        source=source,
    )


@dataclass(frozen=True)
class Orphan:
    """An autoscaler whose scale target is not in the input."""

    kind: str
    namespace: str
    name: str
    target_kind: str
    target_name: str

    @property
    def message(self) -> str:
        return (
            f"{self.kind} {self.namespace}/{self.name} scales {self.target_kind} "
            f"{self.target_name!r}, which is not in the input: fix scaleTargetRef or remove it"
        )


@dataclass(frozen=True)
class Evaluation:
    """Everything one run over a set of objects produced."""

    reports: tuple[Report, ...]
    orphans: tuple[Orphan, ...]
    warnings: tuple[str, ...] = ()


def evaluate_objects(
    objects: list[tuple[dict, str | None]],
    profile: Profile,
    now: datetime,
    facts_objects: list[dict] = (),
) -> Evaluation:
    """Adapt every object, build facts from all of them (plus ``facts_objects``, which are
    never targets), and evaluate each selected workload. ``objects`` pairs a body with where
    it came from."""
    from conformance.adapters import adapt_object
    from conformance.facts_builder import facts_from_objects_with_warnings
    from conformance.relations import orphan_autoscalers

    bodies = [body for body, _ in objects]
    facts, warnings = facts_from_objects_with_warnings([*bodies, *facts_objects], profile.parameters)
    workloads: list[tuple[ServingWorkload, str | None]] = []
    for body, source in objects:
        workload = adapt_object(body, profile.parameters)
        if workload is None:
            continue
        if not profile.selects(workload.kind, workload.namespace, workload.labels):
            continue
        workloads.append((workload, source))
    reports = tuple(evaluate(w, facts, profile, now, source) for w, source in workloads)
    present = {
        (str(b.get("kind")), str((b.get("metadata") or {}).get("namespace") or ""),
         str((b.get("metadata") or {}).get("name") or ""))
        for b in [*bodies, *facts_objects] if isinstance(b, dict) and isinstance(b.get("metadata"), dict)
    }
    orphans = tuple(
        Orphan(a.kind, a.namespace, a.name, a.target_kind, a.target_name)
        for a in orphan_autoscalers([w for w, _ in workloads], facts, present)
    )
    return Evaluation(reports, orphans, tuple(warnings))
