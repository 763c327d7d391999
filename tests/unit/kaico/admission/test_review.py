"""AdmissionReview handling: what is judged, which findings become warnings, when a Deny profile
rejects, and that an answer never carries a patch."""

import pytest
from kaico.admission.review import (
    MAX_WARNING_CHARS,
    MAX_WARNINGS,
    Judgement,
    ReviewError,
    decide,
    parse_request,
    response,
)

from conformance.findings import Finding, Result, Severity
from conformance.profile import AdmissionPolicy, Enforcement, ProfileError, parse_profile
from conformance.report import Report, TargetRef

TARGET = TargetRef("apps/v1", "Deployment", "team-a", "llm")
WARN = AdmissionPolicy()
DENY_HIGH = AdmissionPolicy(enforcement=Enforcement.DENY, deny_at_severity=Severity.HIGH)


def finding(check: str, result: Result, severity: Severity, message: str = "msg",
            waived: bool = False) -> Finding:
    return Finding(check, "gpu", result, severity, message, waived)


def judged(profile: str, policy: AdmissionPolicy, *findings: Finding) -> Judgement:
    return Judgement(profile, policy, Report(TARGET, profile, tuple(findings)))


def review(operation: str = "CREATE", body: dict | None = None, old: dict | None = None) -> dict:
    request = {"uid": "abc", "operation": operation, "object": body or {"spec": {"a": 1}}}
    if old is not None:
        request["oldObject"] = old
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}


def test_failures_errors_and_warns_become_warnings_most_severe_first_passes_and_waivers_do_not():
    verdict = decide([judged(
        "default", WARN,
        finding("scaling-autoscaler", Result.WARN, Severity.MEDIUM, "no autoscaler"),
        finding("gpu-node-match", Result.FAIL, Severity.LOW, "no GPU node matches"),
        finding("gpu-toleration", Result.FAIL, Severity.HIGH, "no toleration for nvidia.com/gpu"),
        finding("gpu-limits", Result.PASS, Severity.CRITICAL),
        finding("gpu-runtime-class", Result.FAIL, Severity.CRITICAL, waived=True),
        finding("endpoint-service", Result.SKIP, Severity.HIGH),
    )])
    assert verdict.allowed and verdict.message == ""
    assert verdict.warnings == (
        "kaico/default: gpu-toleration: no toleration for nvidia.com/gpu",
        "kaico/default: gpu-node-match: no GPU node matches",
        "kaico/default: scaling-autoscaler: no autoscaler",
    )


def test_warnings_are_short_and_few_the_last_counting_the_rest():
    findings = [finding(f"check-{i:02d}", Result.FAIL, Severity.HIGH, "x" * 1000) for i in range(20)]
    verdict = decide([judged("default", WARN, *findings)])
    assert len(verdict.warnings) == MAX_WARNINGS
    assert all(len(w) <= MAX_WARNING_CHARS for w in verdict.warnings)
    assert verdict.warnings[0].startswith("kaico/default: check-00: xxx")
    assert verdict.warnings[-1].startswith(f"kaico: {20 - MAX_WARNINGS + 1} more finding(s)")


def test_a_deny_profile_rejects_at_or_above_its_severity_naming_the_reasons():
    verdict = decide([
        judged("strict", DENY_HIGH,
               finding("gpu-node-match", Result.FAIL, Severity.HIGH, "no GPU node matches"),
               finding("scaling-autoscaler", Result.FAIL, Severity.MEDIUM, "no autoscaler")),
        judged("default", WARN, finding("gpu-toleration", Result.FAIL, Severity.CRITICAL, "no toleration")),
    ])
    assert not verdict.allowed
    # Only the Deny profile's failures at or above high are reasons; every finding still warns.
    assert verdict.message == ("kaico denies Deployment team-a/llm: strict: gpu-node-match (high): "
                               "no GPU node matches")
    assert len(verdict.warnings) == 3


