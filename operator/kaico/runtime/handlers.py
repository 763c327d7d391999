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
from typing import Any

import kopf

from conformance.adapters import adapt_object
from conformance.profile import ProfileError, parse_profile
from kaico.cluster.controller import CLUSTER_WATCHES, ClusterReports, ClusterWatch, fact_of
from kaico.cluster.controller import PLURAL as CLUSTER_REPORT_PLURAL
from kaico.kube.resources import FACTS as FACT_RESOURCES
from kaico.kube.resources import PROFILES as PROFILE_RESOURCE
from kaico.kube.resources import REPORTS as REPORT_RESOURCE
from kaico.kube.resources import TARGETS
from kaico.state import ProfileEntry
from kaico.workloads.affected import workload_key
from kaico.workloads.controller import (
    FACTS,
    NAMESPACES,
    PROFILES,
    REPORTS,
    WORKLOADS,
    Controller,
    Indexes,
    adaptation_parameters,
)
from kaico.workloads.object_facts import facts_of
from kaico.workloads.writer import StoredReport

logger = logging.getLogger("kaico.runtime.handlers")

# How often the periodic loop wakes; each profile's own intervalSeconds decides when it re-runs
# (a short tick keeps a pass within a second of its due time; a tick that is not due costs no
# API call).
TIMER_TICK_SECONDS = 1.0


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


