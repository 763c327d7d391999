"""kaico's own API (``kaico.dev/v1alpha1``): the pydantic models the CRDs are generated from.

The ConformanceProfile spec is *not* redefined here: it is ``conformance.schema.ProfileSpec``,
the model profiles are validated with (likewise the ConformanceWaiver spec is
``conformance.waiver_schema.WaiverSpec``, re-exported below), so the CRD cannot accept what the engine rejects (or
the other way round). The report and status models below are the operator's output; the writer
builds ``ReportStatus`` values and the CRD generator (``kaico_dev.crdgen``) turns every model into a
structural schema. Field descriptions here are what ``kubectl explain`` shows.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from conformance.cluster.catalogue import Category as RequirementCategory
from conformance.cluster.catalogue import Level
from conformance.cluster.evaluation import RequirementStatus
from conformance.findings import Result, Severity
from conformance.waiver_schema import WaiverSpec  # noqa: F401 - the ConformanceWaiver spec, for crdgen
from kaico.api import API_VERSION, CATEGORY, GROUP, VERSION  # noqa: F401 - re-exported


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(_Model):
    """A Kubernetes API convention condition (metav1.Condition)."""

    type: str = Field(description="Type of the condition, e.g. Conformant or Ready.")
    status: ConditionStatus = Field(description="True, False or Unknown.")
    reason: str = Field(description="One CamelCase word that explains the status.")
    message: str = Field("", description="Human-readable details.")
    last_transition_time: datetime = Field(
        alias="lastTransitionTime",
        description="When the status last changed (not when it was last confirmed).",
    )
    observed_generation: int | None = Field(
        None,
        alias="observedGeneration",
        description="The .metadata.generation of this object the condition was computed from.",
    )


# --- ConformanceReport ------------------------------------------------------------------------


class TargetReference(_Model):
    """The workload a report is about."""

    api_version: str = Field(alias="apiVersion", description="apiVersion of the target.")
    kind: str = Field(description="Kind of the target, e.g. InferenceService or Deployment.")
    name: str = Field(description="Name of the target, in the report's namespace.")
    uid: str | None = Field(None, description="UID of the target the report was written for.")


class ReportSpec(_Model):
    """What the report is about: one target under one profile. Written by the operator."""

    target_ref: TargetReference = Field(alias="targetRef", description="The evaluated workload.")
    profile: str = Field(description="Name of the ConformanceProfile the target was evaluated against.")


class ResultSummary(_Model):
    """Counts of results, as in a wg-policy PolicyReport summary."""

    pass_: int = Field(0, alias="pass", ge=0, description="Checks that passed.")
    fail: int = Field(0, ge=0, description="Checks that failed.")
    warn: int = Field(0, ge=0, description="Checks that warned (not met, not scored).")
    error: int = Field(0, ge=0, description="Checks that could not judge the input.")
    skip: int = Field(0, ge=0, description="Checks that did not apply or lacked cluster facts.")


class ReportResult(_Model):
    """One check's result on the target, in the shape of a wg-policy PolicyReport result."""

    check: str = Field(description="Stable id of the check (see `kaico checks`).")
    category: str = Field(description="Check category: gpu, scaling, endpoints or input.")
    result: Result = Field(description="pass, fail, warn, error or skip.")
    severity: Severity = Field(description="Severity the profile gives this check.")
    message: str = Field(description="What was found and, on failure, what to change.")
    waived: bool | None = Field(
        None,
        description="True when a waiver that has not expired covers this result: the profile's "
        "own, or a ConformanceWaiver of the target's namespace that the profile honours.",
    )
    properties: dict[str, str] | None = Field(
        None,
        description="Extra facts about the result: waivedUntil, waiverReason, waivedBy (the "
        "ConformanceWaiver's namespace/name), waiverNotHonoured (which waiver and why), counted "
        "values.",
    )
    remediation: str | None = Field(
        None, description="How to fix it, from the check catalogue (on fail, warn and error results)."
    )
    docs: str | None = Field(None, description="The check's documentation (docs/checks.md#<check id>).")


