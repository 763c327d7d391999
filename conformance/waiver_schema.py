"""The ConformanceWaiver's pydantic models: they validate a waiver (``conformance.waivers``
imports them only when the input holds one) and are the CRD's schema (``WaiverSpec``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from conformance.profile import WAIVER_REASON_MAX, WAIVER_TICKET_MAX
from conformance.schema import LabelSelectorSpec


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class WaiverTargetSpec(_Model):
    """Which workloads of the waiver's namespace it covers; empty fields match every one."""

    kind: str | None = Field(None, description="Kind of the target, e.g. InferenceService.")
    name: str | None = Field(None, description="Name of the target (glob, e.g. llm-*).")
    selector: LabelSelectorSpec | None = Field(None, description="Label selector on the target.")


class WaiverSpec(_Model):
    """An exception a namespace grants itself: checks on matching targets, until expiresAt."""

    checks: tuple[str, ...] = Field(min_length=1, description="The check ids the waiver covers.")
    target: WaiverTargetSpec = Field(
        default_factory=WaiverTargetSpec, description="Which targets of this namespace it covers."
    )
    reason: str = Field(min_length=1, max_length=WAIVER_REASON_MAX,
                        description="Why the exception is acceptable; shown in the report.")
    expires_at: datetime = Field(
        alias="expiresAt",
        description="When the waiver lapses (RFC 3339). An expired waiver is not honoured.",
    )
    ticket: str | None = Field(None, max_length=WAIVER_TICKET_MAX,
                               description="Tracking reference (issue, change ticket).")

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)


class _Metadata(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str = Field(min_length=1)
    namespace: str | None = None
    creation_timestamp: datetime | None = Field(None, alias="creationTimestamp")


class WaiverDocument(_Model):
    api_version: Literal["kaico.dev/v1alpha1"] = Field(alias="apiVersion")
    kind: Literal["ConformanceWaiver"]
    metadata: _Metadata
    spec: WaiverSpec
    status: dict[str, Any] | None = None
