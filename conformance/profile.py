"""ConformanceProfile documents: parsing, validation against the catalogue, and waivers.

A profile is parsed with pydantic; ``ProfileError`` carries every problem with its field path
("spec.checks[2].id: unknown check 'gpu-limit'"), so the CLI can print it and the operator can
put it into the profile's ``Ready`` condition instead of crashing.
"""

from __future__ import annotations

import fnmatch
from datetime import UTC, datetime
from enum import StrEnum
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from conformance.catalogue import catalogue
from conformance.facts import LabelSelector
from conformance.findings import Severity
from conformance.parameters import Parameters

API_VERSION = "kaico.dev/v1alpha1"
KIND = "ConformanceProfile"
BUILTIN_PROFILES = ("default",)


class ProfileError(ValueError):
    """An unusable profile; ``problems`` are "field.path: what is wrong" strings."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__(f"invalid profile {source}: " + "; ".join(problems))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# The two rules the CRD states in CEL (``x-kubernetes-validations``) and pydantic states in
# ``LabelSelectorRequirement._values_fit_operator``: one wording, so the CLI and the API server
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


class LabelSelectorRequirement(_Model):
    """A label selector requirement: a key, an operator and values."""

    # An unknown operator, or values where the operator takes none, is an error, never a
    # requirement silently ignored (which would select every workload).

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": list(SELECTOR_RULES)})

    key: str = Field(min_length=1, description="The label key.")
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"] = Field(
        description="In, NotIn, Exists or DoesNotExist."
    )
    values: list[str] = Field(
        default_factory=list, validate_default=True,
        description="Values for In and NotIn (at least one); none for Exists and DoesNotExist.",
    )

    @field_validator("values")
    @classmethod
    def _values_fit_operator(cls, values: list[str], info: ValidationInfo) -> list[str]:
        operator = info.data.get("operator")
        if operator in ("In", "NotIn") and not values:
            raise PydanticCustomError("selector_values", VALUES_REQUIRED)
        if operator in ("Exists", "DoesNotExist") and values:
            raise PydanticCustomError("selector_values", VALUES_FORBIDDEN)
        return values


class LabelSelectorSpec(_Model):
    match_labels: dict[str, str] = Field(default_factory=dict, alias="matchLabels")
    match_expressions: list[LabelSelectorRequirement] = Field(
        default_factory=list, alias="matchExpressions"
    )


class TargetSelection(_Model):
    """Which workloads the profile applies to. Empty means every supported workload."""

    kinds: tuple[str, ...] = Field((), description="Kinds to evaluate, e.g. InferenceService.")
    namespaces: tuple[str, ...] = Field((), description="Namespaces to evaluate (globs allowed).")
    namespace_selector: LabelSelectorSpec | None = Field(None, alias="namespaceSelector")
    selector: LabelSelectorSpec | None = Field(None, description="Label selector on the workload.")


class CheckSetting(_Model):
    id: str
    enabled: bool = True
    severity: Severity | None = None


class WaiverTarget(_Model):
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


# A waiver's words are copied into every report it covers: bounded, so that a pasted log cannot
# grow thousands of reports (the CRD schemas say the same, so the API server refuses it first).
WAIVER_REASON_MAX = 1024
WAIVER_TICKET_MAX = 256


class Waiver(_Model):
    """A documented exception: one check on matching targets, until ``expiresAt``.

    An expired waiver is not honoured, identically in the operator and the CLI.
    """

    check: str
    target: WaiverTarget = Field(default_factory=WaiverTarget)
    reason: str = Field(min_length=1, max_length=WAIVER_REASON_MAX)
    expires_at: datetime = Field(alias="expiresAt")
    ticket: str | None = Field(None, max_length=WAIVER_TICKET_MAX)

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)


class NamespaceWaiverPolicy(_Model):
    """Whether ConformanceWaivers in a workload's namespace count under this profile, and for
    how long one may run (``conformance.waivers`` decides)."""

    allowed: bool = Field(False, description="Honour ConformanceWaivers written in the target's namespace.")
    max_duration_days: int = Field(
        30, alias="maxDurationDays", ge=1,
        description="Longest a namespace waiver may run, from its creation to expiresAt; a "
        "longer one is not honoured and the report says why.",
    )


class Enforcement(StrEnum):
    """What the operator's admission webhook does with a failing check (``docs/admission.md``)."""

    WARN = "Warn"
    DENY = "Deny"


