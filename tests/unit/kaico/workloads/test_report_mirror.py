"""The report mirror: what kaico takes for stored, from kopf's listings and watch events. A
report created again under its name replaces the earlier one, and a listing replaces the whole
set of its namespace (the copy lost in a watch gap never stays beside the new one)."""

from __future__ import annotations

from kaico.workloads.indexes import StoredReport
from kaico.workloads.report_mirror import ReportMirror


def report(name: str, version: str, uid: str = "u1", namespace: str = "ml", conformant: bool = True) -> dict:
    return {"apiVersion": "kaico.dev/v1alpha1", "kind": "ConformanceReport",
            "metadata": {"name": name, "namespace": namespace, "uid": f"r-{name}-{version}",
                         "resourceVersion": version},
            "spec": {"profile": "default", "targetRef": {"kind": "Deployment", "name": name, "uid": uid}},
            "status": {"conformant": conformant, "conditions": [
                {"type": "Conformant", "status": str(conformant), "reason": "R", "message": "m" * 200,
                 "lastTransitionTime": "2026-11-29T09:00:00Z"}]}}


class Seen:
    def __init__(self):
        self.events: list[tuple[str | None, str, str | None]] = []
        self.gone: list[list[str]] = []

    def seen(self, event_type, stored: StoredReport) -> None:
        self.events.append((event_type, stored.name, stored.resource_version))

    def lost(self, stored: list[StoredReport]) -> None:
        self.gone.append(sorted(r.name for r in stored))


def mirror_with(*bodies: dict, namespace: str | None = None) -> tuple[ReportMirror, Seen]:
    seen = Seen()
    mirror = ReportMirror(seen.seen, seen.lost)
    mirror.listing_started(namespace)
    for body in bodies:
        mirror.listed(namespace, body)
    mirror.listing_done(namespace, "100")
    return mirror, seen


def test_a_report_created_again_under_its_name_replaces_the_earlier_one():
    mirror, seen = mirror_with(report("a", "10", uid="old"))
    mirror.event("ADDED", report("a", "120", uid="new", conformant=False))  # its deletion was missed
    assert len(mirror) == 1
    assert (mirror[("ml", "a")].target_uid, mirror[("ml", "a")].conformant) == ("new", False)
    # The deletion of the earlier copy, seen late, leaves the newer one.
    mirror.event("DELETED", report("a", "110", uid="old"))
    assert mirror.get(("ml", "a")).resource_version == "120"
    mirror.event("DELETED", report("a", "130", uid="new"))
    assert ("ml", "a") not in mirror
    assert seen.events[-3:] == [("ADDED", "a", "120"), ("DELETED", "a", "110"), ("DELETED", "a", "130")]


def test_a_listing_replaces_the_set_and_reports_what_it_no_longer_holds_as_gone():
    mirror, seen = mirror_with(report("a", "10"), report("b", "11"), report("c", "12"))
    assert seen.gone == [] and [e[0] for e in seen.events] == [None, None, None]
    mirror.event("MODIFIED", report("c", "150"))  # newer than the next listing: created after it
    # A relist after a 410: "a" was deleted in the gap, "b" changed, "d" is new.
    mirror.listing_started(None)
    mirror.listed(None, report("b", "90", conformant=False))
    mirror.listed(None, report("d", "95"))
    mirror.listing_done(None, "140")
    assert sorted(mirror) == [("ml", "b"), ("ml", "c"), ("ml", "d")]
    assert mirror[("ml", "b")].conformant is False
    assert seen.gone == [["a"]]


def test_a_namespace_listing_replaces_only_its_namespace():
    seen = Seen()
    mirror = ReportMirror(seen.seen, seen.lost)
    for namespace in ("ml", "web"):
        mirror.listing_started(namespace)
        mirror.listed(namespace, report("a", "10", namespace=namespace))
        mirror.listing_done(namespace, "20")
    mirror.listing_started("web")
    mirror.listing_done("web", "30")
    assert list(mirror) == [("ml", "a")]
    assert seen.gone == [["a"]]


def test_a_listing_that_fails_half_way_takes_nothing_for_gone():
    mirror, seen = mirror_with(report("a", "10"), report("b", "11"))
    mirror.listing_started(None)
    mirror.listed(None, report("b", "50", conformant=False))
    mirror.listing_abandoned(None)
    assert sorted(mirror) == [("ml", "a"), ("ml", "b")] and mirror[("ml", "b")].conformant is False
    assert seen.gone == []


def test_a_stored_report_keeps_what_the_next_status_needs_of_its_condition():
    stored = StoredReport.from_body(report("a", "10", conformant=False))
    assert stored.conformant_condition == {"type": "Conformant", "status": "False",
                                           "lastTransitionTime": "2026-11-29T09:00:00Z"}
    # The digest is of the whole status: a changed message is a difference.
    edited = report("a", "11", conformant=False)
    edited["status"]["conditions"][0]["message"] = "edited"
    assert StoredReport.from_body(edited).digest != stored.digest
    assert StoredReport.from_body({"metadata": {"name": "x"}}).conformant_condition is None
