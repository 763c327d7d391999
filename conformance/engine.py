"""The engine: evaluate a profile over one workload and the cluster facts.

Pure and deterministic: the caller passes ``now`` (waiver expiry is the only time-dependent
rule), and nothing here reads files, clocks or the network. A check that raises is a bug, but
it must not take the run down: it becomes an ``error`` finding naming the exception.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from operator import itemgetter

from conformance.accelerators import shared_workload_asks
from conformance.catalogue import catalogue
from conformance.facts import (
    ClusterFacts,
    FactClass,
    InputMode,
    absent_in_input_message,
    missing_facts_message,
)
from conformance.findings import Finding, Outcome, Result, Severity
from conformance.profile import Profile
from conformance.registry import Category, CheckSpec
from conformance.report import Report, TargetRef
from conformance.scope import PARTS, SeenOnce, kept_by_identity, outcome_memo
from conformance.shared import shared
from conformance.waivers import NamespaceWaiver, is_waiver, timestamp, waivers_in
from conformance.workload import ServingWorkload

# Findings about the input itself (an adapter could not read part of the body) use this id.
INPUT_CHECK = "input-valid"
INPUT_CATEGORY = "input"
# Finding.category is the plain string (reading an enum's .value costs a descriptor call).
_CATEGORY_VALUES = {category: category.value for category in Category}
# At most this many input findings per workload; the rest are counted in the last one.
MAX_INPUT_FINDINGS = 8


# Equal findings are one object shared between reports (a Finding names nothing of its
# workload, and workloads of one shape mostly get the same ones): fewer objects to build and
# for the garbage collector to walk. Bounded: emptied when full.
MAX_SHARED_FINDINGS = 4096
_shared_findings: dict[tuple, Finding] = {}
_shared_findings_emptied = 0
_shared_findings_offered = SeenOnce()


def shared_findings_emptied() -> int:
    """How many times the shared findings table was full and emptied (for the benchmark)."""
    return _shared_findings_emptied


def shared_finding(check_id: str, category: str, severity: Severity, outcome: Outcome) -> Finding:
    """The finding of ``outcome``, the same object as an equal one built before (kept in the
    table the second time it is built: a finding that names its workload is built once)."""
    properties = outcome.properties
    key = (check_id, category, severity, outcome.result, outcome.message,
           tuple(properties.items()) if properties else ())
    try:
        finding = _shared_findings.get(key)
    except TypeError:  # an unhashable property value (a faulty custom check): not shared
        return Finding(check_id, category, outcome.result, severity, outcome.message,
                       properties=dict(properties))
    if finding is None:
        finding = Finding(check_id, category, outcome.result, severity, outcome.message,
                          properties=dict(properties))
        if _shared_findings_offered.again(hash(key)):
            if len(_shared_findings) >= MAX_SHARED_FINDINGS:
                global _shared_findings_emptied
                _shared_findings_emptied += 1
                _shared_findings.clear()
            _shared_findings[key] = finding
    return finding


def _input_problems(errors: tuple[str, ...] | list[str]) -> list[str]:
    if len(errors) <= MAX_INPUT_FINDINGS:
        return list(errors)
    kept = list(errors[: MAX_INPUT_FINDINGS - 1])
    rest = len(errors) - len(kept)
    return [*kept, f"and {rest:,} more problems in the input, like: {errors[len(kept)]}"]


# The checks that look for an object of a class an application brings itself: when the
# whole-application input held none of it, their finding says so (``ClusterFacts.assumed_absent``).
LOOKS_FOR: dict[str, FactClass] = {
    "scaling-autoscaler": FactClass.AUTOSCALERS,
    "scaling-disruption-budget": FactClass.DISRUPTION_BUDGETS,
    "endpoint-service": FactClass.SERVICES,
    "endpoint-gateway-route": FactClass.ROUTES,
}


def note_absent_in_input(check_id: str, outcome: Outcome, facts: ClusterFacts) -> Outcome:
    """A fail or warn judged from a class the input held none of names that reason."""
    looked_for = LOOKS_FOR.get(check_id)
    if (
        looked_for is None
        or looked_for.value not in facts.assumed_absent
        or outcome.result not in (Result.FAIL, Result.WARN)
    ):
        return outcome
    return Outcome(
        outcome.result,
        f"{outcome.message} ({absent_in_input_message([looked_for])})",
        outcome.properties,
    )


_NO_ACCELERATOR = Outcome(Result.SKIP, "the workload asks for no accelerator")
_WAIVABLE = frozenset((Result.FAIL, Result.WARN, Result.ERROR))


def run_check(
    spec: CheckSpec, workload: ServingWorkload, facts: ClusterFacts, profile: Profile, asks: bool
) -> Outcome:
    if spec.accelerators_only and not asks:
        return _NO_ACCELERATOR
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


def _with_waiver(finding: Finding, waived: bool, note: str, properties: dict[str, str]) -> Finding:
    return Finding(
        finding.check, finding.category, finding.result, finding.severity,
        f"{finding.message} ({note})", waived=waived,
        properties={**finding.properties, **properties},
    )


def apply_waiver(
    finding: Finding,
    workload: ServingWorkload,
    profile: Profile,
    now: datetime,
    namespace_waivers: Sequence[NamespaceWaiver] = (),
) -> Finding:
    """Waive a fail, warn or error finding: by the profile's own waiver, else by a
    ConformanceWaiver of the workload's namespace that the profile honours. A waiver that
    matches but is not honoured (expired, not allowed, too long) is named with the reason."""
    if finding.result not in (Result.FAIL, Result.WARN, Result.ERROR) or (
            not profile.spec.waivers and not namespace_waivers):
        return finding
    waiver = profile.waiver_for(finding.check, workload.kind, workload.namespace, workload.name)
    if waiver is not None and waiver.expires_at > now:
        until = timestamp(waiver.expires_at)
        return _with_waiver(finding, True, f"waived until {until}: {waiver.reason}",
                            {"waivedUntil": until, "waiverReason": waiver.reason})
    if waiver is not None:
        until = timestamp(waiver.expires_at)
        finding = _with_waiver(finding, False, f"waiver expired {until}; not honoured",
                               {"waiverExpired": until})
    candidates = sorted(
        (w for w in namespace_waivers
         if w.covers(finding.check, workload.kind, workload.namespace, workload.name, workload.labels)),
        key=lambda w: (w.spec.expires_at, w.reference), reverse=True,
    )
    refusals: list[str] = []
    policy = profile.spec.namespace_waivers
    for candidate in candidates:
        refusal = candidate.refusal(policy, now)
        if refusal is None:
            until = timestamp(candidate.spec.expires_at)
            return _with_waiver(
                finding, True,
                f"waived by ConformanceWaiver {candidate.reference} until {until}: "
                f"{candidate.spec.reason}",
                {"waivedUntil": until, "waiverReason": candidate.spec.reason,
                 "waivedBy": candidate.reference},
            )
        refusals.append(f"{candidate.reference}: {refusal}")
    if refusals:
        text = "; ".join(refusals)
        finding = _with_waiver(finding, False, f"ConformanceWaiver not honoured: {text}",
                               {"waiverNotHonoured": text})
    return finding


def _judge(spec: CheckSpec, workload: ServingWorkload, facts: ClusterFacts, profile: Profile,
           asks: bool, severity: Severity, absent: frozenset[str]) -> Finding:
    """The finding of one check, before waivers."""
    outcome = run_check(spec, workload, facts, profile, asks)
    if absent:
        outcome = note_absent_in_input(spec.id, outcome, facts)
    return shared_finding(spec.id, _CATEGORY_VALUES[spec.category], severity, outcome)


class _Plan:
    """How ``evaluate`` runs a profile's checks, worked out once per profile: the checks in
    report order (``steps``), those that declare what they read grouped by ``reads`` (one memo
    lookup finds the findings of a whole group), and the rest (``unscoped``), judged for
    every workload.

    A group's memo key starts with a number standing for (reads, its checks and their
    severities): the memo is shared by the profiles of one parameters object, and two profiles
    with the same group get the same number."""

    __slots__ = ("groups", "parts", "steps", "unscoped")

    def __init__(self, profile: Profile) -> None:
        specs = catalogue()
        self.steps = tuple((specs[check_id], severity)
                           for check_id, severity in profile.severities.items())
        by_reads: dict[tuple[str, ...], list[int]] = {}
        unscoped = []
        for index, (spec, _) in enumerate(self.steps):
            if spec.reads is None:
                unscoped.append(index)
            else:
                by_reads.setdefault(spec.reads, []).append(index)
        self.unscoped = tuple(unscoped)
        # The parts any group reads, computed once per evaluation into a list; each group's
        # key takes its parts from the list by position.
        self.parts = tuple(dict.fromkeys(part for reads in by_reads for part in reads))
        self.groups = tuple(
            (_group_number(reads, tuple((self.steps[i][0].id, self.steps[i][1]) for i in indexes)),
             itemgetter(*(self.parts.index(part) for part in reads)), tuple(indexes))
            for reads, indexes in by_reads.items()
        )


_group_numbers: dict[tuple, int] = {}
_next_group_number = iter(range(1 << 62))
_plans: dict[int, tuple[Profile, _Plan]] = {}
MAX_PLANS = 64


def _group_number(reads: tuple[str, ...], checks: tuple) -> int:
    """A number for the group; never one another group had (the table is emptied when large,
    and the numbers go on counting)."""
    token = (reads, checks)
    number = _group_numbers.get(token)
    if number is None:
        if len(_group_numbers) >= 4096:
            _group_numbers.clear()
        number = _group_numbers[token] = next(_next_group_number)
    return number


def _plan_of(profile: Profile) -> _Plan:
    return kept_by_identity(_plans, profile, _Plan, MAX_PLANS)


def evaluate(
    workload: ServingWorkload,
    facts: ClusterFacts,
    profile: Profile,
    now: datetime,
    source: str | None = None,
    namespace_waivers: Sequence[NamespaceWaiver] = (),
) -> Report:
    """Run every check of ``profile`` on ``workload``; one finding per check. ``namespace_waivers``
    are the ConformanceWaivers known (any namespace: each covers only its own)."""
    plan = _plan_of(profile)
    steps = plan.steps
    memo = shared(workload, facts, profile.parameters)
    asks = shared_workload_asks(memo)
    judged = outcome_memo(facts, profile.parameters)
    # Skipped when nothing is assumed absent (an identity then).
    absent = facts.assumed_absent
    findings: list[Finding | None] = [None] * len(steps)
    parts = None
    if judged.in_use():
        try:
            parts = [PARTS[name](memo) for name in plan.parts]
        except TypeError:  # an unhashable part (odd input): judged without the memo
            parts = None
    for number, part_values, indexes in plan.groups:
        found = key = None
        if parts is not None:
            # The findings of an earlier workload whose parts the group reads are equal.
            key = (number, asks, part_values(parts))
            try:
                found = judged.get(key)
            except TypeError:  # an unhashable part value: judged without the memo
                key = None
        if found is None:
            found = tuple(_judge(steps[i][0], workload, facts, profile, asks, steps[i][1], absent)
                          for i in indexes)
            if key is not None:
                judged.remember(key, found)
        for index, finding in zip(indexes, found, strict=True):
            findings[index] = finding
    for index in plan.unscoped:
        spec, severity = steps[index]
        findings[index] = _judge(spec, workload, facts, profile, asks, severity, absent)
    if profile.spec.waivers or namespace_waivers:
        findings = [
            apply_waiver(finding, workload, profile, now, namespace_waivers)
            if finding.result in _WAIVABLE else finding
            for finding in findings
        ]
    if workload.errors:
        findings[:0] = [
            Finding(INPUT_CHECK, INPUT_CATEGORY, Result.ERROR, Severity.HIGH, message)
            for message in _input_problems(workload.errors)
        ]
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
    mode: InputMode = InputMode.APPLICATION


def evaluate_objects(
    objects: list[tuple[dict, str | None]],
    profile: Profile,
    now: datetime,
    facts_objects: list[dict] = (),
    mode: InputMode = InputMode.APPLICATION,
    assume_known: frozenset[FactClass] | tuple[FactClass, ...] = (),
) -> Evaluation:
    """Adapt every object, build facts from all of them (plus ``facts_objects``, which are
    never targets), and evaluate each selected workload. ``objects`` pairs a body with where
    it came from.

    ``mode`` says what the objects are: the whole application (``APPLICATION``: an absent
    autoscaler, PDB, Service or route is absent), a fragment (``PARTIAL``: it is unknown), or
    the input over a live cluster's facts (``CLUSTER``: ``facts_objects`` are the cluster's
    objects and ``assume_known`` the classes its API serves).

    ConformanceWaivers among ``objects`` are read as namespace waivers (an invalid one raises
    ``conformance.waivers.WaiverError``); they are neither targets nor facts."""
    prepared = prepare_objects(objects, profile, facts_objects, mode, assume_known)
    return Evaluation(tuple(prepared.evaluate(prepared.targets, now)), prepared.orphans,
                      prepared.warnings, mode)


@dataclass(frozen=True)
class Prepared:
    """``evaluate_objects`` up to the evaluations: the facts and the selected targets (the CLI
    evaluates parts of ``targets`` in two processes).

    ``prepare_facts`` builds it before the objects are adapted (no targets, no orphans): the
    CLI then adapts and evaluates parts of the objects in two processes (``adapt``), and joins
    the orphan autoscalers of the parts (``orphan_positions``, ``orphans_of``)."""

    profile: Profile
    facts: ClusterFacts
    targets: tuple[tuple[ServingWorkload, str | None], ...]
    namespace_waivers: tuple[NamespaceWaiver, ...]
    orphans: tuple[Orphan, ...]
    warnings: tuple[str, ...]
    # (kind, namespace, name) of every object of the input and of the facts objects
    present: frozenset[tuple[str, str, str]] = frozenset()

    def evaluate(self, targets: Sequence[tuple[ServingWorkload, str | None]],
                 now: datetime) -> Iterator[Report]:
        """The report of each of ``targets`` (some or all of ``self.targets``), one by one."""
        for workload, source in targets:
            yield evaluate(workload, self.facts, self.profile, now, source, self.namespace_waivers)

    def adapt(self, objects: Sequence[tuple[dict, str | None]]
              ) -> tuple[tuple[ServingWorkload, str | None], ...]:
        """The targets among ``objects`` (some or all of those ``prepare_facts`` returned), in
        their order: each adapted, kept when the profile selects it."""
        from conformance.adapters import adapt_object

        params, selects = self.profile.parameters, self.profile.selects
        workloads: list[tuple[ServingWorkload, str | None]] = []
        for body, source in objects:
            workload = adapt_object(body, params)
            if workload is not None and selects(workload.kind, workload.namespace, workload.labels):
                workloads.append((workload, source))
        return tuple(workloads)

    def orphan_positions(self, targets: Sequence[tuple[ServingWorkload, str | None]]
                         ) -> frozenset[int]:
        """The positions in ``facts.autoscalers`` of the autoscalers that are orphans with
        ``targets`` as the workloads. An autoscaler is an orphan when no workload (and no
        object present) covers it, so with the targets split in parts the orphans are those
        of every part: ``orphans_of`` intersects the parts' positions."""
        from conformance.relations import orphan_autoscalers

        orphans = {id(a) for a in orphan_autoscalers([w for w, _ in targets], self.facts,
                                                     self.present)}
        return frozenset(i for i, a in enumerate(self.facts.autoscalers) if id(a) in orphans)

    def orphans_of(self, *positions: frozenset[int]) -> tuple[Orphan, ...]:
        """The orphan autoscalers of all targets, from each part's ``orphan_positions``."""
        common = frozenset.intersection(*positions)
        return tuple(
            Orphan(a.kind, a.namespace, a.name, a.target_kind, a.target_name)
            for i, a in enumerate(self.facts.autoscalers) if i in common
        )


