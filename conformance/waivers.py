"""ConformanceWaiver documents: a namespace's own exceptions, and whether a profile honours them.

A ConformanceWaiver lives in a workload's namespace, so the team that owns the namespace can
write it without the platform team. It is honoured only under a profile whose
``spec.namespaceWaivers.allowed`` is true, only for targets in its own namespace, only until
``expiresAt``, and only when it was written for at most the profile's ``maxDurationDays``
(counted from the waiver's creation; a waiver read from a file, which has no creation time, is
counted from ``now``). The decision is pure, so the operator and the CLI decide alike.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from conformance.catalogue import catalogue
from conformance.facts import LabelSelector
from conformance.profile import NamespaceWaiverPolicy, location_of
from conformance.relations import namespace_of

if TYPE_CHECKING:
    from conformance.waiver_schema import WaiverSpec

API_VERSION = "kaico.dev/v1alpha1"
KIND = "ConformanceWaiver"


class WaiverError(ValueError):
    """An unusable ConformanceWaiver; the message names it and every problem."""


@dataclass(frozen=True)
class NamespaceWaiver:
    """A parsed ConformanceWaiver: what the engine needs to decide on it."""

    namespace: str
    name: str
    spec: WaiverSpec
    created_at: datetime | None

    @property
    def reference(self) -> str:
        """Who waived: the waiver's ``namespace/name``, shown in the report."""
        return f"{self.namespace}/{self.name}"

    def covers(self, check_id: str, kind: str, namespace: str | None, name: str,
               labels: dict[str, str]) -> bool:
        """Whether the waiver names this check and matches this target of its own namespace."""
        target = self.spec.target
        if check_id not in self.spec.checks or namespace_of(namespace) != self.namespace:
            return False
        if target.kind and target.kind != kind:
            return False
        if target.name and not fnmatch.fnmatchcase(name, target.name):
            return False
        if target.selector is not None:
            selector = LabelSelector.from_spec(target.selector.model_dump(by_alias=True))
            if selector is not None and not selector.matches(labels):
                return False
        return True

    def refusal(self, policy: NamespaceWaiverPolicy, now: datetime) -> str | None:
        """Why the profile does not honour this waiver now, or None when it does."""
        if not policy.allowed:
            return "the profile does not allow namespace waivers"
        if self.spec.expires_at <= now:
            return f"expired {timestamp(self.spec.expires_at)}"
        start = self.created_at or now
        longest = timedelta(days=policy.max_duration_days)
        if self.spec.expires_at - start > longest:
            days = (self.spec.expires_at - start) / timedelta(days=1)
            return (f"runs {days:.0f} days from {'creation' if self.created_at else 'now'}, "
                    f"longer than the profile's maxDurationDays {policy.max_duration_days}")
        return None


def timestamp(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, as the API server writes times."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def is_waiver(body: Any) -> bool:
    return isinstance(body, dict) and body.get("kind") == KIND and body.get("apiVersion") == API_VERSION


def parse_waiver(body: Any, source: str = "<waiver>") -> NamespaceWaiver:
    """Validate a ConformanceWaiver document; raise ``WaiverError`` naming every problem."""
    # Imported here: only an input holding a ConformanceWaiver needs pydantic.
    from pydantic import ValidationError

    from conformance.waiver_schema import WaiverDocument

    try:
        document = WaiverDocument.model_validate(body)
    except ValidationError as error:
        problems = [f"{location_of(e['loc']) or '(top)'}: {e['msg']}" for e in error.errors()]
        raise WaiverError(f"invalid ConformanceWaiver {source}: " + "; ".join(problems)) from None
    known = catalogue()
    unknown = [check for check in document.spec.checks if check not in known]
    if unknown:
        raise WaiverError(f"invalid ConformanceWaiver {source}: spec.checks: unknown check "
                          + ", ".join(repr(c) for c in unknown))
    created = document.metadata.creation_timestamp
    if created is not None and created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return NamespaceWaiver(
        namespace=namespace_of(document.metadata.namespace),
        name=document.metadata.name,
        spec=document.spec,
        created_at=created,
    )


def waivers_in(objects: Iterable[tuple[Any, str | None]]) -> list[NamespaceWaiver]:
    """Every ConformanceWaiver among ``(body, source)`` pairs, parsed (``WaiverError`` on the
    first invalid one)."""
    return [parse_waiver(body, source or "<input>") for body, source in objects if is_waiver(body)]
