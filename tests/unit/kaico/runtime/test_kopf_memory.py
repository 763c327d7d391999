"""What kopf keeps of each watched object: no managedFields, no per-object memory between events."""

from __future__ import annotations

import asyncio

from kaico.runtime import kopf_memory
from kopf._cogs.clients import fetching, watching


def _object(name: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}", "resourceVersion": "7",
                         "labels": {"app": name},
                         "managedFields": [{"manager": "kubectl", "operation": "Update",
                                            "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}}}]},
            "spec": {"replicas": 1}, "status": {"replicas": 1}}


def test_kopf_listing_and_watching_are_patched_once():
    assert kopf_memory.install()
    listing, watch = fetching.fetch_objs, watching.watch_objs
    assert kopf_memory.install()
    assert (fetching.fetch_objs, watching.watch_objs) == (listing, watch)  # not wrapped twice
    assert listing.__qualname__.startswith("_slim_listing")
    assert watch.__qualname__.startswith("_slim_watch")


def test_listed_and_watched_objects_lose_only_their_managed_fields():
    async def listed(*_, **__):
        yield [_object("a"), _object("b")], "10"
        yield [_object("c")], "11"

    async def watched(*_, **__):
        yield {"type": "MODIFIED", "object": _object("a")}
        yield {"type": "BOOKMARK", "object": {"kind": "Deployment", "metadata": {"resourceVersion": "12"}}}
        yield {"type": "ERROR", "object": {"kind": "Status", "code": 410}}

    async def scenario() -> tuple[list, list]:
        chunks = [(chunk, version) async for chunk, version in kopf_memory._slim_listing(listed)()]
        events = [event async for event in kopf_memory._slim_watch(watched)()]
        return chunks, events

    chunks, events = asyncio.run(scenario())
    assert [version for _, version in chunks] == ["10", "11"]
    objects = [obj for chunk, _ in chunks for obj in chunk] + [events[0]["object"]]
    assert [o["metadata"]["name"] for o in objects] == ["a", "b", "c", "a"]
    for obj in objects:
        expected = _object(obj["metadata"]["name"])
        del expected["metadata"]["managedFields"]
        assert obj == expected
    assert events[1]["object"] == {"kind": "Deployment", "metadata": {"resourceVersion": "12"}}
    assert events[2]["object"] == {"kind": "Status", "code": 410}


def test_object_memories_keep_nothing_between_events():
    memories = kopf_memory.memories()
    assert memories is not None

    async def scenario() -> tuple[object, object]:
        first = await memories.recall(_object("a"), noticed_by_listing=True)
        second = await memories.recall(_object("a"))
        await memories.forget(_object("a"))
        return first, second

    first, second = asyncio.run(scenario())
    assert first is not second
    assert first.noticed_by_listing and not second.noticed_by_listing
    assert list(memories.iter_all_memories()) == []


def _report(name: str, version: str) -> dict:
    return {"apiVersion": "kaico.dev/v1alpha1", "kind": "ConformanceReport",
            "metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}", "resourceVersion": version},
            "spec": {"profile": "default", "targetRef": {"kind": "Deployment", "name": name, "uid": "u1"}},
            "status": {"conformant": True, "results": [{"check": "x", "message": "m" * 400}]}}


class Mirror:
    def __init__(self):
        self.calls: list[tuple] = []

    def listing_started(self, namespace):
        self.calls.append(("started", namespace))

    def listed(self, namespace, body):
        self.calls.append(("listed", namespace, body["metadata"]["name"]))

    def listing_done(self, namespace, version):
        self.calls.append(("done", namespace, version))

    def listing_abandoned(self, namespace):
        self.calls.append(("abandoned", namespace))

    def event(self, event_type, body):
        self.calls.append((event_type, body["metadata"]["name"]))


def test_kopf_lists_and_watches_a_mirrored_kind_but_keeps_none_of_its_objects():
    """Through kopf's own continuous_watch: the mirror gets every report, kopf gets empty pages
    and BOOKMARKs, and its next watch resumes from the last report event's resourceVersion."""
    from kopf._cogs.configs.configuration import OperatorSettings
    from kopf._cogs.structs.references import Resource

    assert kopf_memory.install()
    mirror = Mirror()
    kopf_memory.install({("kaico.dev", "conformancereports"): mirror})
    resource = Resource("kaico.dev", "v1alpha1", "conformancereports", namespaced=True)
    watches: list[str | None] = []

    async def listed(**_):
        yield [_report("a", "5"), _report("b", "6")], "10"
        yield [_report("c", "7")], "10"

    async def watched(*, since=None, **_):
        watches.append(since)
        if len(watches) == 1:
            yield {"type": "ADDED", "object": _report("d", "11")}
            yield {"type": "DELETED", "object": _report("a", "12")}
        else:
            yield {"type": "ERROR", "object": {"kind": "Status", "code": 410}}

    async def scenario() -> list:
        original = (fetching.fetch_objs, watching.watch_objs)
        fetching.fetch_objs = kopf_memory._slim_listing(listed)
        watching.watch_objs = kopf_memory._slim_watch(watched)
        try:
            return [event async for event in watching.continuous_watch(
                settings=OperatorSettings(), resource=resource, namespace="ns",
                operator_pause_waiter=asyncio.Future())]
        finally:
            fetching.fetch_objs, watching.watch_objs = original

    events = asyncio.run(scenario())
    assert mirror.calls == [("started", "ns"), ("listed", "ns", "a"), ("listed", "ns", "b"),
                            ("listed", "ns", "c"), ("done", "ns", "10"), ("ADDED", "d"), ("DELETED", "a")]
    assert events == [watching.Bookmark.LISTED,
                      {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "11"}}},
                      {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "12"}}}]
    assert watches == ["10", "12"]  # then the 410 ends the stream: kopf lists again


def test_a_listing_that_fails_half_way_takes_nothing_for_gone():
    mirror = Mirror()
    kopf_memory.install({("kaico.dev", "conformancereports"): mirror})

    async def listed(**_):
        yield [_report("a", "5")], "10"
        raise ConnectionError("reset")

    async def scenario() -> None:
        resource = type("Resource", (), {"group": "kaico.dev", "plural": "conformancereports"})()
        async for chunk, _ in kopf_memory._slim_listing(listed)(resource=resource, namespace=None):
            assert chunk == []

    try:
        asyncio.run(scenario())
    except ConnectionError:
        pass
    assert mirror.calls == [("started", None), ("listed", None, "a"), ("abandoned", None)]


def test_kaico_registers_nothing_that_needs_kopf_to_remember_an_object():
    # ObjectMemories keeps no ResourceMemory between events: right only while kaico registers
    # no change handlers (their last-seen state), daemons or timers, nor kopf admission webhooks.
    from kaico.runtime.runner import Operator

    registry = Operator(policy_reports=True).registry
    assert registry._watching.get_all_handlers() and registry._indexing.get_all_handlers()
    assert registry._changing.get_all_handlers() == []
    assert registry._spawning.get_all_handlers() == []
    assert registry._webhooks.get_all_handlers() == []
