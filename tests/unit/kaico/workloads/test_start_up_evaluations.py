"""How many evaluations a start and a burst of fact changes cost (complexity, never time).

A start lists every target, every fact object and every profile at once; a taint added to every
GPU node arrives as one Node event per node. The controller must evaluate each workload once per
profile for such a burst, not once per fact object or per event (at 5,000 workloads and 200 nodes
that was the difference between seconds and minutes).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

import pytest
from kaico.kube.resources import FACTS
from kaico.runtime.handlers import profile_entry
from kaico.state import Results
from kaico.workloads import controller as controller_module
from kaico.workloads.affected import workload_key
from kaico.workloads.controller import Controller
from kaico.workloads.indexes import Indexes
from kaico.workloads.object_facts import facts_of

from conformance.adapters import adapt_object
from conformance.parameters import Parameters

WORKLOADS = 120
NODES = 40
NAMESPACES = 6


def deployment(index: int) -> dict:
    name = f"llm-{index}"
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": f"ns-{index % NAMESPACES}", "uid": f"uid-{index}",
                     "generation": 1, "labels": {"app": name}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}}, "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": "vllm", "image": "vllm/vllm-openai:v0.11.0",
                                     "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}}},
    }


def node(index: int, taints: list[dict]) -> dict:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": f"gpu-{index}", "uid": f"node-{index}", "labels": {"nvidia.com/gpu.present": "true"}},
            "spec": {"taints": taints},
            "status": {"allocatable": {"nvidia.com/gpu": "8"}, "capacity": {"nvidia.com/gpu": "8"}}}


def service(index: int) -> dict:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": f"llm-{index}", "namespace": f"ns-{index % NAMESPACES}", "uid": f"svc-{index}"},
            "spec": {"selector": {"app": f"llm-{index}"}, "ports": [{"name": "http", "port": 80}]}}


class Metrics:
    def __init__(self) -> None:
        self.evaluations: Counter[str] = Counter()

    def evaluated(self, profile: str) -> None:
        self.evaluations[profile] += 1

    def evaluation_failed(self, profile: str) -> None:
        raise AssertionError(f"an evaluation under {profile} failed")

    def evaluation_took(self, seconds: float) -> None:
        pass


class Writer:
    def __init__(self) -> None:
        self.reports: Counter[str] = Counter()

    async def write(self, workload, profile, report, stored) -> bool:
        await asyncio.sleep(0)  # a write yields to the loop, as a request does
        self.reports[workload.name] += 1
        return True

    def stored_profile_status(self, name, watched, watched_version):
        return watched

    async def write_profile_status(self, name, status, stored) -> bool:
        return False

    async def delete(self, namespace, name) -> None:
        raise AssertionError(f"nothing is stale here, yet {namespace}/{name} was deleted")

    def forget(self, namespace, name) -> None:
        pass


class Served:
    resources = {r.key for r in FACTS}

    async def ensure_discovered(self) -> None:
        pass


def indexes_for(profiles: list[str]) -> tuple[Indexes, dict]:
    workloads: dict = {}
    for i in range(WORKLOADS):
        workload = adapt_object(deployment(i), Parameters())
        assert workload is not None
        workloads[("workload", *workload_key(workload))] = [workload]
    facts: dict = {}
    entries = {name: [profile_entry({"apiVersion": "kaico.dev/v1alpha1", "kind": "ConformanceProfile",
                                     "metadata": {"name": name, "uid": name, "generation": 1},
                                     "spec": {"includeAllChecks": True}})] for name in profiles}
    return Indexes(workloads, facts, entries, {}, {}, {}), facts


@pytest.fixture(autouse=True)
def short_coalescing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(controller_module, "COALESCE_SECONDS", 0.05)
    monkeypatch.setattr(controller_module, "COALESCE_MAX_SECONDS", 1.0)


async def settle(controller: Controller) -> None:
    while controller._flush_task is not None and not controller._flush_task.done():
        await controller._flush_task


@pytest.mark.parametrize("profiles", [["default"], ["default", "strict"]])
def test_a_start_evaluates_each_workload_once_per_profile_whatever_the_fact_objects(profiles):
    async def scenario() -> None:
        metrics, writer = Metrics(), Writer()
        controller = Controller(writer, Results(), metrics, Served(), lambda: datetime.now(UTC))
        indexes, facts = indexes_for(profiles)
        objects = [node(i, [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}]) for i in range(NODES)]
        objects += [service(i) for i in range(WORKLOADS)]
        for body in objects:  # kopf fills every index before any event handler runs
            facts[body["metadata"]["uid"]] = [facts_of(body)[0]]
        # The listing: every target, every fact object, then the profiles' own events, with
        # repeated Node events (kubelet heartbeats) in between.
        for key in list(indexes.workloads):
            controller.schedule_listed(indexes, key[1:])
        for body in objects:
            controller.fact_changed(body["metadata"]["uid"], facts_of(body)[0], indexes, listing=True)
        for body in objects[:NODES]:
            controller.fact_changed(body["metadata"]["uid"], facts_of(body)[0], indexes)
        for name in profiles:
            await controller.profile_changed(indexes.profile(name), None, indexes)
        await settle(controller)
        assert sum(metrics.evaluations.values()) <= WORKLOADS * len(profiles)
        # ... and nobody was left out.
        assert metrics.evaluations == {name: WORKLOADS for name in profiles}
        assert set(writer.reports.values()) == {len(profiles)}

    asyncio.run(scenario())


def test_a_taint_on_every_node_evaluates_each_workload_once_not_once_per_node():
    async def scenario() -> None:
        metrics, writer = Metrics(), Writer()
        controller = Controller(writer, Results(), metrics, Served(), lambda: datetime.now(UTC))
        indexes, facts = indexes_for(["default"])
        gpu_taint = {"key": "nvidia.com/gpu", "effect": "NoSchedule"}
        for i in range(NODES):
            facts[f"node-{i}"] = [facts_of(node(i, [gpu_taint]))[0]]
            controller.fact_changed(f"node-{i}", facts[f"node-{i}"][0], indexes, listing=True)
        await controller.profile_changed(indexes.profile("default"), None, indexes)
        await settle(controller)
        before = metrics.evaluations["default"]
        assert before == WORKLOADS
        # One Node event per node, as `kubectl taint` on every node sends them.
        for i in range(NODES):
            tainted = facts_of(node(i, [gpu_taint, {"key": "maintenance", "effect": "NoSchedule"}]))[0]
            facts[f"node-{i}"] = [tainted]
            controller.fact_changed(f"node-{i}", tainted, indexes)
            await asyncio.sleep(0.001)
        await settle(controller)
        assert metrics.evaluations["default"] - before == WORKLOADS

    asyncio.run(scenario())


def test_a_report_deleted_by_someone_is_evaluated_again_although_nothing_else_changed():
    async def scenario() -> None:
        metrics, writer = Metrics(), Writer()
        controller = Controller(writer, Results(), metrics, Served(), lambda: datetime.now(UTC))
        indexes, _ = indexes_for(["default"])
        await controller.profile_changed(indexes.profile("default"), None, indexes)
        await settle(controller)
        key = next(iter(indexes.workloads))[1:]
        controller.schedule(indexes, [key])
        await settle(controller)
        assert metrics.evaluations["default"] == WORKLOADS + 1

    asyncio.run(scenario())


def test_a_target_created_while_its_profile_pass_runs_keeps_its_report():
    """The profile's pass lists the targets when it starts; a target created meanwhile gets its
    report from its own event, and the pass's clean-up must not take it as stale (it did: the
    kind e2e lost every report of a namespace applied together with a new profile)."""
    from kaico.workloads.controller import report_name
    from kaico.workloads.indexes import StoredReport

    async def scenario() -> None:
        metrics, writer = Metrics(), Writer()
        controller = Controller(writer, Results(), metrics, Served(), lambda: datetime.now(UTC))
        indexes, _ = indexes_for(["default"])
        late = adapt_object(deployment(WORKLOADS), Parameters())
        assert late is not None
        name = report_name(late.kind, late.name, "default", late.api_group)
        first_write = writer.write

        async def write_and_meanwhile_create_the_late_target(workload, profile, report, stored):
            key = ("workload", *workload_key(late))
            if key not in indexes.workloads:
                # Its Deployment event: indexed, evaluated on its own, its report stored.
                indexes.workloads[key] = [late]
                await controller.evaluate_workload(late, indexes)
                indexes.reports[(late.namespace, name)] = StoredReport(
                    namespace=late.namespace, name=name, target_uid=late.uid, profile="default",
                    digest="d", conformant=False, condition_status=None,
                    target_kind=late.kind, target_name=late.name)
            return await first_write(workload, profile, report, stored)

        writer.write = write_and_meanwhile_create_the_late_target
        await controller.run_profile(indexes.profile("default"), indexes, periodic=False)
        assert writer.reports[late.name] == 1  # Writer.delete raises if the pass deleted it

    asyncio.run(scenario())
