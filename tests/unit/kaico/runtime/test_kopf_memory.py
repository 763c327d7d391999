"""What kopf keeps of each watched object: no managedFields, no per-object memory between events."""

from __future__ import annotations

import asyncio
import copy
import json

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


def _report(status: dict | None) -> dict:
    body = {"apiVersion": "kaico.dev/v1alpha1", "kind": "ConformanceReport",
            "metadata": {"name": "deployment-llm-default", "namespace": "ns", "resourceVersion": "9",
                         "managedFields": [{"manager": "kaico", "fieldsV1": {"f:status": {}}}]},
            "spec": {"profile": "default", "targetRef": {"kind": "Deployment", "name": "llm", "uid": "u1"}}}
    if status is not None:
        body["status"] = status
    return body


STATUS = {
    "conformant": False,
    "summary": {"passed": 3, "failed": 1},
    "checks": [{"id": "gpu-requests", "result": "fail", "message": "no limit " * 40, "extra": None}],
    "conditions": [
        {"type": "Evaluated", "status": "True", "reason": "Evaluated", "message": "ok"},
        {"type": "Conformant", "status": "False", "reason": "ChecksFailed", "message": "1 failed",
         "lastTransitionTime": "2026-11-29T04:00:00Z"},
    ],
}


def test_a_watched_report_keeps_what_its_stored_copy_needs():
    from kaico.workloads.indexes import DigestedStatus, StoredReport, compact_report

    kopf_memory.install({("kaico.dev", "ConformanceReport"): compact_report})
    for status in (STATUS, {"conformant": True}, None):
        whole = StoredReport.from_body(_report(copy.deepcopy(status)))
        watched = kopf_memory.slim(_report(copy.deepcopy(status)))
        assert "managedFields" not in watched["metadata"]
        # The same digest, conformance and condition as the whole status gives.
        assert StoredReport.from_body(watched) == whole
        if status:
            assert isinstance(watched["status"], DigestedStatus)
            assert "checks" not in watched["status"]
    assert len(json.dumps(kopf_memory.slim(_report(copy.deepcopy(STATUS)))["status"])) < len(json.dumps(STATUS)) / 2
    # A status read from the API is a plain dict: digested whole, whatever keys it holds.
    forged = StoredReport.from_body(_report({**STATUS, "digest": "0" * 64}))
    assert forged.digest not in (None, "0" * 64, StoredReport.from_body(_report(STATUS)).digest)
    # A ClusterConformanceReport (another kind) keeps its whole status.
    cluster = kopf_memory.slim({"apiVersion": "kaico.dev/v1alpha1", "kind": "ClusterConformanceReport",
                                "metadata": {"name": "default"}, "status": copy.deepcopy(STATUS)})
    assert cluster["status"] == STATUS and not isinstance(cluster["status"], DigestedStatus)


def test_kaico_registers_nothing_that_needs_kopf_to_remember_an_object():
    # ObjectMemories keeps no ResourceMemory between events: right only while kaico registers
    # no change handlers (their last-seen state), daemons or timers, nor kopf admission webhooks.
    from kaico.runtime.runner import Operator

    registry = Operator(policy_reports=True).registry
    assert registry._watching.get_all_handlers() and registry._indexing.get_all_handlers()
    assert registry._changing.get_all_handlers() == []
    assert registry._spawning.get_all_handlers() == []
    assert registry._webhooks.get_all_handlers() == []
