"""The workload pipeline's indexes: their ids, the read-only view handlers hand the controller
(``Indexes``), and what an index keeps per stored report (``StoredReport``).

kopf owns the index contents (``kaico.runtime.handlers`` fills them from watch events); only
extracted values are kept, never whole bodies. Everything here is read-only.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.facts import ClusterFacts
from conformance.waivers import NamespaceWaiver
from conformance.workload import ServingWorkload
from kaico.api.conventions import CONFORMANT, digest, find_condition
from kaico.state import ProfileEntry, WorkloadKey

# kopf index ids.
WORKLOADS = "kaico_workloads"
FACTS = "kaico_facts"
PROFILES = "kaico_profiles"
NAMESPACES = "kaico_namespaces"
REPORTS = "kaico_reports"
WAIVERS = "kaico_waivers"
POLICY_REPORTS = "kaico_policy_reports"  # only with --policy-reports


@dataclass(frozen=True)
class Indexes:
    """Read-only views of kopf's indexes, as handlers receive them.

    workloads: ("workload", kind, namespace, name) and ("namespace", namespace) -> ServingWorkload
    facts: object uid -> ClusterFacts of that object alone
    profiles: name -> ProfileEntry
    namespaces: name -> labels
    reports: (namespace, name) -> StoredReport (kaico's ReportMirror, not a kopf index)
    waivers: namespace -> NamespaceWaiver (the valid ConformanceWaivers of that namespace)
    policy_reports: (group, namespace, name) -> StoredPolicyReport (with --policy-reports)
    """

    workloads: Mapping[Any, Any]
    facts: Mapping[Any, Any]
    profiles: Mapping[Any, Any]
    namespaces: Mapping[Any, Any]
    reports: Mapping[Any, Any]
    waivers: Mapping[Any, Any]
    policy_reports: Mapping[Any, Any] = field(default_factory=dict)

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any], reports: Mapping[Any, Any]) -> Indexes:
        return cls(kwargs[WORKLOADS], kwargs[FACTS], kwargs[PROFILES], kwargs[NAMESPACES],
                   reports, kwargs[WAIVERS], kwargs.get(POLICY_REPORTS, {}))

    @staticmethod
    def _first(index: Mapping[Any, Any], key: Any) -> Any:
        store = index.get(key)
        return next(iter(store), None) if store else None

    def workload(self, key: WorkloadKey) -> ServingWorkload | None:
        """The target under this key. Two objects share a key only while kopf's index still holds
        one deleted in a watch gap beside its successor (until the relist's made-up DELETED
        event, ``kaico.runtime.kopf_relist``): the one indexed last is the one that exists."""
        store = self.workloads.get(("workload", *key))
        return list(store)[-1] if store else None

    def all_workloads(self) -> list[ServingWorkload]:
        return [w for key, store in self.workloads.items() if key[0] == "workload" for w in store]

    def profile_entries(self) -> list[ProfileEntry]:
        return sorted((e for store in self.profiles.values() for e in store), key=lambda e: e.name)

    def profile(self, name: str) -> ProfileEntry | None:
        return self._first(self.profiles, name)

    def namespace_labels(self, namespace: str) -> dict[str, str] | None:
        return self._first(self.namespaces, namespace)

    def stored_report(self, namespace: str, name: str) -> StoredReport | None:
        return self.reports.get((namespace, name))

    def stored_reports(self) -> list[StoredReport]:
        return list(self.reports.values())

    def namespace_waivers(self, namespace: str) -> list[NamespaceWaiver]:
        return list(self.waivers.get(namespace) or ())

    def fact_parts(self) -> Iterable[ClusterFacts]:
        return (part for store in self.facts.values() for part in store)


@dataclass(frozen=True, slots=True)
class StoredReport:
    """What is known to be stored for one report: enough to decide whether to write. One per
    report for as long as it exists (5,000 at 5,000 targets): slotted, the strings that repeat
    between reports interned, and of the Conformant condition only what the next status keeps
    (its status and lastTransitionTime; its reason and message are in the digest)."""

    namespace: str
    name: str
    target_uid: str | None
    profile: str
    digest: str | None  # None: no status yet
    conformant: bool | None
    condition_status: str | None  # the Conformant condition's "True"/"False"; None: none
    resource_version: str | None = None
    # The target's workload key (kind, namespace, name): a report event re-evaluates its target.
    target_kind: str = ""
    target_name: str = ""
    transition_time: str | None = None  # the Conformant condition's lastTransitionTime

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> StoredReport:
        metadata = body.get("metadata") or {}
        spec = body.get("spec") or {}
        status = body.get("status") or None
        target = spec.get("targetRef") or {}
        condition = find_condition(status, CONFORMANT) or {}
        return cls(
            namespace=_shared(metadata.get("namespace") or ""),
            name=metadata.get("name") or "",
            target_uid=target.get("uid"),
            profile=_shared(spec.get("profile") or ""),
            digest=digest(status) if status else None,
            conformant=status.get("conformant") if status else None,
            condition_status=_shared_or_none(condition.get("status")),
            resource_version=metadata.get("resourceVersion"),
            target_kind=_shared(str(target.get("kind") or "")),
            target_name=target.get("name") or "",
            transition_time=_shared_or_none(condition.get("lastTransitionTime")),
        )

    @property
    def conformant_condition(self) -> dict[str, Any] | None:
        """What the next status needs of the stored Conformant condition (None: it has none)."""
        if self.condition_status is None and self.transition_time is None:
            return None
        return {"type": CONFORMANT, "status": self.condition_status, "lastTransitionTime": self.transition_time}

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)

    @property
    def target_key(self) -> WorkloadKey:
        return (self.target_kind, self.namespace or "default", self.target_name)


def _shared(value: str) -> str:
    """One copy of a string that many reports hold (a namespace, a profile, a kind, a time)."""
    return sys.intern(value) if isinstance(value, str) else value


def _shared_or_none(value: Any) -> str | None:
    return _shared(value) if isinstance(value, str) else None