def prepare_objects(
    objects: list[tuple[dict, str | None]],
    profile: Profile,
    facts_objects: list[dict] = (),
    mode: InputMode = InputMode.APPLICATION,
    assume_known: frozenset[FactClass] | tuple[FactClass, ...] = (),
) -> Prepared:
    """The facts, targets, waivers, orphans and warnings of ``evaluate_objects``."""
    prepared, objects = prepare_facts(objects, profile, facts_objects, mode, assume_known)
    targets = prepared.adapt(objects)
    return replace(prepared, targets=targets,
                   orphans=prepared.orphans_of(prepared.orphan_positions(targets)))


def prepare_facts(
    objects: list[tuple[dict, str | None]],
    profile: Profile,
    facts_objects: list[dict] = (),
    mode: InputMode = InputMode.APPLICATION,
    assume_known: frozenset[FactClass] | tuple[FactClass, ...] = (),
) -> tuple[Prepared, list[tuple[dict, str | None]]]:
    """``prepare_objects`` before adapting: a ``Prepared`` with the facts, waivers, warnings
    and what is present, without targets or orphans; and the objects to adapt (the input's
    objects other than waivers, in order)."""
    from conformance.facts_builder import facts_from_objects_with_warnings

    namespace_waivers = waivers_in(objects)
    objects = [(body, source) for body, source in objects if not is_waiver(body)]
    bodies = [body for body, _ in objects]
    facts, warnings = facts_from_objects_with_warnings(
        [*bodies, *facts_objects], profile.parameters, assume_known,
        whole_application=mode is InputMode.APPLICATION,
    )
    present = frozenset(
        (str(b.get("kind")), str((b.get("metadata") or {}).get("namespace") or ""),
         str((b.get("metadata") or {}).get("name") or ""))
        for b in [*bodies, *facts_objects] if isinstance(b, dict) and isinstance(b.get("metadata"), dict)
    )
    return Prepared(profile, facts, (), tuple(namespace_waivers), (), tuple(warnings),
                    present), objects