def register(registry: kopf.OperatorRegistry, controller: Controller,
             cluster: ClusterReports | None = None) -> None:
    """Register every handler on ``registry`` (the cluster-report ones when ``cluster`` is given)."""

    # --- indexes: extracted values only, never whole bodies ------------------------------------
    # Coroutines although they never await: kopf runs plain functions in a thread pool, a hop
    # per watch event that these few microseconds of pure work do not need.

    async def index_workload(body: kopf.Body, **kwargs: Any) -> dict[Any, Any]:
        entries = [e for store in kwargs[PROFILES].values() for e in store]
        workload = adapt_object(_plain(body), adaptation_parameters(entries))
        if workload is None:
            return {}
        kind, namespace, name = workload_key(workload)
        return {("workload", kind, namespace, name): workload, ("namespace", namespace): workload}

    async def index_facts(body: kopf.Body, **_: Any) -> dict[Any, Any]:
        facts, warnings = facts_of(_plain(body))
        for warning in warnings:
            logger.warning("%s", warning)
        return {body.metadata.uid: facts} if facts is not None else {}

    async def index_profile(body: kopf.Body, **_: Any) -> dict[Any, Any]:
        return {body.metadata.name: profile_entry(_plain(body))}

    async def index_namespace(body: kopf.Body, **_: Any) -> dict[Any, Any]:
        return {body.metadata.name: dict(body.metadata.labels or {})}

    async def index_report(body: kopf.Body, **_: Any) -> dict[Any, Any]:
        stored = StoredReport.from_body(_plain(body))
        return {(stored.namespace, stored.name): stored}

    for resource in TARGETS:
        kopf.index(**resource.selector(), id=WORKLOADS, registry=registry)(index_workload)
    for resource in FACT_RESOURCES:
        kopf.index(**resource.selector(), id=FACTS, registry=registry)(index_facts)
    kopf.index(**PROFILE_RESOURCE.selector(), id=PROFILES, registry=registry)(index_profile)
    kopf.index(group="", version="v1", plural="namespaces", id=NAMESPACES, registry=registry)(index_namespace)
    kopf.index(**REPORT_RESOURCE.selector(), id=REPORTS, registry=registry)(index_report)

    # --- events ----------------------------------------------------------------------------------

    async def on_target(event: kopf.RawEvent, body: kopf.Body, **kwargs: Any) -> None:
        indexes = controller.remember(Indexes.from_kwargs(kwargs))
        key = _key(body)
        if event["type"] == "DELETED":
            controller.workload_deleted(key, _group(body), indexes)
            return
        workload = indexes.workload(key)
        if workload is None:
            await controller.not_a_target(key, _group(body), indexes)
        else:
            await controller.evaluate_workload(workload, indexes)

    async def on_fact(event: kopf.RawEvent, body: kopf.Body, **kwargs: Any) -> None:
        indexes = controller.remember(Indexes.from_kwargs(kwargs))
        uid = body.metadata.uid
        store = None if event["type"] == "DELETED" else indexes.facts.get(uid)
        controller.fact_changed(uid, next(iter(store), None) if store else None, indexes,
                                listing=event["type"] is None)

    async def on_namespace(event: kopf.RawEvent, body: kopf.Body, **kwargs: Any) -> None:
        indexes = controller.remember(Indexes.from_kwargs(kwargs))
        if any(e.profile and e.profile.spec.targets.namespace_selector
               for e in indexes.profile_entries()):
            name = body.metadata.name
            controller.schedule(indexes, [workload_key(w) for w in indexes.workloads.get(("namespace", name), ())])

    async def on_crd(event: kopf.RawEvent, body: kopf.Body, **kwargs: Any) -> None:
        if await controller.served.update_from_crd(_plain(body), deleted=event["type"] == "DELETED"):
            controller.served_changed(controller.remember(Indexes.from_kwargs(kwargs)))

    async def on_report(event: kopf.RawEvent, body: kopf.Body, **kwargs: Any) -> None:
        if event["type"] != "DELETED":
            return
        # Deleted by someone (or by garbage collection with its target): forget it, and let the
        # target, if it still exists, have its report back.
        indexes = controller.remember(Indexes.from_kwargs(kwargs))
        controller.writer.forget(body.metadata.namespace or "", body.metadata.name or "")
        target = (body.get("spec") or {}).get("targetRef") or {}
        key = (str(target.get("kind")), body.metadata.namespace or "default", str(target.get("name")))
        controller.schedule(indexes, [key])

    # The last status seen on each profile, so the periodic pass compares against what is
    # stored and writes nothing when it is unchanged.
    profile_statuses: dict[str, dict[str, Any] | None] = {}

    async def on_profile(event: kopf.RawEvent, body: kopf.Body, **kwargs: Any) -> None:
        indexes = controller.remember(Indexes.from_kwargs(kwargs))
        profile_statuses[body.metadata.name or ""] = dict(body.get("status") or {}) or None
        if event["type"] == "DELETED":
            profile_statuses.pop(body.metadata.name or "", None)
            controller.profile_deleted(body.metadata.name or "")
            await controller.delete_profile_reports(body.metadata.name or "", indexes)
            if cluster is not None:
                cluster.profile_deleted(body.metadata.name or "")
            return
        entry = indexes.profile(body.metadata.name or "")
        if entry is not None:
            await controller.profile_changed(entry, dict(body.get("status") or {}) or None, indexes)
            if cluster is not None:
                await cluster.profile_changed(entry)

    async def tick_profiles() -> None:
        """Every TIMER_TICK_SECONDS, give each profile its periodic pass (its own
        intervalSeconds decides whether a tick re-evaluates) and publish its status."""
        while True:
            await asyncio.sleep(TIMER_TICK_SECONDS)
            indexes = controller.live_indexes()
            if indexes is None:
                continue  # no event handled yet: the indexes are not available
            for entry in controller.current_profiles():
                if entry.name not in profile_statuses:
                    # Its event has not been handled yet: without the stored status to compare
                    # with, publishing would rewrite a status that may already be right.
                    continue
                try:
                    await controller.profile_tick(entry, profile_statuses.get(entry.name), indexes)
                    if cluster is not None:
                        await cluster.profile_tick(entry)
                except asyncio.CancelledError:
                    raise
                except Exception:  # one profile's failure must not stop the others' passes
                    logger.exception("the periodic pass of profile %s failed", entry.name)

    for resource in TARGETS:
        kopf.on.event(**resource.selector(), id="kaico_target", registry=registry)(on_target)
    for resource in FACT_RESOURCES:
        kopf.on.event(**resource.selector(), id="kaico_fact", registry=registry)(on_fact)
    kopf.on.event(group="", version="v1", plural="namespaces", id="kaico_namespace",
                  registry=registry)(on_namespace)
    kopf.on.event(group="apiextensions.k8s.io", version="v1", plural="customresourcedefinitions",
                  id="kaico_crd", registry=registry)(on_crd)
    kopf.on.event(**REPORT_RESOURCE.selector(), id="kaico_report", registry=registry)(on_report)
    kopf.on.event(**PROFILE_RESOURCE.selector(), id="kaico_profile", registry=registry)(on_profile)
    # The periodic pass runs from kaico's own loop, not kopf.timer: a kopf timer puts a finalizer
    # on every profile, which then blocks deleting a profile (and `helm uninstall`, which removes
    # the operator before custom objects) whenever the operator is not running.
    ticker: list[asyncio.Task[None]] = []

    async def start_ticker(**_: Any) -> None:
        ticker.append(asyncio.create_task(tick_profiles(), name="kaico-profile-interval"))

    async def stop_ticker(**_: Any) -> None:
        for task in ticker:
            task.cancel()

    kopf.on.startup(id="kaico_profile_interval_start", registry=registry)(start_ticker)
    kopf.on.cleanup(id="kaico_profile_interval_stop", registry=registry)(stop_ticker)

    if cluster is not None:
        _register_cluster(registry, cluster)


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

    kopf.on.event(group="kaico.dev", version="v1alpha1", plural=CLUSTER_REPORT_PLURAL,
                  id="kaico_cluster_report", registry=registry)(on_cluster_report)

    async def stop_probes(**_: Any) -> None:
        # kopf's cleanup runs before it cancels the tasks it did not start, while the client is
        # open: a probe run in flight still deletes its namespaces through it.
        await cluster.stop()

    kopf.on.cleanup(id="kaico_cluster_probes_stop", registry=registry)(stop_probes)