def test_a_deny_profile_admits_below_its_severity_and_when_the_failure_is_waived():
    below = judged("strict", DENY_HIGH, finding("scaling-autoscaler", Result.FAIL, Severity.MEDIUM))
    waived = judged("strict", DENY_HIGH, finding("gpu-node-match", Result.FAIL, Severity.CRITICAL, waived=True))
    assert decide([below]).allowed and decide([below]).warnings
    assert decide([waived]).allowed and decide([waived]).warnings == ()


def test_nothing_to_judge_admits_without_warnings():
    assert decide([]).allowed and decide([]).warnings == ()


def test_the_response_echoes_the_uid_and_never_carries_a_patch():
    denied = response("abc", decide([judged("strict", DENY_HIGH,
                                            finding("gpu-node-match", Result.FAIL, Severity.HIGH))]))
    assert denied["apiVersion"] == "admission.k8s.io/v1" and denied["kind"] == "AdmissionReview"
    answer = denied["response"]
    assert answer["uid"] == "abc" and answer["allowed"] is False
    assert answer["status"]["code"] == 403 and "gpu-node-match" in answer["status"]["message"]
    assert "patch" not in answer and "patchType" not in answer
    assert response("abc", decide([]))["response"] == {"uid": "abc", "allowed": True}


def test_creates_and_updates_of_what_the_checks_read_are_judged_metadata_only_updates_are_not():
    body = {"metadata": {"labels": {"a": "1"}}, "spec": {"replicas": 1}}
    assert parse_request(review("CREATE", body)).needs_judging
    assert parse_request(review("UPDATE", body, {"metadata": {"labels": {"a": "1"}}, "spec": {"replicas": 2}})).needs_judging
    assert parse_request(review("UPDATE", body, {"metadata": {"labels": {"a": "2"}}, "spec": {"replicas": 1}})).needs_judging
    # Annotations are read too (KServe's autoscaler class, fractional GPU annotations).
    assert parse_request(review("UPDATE", body, {"metadata": {"labels": {"a": "1"}, "annotations": {"x": "y"}},
                                                 "spec": {"replicas": 1}})).needs_judging
    # A finalizer removed, an owner reference added: a Deny profile must not block a clean-up.
    assert not parse_request(review("UPDATE", body, {"metadata": {"labels": {"a": "1"}, "finalizers": ["x/y"],
                                                                  "ownerReferences": [{"uid": "u"}]},
                                                     "spec": {"replicas": 1}})).needs_judging
    deleting = {"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}, "spec": {"replicas": 3}}
    assert not parse_request(review("UPDATE", deleting, body)).needs_judging
    assert not parse_request(review("DELETE", body)).needs_judging


@pytest.mark.parametrize("bad", [
    None, [], {"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "request": {"uid": "a"}},
    {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"},
    {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": 5}},
])
def test_what_is_no_v1_admission_review_is_refused(bad):
    with pytest.raises(ReviewError):
        parse_request(bad)


def test_a_profile_states_its_enforcement_and_an_unknown_mode_or_severity_is_rejected():
    def profile(admission: dict):
        return parse_profile({"apiVersion": "kaico.dev/v1alpha1", "kind": "ConformanceProfile",
                              "metadata": {"name": "p"}, "spec": {"admission": admission}})

    assert profile({}).spec.admission == AdmissionPolicy(enforcement=Enforcement.WARN,
                                                         deny_at_severity=Severity.HIGH)
    assert profile({"enforcement": "Deny", "denyAtSeverity": "critical"}).spec.admission == AdmissionPolicy(
        enforcement=Enforcement.DENY, deny_at_severity=Severity.CRITICAL)
    with pytest.raises(ProfileError, match=r"spec\.admission\.enforcement"):
        profile({"enforcement": "Block"})
    with pytest.raises(ProfileError, match=r"spec\.admission\.denyAtSeverity"):
        profile({"enforcement": "Deny", "denyAtSeverity": "severe"})
