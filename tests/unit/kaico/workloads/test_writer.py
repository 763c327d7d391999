"""The writer writes only on change, posts Events on transitions, and adopts existing reports."""

import asyncio
from datetime import UTC, datetime
from typing import Any

from kaico.kube.client import Response
from kaico.state import ProfileEntry
from kaico.workloads.indexes import StoredReport
from kaico.workloads.status import report_name
from kaico.workloads.writer import ReportWriter

from conformance.findings import Finding, Result, Severity
from conformance.report import Report, TargetRef
from conformance.workload import ServingWorkload

NOW = datetime(2026, 6, 1, tzinfo=UTC)
WORKLOAD = ServingWorkload("apps/v1", "Deployment", "llm", "ml", uid="uid-1", generation=1)
PROFILE = ProfileEntry("default", "profile-uid", 1, None, None)
NAME = report_name("Deployment", "llm", "default", "apps")


class FakeClient:
    """Records requests; the store holds created reports by path."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any]] = []
        self.store: dict[str, dict[str, Any]] = {}

    async def create(self, path: str, body: dict[str, Any], allowed=()) -> Response:
        self.requests.append(("POST", path, body))
        if body.get("kind") == "ConformanceReport":
            key = f"{path}/{body['metadata']['name']}"
            if key in self.store:
                return Response(409, {})
            self.store[key] = body
        return Response(201, body)

    async def get(self, path: str, allowed=()) -> Response:
        self.requests.append(("GET", path, None))
        return Response(200, self.store[path]) if path in self.store else Response(404, {})

    async def merge_patch(self, path: str, body: dict[str, Any], allowed=()) -> Response:
        self.requests.append(("PATCH", path, body))
        return Response(200, {})

    async def delete(self, path: str, body=None) -> Response:
        self.requests.append(("DELETE", path, body))
        self.store.pop(path, None)
        return Response(200, {})

    def verbs(self) -> list[str]:
        return [f"{verb} {'event' if path.endswith('/events') else path.rsplit('/', 1)[-1]}"
                for verb, path, _ in self.requests]


def report(*results: Result) -> Report:
    findings = tuple(Finding(f"c{i}", "gpu", r, Severity.HIGH, "m") for i, r in enumerate(results))
    return Report(TargetRef("apps/v1", "Deployment", "ml", "llm", "uid-1"), "default", findings,
                  observed_generation=1)


def writer(client: FakeClient) -> tuple[ReportWriter, list[str]]:
    writes: list[str] = []
    return ReportWriter(lambda: client, lambda: NOW, writes.append), writes


def run(coroutine):
    return asyncio.run(coroutine)


def test_first_write_creates_the_report_then_its_status_and_warns_when_not_conformant():
    client = FakeClient()
    w, writes = writer(client)
    assert run(w.write(WORKLOAD, PROFILE, report(Result.FAIL), None)) is True
    assert client.verbs() == ["POST conformancereports", "PATCH status", "POST event"]
    event = client.requests[-1][2]
    assert event["reason"] == "NonConformant" and event["type"] == "Warning"
    assert event["involvedObject"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "llm",
                                       "namespace": "ml", "uid": "uid-1"}
    assert writes == ["create", "update", "event"]


def test_the_same_results_again_cause_no_request_at_all():
    client = FakeClient()
    w, _ = writer(client)

    async def twice():
        await w.write(WORKLOAD, PROFILE, report(Result.PASS), None)
        client.requests.clear()
        return await w.write(WORKLOAD, PROFILE, report(Result.PASS), None)

    assert run(twice()) is False
    assert client.requests == []


def test_after_a_restart_the_stored_report_is_compared_and_nothing_is_rewritten():
    client = FakeClient()
    first, _ = writer(client)

    async def scenario():
        await first.write(WORKLOAD, PROFILE, report(Result.PASS), None)
        status = client.requests[1][2]["status"]
        stored = StoredReport.from_body({
            "metadata": {"namespace": "ml", "name": NAME},
            "spec": {"targetRef": {"uid": "uid-1"}, "profile": "default"},
            "status": status,
        })
        restarted, _ = writer(client)
        client.requests.clear()
        return await restarted.write(WORKLOAD, PROFILE, report(Result.PASS), stored)

    assert run(scenario()) is False
    assert client.requests == []


def test_turning_conformant_again_posts_a_normal_event_and_one_status_patch():
    client = FakeClient()
    w, _ = writer(client)

    async def scenario():
        await w.write(WORKLOAD, PROFILE, report(Result.FAIL), None)
        client.requests.clear()
        await w.write(WORKLOAD, PROFILE, report(Result.PASS), None)

    run(scenario())
    assert client.verbs() == ["PATCH status", "POST event"]
    assert client.requests[-1][2]["reason"] == "Conformant"


def test_an_initially_conformant_target_gets_no_event():
    client = FakeClient()
    w, _ = writer(client)
    run(w.write(WORKLOAD, PROFILE, report(Result.PASS), None))
    assert "POST event" not in client.verbs()


def test_a_report_left_by_an_earlier_object_of_the_same_name_is_replaced():
    client = FakeClient()
    path = f"/apis/kaico.dev/v1alpha1/namespaces/ml/conformancereports/{NAME}"
    client.store[path] = {"metadata": {"name": NAME, "namespace": "ml", "uid": "old-report"},
                          "spec": {"targetRef": {"uid": "old-uid"}, "profile": "default"}}
    w, _ = writer(client)
    run(w.write(WORKLOAD, PROFILE, report(Result.PASS), None))
    assert client.verbs()[:4] == ["POST conformancereports", f"GET {NAME}", f"DELETE {NAME}",
                                  "POST conformancereports"]
    assert client.requests[2][2] == {"preconditions": {"uid": "old-report"}}


def test_profile_status_is_patched_only_when_it_differs():
    client = FakeClient()
    w, _ = writer(client)
    status = {"conformant": 1, "conditions": []}

    async def scenario():
        assert await w.write_profile_status("default", status, None) is True
        assert await w.write_profile_status("default", status, None) is False
        fresh, _ = writer(client)
        assert await fresh.write_profile_status("default", status, dict(status)) is False

    run(scenario())
    assert client.verbs() == ["PATCH status"]


def test_a_report_found_under_its_name_for_the_same_target_is_adopted_without_rewriting():
    client = FakeClient()
    first, _ = writer(client)
    run(first.write(WORKLOAD, PROFILE, report(Result.FAIL), None))
    path = f"/apis/kaico.dev/v1alpha1/namespaces/ml/conformancereports/{NAME}"
    client.store[path] = {**client.store[path], "status": client.requests[1][2]["status"]}
    later = ReportWriter(lambda: client, lambda: datetime(2027, 1, 1, tzinfo=UTC), lambda op: None)
    client.requests.clear()
    assert run(later.write(WORKLOAD, PROFILE, report(Result.FAIL), None)) is False
    assert client.verbs() == ["POST conformancereports", f"GET {NAME}"]
