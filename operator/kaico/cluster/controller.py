"""ClusterConformanceReports: the cluster judged against the CNCF AI Conformance checklist, one
report per ConformanceProfile.

The pure parts live beside it: what is watched (``kaico.cluster.watch``) and what a report says
(``kaico.cluster.status``). ``ClusterReports`` is the I/O half: it reads the cluster with the same gatherer ``kaico cluster`` uses (so the operator and the CLI judge the
same inventory identically), evaluates each profile's checklist, and writes only when a report's
content changed, exactly like the workload ``ReportWriter``.

What triggers a pass: a profile created or edited, the profile's interval (the timer on our own
profile), and, debounced, a change in a *fact* extracted from a watched object (CRDs,
APIServices, GatewayClasses, Nodes, ...). The watch handlers keep only those small facts per
object, so a Node heartbeat or a Deployment's status churn compares equal and causes nothing.

Active probes (``spec.activeProbes``) create namespaces, pods and a 1000-pod Job, so they never
run inside a pass: a pass that judges such a profile starts one background run when the cached
results are older than the profile's interval, judges with the cached results meanwhile, and
the run's end brings a new pass. One run at a time serves every profile that asks for probes.
"""
from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from conformance.cluster import (
    CatalogueError,
    ClusterEvaluation,
    ClusterInventory,
    ProbeResult,
    evaluate_cluster,
)
from kaico.api import API_VERSION, GROUP, VERSION
from kaico.api.conventions import (
    digest,
    timestamp,
)
from kaico.cluster.policyreports import ClusterPolicyReports
from kaico.cluster.reader import ApiReader, GatherOptions, ReadError, gather_inventory
from kaico.cluster.status import (
    KIND,
    PLURAL,
    ProbeRun,
    cluster_status,
    evaluation_from_status,
    probe_warnings,
    report_body,
    report_spec,
    transition_events,
    unevaluated_status,
    workload_tallies,
)
from kaico.kube.client import ApiError, KubeClient, collection_path
from kaico.kube.events import event_body, post_event
from kaico.kube.inflight import InFlight
from kaico.state import ProfileEntry, Results, Scope

logger = logging.getLogger("kaico.cluster.controller")


# A burst of changes (a Helm chart installing a gateway: CRDs, then a class, then its status)
# becomes one pass; 5 s also lets a freshly installed controller report Ready first.
DEBOUNCE_SECONDS = 5.0
# Events about cluster-scoped objects live in "default", as the kubelet's Node events do;
# `kubectl describe ccreport` searches every namespace for them.
EVENT_NAMESPACE = "default"

WriteObserver = Callable[[str], None]
# Runs every active probe, blocking (the operator calls it in a worker thread); once the event
# is set the probes stop early and delete what they created.
ProbeRunner = Callable[[ClusterInventory, threading.Event], tuple[ProbeResult, ...]]
# How long a stopping operator waits for a probe run to clean up (within the pod's default
# 30 s termination grace period).
PROBE_STOP_SECONDS = 20.0
# A report found edited or deleted is judged again this soon (not after the change debounce).
REPAIR_DELAY_SECONDS = 1.0
# Why a report was written again although the judgement had not changed (as for workload reports).
EDITED, MISSING = "edited", "missing"


def report_path(name: str | None = None) -> str:
    path = collection_path(GROUP, VERSION, PLURAL, None)
    return f"{path}/{name}" if name else path


# --- the I/O half -----------------------------------------------------------------------------


@dataclass
class _Stored:
    """What is known to be stored for one report."""

    uid: str | None
    spec_digest: str
    status: dict[str, Any] | None
    status_digest: str | None
    evaluation: ClusterEvaluation | None

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> _Stored:
        status = body.get("status") or None
        return cls((body.get("metadata") or {}).get("uid"), digest(body.get("spec") or {}),
                   status, digest(status) if status else None, evaluation_from_status(status))


