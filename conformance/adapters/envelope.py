"""What every adapter reads first: apiVersion, kind, metadata, spec and status, version-checked.

``open_envelope`` gives an adapter the object's identity and a ``FieldErrors`` to record into;
``Envelope.workload`` finishes a ``ServingWorkload`` with that identity and the collected errors,
so every kind reports uid, generation, labels and annotations the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.adapters.fields import FieldErrors
from conformance.workload import Readiness, ServingWorkload


@dataclass
class Envelope:
    api_version: str
    kind: str
    name: str
    namespace: str | None
    uid: str | None
    generation: int | None
    labels: dict[str, str]
    annotations: dict[str, str]
    spec: dict[str, Any]
    status: dict[str, Any]
    # True when the body carried a ``status`` mapping at all (offline manifests usually do not).
    has_status: bool
    supported: bool
    errors: FieldErrors = field(default_factory=FieldErrors)

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    def workload(self, **fields: Any) -> ServingWorkload:
        """The ServingWorkload with this object's identity and every error recorded so far."""
        return ServingWorkload(
            api_version=self.api_version,
            kind=self.kind,
            name=self.name,
            namespace=self.namespace,
            uid=self.uid,
            generation=self.generation,
            labels=self.labels,
            annotations=self.annotations,
            errors=tuple(self.errors.messages),
            **fields,
        )


def open_envelope(body: dict[str, Any], kind: str, versions: tuple[str, ...]) -> Envelope:
    """Read identity, spec and status; an apiVersion outside ``versions`` is recorded as an error
    and marks the envelope unsupported (the adapter then returns only the identity)."""
    errors = FieldErrors()
    api_version = errors.string(body.get("apiVersion"), "apiVersion") or ""
    metadata = errors.mapping(body.get("metadata"), "metadata")
    name = errors.string(metadata.get("name"), "metadata.name")
    if not name:
        errors.add("metadata.name is missing")
    generation = errors.integer(metadata.get("generation"), "metadata.generation")
    version = api_version.rpartition("/")[2]
    supported = version in versions
    if not supported:
        errors.add(
            f"{api_version or '(no apiVersion)'} {kind} is not supported "
            f"(supported versions: {', '.join(versions)})"
        )
    status_value = body.get("status")
    return Envelope(
        api_version=api_version,
        kind=kind,
        name=name or "",
        namespace=errors.string(metadata.get("namespace"), "metadata.namespace") or None,
        uid=errors.string(metadata.get("uid"), "metadata.uid") or None,
        generation=generation,
        labels=errors.string_map(metadata.get("labels"), "metadata.labels"),
        annotations=errors.string_map(metadata.get("annotations"), "metadata.annotations"),
        spec=errors.mapping(body.get("spec"), "spec"),
        status=errors.mapping(status_value, "status"),
        has_status=isinstance(status_value, dict),
        supported=supported,
        errors=errors,
    )


def condition_readiness(envelope: Envelope, condition_type: str) -> Readiness | None:
    """Readiness from ``status.conditions[type=condition_type]``; None when it is not reported."""
    errors = envelope.errors
    conditions = errors.sequence(envelope.status.get("conditions"), "status.conditions")
    for index, item in enumerate(conditions):
        where = f"status.conditions[{index}]"
        condition = errors.mapping(item, where)
        if condition.get("type") != condition_type:
            continue
        status = errors.string(condition.get("status"), f"{where}.status")
        return Readiness(
            ready=status == "True",
            reason=errors.string(condition.get("reason"), f"{where}.reason"),
            message=errors.string(condition.get("message"), f"{where}.message"),
        )
    return None


def positive_count(
    value: object, path: str, errors: FieldErrors, default: int, minimum: int = 0
) -> int:
    """A replica-like count; below ``minimum`` is reported and replaced by the default."""
    number = errors.integer(value, path)
    if number is None:
        return default
    if number < minimum:
        errors.add(f"{path} must be at least {minimum}, got {number}")
        return default
    return number


def unique(items: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Order-preserving de-duplication (declared URLs, metric names)."""
    return tuple(dict.fromkeys(item for item in items if item))
