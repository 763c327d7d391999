"""A listing after a watch gap reports the deletions it implies (kaico.runtime.kopf_relist):
objects a watch stream showed and a later complete listing no longer holds get a DELETED event."""

from __future__ import annotations

import asyncio
from typing import Any

import kopf
from kaico.runtime import kopf_relist
from kaico.runtime.handlers import WorkloadHandlers
from kaico.workloads.indexes import FACTS, NAMESPACES, PROFILES, WAIVERS, WORKLOADS
from kopf._cogs.clients import watching

LISTED = watching.Bookmark.LISTED


def _object(name: str, version: str = "5", uid: str | None = None) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "ns", "uid": uid or f"uid-{name}", "resourceVersion": version},
            "spec": {"replicas": 1}}


def _stream(*parts: list[Any], cut_short: bool = False):
    """A fake ``continuous_watch``: each call plays the next part (a listing's objects, the
    LISTED bookmark, then watch events)."""
    calls = iter(parts)

    async def continuous_watch(**_: Any):
        for item in next(calls):
            yield item

    return continuous_watch


def _run(watch: Any, calls: int) -> list[list[Any]]:
    async def scenario() -> list[list[Any]]:
        return [[item async for item in watch(resource="deployments", namespace=None)] for _ in range(calls)]

    return asyncio.run(scenario())


def _deleted(items: list[Any]) -> list[tuple[str, str | None]]:
    return [(i["object"]["metadata"]["name"], i["object"]["metadata"].get("resourceVersion"))
            for i in items if isinstance(i, dict) and i["type"] == "DELETED"]


def test_a_relist_reports_what_the_gap_deleted_after_the_listing_and_nothing_else():
    first = [{"type": None, "object": _object("a")}, {"type": None, "object": _object("b")},
             {"type": None, "object": _object("c")}, LISTED,
             {"type": "ADDED", "object": _object("d", "6")},
             {"type": "MODIFIED", "object": _object("a", "7")},
             {"type": "DELETED", "object": _object("c", "8")}]
    # After the gap: a and d are gone, b is still there, e is new.
    second = [{"type": None, "object": _object("b")}, {"type": None, "object": _object("e", "9")}, LISTED]
    third = [{"type": None, "object": _object("b")}, {"type": None, "object": _object("e", "9")}, LISTED]
    watch = kopf_relist._reporting_deletions(_stream(first, second, third), LISTED)
    one, two, three = _run(watch, 3)
    assert _deleted(one) == [("c", "8")]  # only the real one, passed through
    # Each with the last resourceVersion seen; after the listing's own events and its bookmark.
    assert _deleted(two) == [("a", "7"), ("d", "6")]
    assert two.index(LISTED) < min(i for i, item in enumerate(two) if isinstance(item, dict)
                                   and item["type"] == "DELETED")
    made_up = [i["object"] for i in two if isinstance(i, dict) and i["type"] == "DELETED"]
    assert made_up[0] == {"apiVersion": "apps/v1", "kind": "Deployment",
                          "metadata": {"name": "a", "namespace": "ns", "uid": "uid-a", "resourceVersion": "7",
                                       "annotations": {kopf_relist.MADE_UP: "true"}}}
    assert _deleted(three) == []  # reported once


def test_an_object_created_again_under_its_name_reports_the_earlier_uid_deleted():
    first = [{"type": None, "object": _object("a", "5", uid="old")}, LISTED]
    second = [{"type": None, "object": _object("a", "9", uid="new")}, LISTED]
    _, two = _run(kopf_relist._reporting_deletions(_stream(first, second), LISTED), 2)
    gone = [i["object"]["metadata"] for i in two if isinstance(i, dict) and i["type"] == "DELETED"]
    assert [(m["name"], m["uid"]) for m in gone] == [("a", "old")]


def test_a_listing_cut_short_implies_no_deletion_and_keeps_what_it_showed():
    first = [{"type": None, "object": _object("a")}, {"type": None, "object": _object("b")}, LISTED]
    cut = [{"type": None, "object": _object("c")}]  # the connection broke: no LISTED
    third = [{"type": None, "object": _object("c")}, LISTED]
    one, two, three = _run(kopf_relist._reporting_deletions(_stream(first, cut, third), LISTED), 3)
    assert _deleted(two) == []
    assert _deleted(three) == [("a", "5"), ("b", "5")]  # c was kept from the cut listing


