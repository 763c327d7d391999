"""The pydantic models of kaico's documents: they validate a ConformanceProfile or a
ConformanceWaiver (with field paths in every message) and are what the CRDs' schemas are
generated from (``hack/kaico_dev/crdgen.py``); the ConformanceWaiver's are in
``conformance.waiver_schema``.

Only validation needs them: the engine reads a profile as the plain dataclasses of
``conformance.profile`` (``resolve_spec`` turns a validated spec into them), so ``kaico check``
with the built-in profile never imports pydantic. Class names are part of pydantic's messages
("instance of Parameters"): they are the ones the models always had.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from conformance.findings import Severity
from conformance.parameters import DEFAULT_PARAMETERS as _DEFAULTS
from conformance.profile import (
    SELECTOR_RULES,
    VALUES_FORBIDDEN,
    VALUES_REQUIRED,
    WAIVER_REASON_MAX,
    WAIVER_TICKET_MAX,
    Enforcement,
    Spec,
    spec_from_mapping,
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Parameters(_Model):
    gpu_resource_names: tuple[str, ...] = Field(
        _DEFAULTS.gpu_resource_names,
        alias="gpuResourceNames",
        description="Extended-resource names that count as accelerators.",
    )
    gpu_resource_prefixes: tuple[str, ...] = Field(
        _DEFAULTS.gpu_resource_prefixes,
        alias="gpuResourcePrefixes",
        description="Resource-name prefixes that count as accelerators (MIG slices).",
    )
    fractional_gpu_annotations: tuple[str, ...] = Field(
        _DEFAULTS.fractional_gpu_annotations,
        alias="fractionalGpuAnnotations",
        description="Pod annotations of fractional-GPU schemes (KAI) that count as asking for a GPU.",
    )
    fractional_gpu_resources: tuple[str, ...] = Field(
        _DEFAULTS.fractional_gpu_resources,
        alias="fractionalGpuResources",
        description="Resource names of fractional-GPU schemes (HAMi) that count as asking for a GPU.",
    )
    model_aware_paths: tuple[str, ...] = Field(
        _DEFAULTS.model_aware_paths,
        alias="modelAwarePaths",
        description="Readiness paths (or prefixes ending in '/') that answer only once the model is loaded.",
    )
    startup_budget_seconds: int = Field(
        _DEFAULTS.startup_budget_seconds,
        alias="startupBudgetSeconds",
        ge=0,
        description="Minimum startup-probe budget (initialDelaySeconds + failureThreshold x periodSeconds).",
    )
    liveness_min_initial_delay_seconds: int = Field(
        _DEFAULTS.liveness_min_initial_delay_seconds,
        alias="livenessMinInitialDelaySeconds",
        ge=0,
        description="Without a startup probe, the liveness probe needs at least this initial delay.",
    )
    opt_in_label: str = Field(
        _DEFAULTS.opt_in_label,
        alias="optInLabel",
        description="A Deployment or StatefulSet carrying this label is a target even without accelerators.",
    )
    inference_metrics: tuple[str, ...] = Field(
        _DEFAULTS.inference_metrics,
        alias="inferenceMetrics",
        description="Metric names (matched as substrings of a metric name or query) that are inference signals.",
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


def resolve_spec(spec: ProfileSpec) -> Spec:
    """The engine's plain ``Spec`` of a validated one (every value already of its type)."""
    return spec_from_mapping(spec.model_dump(by_alias=True))
