"""ConformanceProfile documents: parsing, validation against the catalogue, and waivers.

A profile file is validated by the pydantic models of ``conformance.schema`` (imported only
then); ``ProfileError`` carries every problem with its field path
("spec.checks[2].id: unknown check 'gpu-limit'"), so the CLI can print it and the operator can
put it into the profile's ``Ready`` condition instead of crashing. What the engine reads is the
resolved ``Profile``: plain frozen dataclasses, which the built-in profile is read into directly
(``kaico check`` with it never imports pydantic; a test proves both ways give the same profile).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from conformance.catalogue import catalogue
from conformance.facts import LabelSelector
from conformance.findings import Severity
from conformance.parameters import DEFAULT_PARAMETERS, PARAMETER_KEYS, Parameters

API_VERSION = "kaico.dev/v1alpha1"
KIND = "ConformanceProfile"
BUILTIN_PROFILES = ("default",)


class ProfileError(ValueError):
    """An unusable profile; ``problems`` are "field.path: what is wrong" strings."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__(f"invalid profile {source}: " + "; ".join(problems))


# The two rules the CRD states in CEL (``x-kubernetes-validations``) and pydantic states in
# ``conformance.schema.LabelSelectorRequirement``: one wording, so the CLI and the API server
# reject the same selector with the same message at the same field path.
VALUES_REQUIRED = "must be non-empty when operator is In or NotIn"
VALUES_FORBIDDEN = "must be empty when operator is Exists or DoesNotExist"
SELECTOR_RULES = (
    {"rule": "!(self.operator in ['In', 'NotIn']) || (has(self.values) && size(self.values) > 0)",
     "message": VALUES_REQUIRED, "fieldPath": ".values", "reason": "FieldValueRequired"},
    {"rule": "!(self.operator in ['Exists', 'DoesNotExist']) || !has(self.values) "
             "|| size(self.values) == 0",
     "message": VALUES_FORBIDDEN, "fieldPath": ".values", "reason": "FieldValueForbidden"},
)


# A waiver's words are copied into every report it covers: bounded, so that a pasted log cannot
# grow thousands of reports (the CRD schemas say the same, so the API server refuses it first).
WAIVER_REASON_MAX = 1024
WAIVER_TICKET_MAX = 256


class Enforcement(StrEnum):
    """What the operator's admission webhook does with a failing check (``docs/admission.md``)."""

    WARN = "Warn"
    DENY = "Deny"


# The resolved profile: what the engine, the CLI and the operator read. Field names and defaults
# are those of the models in ``conformance.schema`` (their docs and bounds are there).


@dataclass(frozen=True, slots=True)
class TargetSelection:
    """Which workloads the profile applies to. Empty means every supported workload."""

    kinds: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()
    # Kubernetes LabelSelector mappings (matchLabels, matchExpressions), for LabelSelector.from_spec.
    namespace_selector: dict[str, Any] | None = None
    selector: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class CheckSetting:
    id: str
    enabled: bool = True
    severity: Severity | None = None


@dataclass(frozen=True, slots=True)
class WaiverTarget:
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None  # glob

    def matches(self, kind: str, namespace: str | None, name: str) -> bool:
        if self.kind and self.kind != kind:
            return False
        if self.namespace and not fnmatch.fnmatchcase(namespace or "", self.namespace):
            return False
        if self.name and not fnmatch.fnmatchcase(name, self.name):
            return False
        return True


@dataclass(frozen=True, slots=True)
class Waiver:
    """A documented exception: one check on matching targets, until ``expires_at`` (aware).

    An expired waiver is not honoured, identically in the operator and the CLI.
    """

    check: str
    reason: str
    expires_at: datetime
    target: WaiverTarget = WaiverTarget()
    ticket: str | None = None


@dataclass(frozen=True, slots=True)
class NamespaceWaiverPolicy:
    """Whether ConformanceWaivers in a workload's namespace count under this profile, and for
    how long one may run (``conformance.waivers`` decides)."""

    allowed: bool = False
    max_duration_days: int = 30


@dataclass(frozen=True, slots=True)
class AdmissionPolicy:
    """How this profile answers at kubectl apply (``docs/admission.md``)."""

    enforcement: Enforcement = Enforcement.WARN
    deny_at_severity: Severity = Severity.HIGH


