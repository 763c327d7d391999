"""The workload pipeline's indexes: their ids, the read-only view handlers hand the controller
(``Indexes``), and what an index keeps per stored report (``StoredReport``).

kopf owns the index contents (``kaico.runtime.handlers`` fills them from watch events); only
extracted values are kept, never whole bodies. Everything here is read-only.
"""

from __future__ import annotations

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
    reports: (namespace, name) -> StoredReport
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
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> Indexes:
        return cls(kwargs[WORKLOADS], kwargs[FACTS], kwargs[PROFILES], kwargs[NAMESPACES],
                   kwargs[REPORTS], kwargs[WAIVERS], kwargs.get(POLICY_REPORTS, {}))

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
        """The newest report kopf's index holds under this name. kopf keys its index by uid too
        and forgets an object only on a DELETED event: a report deleted while a watch was down
        (or with its CRD) stays beside the one created again under its name, and the older
        copy must not be taken for what is stored (its digest would hide every later change)."""
        store = self.reports.get((namespace, name))
        if not store:
            return None
        return max(store, key=_version_order, default=None)

    def namespace_waivers(self, namespace: str) -> list[NamespaceWaiver]:
        return list(self.waivers.get(namespace) or ())

    def fact_parts(self) -> Iterable[ClusterFacts]:
        return (part for store in self.facts.values() for part in store)


def _version_order(stored: StoredReport) -> int:
    """resourceVersions are etcd revisions: a later object under a name has a larger one."""
    try:
        return int(stored.resource_version or -1)
    except ValueError:
        return -1


class DigestedStatus(dict[str, Any]):
    """A watched report's status reduced, as the watch receives it, to what ``StoredReport``
    keeps: the digest of the whole status, ``conformant`` and the Conformant condition. A type
    of its own, so that a status read from the API (a plain dict, whatever keys someone put in
    it) is always digested whole."""

    def __init__(self, status: dict[str, Any]):
        condition = find_condition(status, CONFORMANT)
        super().__init__(conformant=status.get("conformant"), conditions=[condition] if condition else [])
        self.digest = digest(status)


def compact_report(body: dict[str, Any]) -> None:
    """Reduce a watched ConformanceReport's status to a ``DigestedStatus`` (in place): kopf holds
    each watched body until its handlers ran, and a report's status (its checks and messages) is
    about 20 KiB as Python objects."""
    status = body.get("status")
    if status and isinstance(status, dict) and not isinstance(status, DigestedStatus):
        body["status"] = DigestedStatus(status)


def report_spec(body: dict[str, Any]) -> dict[str, Any]:
    """What a made-up DELETED event of a report carries besides its metadata (a report deleted
    while the watch was down, ``kaico.runtime.kopf_relist``): its target and profile, which
    ``StoredReport.from_body`` reads."""
    spec = body.get("spec")
    if not isinstance(spec, dict):
        return {}
    target = spec.get("targetRef")
    kept: dict[str, Any] = {"profile": spec.get("profile")}
    if isinstance(target, dict):
        kept["targetRef"] = {k: target.get(k) for k in ("apiVersion", "kind", "name", "uid")}
    return {"spec": kept}


@dataclass(frozen=True)
class StoredReport:
    """What is known to be stored for one report: enough to decide whether to write."""

    namespace: str
    name: str
    target_uid: str | None
    profile: str
    digest: str | None  # None: no status yet
    conformant: bool | None
    conformant_condition: dict[str, Any] | None
    resource_version: str | None = None
    # The target's workload key (kind, namespace, name): a report event re-evaluates its target.
    target_kind: str = ""
    target_name: str = ""

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> StoredReport:
        metadata = body.get("metadata") or {}
        spec = body.get("spec") or {}
        status = body.get("status") or None
        target = spec.get("targetRef") or {}
        return cls(
            namespace=metadata.get("namespace") or "",
            name=metadata.get("name") or "",
            target_uid=target.get("uid"),
            profile=spec.get("profile") or "",
            digest=(status.digest if isinstance(status, DigestedStatus) else digest(status)) if status else None,
            conformant=status.get("conformant") if status else None,
            conformant_condition=find_condition(status, CONFORMANT),
            resource_version=metadata.get("resourceVersion"),
            target_kind=str(target.get("kind") or ""),
            target_name=str(target.get("name") or ""),
        )

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)

    @property
    def target_key(self) -> WorkloadKey:
        return (self.target_kind, self.namespace or "default", self.target_name)
