"""kopf handlers: thin glue from watch events to indexes and the controller.

The rule that keeps the operator safe on other people's objects lives here: on every kind we do
not own, only ``@kopf.index`` and ``@kopf.on.event`` are registered. Those two never add
finalizers or ``kopf.zalando.org/*`` annotations (timers, daemons and on.create/update/resume
do; reference §D3), so a watched InferenceService or Deployment is never written to. kaico
registers no timer at all, not even on its own ConformanceProfile: the periodic pass is its own
asyncio loop. Index functions return ``{}`` rather than None for "nothing to index", because
kopf keeps an object's old index value when a handler returns None.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import kopf

from conformance.adapters import adapt_object
from conformance.profile import ProfileError, parse_profile
from conformance.waivers import WaiverError, parse_waiver
from kaico.api import GROUP
from kaico.cluster.controller import ClusterReports
from kaico.cluster.status import PLURAL as CLUSTER_REPORT_PLURAL
from kaico.cluster.watch import CLUSTER_WATCHES, ClusterWatch, fact_of
from kaico.kube.resources import FACTS as FACT_RESOURCES
from kaico.kube.resources import PROFILES as PROFILE_RESOURCE
from kaico.kube.resources import REPORTS as REPORT_RESOURCE
from kaico.kube.resources import TARGETS
from kaico.kube.resources import WAIVERS as WAIVER_RESOURCE
from kaico.runtime.heap import HeapTrimmer
from kaico.state import ProfileEntry
from kaico.workloads.affected import workload_key
from kaico.workloads.controller import Controller, adaptation_parameters
from kaico.workloads.indexes import (
    FACTS,
    NAMESPACES,
    PROFILES,
    REPORTS,
    WAIVERS,
    WORKLOADS,
    Indexes,
    StoredReport,
)
from kaico.workloads.object_facts import facts_of
from kaico.workloads.report_mirror import ReportMirror
from kaico.workloads.sharing import WorkloadSharing

logger = logging.getLogger("kaico.runtime.handlers")

# How often the periodic loop wakes; each profile's own intervalSeconds decides when it re-runs
# (a short tick keeps a pass within a second of its due time; a tick that is not due costs no
# API call).
TIMER_TICK_SECONDS = 1.0
# The report audit (a metadata-only list of the reports, compared with what the watch shows):
# every AUDIT_SECONDS, and soon after anything that can make the watched copy wrong.
AUDIT_SECONDS = 120.0
# The first audit, soon after the start: it also deletes the reports of profiles deleted while
# kaico was not running.
FIRST_AUDIT_DELAY = 10.0
AUDIT_RETRY_SECONDS = 5.0
CRD_AUDIT_DELAY = 3.0  # after one of kaico's CRDs changed: let kopf watch it again
RECOVERY_AUDIT_DELAY = 2.0  # after a failed watch works again


def _key(body: kopf.Body) -> tuple[str, str, str]:
    return (str(body.get("kind")), body.metadata.namespace or "default", body.metadata.name or "")


def _group(body: kopf.Body) -> str:
    api_version = str(body.get("apiVersion") or "")
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def _plain(body: kopf.Body) -> dict[str, Any]:
    # kopf bodies are read-only mapping views; the engine reads plain dicts.
    return {k: body.get(k) for k in ("apiVersion", "kind", "metadata", "spec", "status")
            if body.get(k) is not None}


def profile_entry(body: dict[str, Any]) -> ProfileEntry:
    metadata = body.get("metadata") or {}
    try:
        profile, error = parse_profile(body, source=str(metadata.get("name"))), None
    except ProfileError as problem:
        profile, error = None, problem
    return ProfileEntry(metadata.get("name") or "", metadata.get("uid"), metadata.get("generation"),
                        profile, error)


class WorkloadHandlers:
    """The handlers of the workload pipeline, bound to its controller (and, when cluster reports
    are on, the cluster pipeline's profile hooks). Methods are coroutines although most never
    await: kopf runs plain functions in a thread pool, a hop per watch event that these few
    microseconds of pure work do not need."""

    def __init__(self, controller: Controller, cluster: ClusterReports | None):
        self.controller = controller
        self.cluster = cluster
        # The last status seen on each profile, so the periodic pass compares against what is
        # stored and writes nothing when it is unchanged.
        self.profile_statuses: dict[str, dict[str, Any] | None] = {}
        self.profile_versions: dict[str, str | None] = {}
        self._ticker: list[asyncio.Task[None]] = []
        # The report audit (Controller.audit_reports): cluster-wide or per namespace, when next.
        self.clusterwide = True
        self._next_audit = time.monotonic() + FIRST_AUDIT_DELAY
        self._resync_cluster = False
        # The stored reports, fed by kopf's listing and watch of them (kaico.runtime.kopf_memory).
        self.reports = ReportMirror(self.report_seen, self.reports_gone)
        self.heap = HeapTrimmer()
        self.sharing = WorkloadSharing()

    def _indexes(self, kwargs: dict[str, Any]) -> Indexes:
        return self.controller.remember(Indexes.from_kwargs(kwargs, self.reports))

    # --- indexes: extracted values only, never whole bodies --------------------------------------

    async def index_workload(self, body: kopf.Body, **kwargs: Any) -> dict[Any, Any]:
        entries = [e for store in kwargs[PROFILES].values() for e in store]
        workload = adapt_object(_plain(body), adaptation_parameters(entries))
        if workload is None:
            return {}
        workload = self.sharing.share(workload)
        kind, namespace, name = workload_key(workload)
        return {("workload", kind, namespace, name): workload, ("namespace", namespace): workload}

    async def index_facts(self, body: kopf.Body, **_: Any) -> dict[Any, Any]:
        facts, warnings = facts_of(_plain(body))
        for warning in warnings:
            logger.warning("%s", warning)
        return {body.metadata.uid: facts} if facts is not None else {}

    async def index_profile(self, body: kopf.Body, **_: Any) -> dict[Any, Any]:
        return {body.metadata.name: profile_entry(_plain(body))}

    async def index_namespace(self, body: kopf.Body, **_: Any) -> dict[Any, Any]:
        return {body.metadata.name: dict(body.metadata.labels or {})}

    async def index_waiver(self, body: kopf.Body, **_: Any) -> dict[Any, Any]:
        # Keyed by namespace: a waiver covers only targets of its own namespace. An invalid one
        # (the CRD schema admits an unknown check id) is logged and waives nothing.
        try:
            waiver = parse_waiver(_plain(body), f"{body.metadata.namespace}/{body.metadata.name}")
        except WaiverError as error:
            logger.warning("%s", error)
            return {}
        return {waiver.namespace: waiver}

    async def index_report(self, **_: Any) -> dict[Any, Any]:
        # Never called: the reports go to the mirror, not to kopf (kaico.runtime.kopf_memory).
        # Registered so that kopf's start-up gate waits for their listing.
        return {}

    # --- events ------------------------------------------------------------------------------

    async def on_target(self, event: kopf.RawEvent, body: kopf.Body, **kwargs: Any) -> None:
        indexes = self._indexes(kwargs)
        key = _key(body)
        workload = indexes.workload(key)
        if event["type"] == "DELETED":
            if workload is not None and workload.uid != body.metadata.uid:
                # An earlier object of this name, deleted while the watch was down and reported
                # by the relist after its successor was listed: the successor is the target.
                self.controller.schedule(indexes, [key])
                return
            await self.controller.workload_deleted(key, _group(body), indexes)
            return
        if workload is None:
            await self.controller.not_a_target(key, _group(body), indexes)
        elif event["type"] is None:
            # The initial listing: one coalesced pass with a bounded number of evaluations in
            # flight, instead of one evaluation per kopf worker all at once.
            self.controller.schedule_listed(indexes, key)
        else:
            await self.controller.evaluate_workload(workload, indexes)

    async def on_fact(self, event: kopf.RawEvent, body: kopf.Body, **kwargs: Any) -> None:
        indexes = self._indexes(kwargs)
        uid = body.metadata.uid
        store = None if event["type"] == "DELETED" else indexes.facts.get(uid)
        self.controller.fact_changed(uid, next(iter(store), None) if store else None, indexes,
                                     listing=event["type"] is None)

    async def on_namespace(self, event: kopf.RawEvent, body: kopf.Body, **kwargs: Any) -> None:
        indexes = self._indexes(kwargs)
        if any(e.profile and e.profile.spec.targets.namespace_selector
               for e in indexes.profile_entries()):
            name = body.metadata.name
            self.controller.schedule(
                indexes, [workload_key(w) for w in indexes.workloads.get(("namespace", name), ())])

    async def on_waiver(self, event: kopf.RawEvent, body: kopf.Body, **kwargs: Any) -> None:
        # A waiver added, edited or removed re-evaluates only its namespace's workloads.
        indexes = self._indexes(kwargs)
        if event["type"] is None:
            return  # the initial listing: the index already held it for every evaluation
        namespace = body.metadata.namespace or "default"
        self.controller.schedule(
            indexes, [workload_key(w) for w in indexes.workloads.get(("namespace", namespace), ())])

    async def on_crd(self, event: kopf.RawEvent, body: kopf.Body, **kwargs: Any) -> None:
        if event["type"] is not None and (body.get("spec") or {}).get("group") == GROUP:
            # One of kaico's own CRDs was deleted or (re)created: with it went every object of
            # its kind (the report mirror sees it in kopf's next listing; the cluster reports
            # need the audit's resync). Audit once kopf watches it again.
            self.request_audit(CRD_AUDIT_DELAY)
        if await self.controller.served.update_from_crd(_plain(body), deleted=event["type"] == "DELETED"):
            self.controller.served_changed(self._indexes(kwargs))

    def report_seen(self, event_type: str | None, stored: StoredReport) -> None:
        """Every report the mirror receives is compared with what kaico wants stored: an edit, a
        deletion, a stale copy is repaired by evaluating the target again (within
        COALESCE_SECONDS)."""
        indexes = self.controller.live_indexes()
        if event_type == "DELETED":
            # Deleted by someone (or with its target): the target, if it still exists and is
            # selected, gets its report back.
            self.controller.report_deleted(stored.namespace, stored.name, stored.target_key, indexes,
                                           stored.resource_version)
        else:
            self.controller.report_observed(stored, indexes)

    def reports_gone(self, gone: list[StoredReport]) -> None:
        """A listing (after a 410, a failed watch, the CRD created again) no longer holds these:
        deleted while the watch was not looking."""
        logger.warning("%d report(s) were deleted while the watch was down; writing them again", len(gone))
        self.controller.reports_lost(gone, self.controller.live_indexes())

    def request_audit(self, delay: float) -> None:
        """Audit the reports in ``delay`` seconds (or earlier, if one is due sooner): the
        watched copies may be stale, the ClusterConformanceReports' too."""
        self._next_audit = min(self._next_audit, time.monotonic() + delay)
        self._resync_cluster = True

    async def on_profile(self, event: kopf.RawEvent, body: kopf.Body, **kwargs: Any) -> None:
        indexes = self._indexes(kwargs)
        name = body.metadata.name or ""
        if event["type"] == "DELETED":
            self.profile_statuses.pop(name, None)
            self.profile_versions.pop(name, None)
            self.controller.profile_deleted(name)
            await self.controller.delete_profile_reports(name, indexes)
            if self.cluster is not None:
                self.cluster.profile_deleted(name)
            return
        self.profile_statuses[name] = dict(body.get("status") or {}) or None
        self.profile_versions[name] = body.metadata.get("resourceVersion")
        self.controller.writer.profile_observed(name, self.profile_versions[name])
        entry = indexes.profile(name)
        if entry is not None:
            await self.controller.profile_changed(entry, self.profile_statuses[name], indexes,
                                                  self.profile_versions[name])
            if self.cluster is not None:
                await self.cluster.profile_changed(entry)

    # --- the periodic pass -------------------------------------------------------------------

    async def tick_profiles(self) -> None:
        """Every TIMER_TICK_SECONDS, give each profile its periodic pass (its own
        intervalSeconds decides whether a tick re-evaluates) and publish its status."""
        while True:
            await asyncio.sleep(TIMER_TICK_SECONDS)
            indexes = self.controller.live_indexes()
            if indexes is None:
                continue  # no event handled yet: the indexes are not available
            for entry in self.controller.current_profiles():
                await self._tick_profile(entry, indexes)
            if time.monotonic() >= self._next_audit:
                await self._audit(indexes)
                self.heap.tick(busy=True)  # the audit's pages are free now
            self.heap.tick(self.controller.busy())

    async def _audit(self, indexes: Indexes) -> None:
        if self._resync_cluster and self.cluster is not None:
            self.cluster.resync()
        self._resync_cluster = False
        try:
            await self.controller.audit_reports(self.clusterwide, indexes)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - retried soon (the API may be down)
            logger.warning("auditing the reports failed (retried in %.0fs): %s",
                           AUDIT_RETRY_SECONDS, error)
            self._next_audit = time.monotonic() + AUDIT_RETRY_SECONDS
            return
        self._next_audit = time.monotonic() + AUDIT_SECONDS

    async def _tick_profile(self, entry: ProfileEntry, indexes: Indexes) -> None:
        if entry.name not in self.profile_statuses:
            # Its event has not been handled yet: without the stored status to compare with,
            # publishing would rewrite a status that may already be right.
            return
        try:
            await self.controller.profile_tick(entry, self.profile_statuses.get(entry.name), indexes,
                                               self.profile_versions.get(entry.name))
            if self.cluster is not None:
                await self.cluster.profile_tick(entry)
        except asyncio.CancelledError:
            raise
        except Exception:  # one profile's failure must not stop the others' passes
            logger.exception("the periodic pass of profile %s failed", entry.name)

    async def start_ticker(self, **_: Any) -> None:
        self._ticker.append(asyncio.create_task(self.tick_profiles(), name="kaico-profile-interval"))

    async def stop_ticker(self, **_: Any) -> None:
        for task in self._ticker:
            task.cancel()


def register(registry: kopf.OperatorRegistry, controller: Controller,
             cluster: ClusterReports | None = None) -> WorkloadHandlers:
    """Register every handler on ``registry`` (the cluster-report ones when ``cluster`` is given)."""
    handlers = WorkloadHandlers(controller, cluster)
    for resource in TARGETS:
        kopf.index(**resource.selector(), id=WORKLOADS, registry=registry)(handlers.index_workload)
        kopf.on.event(**resource.selector(), id="kaico_target", registry=registry)(handlers.on_target)
    for resource in FACT_RESOURCES:
        kopf.index(**resource.selector(), id=FACTS, registry=registry)(handlers.index_facts)
        kopf.on.event(**resource.selector(), id="kaico_fact", registry=registry)(handlers.on_fact)
    namespaces = {"group": "", "version": "v1", "plural": "namespaces"}
    kopf.index(**namespaces, id=NAMESPACES, registry=registry)(handlers.index_namespace)
    kopf.on.event(**namespaces, id="kaico_namespace", registry=registry)(handlers.on_namespace)
    kopf.index(**PROFILE_RESOURCE.selector(), id=PROFILES, registry=registry)(handlers.index_profile)
    kopf.on.event(**PROFILE_RESOURCE.selector(), id="kaico_profile", registry=registry)(handlers.on_profile)
    kopf.index(**WAIVER_RESOURCE.selector(), id=WAIVERS, registry=registry)(handlers.index_waiver)
    kopf.on.event(**WAIVER_RESOURCE.selector(), id="kaico_waiver", registry=registry)(handlers.on_waiver)
    kopf.index(**REPORT_RESOURCE.selector(), id=REPORTS, registry=registry)(handlers.index_report)
    kopf.on.event(group="apiextensions.k8s.io", version="v1", plural="customresourcedefinitions",
                  id="kaico_crd", registry=registry)(handlers.on_crd)
    # The periodic pass runs from kaico's own loop, not kopf.timer: a kopf timer puts a finalizer
    # on every profile, which then blocks deleting a profile (and `helm uninstall`, which removes
    # the operator before custom objects) whenever the operator is not running.
    kopf.on.startup(id="kaico_profile_interval_start", registry=registry)(handlers.start_ticker)
    kopf.on.cleanup(id="kaico_profile_interval_stop", registry=registry)(handlers.stop_ticker)
    if cluster is not None:
        _register_cluster(registry, cluster)
    return handlers


def _register_cluster(registry: kopf.OperatorRegistry, cluster: ClusterReports) -> None:
    """Event handlers for the kinds the cluster requirements read. Several of these kinds are
    watched above too (Nodes, Services, Deployments, CRDs, ...): kopf runs every handler of a
    resource off one watch stream, so a second handler id costs no second watch. Each handler
    reduces the body to the shared extractor's fact and hands over only that."""

    def handler(watch: ClusterWatch) -> Any:
        async def on_cluster_object(event: kopf.RawEvent, body: kopf.Body, **_: Any) -> None:
            # The whole body, not ``_plain``: RuntimeClass ``handler`` and the webhook
            # configurations' ``webhooks`` are top-level fields.
            fact = None if event["type"] == "DELETED" else fact_of(watch, body)
            key = (watch.resource.group, watch.resource.plural, body.metadata.uid or "")
            cluster.object_changed(key, fact, listing=event["type"] is None)

        return on_cluster_object

    for watch in CLUSTER_WATCHES:
        kopf.on.event(**watch.resource.selector(), id="kaico_cluster_fact",
                      registry=registry)(handler(watch))

    async def on_cluster_report(event: kopf.RawEvent, body: kopf.Body, **_: Any) -> None:
        if event["type"] == "DELETED":
            cluster.report_deleted(body.metadata.name or "")
        else:
            cluster.report_seen(body.metadata.name or "", _plain(body))

    kopf.on.event(group="kaico.dev", version="v1alpha1", plural=CLUSTER_REPORT_PLURAL,
                  id="kaico_cluster_report", registry=registry)(on_cluster_report)

    async def stop_probes(**_: Any) -> None:
        # kopf's cleanup runs before it cancels the tasks it did not start, while the client is
        # open: a probe run in flight still deletes its namespaces through it.
        await cluster.stop()

    kopf.on.cleanup(id="kaico_cluster_probes_stop", registry=registry)(stop_probes)
