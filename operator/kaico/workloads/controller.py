"""The controller: from index contents to evaluations to the writer, and nothing else.

Handlers (``kaico.runtime.handlers``) call into it with kopf's read-only indexes; it decides which
workloads to evaluate under which profiles, runs the engine, records the results for the metrics
and hands each report to the writer. Changes to related objects are coalesced: a burst of Node or
Service events schedules the affected workloads once, after the burst has been quiet for a short
while, instead of once per event (an operator start lists every object at once).

Each workload is evaluated once per settled input: an evaluation is skipped when the same
workload object was already evaluated (or is being evaluated) under the same profile version
with the same facts. A start lists every target and then handles the profile, which used to
evaluate every workload twice; now the number of evaluations during start-up is at most
workloads x profiles, whatever the number of fact objects (tests/unit/kaico/workloads/
test_start_up_evaluations.py). The periodic pass re-evaluates regardless: time alone changes
results (a waiver expires).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

from conformance.accelerators import workload_asks
from conformance.adapters import adapt_object
from conformance.engine import evaluate
from conformance.facts import ClusterFacts, LabelSelector
from conformance.parameters import Parameters
from conformance.relations import namespace_of
from conformance.report import Report
from conformance.waivers import NamespaceWaiver
from conformance.workload import ServingWorkload
from kaico.kube.client import ApiError
from kaico.kube.discovery import ServedResources
from kaico.kube.inflight import newer_or_same
from kaico.kube.resources import known_classes
from kaico.state import ProfileEntry, Results, Scope
from kaico.workloads.affected import WorkloadKey, affected_workloads, workload_key
from kaico.workloads.indexes import Indexes, StoredReport
from kaico.workloads.object_facts import merge_facts
from kaico.workloads.policyreports import PolicyReports
from kaico.workloads.status import profile_status, report_name
from kaico.workloads.writer import ReportWriter

logger = logging.getLogger("kaico.workloads.controller")

# Index names (kopf passes each index to handlers as a keyword argument of this name).
class EvaluationObserver(Protocol):
    """What the controller reports about its evaluations (``kaico.runtime.metrics.Metrics``)."""

    def evaluated(self, profile: str) -> None: ...
    def evaluation_failed(self, profile: str) -> None: ...
    def evaluation_took(self, seconds: float) -> None: ...


COALESCE_SECONDS = 0.5
# A failed report write is tried again this much later.
WRITE_RETRY_SECONDS = 5.0
# A burst that keeps going (a taint added to 200 nodes one by one) is flushed at the latest this
# long after its first event, so a long burst still makes progress.
COALESCE_MAX_SECONDS = 5.0
# Evaluations (and so report writes) in flight at once during a pass over many workloads: the
# writes are independent, and one at a time would make a start-up take a round trip per request.
PARALLEL_EVALUATIONS = 16


def newer_than_listing(resource_version: str | None, listing_version: str | None) -> bool:
    """Whether an object's version is newer than a listing's (created after the listing was
    served, so its absence from the listing means nothing)."""
    return (listing_version is not None and resource_version != listing_version
            and newer_or_same(resource_version, listing_version))


def adaptation_parameters(entries: Iterable[ProfileEntry]) -> Parameters:
    """Parameters for adapting bodies into the index, before any profile is applied: the
    accelerator names of every valid profile together, so a Deployment counts as a serving
    target if any profile would call it one. (The engine still evaluates each profile with its
    own parameters.)"""
    base = Parameters()
    profiles = [e.profile for e in entries if e.profile is not None]
    if not profiles:
        return base

    def union(attribute: str) -> tuple[str, ...]:
        values = list(getattr(base, attribute))
        for profile in profiles:
            values.extend(getattr(profile.parameters, attribute))
        return tuple(dict.fromkeys(values))

    labels = [p.parameters.opt_in_label for p in profiles if p.parameters.opt_in_label != base.opt_in_label]
    return dataclasses.replace(
        base,
        gpu_resource_names=union("gpu_resource_names"),
        gpu_resource_prefixes=union("gpu_resource_prefixes"),
        fractional_gpu_annotations=union("fractional_gpu_annotations"),
        fractional_gpu_resources=union("fractional_gpu_resources"),
        opt_in_label=labels[0] if labels else base.opt_in_label,
    )


def selects(entry: ProfileEntry, workload: ServingWorkload, namespace_labels: dict[str, str] | None) -> bool:
    """Whether a valid profile applies to the workload, namespace selector included."""
    profile = entry.profile
    if profile is None or not profile.selects(workload.kind, workload.namespace, workload.labels):
        return False
    selector_spec = profile.spec.targets.namespace_selector
    if selector_spec is None:
        return True
    selector = LabelSelector.from_spec(selector_spec)
    return selector is None or selector.matches(namespace_labels or {})


class Controller:
    def __init__(
        self,
        writer: ReportWriter,
        results: Results,
        metrics: EvaluationObserver,
        served: ServedResources,
        clock: Callable[[], datetime],
        policy_reports: PolicyReports | None = None,
    ):
        self.writer = writer
        # With --policy-reports: the same results as PolicyReports (or OpenReports Reports).
        self.policy_reports = policy_reports
        self.results = results
        self.metrics = metrics
        self.served = served
        self.clock = clock
        self._indexes: Indexes | None = None
        self._facts_version = 0
        self._facts_cache: tuple[int, frozenset[str], ClusterFacts] | None = None
        # uid -> the facts of that object last seen, to tell a change from a repeat and to find
        # what its previous version affected.
        self._last_facts: dict[str, ClusterFacts] = {}
        self._pending: set[WorkloadKey] = set()
        self._pending_all = False
        # A Node changed: every workload that asks for accelerators (resolved once per flush,
        # not once per Node event).
        self._pending_accelerators = False
        self._last_event = 0.0
        # (workload key, profile) -> the inputs of its last (or running) evaluation: the workload
        # object, the profile's (uid, generation) and the facts version.
        self._evaluated: dict[tuple[WorkloadKey, str], tuple[ServingWorkload, tuple[Any, Any], int, Any]] = {}
        self._flush_task: asyncio.Task[None] | None = None
        self._retry: set[WorkloadKey] = set()
        self._profiles_seen: dict[str, tuple[str | None, int | None]] = {}
        self._last_full_run: dict[str, float] = {}
        # Profiles whose full pass is under way: their counts are partial until it ends.
        self._running: set[str] = set()
        # The namespaces this install watches (None: every namespace): the profile counts of a
        # profile it does not cover are left to an install that does (kaico.state.Scope).
        self.scope = Scope()

    def remember(self, indexes: Indexes) -> Indexes:
        """Keep the (live) index views for work that runs outside a handler: the coalesced
        re-evaluations and the metrics' profile readiness."""
        self._indexes = indexes
        return indexes

    def live_indexes(self) -> Indexes | None:
        """The index views last handed to a handler (None before the first event)."""
        return self._indexes

    def busy(self) -> bool:
        """Whether evaluations are under way (a coalesced flush or a profile's pass)."""
        return bool(self._running) or (self._flush_task is not None and not self._flush_task.done())

    def current_profiles(self) -> list[ProfileEntry]:
        """Every profile as last indexed (for work that runs outside a handler)."""
        return self._indexes.profile_entries() if self._indexes is not None else []

    def profile_readiness(self) -> dict[str, bool]:
        """Profile name -> valid, for the metrics."""
        if self._indexes is None:
            return {}
        return {e.name: e.error is None for e in self._indexes.profile_entries()}

    # --- facts ------------------------------------------------------------------------------------

    def cluster_facts(self, indexes: Indexes) -> ClusterFacts:
        """The merged facts, rebuilt only after a fact changed (the engine reads them often)."""
        known = known_classes(self.served.resources)
        cache = self._facts_cache
        if cache is None or cache[0] != self._facts_version or cache[1] != known:
            cache = (self._facts_version, known, merge_facts(indexes.fact_parts(), known))
            self._facts_cache = cache
        return cache[2]

    def asks_for_accelerators(self, indexes: Indexes) -> Callable[[ServingWorkload], bool]:
        params = [Parameters()] + [e.profile.parameters for e in indexes.profile_entries() if e.profile]
        return lambda workload: any(workload_asks(workload, p) for p in params)

    def fact_changed(self, uid: str, facts: ClusterFacts | None, indexes: Indexes,
                     listing: bool = False) -> None:
        """A related object changed (``facts`` None: deleted or yields nothing): schedule the
        workloads its new facts affect and those its previous facts affected (an HPA may have
        been retargeted).

        ``listing``: the event comes from a watch's initial listing. kopf runs no event handler
        before every index is filled, so an object first seen in a listing is already in the
        facts every evaluation uses: re-evaluating for it would redo the whole start-up once per
        object (the periodic pass picks up anything a later re-listing added).
        """
        previous = self._last_facts.get(uid)
        if facts == previous:
            return
        if facts is None:
            self._last_facts.pop(uid, None)
        else:
            self._last_facts[uid] = facts
        if listing and previous is None:
            return
        self._facts_version += 1
        changed = [value for value in (facts, previous) if value is not None]
        if any(value.nodes for value in changed):
            # Every Node event would otherwise scan every workload: resolve it once per flush.
            self._pending_accelerators = True
            changed = [dataclasses.replace(value, nodes=()) for value in changed]
        affected: set[WorkloadKey] = set()
        empty = ClusterFacts(known=frozenset())
        changed = [value for value in changed if dataclasses.replace(value, known=frozenset()) != empty]
        if changed:
            workloads = indexes.all_workloads()
            asks = self.asks_for_accelerators(indexes)
            for value in changed:
                affected |= affected_workloads(value, workloads, asks)
        self.schedule(indexes, affected)

    def served_changed(self, indexes: Indexes) -> None:
        """An API appeared or went away: every check that skipped for lack of it may now judge."""
        self._facts_version += 1
        self.schedule(indexes, everything=True)

    # --- scheduling -------------------------------------------------------------------------------

    def schedule(self, indexes: Indexes, keys: Iterable[WorkloadKey] = (), everything: bool = False) -> None:
        self._indexes = indexes
        keys = set(keys)
        if keys:
            # Asked for by name (a report was deleted, a namespace relabelled): evaluate even
            # if the inputs look unchanged.
            names = [e.name for e in indexes.profile_entries()]
            for key in keys:
                for name in names:
                    self._evaluated.pop((key, name), None)
        self._enqueue(indexes, keys, everything)

    def schedule_listed(self, indexes: Indexes, key: WorkloadKey) -> None:
        """A target seen in the initial listing: evaluate it in the coalesced pass (skipped
        when the profile's own pass got to it first)."""
        self._enqueue(indexes, (key,), False)

    def _enqueue(self, indexes: Indexes, keys: Iterable[WorkloadKey], everything: bool) -> None:
        self._indexes = indexes
        self._pending.update(keys)
        self._pending_all = self._pending_all or everything
        self._last_event = time.monotonic()
        if (self._pending or self._pending_all or self._pending_accelerators) and (
                self._flush_task is None or self._flush_task.done()):
            self._flush_task = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        """Evaluate what is pending once the burst is quiet for COALESCE_SECONDS (or has lasted
        COALESCE_MAX_SECONDS), until nothing is pending (what arrives during a flush is
        taken by the next round)."""
        while self._pending or self._pending_all or self._pending_accelerators:
            first = time.monotonic()
            while True:
                quiet = self._last_event + COALESCE_SECONDS - time.monotonic()
                left = first + COALESCE_MAX_SECONDS - time.monotonic()
                if quiet <= 0 or left <= 0:
                    break
                await asyncio.sleep(min(quiet, left))
            indexes = self._indexes
            keys, everything, accelerators = self._pending, self._pending_all, self._pending_accelerators
            self._pending, self._pending_all, self._pending_accelerators = set(), False, False
            if indexes is None:
                return
            if everything:
                workloads = indexes.all_workloads()
            else:
                if accelerators:
                    asks = self.asks_for_accelerators(indexes)
                    keys |= {workload_key(w) for w in indexes.all_workloads() if asks(w)}
                workloads = [w for w in (indexes.workload(k) for k in sorted(keys)) if w is not None]
            await self.evaluate_many(workloads, indexes)

    async def evaluate_many(
        self, workloads: list[ServingWorkload], indexes: Indexes, only_profile: str | None = None,
        force: bool = False,
    ) -> None:
        """Evaluate ``workloads`` with PARALLEL_EVALUATIONS in flight (a fixed number of
        workers, not one task per workload: at 5,000 workloads the tasks alone weigh)."""
        queue = iter(workloads)

        async def worker() -> None:
            for workload in queue:
                try:
                    await self.evaluate_workload(workload, indexes, only_profile, force)
                except asyncio.CancelledError:
                    raise
                except Exception as error:  # noqa: BLE001 - one workload must not stop the others
                    logger.error("evaluating %s failed: %r", workload.ref, error)

        await asyncio.gather(*(worker() for _ in range(min(PARALLEL_EVALUATIONS, len(workloads)))))

    def _retry_later(self, key: WorkloadKey) -> None:
        """A write failed (the API down, kaico's CRD being re-created): evaluate the target again
        in WRITE_RETRY_SECONDS rather than at the next change or interval."""
        first = not self._retry
        self._retry.add(key)
        if first:
            asyncio.get_running_loop().call_later(WRITE_RETRY_SECONDS, self._retry_now)

    def _retry_now(self) -> None:
        keys, self._retry = self._retry, set()
        if self._indexes is not None:
            self.schedule(self._indexes, keys)

    # --- evaluation -------------------------------------------------------------------------------

    async def evaluate_workload(
        self, workload: ServingWorkload, indexes: Indexes, only_profile: str | None = None,
        force: bool = False,
    ) -> None:
        """Evaluate one workload under every valid profile (or one), and write the reports.
        Without ``force``, a profile under which the same workload object was already
        evaluated with the same facts is skipped (its report is already what it would be)."""
        await self.served.ensure_discovered()
        self._indexes = indexes
        facts, namespace_labels, waivers = self._inputs(workload, indexes)
        version = self._facts_version
        key = workload_key(workload)
        for entry in indexes.profile_entries():
            if only_profile is not None and entry.name != only_profile:
                continue
            name = report_name(workload.kind, workload.name, entry.name, workload.api_group)
            if not selects(entry, workload, namespace_labels):
                await self._unselect(key, entry.name, name, indexes)
                continue
            inputs = (workload, (entry.uid, entry.generation), version, waivers)
            last = self._evaluated.get((key, entry.name))
            if not force and last is not None and last[0] is workload and last[1:] == inputs[1:]:
                continue
            self._evaluated[(key, entry.name)] = inputs
            if not await self._evaluate_one(workload, key, entry, name, facts, waivers, indexes):
                # Not written: the next pass must try again.
                self._evaluated.pop((key, entry.name), None)

    def _inputs(self, workload: ServingWorkload, indexes: Indexes
                ) -> tuple[ClusterFacts, dict[str, str] | None, list[NamespaceWaiver]]:
        """What an evaluation of ``workload`` reads besides the profile: the merged facts, its
        namespace's labels and its namespace's waivers."""
        namespace = workload_key(workload)[1]
        return (self.cluster_facts(indexes), indexes.namespace_labels(namespace),
                indexes.namespace_waivers(namespace))

    def _run_engine(self, workload: ServingWorkload, facts: ClusterFacts, entry: ProfileEntry,
                    waivers: Any) -> Report:
        """The one engine call of both the pipeline and admission."""
        assert entry.profile is not None  # only valid profiles select
        return evaluate(workload, facts, entry.profile, self.clock(), namespace_waivers=waivers)

    async def judge(self, body: dict[str, Any], indexes: Indexes) -> list[tuple[ProfileEntry, Report]] | None:
        """Admission: how each profile that selects ``body`` (an object the API server has not
        stored yet) judges it, with the facts every evaluation uses now. Writes nothing and
        records nothing (the object may never be stored). None: ``body`` is no serving target."""
        workload = adapt_object(body, adaptation_parameters(indexes.profile_entries()))
        if workload is None:
            return None
        await self.served.ensure_discovered()
        facts, namespace_labels, waivers = self._inputs(workload, indexes)
        return [(entry, self._run_engine(workload, facts, entry, waivers))
                for entry in indexes.profile_entries() if selects(entry, workload, namespace_labels)]

    async def _evaluate_one(self, workload: ServingWorkload, key: WorkloadKey, entry: ProfileEntry,
                            name: str, facts: ClusterFacts, waivers: Any, indexes: Indexes) -> bool:
        """One evaluation and its write; False when either failed."""
        started = time.perf_counter()
        try:
            report = self._run_engine(workload, facts, entry, waivers)
        except Exception:  # noqa: BLE001 - one bad evaluation must not stop the others
            logger.exception("evaluating %s under %s failed", workload.ref, entry.name)
            self.metrics.evaluation_failed(entry.name)
            return False
        finally:
            self.metrics.evaluation_took(time.perf_counter() - started)
        self.metrics.evaluated(entry.name)
        self.results.record(key, report)
        if not workload.uid:
            return True  # cannot own a report; only happens with a malformed body
        try:
            await self.writer.write(workload, entry, report, indexes.stored_report(key[1], name))
            if self.policy_reports is not None:
                await self.policy_reports.write(workload, entry.name, name, report,
                                                indexes.policy_reports)
        except (TimeoutError, ApiError, OSError) as error:
            logger.warning("writing the report of %s failed (retried in %.0fs): %s",
                           workload.ref, WRITE_RETRY_SECONDS, error)
            self.metrics.evaluation_failed(entry.name)
            self._retry_later(key)
            return False
        return True

    async def _unselect(self, key: WorkloadKey, profile: str, name: str, indexes: Indexes) -> None:
        self._evaluated.pop((key, profile), None)
        had_result = self.results.get(key, profile) is not None
        self.results.forget(key, profile)
        if had_result or indexes.stored_report(key[1], name) is not None:
            try:
                await self.writer.delete(key[1], name)
            except (TimeoutError, ApiError, OSError) as error:
                logger.warning("deleting report %s/%s failed: %s", key[1], name, error)
        if self.policy_reports is not None:
            try:
                await self.policy_reports.delete(key[1], name, indexes.policy_reports)
            except (TimeoutError, ApiError, OSError) as error:
                logger.warning("deleting policy report %s/%s failed: %s", key[1], name, error)

    async def not_a_target(self, key: WorkloadKey, api_group: str, indexes: Indexes) -> None:
        """The object exists but is no serving target (any more): remove its reports."""
        for entry in indexes.profile_entries():
            name = report_name(key[0], key[2], entry.name, api_group)
            await self._unselect(key, entry.name, name, indexes)

    async def workload_deleted(self, key: WorkloadKey, api_group: str, indexes: Indexes) -> None:
        """The target is gone: delete its reports now. Garbage collection would too (the target
        is their owner), but only as fast as the garbage collector gets to it; it remains the
        clean-up when kaico is not running."""
        self.results.forget_workload(key)
        for entry in indexes.profile_entries():
            self._evaluated.pop((key, entry.name), None)
            name = report_name(key[0], key[2], entry.name, api_group)
            if indexes.stored_report(key[1], name) is None:
                self.writer.forget(key[1], name)
                continue
            try:
                await self.writer.delete(key[1], name)
            except (TimeoutError, ApiError, OSError) as error:
                logger.warning("deleting report %s/%s of a deleted target failed (garbage "
                               "collection removes it): %s", key[1], name, error)

    # --- repairs ----------------------------------------------------------------------------------

    def report_observed(self, stored: StoredReport, indexes: Indexes | None) -> None:
        """The watch showed a report: when it differs from what kaico wants stored there (an
        edit, or a stale copy after a relist), evaluate its target again, which rewrites it.
        (``indexes`` None: no handler ran yet, so kaico wants nothing stored yet.)"""
        if self.writer.observed(stored) and indexes is not None:
            self.schedule(indexes, [stored.target_key])

    def report_deleted(self, namespace: str, name: str, target: WorkloadKey, indexes: Indexes | None,
                       resource_version: str | None = None) -> None:
        """A report was deleted: its target, if it still exists and is selected, gets it back."""
        if self.writer.observed_deleted(namespace, name, resource_version) and indexes is not None:
            self.schedule(indexes, [target])

    def reports_lost(self, stored: list[StoredReport], indexes: Indexes | None) -> None:
        """Reports gone from the cluster without a watch event (the watch or the audit found them
        missing): the writer reads each from the API before deciding, and their targets are
        evaluated again, which writes them back."""
        for report in stored:
            self.writer.suspect(*report.key)
        if indexes is not None:
            self.schedule(indexes, [r.target_key for r in stored])

    async def audit_reports(self, clusterwide: bool, indexes: Indexes) -> int:
        """Compare the reports the watch shows with a listing of the cluster's, and repair the
        ones the watch still shows but the cluster no longer has (deleted while a watch was
        down: a relist reports no deletion; or gone with their CRD). Returns how many.

        Lists cluster-wide, or (``clusterwide`` False) each namespace in which the watch shows
        reports: only those can hold a stale copy."""
        watched = indexes.stored_reports()
        namespaces = None if clusterwide else sorted({r.namespace for r in watched})
        if namespaces == []:
            return 0
        listed, version = await self.writer.list_reports(namespaces)
        stale = [r for r in watched
                 if r.key not in listed and not newer_than_listing(r.resource_version, version)]
        if stale:
            logger.warning("%d report(s) shown by the watch are gone from the cluster; "
                           "writing them again", len(stale))
            self.reports_lost(stale, indexes)
        # Reports of a profile deleted while kaico was not running (only kaico deletes those).
        profiles = {e.name for e in indexes.profile_entries()}
        for stored in watched:
            if stored.profile not in profiles and stored.key in listed:
                try:
                    await self.writer.delete(*stored.key)
                except (TimeoutError, ApiError, OSError) as error:
                    logger.warning("deleting report %s/%s of a deleted profile failed: %s",
                                   stored.namespace, stored.name, error)
        return len(stale)

    # --- profiles ---------------------------------------------------------------------------------

    async def profile_changed(self, entry: ProfileEntry, current_status: dict[str, Any] | None,
                              indexes: Indexes, current_version: str | None = None) -> None:
        """A profile was created or edited (status-only updates are ignored): re-evaluate every
        workload under it, then publish its status."""
        seen = (entry.uid, entry.generation)
        if self._profiles_seen.get(entry.name) != seen:
            self._profiles_seen[entry.name] = seen
            if entry.error is not None:
                logger.warning("profile %s is invalid: %s", entry.name, "; ".join(entry.error.problems))
            await self.run_profile(entry, indexes, periodic=False)
        await self.publish_profile_status(entry, current_status, current_version)

    async def profile_tick(self, entry: ProfileEntry, current_status: dict[str, Any] | None,
                           indexes: Indexes, current_version: str | None = None) -> None:
        """The periodic pass: re-evaluate everything under the profile once its interval is due
        (catches what no watch event reports, e.g. an expiring waiver), then publish status."""
        if entry.name in self._running:
            # The profile's own event is still evaluating everything under it (just after a
            # start, or an edit): publishing now would write partial counts, then the full ones.
            return
        interval = entry.profile.spec.interval_seconds if entry.profile else None
        last = self._last_full_run.get(entry.name)
        if interval is not None and (last is None or time.monotonic() - last >= interval):
            await self.run_profile(entry, indexes)
        await self.publish_profile_status(entry, current_status, current_version)

    async def run_profile(self, entry: ProfileEntry, indexes: Indexes, periodic: bool = True) -> None:
        """Every workload under the profile. The periodic pass (``periodic``) evaluates them all
        again with freshly merged facts; the pass after a profile event skips what was already
        evaluated under this profile version (at a start, the listing's own evaluations)."""
        self._running.add(entry.name)
        try:
            await self._run_profile(entry, indexes, periodic)
        finally:
            self._running.discard(entry.name)

    async def _run_profile(self, entry: ProfileEntry, indexes: Indexes, periodic: bool) -> None:
        self._last_full_run[entry.name] = time.monotonic()
        if periodic:
            self._facts_version += 1  # a periodic pass also rebuilds the facts from the indexes
        if entry.profile is None:
            # An invalid profile evaluates nothing; its old results must not linger in metrics.
            self.results.forget_profile(entry.name)
            return
        workloads = indexes.all_workloads()
        await self.evaluate_many(workloads, indexes, only_profile=entry.name, force=periodic)
        # Evaluations skipped here because the coalesced pass had them in flight (at a start)
        # must end before the pass does: the profile's status would otherwise be published
        # with partial counts, then again with the full ones.
        flush = self._flush_task
        if flush is not None and not flush.done() and flush is not asyncio.current_task():
            await asyncio.shield(flush)
        # Reports of the workloads the profile selects stay (a skipped evaluation may still be
        # in flight in another pass, so its result need not be recorded yet). Selected *now*:
        # a target created while this pass ran got its report from its own event, and must not
        # lose it because the pass started before it existed.
        desired = {
            (namespace_of(w.namespace), report_name(w.kind, w.name, entry.name, w.api_group))
            for w in indexes.all_workloads()
            if selects(entry, w, indexes.namespace_labels(workload_key(w)[1]))
        }
        await self._collect_stale_reports(entry.name, desired, indexes)

    async def _collect_stale_reports(self, profile: str, desired: set[tuple[str, str]],
                                     indexes: Indexes) -> None:
        """Delete this profile's reports whose target is no longer a selected serving workload
        (e.g. a Deployment that dropped its GPUs while the operator was down)."""
        for stored in indexes.stored_reports():
            if stored.profile == profile and stored.key not in desired:
                try:
                    await self.writer.delete(stored.namespace, stored.name)
                except (TimeoutError, ApiError, OSError) as error:
                    logger.warning("deleting stale report %s/%s failed: %s",
                                   stored.namespace, stored.name, error)
        if self.policy_reports is not None:
            try:
                await self.policy_reports.delete_stale(profile, desired, indexes.policy_reports)
            except (TimeoutError, ApiError, OSError) as error:
                logger.warning("deleting stale policy reports of %s failed: %s", profile, error)

    async def publish_profile_status(self, entry: ProfileEntry, current: dict[str, Any] | None,
                                     current_version: str | None = None) -> None:
        counts = self.results.counts(entry.name) if self.scope.covers(entry) else None
        stored = self.writer.stored_profile_status(entry.name, current, current_version)
        status = profile_status(entry.generation, entry.error, counts, stored, self.clock())
        try:
            await self.writer.write_profile_status(entry.name, status, stored)
        except (TimeoutError, ApiError, OSError) as error:
            logger.warning("writing the status of profile %s failed: %s", entry.name, error)

    async def delete_profile_reports(self, name: str, indexes: Indexes) -> None:
        """A deleted profile's reports go with it. Garbage collection cannot do this: a report
        is also owned by its target, and GC keeps a dependent while any owner remains."""
        await self._collect_stale_reports(name, set(), indexes)

    def profile_deleted(self, name: str) -> None:
        self.results.forget_profile(name)
        self.writer.forget_profile(name)
        for item in [k for k in self._evaluated if k[1] == name]:
            del self._evaluated[item]
        self._profiles_seen.pop(name, None)
        self._last_full_run.pop(name, None)
