"""The writer writes only on change, posts Events on transitions, and adopts existing reports."""

import asyncio
from datetime import UTC, datetime, timedelta
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


TARGET_PATH = "/apis/apps/v1/namespaces/ml/deployments/llm"


class FakeClient:
    """Records requests; the store holds created reports by path, with resourceVersions that
    grow with every write, as the API server's do."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any]] = []
        self.store: dict[str, dict[str, Any]] = {TARGET_PATH: {"metadata": {"name": "llm", "uid": "uid-1"}}}
        self.revision = 100

    def _stamp(self, body: dict[str, Any]) -> dict[str, Any]:
        self.revision += 1
        body = {**body, "metadata": {**body.get("metadata", {}), "resourceVersion": str(self.revision)}}
        return body

    async def create(self, path: str, body: dict[str, Any], allowed=()) -> Response:
        self.requests.append(("POST", path, body))
        if body.get("kind") == "ConformanceReport":
            key = f"{path}/{body['metadata']['name']}"
            if key in self.store:
                return Response(409, {})
            self.store[key] = self._stamp(body)
            return Response(201, self.store[key])
        return Response(201, body)

    async def get(self, path: str, allowed=()) -> Response:
        self.requests.append(("GET", path, None))
        return Response(200, self.store[path]) if path in self.store else Response(404, {})

    async def merge_patch(self, path: str, body: dict[str, Any], allowed=()) -> Response:
        self.requests.append(("PATCH", path, body))
        key = path.removesuffix("/status")
        if key in self.store:
            self.store[key] = self._stamp({**self.store[key], **body})
            return Response(200, self.store[key])
        if "/conformancereports/" in path:
            return Response(404, {})
        return Response(200, self._stamp(body))

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


def writer(client: FakeClient, repairs: list[str] | None = None) -> tuple[ReportWriter, list[str]]:
    writes: list[str] = []
    on_repair = repairs.append if repairs is not None else None
    return ReportWriter(lambda: client, lambda: NOW, writes.append, on_repair), writes


PATH = f"/apis/kaico.dev/v1alpha1/namespaces/ml/conformancereports/{NAME}"


def stored(client: FakeClient) -> StoredReport | None:
    """The report as a watch event would show it now."""
    body = client.store.get(PATH)
    return StoredReport.from_body(body) if body else None


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
    path = PATH
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
        assert await w.write_profile_status("default", status, w.stored_profile_status("default", None, None))
        # The watch has not shown the patch yet: its answer is the stored status.
        assert not await w.write_profile_status("default", status, w.stored_profile_status("default", None, None))
        fresh, _ = writer(client)
        assert await fresh.write_profile_status("default", status, dict(status)) is False

    run(scenario())
    assert client.verbs() == ["PATCH status"]


def test_a_profile_status_computed_before_the_watch_shows_the_last_patch_is_not_written_again():
    """The Ready condition keeps its lastTransitionTime from the stored status. A periodic pass a
    second after a patch, before the watch showed it, computed the condition from the older
    watched copy (a new transition time) and compared it with the patch's answer: it patched
    again, and the two transition times answered each other without end (CI saw hundreds of
    profile-status writes a second)."""
    from kaico.state import ProfileCounts
    from kaico.workloads.status import profile_status

    client = FakeClient()
    w, _ = writer(client)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)

    async def scenario():
        for second in range(3):
            stored = w.stored_profile_status("default", None, "1")  # the watch: not yet written
            status = profile_status(1, None, ProfileCounts(), stored, t0 + timedelta(seconds=second))
            await w.write_profile_status("default", status, stored)

    run(scenario())
    assert client.verbs() == ["PATCH status"]


def test_a_profile_status_without_counts_leaves_the_counts_another_install_keeps():
    client = FakeClient()
    w, _ = writer(client)
    ours = {"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "True"}]}
    stored = {**ours, "conformant": 7, "nonConformant": 2, "errored": 0}

    async def scenario():
        # The stored status holds what this install writes: nothing to patch.
        assert await w.write_profile_status("default", ours, stored) is False
        # Its own fields differ: patched, and only those (a merge patch keeps the counts).
        assert await w.write_profile_status("default", {**ours, "observedGeneration": 2}, stored) is True

    run(scenario())
    assert client.verbs() == ["PATCH status"]
    assert "conformant" not in client.requests[0][2]["status"]


def test_a_report_found_under_its_name_for_the_same_target_is_adopted_without_rewriting():
    client = FakeClient()
    first, _ = writer(client)
    run(first.write(WORKLOAD, PROFILE, report(Result.FAIL), None))
    path = PATH
    client.store[path] = {**client.store[path], "status": client.requests[1][2]["status"]}
    later = ReportWriter(lambda: client, lambda: datetime(2027, 1, 1, tzinfo=UTC), lambda op: None)
    client.requests.clear()
    assert run(later.write(WORKLOAD, PROFILE, report(Result.FAIL), None)) is False
    assert client.verbs() == ["POST conformancereports", f"GET {NAME}"]


def test_a_hand_edited_report_is_rewritten_once_the_watch_shows_the_edit_and_counts_as_a_repair():
    client = FakeClient()
    repairs: list[str] = []
    w, _ = writer(client, repairs)

    async def scenario():
        await w.write(WORKLOAD, PROFILE, report(Result.FAIL), None)
        assert w.observed(stored(client)) is False  # our own write, back through the watch
        await client.merge_patch(f"{PATH}/status", {"status": {**client.store[PATH]["status"],
                                                               "conformant": True}})
        assert w.observed(stored(client)) is True  # differs from what kaico wants: repair
        client.requests.clear()
        return await w.write(WORKLOAD, PROFILE, report(Result.FAIL), stored(client))

    assert run(scenario()) is True
    assert client.verbs() == ["PATCH status"]  # no Event: kaico's own verdict did not change
    assert client.store[PATH]["status"]["conformant"] is False
    assert repairs == ["edited"]


def test_a_stale_watch_event_older_than_our_own_write_neither_repairs_nor_rewrites():
    client = FakeClient()
    w, _ = writer(client)

    async def scenario():
        await w.write(WORKLOAD, PROFILE, report(Result.FAIL), None)
        before = stored(client)
        await w.write(WORKLOAD, PROFILE, report(Result.PASS), before)
        assert w.observed(before) is False  # the event of the first write arrives late
        client.requests.clear()
        return await w.write(WORKLOAD, PROFILE, report(Result.PASS), before)

    assert run(scenario()) is False
    assert client.requests == []


def test_a_deleted_report_is_created_again_and_counts_as_a_repair():
    client = FakeClient()
    repairs: list[str] = []
    w, _ = writer(client, repairs)

    async def scenario():
        await w.write(WORKLOAD, PROFILE, report(Result.FAIL), None)
        w.observed(stored(client))
        await client.delete(PATH)
        assert w.observed_deleted("ml", NAME) is True
        client.requests.clear()
        return await w.write(WORKLOAD, PROFILE, report(Result.FAIL), None)

    assert run(scenario()) is True
    assert client.verbs() == ["GET llm", "POST conformancereports", "PATCH status"]
    assert repairs == ["deleted"]


def test_a_lost_report_of_a_target_that_is_gone_too_is_not_created_again():
    # The target was deleted while the watch was down: kopf's index still shows it, and a new
    # report would only be garbage-collected again.
    client = FakeClient()
    w, _ = writer(client)

    async def scenario():
        await w.write(WORKLOAD, PROFILE, report(Result.FAIL), None)
        w.observed(stored(client))
        await client.delete(PATH)
        await client.delete(TARGET_PATH)
        w.observed_deleted("ml", NAME)
        client.requests.clear()
        first = await w.write(WORKLOAD, PROFILE, report(Result.FAIL), None)
        again = await w.write(WORKLOAD, PROFILE, report(Result.FAIL), None)
        return first, again

    assert run(scenario()) == (False, False)
    assert client.verbs() == ["GET llm"]  # read once, then remembered as gone


def test_a_report_the_watch_still_shows_but_the_cluster_lost_is_read_and_created_again():
    client = FakeClient()
    repairs: list[str] = []
    w, _ = writer(client, repairs)

    async def scenario():
        await w.write(WORKLOAD, PROFILE, report(Result.PASS), None)
        watched = stored(client)
        w.observed(watched)
        del client.store[PATH]  # deleted during a watch gap: no event
        w.suspect("ml", NAME)  # the audit's listing did not have it
        client.requests.clear()
        return await w.write(WORKLOAD, PROFILE, report(Result.PASS), watched)

    assert run(scenario()) is True
    assert client.verbs() == [f"GET {NAME}", "GET llm", "POST conformancereports", "PATCH status"]
    assert repairs == ["missing"]


def test_a_status_patch_answered_404_creates_the_report_again():
    client = FakeClient()
    repairs: list[str] = []
    w, _ = writer(client, repairs)

    async def scenario():
        await w.write(WORKLOAD, PROFILE, report(Result.PASS), None)
        watched = stored(client)
        w.observed(watched)
        del client.store[PATH]  # its CRD was deleted and created again
        client.requests.clear()
        return await w.write(WORKLOAD, PROFILE, report(Result.FAIL), watched)

    assert run(scenario()) is True
    assert client.verbs()[:4] == ["PATCH status", "POST conformancereports", "PATCH status", "POST event"]
    assert client.store[PATH]["status"]["conformant"] is False
    assert repairs == ["missing"]


def test_a_hand_edited_profile_status_is_patched_back():
    client = FakeClient()
    w, _ = writer(client)
    status = {"conformant": 1, "conditions": []}

    async def scenario():
        assert await w.write_profile_status("default", status, None) is True
        version = str(client.revision)
        w.profile_observed("default", version)
        watched = w.stored_profile_status("default", dict(status), version)
        assert await w.write_profile_status("default", status, watched) is False
        edited = {"conformant": 7, "conditions": []}
        return await w.write_profile_status(
            "default", status, w.stored_profile_status("default", edited, str(client.revision + 1)))

    assert run(scenario()) is True
    assert client.verbs() == ["PATCH status", "PATCH status"]


def test_the_audit_lists_the_reports_in_pages():
    """list_reports follows the continue tokens: every report of every page, the listing's
    version, and no page larger than AUDIT_PAGE."""
    import json
    from urllib.parse import parse_qs, urlsplit

    from kaico.workloads import writer as writer_module

    total = 2 * writer_module.AUDIT_PAGE + 7
    items = [{"metadata": {"namespace": "ml", "name": f"r-{i:04d}", "resourceVersion": str(1000 + i)}}
             for i in range(total)]
    pages: list[dict[str, list[str]]] = []

    class Listing(FakeClient):
        async def send(self, method: str, path: str, body=None, accept: str = "") -> tuple[int, str]:
            query = parse_qs(urlsplit(path).query)
            pages.append(query)
            start = int(query.get("continue", ["0"])[0])
            limit = int(query["limit"][0])
            end = min(total, start + limit)
            meta = {"resourceVersion": "5000", **({"continue": str(end)} if end < total else {})}
            return 200, json.dumps({"metadata": meta, "items": items[start:end]})

    report_writer, _ = writer(Listing())
    found, version = asyncio.run(report_writer.list_reports(None))
    assert version == "5000"
    assert found == {("ml", f"r-{i:04d}"): str(1000 + i) for i in range(total)}
    assert len(pages) == 3
    assert all(q["limit"] == [str(writer_module.AUDIT_PAGE)] for q in pages)
    assert all("labelSelector" in q for q in pages)


def test_a_report_lost_in_a_watch_gap_and_created_again_is_judged_by_the_new_copy_not_the_old():
    # kopf's index kept the report lost in a watch gap beside the one created again under its
    # name, and taking the old copy for what is stored hid every later change whose status
    # equalled the old copy's (CI: three reports kept endpoint-ready "fail" after their
    # Deployments were ready again). The mirror keeps one report per name: the newest.
    import copy

    from kaico.workloads.indexes import Indexes
    from kaico.workloads.report_mirror import ReportMirror

    client = FakeClient()
    w, _ = writer(client)
    mirror = ReportMirror()
    view = Indexes({}, {}, {}, {}, mirror, {})

    async def scenario():
        await w.write(WORKLOAD, PROFILE, report(Result.PASS), None)
        lost = copy.deepcopy(client.store[PATH])
        mirror.event("ADDED", lost)
        w.observed(view.stored_report("ml", NAME))
        del client.store[PATH]  # deleted in a watch gap: no event
        w.suspect("ml", NAME)
        await w.write(WORKLOAD, PROFILE, report(Result.PASS), view.stored_report("ml", NAME))  # created again
        mirror.event("ADDED", copy.deepcopy(client.store[PATH]))
        assert view.stored_report("ml", NAME) == stored(client) != StoredReport.from_body(lost)
        w.observed(view.stored_report("ml", NAME))
        await w.write(WORKLOAD, PROFILE, report(Result.FAIL), view.stored_report("ml", NAME))
        mirror.event("MODIFIED", copy.deepcopy(client.store[PATH]))
        mirror.event("DELETED", lost)  # the lost copy's deletion, if it ever shows, changes nothing
        w.observed(view.stored_report("ml", NAME))
        client.requests.clear()
        # Back to what the lost copy said: the stored report says FAIL, so it is written.
        return await w.write(WORKLOAD, PROFILE, report(Result.PASS), view.stored_report("ml", NAME))

    assert run(scenario()) is True
    assert client.verbs() == ["PATCH status", "POST event"]  # conformant again: announced


def test_after_the_new_copy_is_deleted_the_old_copy_left_in_the_index_is_not_taken_for_stored():
    client = FakeClient()
    repairs: list[str] = []
    w, _ = writer(client, repairs)

    async def scenario():
        await w.write(WORKLOAD, PROFILE, report(Result.PASS), None)
        lost = stored(client)
        w.observed(lost)
        del client.store[PATH]  # lost in a watch gap
        w.suspect("ml", NAME)
        await w.write(WORKLOAD, PROFILE, report(Result.PASS), lost)
        again = stored(client)
        w.observed(again)
        await client.delete(PATH)  # deleted by hand, and the watch says so
        client.revision += 1
        assert w.observed_deleted("ml", NAME, str(client.revision)) is True
        client.requests.clear()
        # The index now holds only the lost copy, which says exactly what kaico wants.
        return await w.write(WORKLOAD, PROFILE, report(Result.PASS), lost)

    assert run(scenario()) is True
    assert client.verbs() == ["GET llm", "POST conformancereports", "PATCH status"]
    assert repairs == ["missing", "deleted"]