@dataclass(frozen=True, slots=True)
class Spec:
    """A profile's ``spec``, resolved: every default applied, every value of its type."""

    description: str = ""
    targets: TargetSelection = TargetSelection()
    include_all_checks: bool = True
    checks: tuple[CheckSetting, ...] = ()
    parameters: Parameters = DEFAULT_PARAMETERS
    waivers: tuple[Waiver, ...] = ()
    namespace_waivers: NamespaceWaiverPolicy = NamespaceWaiverPolicy()
    conformance_threshold: Severity = Severity.LOW
    interval_seconds: int = 300
    # The Kubernetes minor whose AI Conformance requirements apply; None follows the cluster.
    kubernetes_version: str | None = None
    active_probes: bool = False
    admission: AdmissionPolicy = field(default_factory=AdmissionPolicy)


def _selector(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    return {
        "matchLabels": dict(raw.get("matchLabels") or {}),
        "matchExpressions": [
            {"key": e["key"], "operator": e["operator"], "values": list(e.get("values") or ())}
            for e in raw.get("matchExpressions") or ()
        ],
    }


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _waiver(raw: dict[str, Any]) -> Waiver:
    target = raw.get("target") or {}
    return Waiver(
        check=raw["check"], reason=raw["reason"], expires_at=_aware(raw["expiresAt"]),
        target=WaiverTarget(target.get("kind"), target.get("namespace"), target.get("name")),
        ticket=raw.get("ticket"),
    )


def spec_from_mapping(raw: dict[str, Any]) -> Spec:
    """The resolved ``Spec`` of a *valid* profile spec mapping (camelCase keys, as in the file
    or as ``conformance.schema.ProfileSpec.model_dump(by_alias=True)`` gives it). It checks
    nothing: a user's profile goes through ``parse_profile``."""
    targets = raw.get("targets") or {}
    parameters = raw.get("parameters") or {}
    waiver_policy = raw.get("namespaceWaivers") or {}
    admission = raw.get("admission") or {}
    return Spec(
        description=raw.get("description", ""),
        targets=TargetSelection(
            kinds=tuple(targets.get("kinds") or ()),
            namespaces=tuple(targets.get("namespaces") or ()),
            namespace_selector=_selector(targets.get("namespaceSelector")),
            selector=_selector(targets.get("selector")),
        ),
        include_all_checks=raw.get("includeAllChecks", True),
        checks=tuple(
            CheckSetting(c["id"], c.get("enabled", True),
                         Severity(c["severity"]) if c.get("severity") is not None else None)
            for c in raw.get("checks") or ()
        ),
        parameters=Parameters(**{
            PARAMETER_KEYS[key]: tuple(value) if isinstance(value, list | tuple) else value
            for key, value in parameters.items()
        }) if parameters else DEFAULT_PARAMETERS,
        waivers=tuple(_waiver(w) for w in raw.get("waivers") or ()),
        namespace_waivers=NamespaceWaiverPolicy(
            waiver_policy.get("allowed", False), waiver_policy.get("maxDurationDays", 30)
        ),
        conformance_threshold=Severity(raw.get("conformanceThreshold", Severity.LOW)),
        interval_seconds=raw.get("intervalSeconds", 300),
        kubernetes_version=raw.get("kubernetesVersion"),
        active_probes=raw.get("activeProbes", False),
        admission=AdmissionPolicy(
            Enforcement(admission.get("enforcement", Enforcement.WARN)),
            Severity(admission.get("denyAtSeverity", Severity.HIGH)),
        ),
    )


class Profile:
    """A validated profile, resolved against the catalogue: the checks to run with their
    effective severities, the parameters and the waivers."""

    def __init__(self, name: str, spec: Spec):
        self.name = name
        self.spec = spec
        self.parameters = spec.parameters
        specs = catalogue()
        settings = {setting.id: setting for setting in spec.checks}
        self.severities: dict[str, Severity] = {}
        for check_id, check in specs.items():
            setting = settings.get(check_id)
            if setting is None and not spec.include_all_checks:
                continue
            if setting is not None and not setting.enabled:
                continue
            severity = setting.severity if setting and setting.severity else check.severity
            self.severities[check_id] = severity

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Profile):
            return NotImplemented
        return (self.name, self.spec, self.severities) == (other.name, other.spec, other.severities)

    __hash__ = None  # type: ignore[assignment]

    def waiver_for(
        self, check_id: str, kind: str, namespace: str | None, name: str
    ) -> Waiver | None:
        """The first waiver matching this check and target, expired or not (the caller
        decides with ``now``), preferring one that has not expired."""
        matching = [
            w for w in self.spec.waivers
            if w.check == check_id and w.target.matches(kind, namespace, name)
        ]
        matching.sort(key=lambda w: w.expires_at, reverse=True)
        return matching[0] if matching else None

    def selects(self, kind: str, namespace: str | None, labels: dict[str, str]) -> bool:
        """Whether the profile's target selection includes a workload (namespace labels are
        the operator's business: ``namespace_selector`` is applied there)."""
        targets = self.spec.targets
        if targets.kinds and kind not in targets.kinds:
            return False
        if targets.namespaces and not any(
            fnmatch.fnmatchcase(namespace or "", pattern) for pattern in targets.namespaces
        ):
            return False
        if targets.selector is not None:
            selector = LabelSelector.from_spec(targets.selector)
            if selector is not None and not selector.matches(labels):
                return False
        return True