class AdmissionPolicy(_Model):
    """How this profile answers at kubectl apply when the operator serves its validating admission webhook (Helm value admission.enabled): warnings by default, or a denial at or above a severity. The webhook never changes the object."""

    enforcement: Enforcement = Field(
        Enforcement.WARN,
        description="Warn: admit, and return each failing check as a warning that kubectl "
        "prints. Deny: reject the create or update when a failing check's severity is at or "
        "above denyAtSeverity (the others are still warnings).",
    )
    deny_at_severity: Severity = Field(
        Severity.HIGH, alias="denyAtSeverity",
        description="With enforcement Deny: the lowest severity of a failing check that rejects "
        "the object. Waived checks never reject.",
    )


class ProfileSpec(_Model):
    description: str = ""
    targets: TargetSelection = Field(default_factory=TargetSelection)
    include_all_checks: bool = Field(True, alias="includeAllChecks")
    checks: tuple[CheckSetting, ...] = ()
    parameters: Parameters = Field(default_factory=Parameters)
    waivers: tuple[Waiver, ...] = ()
    namespace_waivers: NamespaceWaiverPolicy = Field(
        default_factory=NamespaceWaiverPolicy, alias="namespaceWaivers"
    )
    conformance_threshold: Severity = Field(Severity.LOW, alias="conformanceThreshold")
    interval_seconds: int = Field(300, alias="intervalSeconds", ge=10)
    # The Kubernetes minor whose AI Conformance requirements apply; None follows the cluster.
    kubernetes_version: str | None = Field(None, alias="kubernetesVersion")
    active_probes: bool = Field(False, alias="activeProbes")
    admission: AdmissionPolicy = Field(default_factory=AdmissionPolicy)

    @field_validator("kubernetes_version")
    @classmethod
    def _known_version(cls, version: str | None) -> str | None:
        if version is None:
            return None
        # Imported here: conformance.cluster loads the whole cluster pipeline, which
        # `kaico check` (and every profile without a version) does not need.
        from conformance.cluster.catalogue import minor_of, supported_versions

        known = supported_versions()
        if minor_of(version) not in known:
            raise PydanticCustomError(
                "kubernetes_version",
                "{version} is not a Kubernetes minor kaico has a checklist for; known: {known}",
                {"version": repr(version[:40]), "known": ", ".join(known)},
            )
        return version


class _Metadata(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str = Field(min_length=1)


class ProfileDocument(_Model):
    api_version: Literal["kaico.dev/v1alpha1"] = Field(alias="apiVersion")
    kind: Literal["ConformanceProfile"]
    metadata: _Metadata
    spec: ProfileSpec = Field(default_factory=ProfileSpec)
    status: dict[str, Any] | None = None


class Profile:
    """A validated profile, resolved against the catalogue: the checks to run with their
    effective severities, the parameters and the waivers."""

    def __init__(self, document: ProfileDocument):
        self.document = document
        self.name = document.metadata.name
        self.spec = document.spec
        self.parameters = document.spec.parameters
        specs = catalogue()
        settings = {setting.id: setting for setting in document.spec.checks}
        self.severities: dict[str, Severity] = {}
        for check_id, spec in specs.items():
            setting = settings.get(check_id)
            if setting is None and not document.spec.include_all_checks:
                continue
            if setting is not None and not setting.enabled:
                continue
            severity = setting.severity if setting and setting.severity else spec.severity
            self.severities[check_id] = severity

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
            selector = LabelSelector.from_spec(targets.selector.model_dump(by_alias=True))
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
    return Profile(document)


def builtin_profile(name: str = "default") -> Profile:
    """A profile shipped as package data (``conformance/profiles/<name>.yaml``)."""
    if name not in BUILTIN_PROFILES:
        raise ProfileError(name, [f"no built-in profile {name!r}; built-in: {', '.join(BUILTIN_PROFILES)}"])
    text = resources.files("conformance.profiles").joinpath(f"{name}.yaml").read_text()
    return parse_profile(yaml.safe_load(text), source=f"built-in:{name}")


def now_utc() -> datetime:
    return datetime.now(UTC)