class ClusterReports:
    def __init__(
        self,
        client: Callable[[], KubeClient],
        reader: Callable[[], ApiReader],
        results: Results,
        profiles: Callable[[], list[ProfileEntry]],
        clock: Callable[[], datetime],
        on_write: WriteObserver | None = None,
        debounce_seconds: float = DEBOUNCE_SECONDS,
        probe_runner: ProbeRunner | None = None,
        on_repair: WriteObserver | None = None,
        policy_reports: ClusterPolicyReports | None = None,
        gather_options: GatherOptions | None = None,
    ):
        self._client = client
        # The namespaces this install watches (None: every namespace). A profile it does not
        # cover gets no report from it: the report's workload tallies would count only part of
        # the profile's targets (kaico.state.Scope).
        self.scope = Scope()
        self._policy_reports = policy_reports  # with --policy-reports
        # Which exporter Services the operator scrapes (its flags; by default none discovered).
        self._gather_options = gather_options or GatherOptions(scrape_discovered=False)
        self._reader = reader
        self._results = results
        self._profiles = profiles
        self._clock = clock
        self._on_write = on_write or (lambda operation: None)
        self._debounce = debounce_seconds
        self._on_repair = on_repair or (lambda reason: None)
        # The reports as the watch shows them (a cache of the cluster, refreshed by every
        # report event); a name missing here is read from the API before it is written.
        self._stored: dict[str, _Stored] = {}
        self._in_flight: InFlight[None] = InFlight()
        # The status digest kaico last wanted stored per report: tells a repair from an update.
        self._wanted: dict[str, str] = {}
        # The latest evaluation per profile, for the metrics (dropped with the profile).
        self.evaluations: dict[str, ClusterEvaluation] = {}
        self._facts: dict[tuple[str, str, str], Hashable] = {}
        self._seen: dict[str, tuple[str | None, int | None]] = {}
        self._last_run: dict[str, float] = {}
        self._pass_lock = asyncio.Lock()
        self._pending: asyncio.Task[None] | None = None
        self._instance = socket.gethostname()
        self._probe_runner = probe_runner
        self._probe_run: ProbeRun | None = None
        self._probe_task: asyncio.Task[None] | None = None
        self._probe_thread: asyncio.Future[tuple[ProbeResult, ...]] | None = None
        self._stopping = threading.Event()

    # --- triggers ---------------------------------------------------------------------------------

    def object_changed(self, key: tuple[str, str, str], fact: Hashable | None, listing: bool) -> bool:
        """A watched object changed (``fact`` None: deleted or irrelevant). Schedules a debounced
        pass when its fact differs from the last one seen; True when it did.

        Initial listings only record: the first pass of every profile runs when the profile is
        seen, and it reads the live cluster anyway."""
        previous = self._facts.get(key)
        if fact == previous:
            return False
        if fact is None:
            self._facts.pop(key, None)
        else:
            self._facts[key] = fact
        if listing and previous is None:
            return False
        self.schedule()
        return True

    def schedule(self, delay: float | None = None) -> None:
        if self._pending is None or self._pending.done():
            self._pending = asyncio.get_running_loop().create_task(
                self._debounced(self._debounce if delay is None else delay))

    async def _debounced(self, delay: float) -> None:
        await asyncio.sleep(delay)
        entries = [e for e in self._profiles() if e.profile is not None]
        await self.run(entries)

    async def profile_changed(self, entry: ProfileEntry) -> None:
        """Created or edited (status-only updates, our own, are ignored): judge it now."""
        seen = (entry.uid, entry.generation)
        if self._seen.get(entry.name) == seen:
            return
        self._seen[entry.name] = seen
        if entry.profile is None:
            # An invalid profile judges nothing; its report stays as last written, its series go.
            self.evaluations.pop(entry.name, None)
            return
        await self.run([entry])

    async def profile_tick(self, entry: ProfileEntry) -> None:
        if entry.profile is None:
            return
        last = self._last_run.get(entry.name)
        if last is None or time.monotonic() - last >= entry.profile.spec.interval_seconds:
            await self.run([entry])

    def profile_deleted(self, name: str) -> None:
        # Garbage collection deletes the report (the profile owns it).
        self._stored.pop(name, None)
        self._wanted.pop(name, None)
        self._in_flight.forget(name)
        self.evaluations.pop(name, None)
        self._seen.pop(name, None)
        self._last_run.pop(name, None)

    def report_deleted(self, name: str) -> None:
        """Someone deleted a report: forget it so the next pass recreates it (if its profile
        still exists), and make that pass come soon."""
        self._stored.pop(name, None)
        self._in_flight.forget(name)
        if name in self._wanted and any(e.name == name for e in self._profiles()):
            self.schedule(REPAIR_DELAY_SECONDS)

    def report_seen(self, name: str, body: dict[str, Any]) -> None:
        """The watch showed a report: it is what is stored now. When its status is not what
        kaico wants there (someone edited it), a pass comes soon and writes it again."""
        if not self._in_flight.settle(name, (body.get("metadata") or {}).get("resourceVersion")):
            return  # older than kaico's own write on its way back
        stored = _Stored.from_body(body)
        self._stored[name] = stored
        wanted = self._wanted.get(name)
        if wanted is not None and stored.status_digest != wanted:
            self.schedule(REPAIR_DELAY_SECONDS)

    def resync(self) -> None:
        """The watched copies may be stale (a watch gap, kaico's CRDs re-created): read every
        report from the API at the next pass, and run it soon."""
        self._stored.clear()
        if self._wanted:
            self.schedule(REPAIR_DELAY_SECONDS)

    # --- a pass -----------------------------------------------------------------------------------

    async def run(self, entries: list[ProfileEntry]) -> None:
        """Read the cluster once and judge each profile's checklist on it."""
        entries = [entry for entry in entries if self.scope.covers(entry)]
        if not entries:
            return
        async with self._pass_lock:
            for entry in entries:
                self._last_run[entry.name] = time.monotonic()
            try:
                inventory = await gather_inventory(self._reader(), self._gather_options)
            except ReadError as error:
                logger.warning("cannot read the cluster for its conformance report: %s", error)
                return
            self._start_probes_if_due(entries, inventory)
            for entry in entries:
                try:
                    await self._judge(entry, inventory)
                except (TimeoutError, ApiError, OSError) as error:
                    logger.warning("writing the ClusterConformanceReport of %s failed (retried on "
                                   "the next change or interval): %s", entry.name, error)
                except Exception:  # noqa: BLE001 - one profile's failure must not stop the others
                    logger.exception("judging the cluster under profile %s failed", entry.name)

    async def _judge(self, entry: ProfileEntry, inventory: Any) -> None:
        assert entry.profile is not None
        spec = entry.profile.spec
        warnings: list[str] = []
        probes: tuple[ProbeResult, ...] = ()
        if spec.active_probes and self._probe_runner is None:
            warnings.append("activeProbes: this kaico runs no active probes")
        elif spec.active_probes:
            warnings = probe_warnings(self._probe_run)
            probes = self._probe_run.results if self._probe_run is not None else ()
        stored = await self._ensure_report(entry, spec.kubernetes_version)
        try:
            evaluation = evaluate_cluster(
                inventory, spec.kubernetes_version, probes=probes,
                workload_tallies=workload_tallies(self._results, entry.name),
            )
        except CatalogueError as error:
            logger.warning("profile %s: %s", entry.name, error)
            self.evaluations.pop(entry.name, None)
            status = unevaluated_status(spec.kubernetes_version, str(error), stored.status, self._clock())
            await self._write_status(entry.name, stored, status, None)
            return
        # Events announce kaico's own transitions: compared with its previous judgement (after a
        # restart, the stored one), so writing back an edited or lost report announces nothing.
        previous = self.evaluations.get(entry.name, stored.evaluation)
        self.evaluations[entry.name] = evaluation
        if self._policy_reports is not None:
            try:
                await self._policy_reports.write(entry, evaluation)
            except (TimeoutError, ApiError, OSError) as error:
                # The ClusterConformanceReport below is written whatever happens to this one.
                logger.warning("writing the cluster PolicyReport of %s failed (retried on the "
                               "next change or interval): %s", entry.name, error)
        status = cluster_status(evaluation, stored.status, self._clock(), warnings)
        if await self._write_status(entry.name, stored, status, evaluation):
            for kind, reason, message in transition_events(previous, evaluation):
                await self._post_event(entry.name, stored.uid, kind, reason,
                                       f"{message} under profile {entry.name}")

    # --- active probes ------------------------------------------------------------------------

    @property
    def probing(self) -> bool:
        """A probe run is under way."""
        return self._probe_task is not None and not self._probe_task.done()

    def _start_probes_if_due(self, entries: list[ProfileEntry], inventory: ClusterInventory) -> None:
        """Start a run when a profile of this pass asks for probes and the latest results are
        older than its interval (the shortest, when several ask). Never more than one run."""
        intervals = [e.profile.spec.interval_seconds for e in entries
                     if e.profile is not None and e.profile.spec.active_probes]
        if not intervals or self._probe_runner is None or self._stopping.is_set() or self.probing:
            return
        latest = self._probe_run
        if latest is not None and (self._clock() - latest.finished).total_seconds() < min(intervals):
            return
        self._probe_task = asyncio.get_running_loop().create_task(
            self._run_probes(self._probe_runner, inventory), name="kaico-active-probes")

    async def _run_probes(self, runner: ProbeRunner, inventory: ClusterInventory) -> None:
        """The probes in a worker thread (outside the pass lock), then a pass of the profiles
        that asked for them, judged with the new results."""
        logger.info("active probes: starting a run")
        # An executor future rather than ``asyncio.to_thread`` (a task): kopf cancels every task
        # when it stops, and a cancelled task would leave its thread running unobserved. ``stop``
        # waits on this future.
        self._probe_thread = asyncio.get_running_loop().run_in_executor(
            None, runner, inventory, self._stopping)
        try:
            results, problem = await asyncio.shield(self._probe_thread), None
        except Exception as error:  # noqa: BLE001 - a broken run is reported, never fatal
            logger.exception("active probes: the run failed")
            results, problem = (), str(error) or type(error).__name__
        if self._stopping.is_set():
            return  # cut short by the shutdown: nobody is left to read them
        self._probe_run = ProbeRun(results, self._clock(), problem)
        logger.info("active probes: the run ended (%d results)", len(results))
        await self.run([e for e in self._profiles()
                        if e.profile is not None and e.profile.spec.active_probes])

    async def stop(self, timeout: float = PROBE_STOP_SECONDS) -> None:
        """The operator is stopping: end a probe run early and wait while its probes delete
        what they created (their requests go through this event loop, so it must still run:
        call it from kopf's cleanup, before kopf cancels the tasks and the client closes)."""
        self._stopping.set()
        running = [f for f in (self._probe_thread, self._probe_task) if f is not None and not f.done()]
        if not running:
            return
        _, pending = await asyncio.wait(running, timeout=timeout)
        if pending:
            logger.warning("active probes: not cleaned up within %.0fs of stopping; delete the "
                           "namespaces labelled kaico.dev/probe=true", timeout)

    async def _ensure_report(self, entry: ProfileEntry, kubernetes_version: str | None) -> _Stored:
        """The report as stored: from memory, else created, else (it exists: a restart) read
        back and adopted. The spec follows the profile's kubernetesVersion."""
        spec = report_spec(entry.name, kubernetes_version)
        spec_digest = digest(spec)
        stored = self._stored.get(entry.name)
        client = self._client()
        if stored is None:
            # Read first: after a restart the report exists, and one GET settles it.
            existing = await client.get(report_path(entry.name), allowed=(404,))
            if existing.status == 404:
                if entry.name in self._wanted:
                    self._repaired(entry.name, MISSING)
                stored = await self._create(entry, kubernetes_version)
            else:
                stored = _Stored.from_body(existing.body)
            self._stored[entry.name] = stored
        if stored.spec_digest != spec_digest:
            await client.merge_patch(report_path(entry.name), {"spec": {**spec, "kubernetesVersion":
                                                                       kubernetes_version}})
            self._on_write("cluster-update")
            stored.spec_digest = spec_digest
        return stored

    async def _create(self, entry: ProfileEntry, kubernetes_version: str | None) -> _Stored:
        client = self._client()
        created = await client.create(
            report_path(), report_body(entry.name, entry.uid, kubernetes_version), allowed=(409,))
        if created.status == 409:  # created meanwhile (another replica): adopt it
            return _Stored.from_body((await client.get(report_path(entry.name))).body)
        self._on_write("cluster-create")
        return _Stored.from_body(created.body)

    def _repaired(self, name: str, reason: str) -> None:
        logger.info("repairing ClusterConformanceReport %s (%s)", name, reason)
        self._on_repair(reason)

    async def _write_status(self, name: str, stored: _Stored, status: dict[str, Any],
                            evaluation: ClusterEvaluation | None) -> bool:
        """Patch the status unless the stored report already holds this content; True when it
        wrote."""
        new_digest = digest(status)
        if stored.status_digest == new_digest:
            self._wanted[name] = new_digest
            return False
        if stored.status_digest is not None and self._wanted.get(name) == new_digest:
            self._repaired(name, EDITED)
        path = f"{report_path(name)}/status"
        response = await self._client().merge_patch(path, {"status": status}, allowed=(404,))
        if response.status == 404:
            # Gone although the watch still showed it (a watch gap, the CRD re-created).
            self._repaired(name, MISSING)
            entry = next((e for e in self._profiles() if e.name == name), None)
            if entry is None or entry.profile is None:
                return False
            fresh = await self._create(entry, entry.profile.spec.kubernetes_version)
            stored.uid = fresh.uid
            response = await self._client().merge_patch(path, {"status": status})
        self._on_write("cluster-update")
        self._in_flight.wrote(name, (response.body.get("metadata") or {}).get("resourceVersion"), None)
        self._wanted[name] = new_digest
        stored.status = {k: v for k, v in status.items() if v is not None}
        stored.status_digest = new_digest
        if evaluation is not None:
            stored.evaluation = evaluation
        return True

    async def _post_event(self, name: str, uid: str | None, kind: str, reason: str, message: str) -> None:
        now = timestamp(self._clock())
        involved = {"apiVersion": API_VERSION, "kind": KIND, "name": name, "uid": uid}
        event = event_body(involved, EVENT_NAMESPACE, reason, message, kind, self._instance, now)
        if await post_event(self._client(), event):
            self._on_write("cluster-event")

    # --- metrics ----------------------------------------------------------------------------------

    def requirement_samples(self) -> list[tuple[str, str, str, str]]:
        """(profile, requirement, level, status) of every current result."""
        return [
            (profile, r.id, r.level.value, r.status.value)
            for profile, evaluation in sorted(self.evaluations.items())
            for r in evaluation.results
        ]