def location_of(loc: tuple[Any, ...]) -> str:
    """``spec.checks[2].id``; a key that is not a plain name (an unknown key the user wrote,
    with spaces or newlines) is quoted and shortened, so a message stays one line."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
            continue
        text = str(part)
        if not text.isprintable() or " " in text or len(text) > 64:
            text = repr(text[:64])
        path += ("." if path else "") + text
    return path


def parse_profile(data: Any, source: str = "<profile>") -> Profile:
    """Validate a profile document (a dict) and resolve it; raise ``ProfileError``."""
    if not isinstance(data, dict):
        raise ProfileError(source, [f"a profile must be a mapping, got {type(data).__name__}"])
    # Imported here: pydantic (and building its models) is most of a one-file `kaico check`'s
    # start-up, which the built-in profile does without.
    from pydantic import ValidationError

    from conformance.schema import ProfileDocument, resolve_spec

    try:
        document = ProfileDocument.model_validate(data)
    except ValidationError as error:
        problems = [f"{location_of(e['loc']) or '(top)'}: {e['msg']}" for e in error.errors()]
        raise ProfileError(source, problems) from None
    known = catalogue()
    problems = []
    for index, setting in enumerate(document.spec.checks):
        if setting.id not in known:
            problems.append(f"spec.checks[{index}].id: unknown check {setting.id!r}")
    for index, waiver in enumerate(document.spec.waivers):
        if waiver.check not in known:
            problems.append(f"spec.waivers[{index}].check: unknown check {waiver.check!r}")
    if problems:
        raise ProfileError(source, problems)
    return Profile(document.metadata.name, resolve_spec(document.spec))


def builtin_profile(name: str = "default") -> Profile:
    """A profile shipped as package data (``conformance/profiles/<name>.yaml``), read without
    pydantic: it is ours and valid (``tests/unit/conformance/test_profile_fast_path.py`` proves
    it resolves exactly as ``parse_profile`` resolves it)."""
    if name not in BUILTIN_PROFILES:
        raise ProfileError(name, [f"no built-in profile {name!r}; built-in: {', '.join(BUILTIN_PROFILES)}"])
    return _builtin(name)


def builtin_document(name: str) -> dict[str, Any]:
    """The built-in profile's document, as its file says it."""
    # A plain path (the package is never zipped): importlib.resources costs ~2 ms of start-up.
    text = (Path(__file__).parent / "profiles" / f"{name}.yaml").read_text()
    # libyaml where PyYAML has it: the pure-Python loader took ~1.3 ms of every `kaico check`.
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - safe


@cache
def _builtin(name: str) -> Profile:
    document = builtin_document(name)
    return Profile(document["metadata"]["name"], spec_from_mapping(document.get("spec") or {}))


def now_utc() -> datetime:
    return datetime.now(UTC)
