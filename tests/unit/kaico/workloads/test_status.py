"""Report naming, status content and the condition rules a steady cluster depends on."""

import re
from datetime import UTC, datetime, timedelta

from kaico.api.conventions import digest, find_condition
from kaico.state import ProfileCounts
from kaico.workloads.status import profile_status, report_body, report_name, report_status

from conformance.findings import Finding, Result, Severity
from conformance.profile import ProfileError
from conformance.report import Report, TargetRef
from conformance.workload import ServingWorkload

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)
DNS = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def report(*results: Result, generation: int = 1) -> Report:
    findings = tuple(
        Finding(f"check-{i}", "gpu", r, Severity.HIGH, f"message {i}") for i, r in enumerate(results)
    )
    return Report(TargetRef("apps/v1", "Deployment", "ml", "llm", "uid-1"), "default", findings,
                  observed_generation=generation)


def test_report_names_are_deterministic_dns_labels_that_fit_63_characters():
    name = report_name("InferenceService", "Llama_3.1" + "x" * 80, "default", "serving.kserve.io")
    assert name == report_name("InferenceService", "Llama_3.1" + "x" * 80, "default", "serving.kserve.io")
    assert len(name) <= 63 and DNS.match(name)
    assert name.startswith("inferenceservice-llama-3-1x")


def test_names_that_would_collide_when_joined_with_dashes_do_not():
    assert report_name("Deployment", "a-b", "c") != report_name("Deployment", "a", "b-c")


def test_the_same_results_give_the_same_status_digest_later():
    first = report_status(report(Result.PASS, Result.FAIL), None, T0)
    again = report_status(report(Result.PASS, Result.FAIL), first, T1)
    assert digest(first) == digest(again)


def test_changed_results_change_the_digest():
    first = report_status(report(Result.PASS, Result.FAIL), None, T0)
    assert digest(first) != digest(report_status(report(Result.PASS, Result.PASS), first, T1))


def test_the_conformant_condition_keeps_reason_and_time_until_conformance_changes():
    failing = report_status(report(Result.FAIL), None, T0)
    condition = find_condition(failing, "Conformant")
    assert (condition["status"], condition["reason"], condition["lastTransitionTime"]) == (
        "False", "ChecksFailed", "2026-06-01T12:00:00Z")
    # Still failing, a different check: same reason, same transition time.
    still = find_condition(report_status(report(Result.PASS, Result.FAIL), failing, T1), "Conformant")
    assert (still["reason"], still["lastTransitionTime"]) == ("ChecksFailed", "2026-06-01T12:00:00Z")
    fixed = find_condition(report_status(report(Result.PASS), failing, T1), "Conformant")
    assert (fixed["status"], fixed["reason"], fixed["lastTransitionTime"]) == (
        "True", "ChecksPassed", "2026-06-01T12:05:00Z")


def test_status_carries_summary_results_and_the_target_generation():
    status = report_status(report(Result.PASS, Result.WARN, Result.SKIP, generation=7), None, T0)
    assert status["conformant"] is True
    assert status["summary"] == {"pass": 1, "fail": 0, "warn": 1, "error": 0, "skip": 1}
    assert status["observedTargetGeneration"] == 7
    assert [r["check"] for r in status["results"]] == ["check-0", "check-1", "check-2"]


def test_a_report_is_owned_by_its_target_alone_without_blocking_deletion():
    # One owner: garbage collection deletes the report with its target even while the profile
    # exists (a second owner would keep it alive).
    workload = ServingWorkload("apps/v1", "Deployment", "llm", "ml", uid="uid-1")
    body = report_body("deployment-llm-default-1", workload, "default")
    owners = body["metadata"]["ownerReferences"]
    assert [(o["kind"], o["uid"]) for o in owners] == [("Deployment", "uid-1")]
    assert all(o["blockOwnerDeletion"] is False and o["controller"] is False for o in owners)
    assert body["metadata"]["namespace"] == "ml"
    assert body["spec"] == {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "llm",
                                          "uid": "uid-1"}, "profile": "default"}


def test_an_invalid_profile_is_not_ready_and_says_every_problem():
    error = ProfileError("p", ["spec.checks[0].id: unknown check 'gpu-limit'", "spec.x: bad"])
    status = profile_status(3, error, ProfileCounts(), None, T0)
    ready = find_condition(status, "Ready")
    assert (ready["status"], ready["reason"], ready["observedGeneration"]) == ("False", "Invalid", 3)
    assert "unknown check 'gpu-limit'" in ready["message"] and "spec.x: bad" in ready["message"]


def test_profile_status_counts_and_a_stable_ready_condition():
    first = profile_status(1, None, ProfileCounts(2, 1, 1), None, T0)
    assert (first["conformant"], first["nonConformant"], first["errored"]) == (2, 1, 1)
    assert digest(first) == digest(profile_status(1, None, ProfileCounts(2, 1, 1), first, T1))


def test_a_status_never_exceeds_the_ceiling_and_says_what_it_left_out():
    from kaico.workloads.status import MAX_STATUS_BYTES, status_size

    from conformance.findings import MAX_MESSAGE_CHARS

    big = "x" * MAX_MESSAGE_CHARS
    findings = tuple(
        Finding(f"check-{i}", "gpu", Result.FAIL, Severity.HIGH, big, properties={"p": big})
        for i in range(40)
    )
    wide = Report(TargetRef("apps/v1", "Deployment", "ml", "llm", "uid-1"), "default", findings)
    status = report_status(wide, None, T0)
    assert status_size(status) <= MAX_STATUS_BYTES
    assert len(status["results"]) == 40  # messages shortened, every result kept
    many = Report(wide.target, "default", findings * 100)  # more results than any catalogue
    status = report_status(many, None, T0)
    assert status_size(status) <= MAX_STATUS_BYTES
    assert status["conditions"][0]["message"].endswith(
        f"({4000 - len(status['results']):,} more results not shown)"
    )
    small = report_status(report(Result.PASS), None, T0)
    assert small["results"][0]["message"] == "message 0"


def test_without_counts_the_profile_status_holds_only_what_every_install_agrees_on():
    status = profile_status(2, None, None, None, T0)
    assert set(status) == {"observedGeneration", "conditions"}
    assert find_condition(status, "Ready")["status"] == "True"