class ReportStatus(_Model):
    """What kaico observed. Rewritten only when the results change."""

    conformant: bool | None = Field(
        None,
        description="True when no unwaived fail or error at or above the profile's "
        "conformanceThreshold remains.",
    )
    summary: ResultSummary | None = Field(None, description="Counts of results by outcome.")
    results: list[ReportResult] | None = Field(None, description="One entry per check.")
    observed_target_generation: int | None = Field(
        None,
        alias="observedTargetGeneration",
        description="The target's .metadata.generation these results were computed from.",
    )
    conditions: list[Condition] | None = Field(
        None, description="The Conformant condition; it transitions only when conformance changes."
    )


# --- ConformanceProfile status ------------------------------------------------------------------


class ProfileStatus(_Model):
    """How the profile is doing across the targets it selects."""

    conformant: int | None = Field(None, ge=0, description="Targets that are conformant.")
    non_conformant: int | None = Field(
        None, alias="nonConformant", ge=0, description="Targets with blocking failures."
    )
    errored: int | None = Field(
        None, ge=0, description="Targets with at least one error result (they may also be non-conformant)."
    )
    observed_generation: int | None = Field(
        None,
        alias="observedGeneration",
        description="The .metadata.generation of the profile that was last parsed.",
    )
    conditions: list[Condition] | None = Field(
        None,
        description="The Ready condition: False with the problems when the profile is invalid.",
    )


# --- ClusterConformanceReport -------------------------------------------------------------------
# The status is the engine's ``ClusterEvaluation.to_dict()`` plus conditions, so the writer can
# store an evaluation without translating it; the enums are the engine's own.


class RequirementEntry(_Model):
    """One CNCF Kubernetes AI Conformance requirement, as judged on this cluster."""

    id: str = Field(description="Requirement id from the CNCF checklist, e.g. dra_support.")
    category: RequirementCategory = Field(description="Checklist category, e.g. accelerators.")
    level: Level = Field(description="MUST or SHOULD, from the checklist.")
    status: RequirementStatus = Field(
        description="Implemented, NotImplemented, PartiallyImplemented, NotApplicable or Unknown."
    )
    evidence: list[str] | None = Field(
        None, description="What kaico observed that supports the status (API groups, objects, URLs)."
    )
    notes: str | None = Field(None, description="Explanation; required for NotApplicable.")


class RequirementSummary(_Model):
    """How many requirements are met, by level."""

    must_met: int = Field(0, alias="mustMet", ge=0, description="MUST requirements met.")
    must_total: int = Field(0, alias="mustTotal", ge=0, description="MUST requirements in the checklist.")
    should_met: int = Field(0, alias="shouldMet", ge=0, description="SHOULD requirements met.")
    should_total: int = Field(0, alias="shouldTotal", ge=0, description="SHOULD requirements in the checklist.")
    # The printer columns cannot join two fields, so the "met/total" text is stored as well.
    must: str | None = Field(None, description='MUST requirements met, as "met/total" (e.g. 8/9).')
    should: str | None = Field(None, description='SHOULD requirements met, as "met/total" (e.g. 3/7).')


class ClusterReportSpec(_Model):
    """Which profile and checklist version the cluster report is for."""

    profile: str = Field(description="Name of the ConformanceProfile the cluster was evaluated against.")
    kubernetes_version: str | None = Field(
        None,
        alias="kubernetesVersion",
        description="Checklist version (Kubernetes minor, e.g. 1.35); empty follows the cluster.",
    )


class ClusterReportStatus(_Model):
    """The cluster's standing against the CNCF AI Conformance checklist."""

    kubernetes_version: str | None = Field(
        None, alias="kubernetesVersion", description="The checklist version that was applied, e.g. 1.35."
    )
    cluster_version: str | None = Field(
        None, alias="clusterVersion", description="The version the API server reported, e.g. v1.35.4."
    )
    summary: RequirementSummary | None = Field(None, description="Requirements met, by level.")
    requirements: list[RequirementEntry] | None = Field(None, description="One entry per requirement.")
    warnings: list[str] | None = Field(
        None, description="Why the checklist differs from the cluster's minor, or what could not be read."
    )
    conditions: list[Condition] | None = Field(
        None, description="The Conformant condition: True when every MUST requirement is met."
    )