def test_streams_of_other_kinds_or_namespaces_do_not_prune_each_other():
    parts = {("deployments", None): [[{"type": None, "object": _object("a")}, LISTED], [LISTED]],
             ("services", None): [[LISTED], [LISTED]]}
    plays = {key: iter(value) for key, value in parts.items()}

    async def continuous_watch(resource: str, namespace: Any, **_: Any):
        for item in next(plays[(resource, namespace)]):
            yield item

    watch = kopf_relist._reporting_deletions(continuous_watch, LISTED)

    async def scenario() -> list[list[Any]]:
        order = [("deployments", None), ("services", None), ("services", None), ("deployments", None)]
        return [[i async for i in watch(resource=r, namespace=n)] for r, n in order]

    results = asyncio.run(scenario())
    assert [_deleted(r) for r in results] == [[], [], [], [("a", "5")]]


def test_streams_of_kinds_not_followed_pass_through_untouched():
    """kopf's own CRD observer reads a deleted CRD's spec (a made-up body has none: kopf stopped
    the operator on it); only the kinds kaico's handlers alone consume are followed."""
    first = [{"type": None, "object": _object("a")}, LISTED]
    watch = kopf_relist._reporting_deletions(_stream(first, [LISTED]), LISTED, lambda resource: False)
    assert [_deleted(r) for r in _run(watch, 2)] == [[], []]


def test_kaico_run_follows_its_own_kinds_and_never_crds_or_namespaces():
    from kaico.kube.resources import FACTS as FACT_KINDS
    from kaico.kube.resources import TARGETS
    from kaico.runtime.runner import Operator
    from kopf._cogs.structs.references import Resource

    Operator()  # nothing installed at construction
    kopf_relist.install((r.group, r.plural) for r in (*TARGETS, *FACT_KINDS))
    assert kopf_relist._follows(Resource("apps", "v1", "deployments"))
    assert kopf_relist._follows(Resource("", "v1", "nodes"))
    assert not kopf_relist._follows(Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions"))
    assert not kopf_relist._follows(Resource("", "v1", "namespaces"))
    assert not kopf_relist._follows(Resource("kopf.dev", "v1", "clusterkopfpeerings"))


def test_kopfs_watch_is_wrapped_once_and_called_by_name():
    assert kopf_relist.install(())
    wrapped = watching.continuous_watch
    assert kopf_relist.install(())
    assert watching.continuous_watch is wrapped and wrapped.__qualname__.startswith("_reporting_deletions")
    # infinite_watch looks continuous_watch up by its module-level name at every call.
    assert "continuous_watch" in watching.infinite_watch.__code__.co_names


def test_a_made_up_deletion_of_an_earlier_object_reevaluates_its_successor():
    """The relist lists the new object first, then reports the earlier uid deleted: the target
    under the name is the new one, so its report is not deleted but written for it."""
    calls: list[Any] = []

    class Controller:
        def remember(self, indexes):
            return indexes

        def schedule(self, indexes, keys):
            calls.append(("schedule", list(keys)))

        async def workload_deleted(self, key, group, indexes):
            calls.append(("deleted", key))

    class Workload:
        uid = "new"

    kwargs = {WORKLOADS: {("workload", "Deployment", "ns", "a"): [Workload()]}, FACTS: {}, PROFILES: {},
              NAMESPACES: {}, WAIVERS: {}}
    handlers = WorkloadHandlers(Controller(), None)
    old = kopf.Body(_object("a", uid="old"))
    asyncio.run(handlers.on_target(event={"type": "DELETED"}, body=old, **kwargs))
    assert calls == [("schedule", [("Deployment", "ns", "a")])]
    calls.clear()
    asyncio.run(handlers.on_target(event={"type": "DELETED"}, body=kopf.Body(_object("a", uid="new")),
                                   **{**kwargs, WORKLOADS: {}}))
    assert calls == [("deleted", ("Deployment", "ns", "a"))]


def test_the_index_view_takes_the_target_indexed_last_under_a_name():
    """Until the relist's made-up deletion of the earlier object arrives, kopf's store holds both;
    the successor (indexed last) is the target."""
    from kaico.workloads.indexes import Indexes

    class Workload:
        def __init__(self, uid: str):
            self.uid = uid

    store = {("workload", "Deployment", "ns", "a"): [Workload("old"), Workload("new")]}
    indexes = Indexes(store, {}, {}, {}, {}, {})
    found = indexes.workload(("Deployment", "ns", "a"))
    assert found is not None and found.uid == "new"
    assert indexes.workload(("Deployment", "ns", "b")) is None
