"""ConformanceWaivers: honoured only where the profile allows them, in their own namespace, for
their checks and targets, until they expire, and for at most the profile's maximum duration."""

from datetime import UTC, datetime

import pytest

from conformance.engine import evaluate, evaluate_objects
from conformance.facts import ClusterFacts
from conformance.findings import Result
from conformance.profile import parse_profile
from conformance.waivers import WaiverError, parse_waiver
from conformance.workload import Container, PodTemplate, ServingWorkload

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def gpu_workload(**overrides):
    # Requests 2 GPUs but limits 1: gpu-limits fails.
    container = Container(name="vllm", requests={"nvidia.com/gpu": "2"}, limits={"nvidia.com/gpu": "1"})
    fields = dict(
        api_version="apps/v1", kind="Deployment", name="llm", namespace="team-a",
        labels={"tier": "serving"},
        pod_templates=(PodTemplate(role="pod", containers=(container,)),),
    )
    fields.update(overrides)
    return ServingWorkload(**fields)


def profile(allowed=True, max_days=30):
    return parse_profile({
        "apiVersion": "kaico.dev/v1alpha1", "kind": "ConformanceProfile",
        "metadata": {"name": "p"},
        "spec": {
            "includeAllChecks": False,
            "checks": [{"id": "gpu-limits"}],
            "namespaceWaivers": {"allowed": allowed, "maxDurationDays": max_days},
        },
    })


def waiver_body(namespace="team-a", name="vendor-image", expires="2026-06-20T00:00:00Z",
                created="2026-05-30T00:00:00Z", checks=("gpu-limits",), target=None):
    metadata = {"name": name, "namespace": namespace}
    if created is not None:
        metadata["creationTimestamp"] = created
    return {
        "apiVersion": "kaico.dev/v1alpha1", "kind": "ConformanceWaiver", "metadata": metadata,
        "spec": {"checks": list(checks), "target": target or {}, "reason": "vendor image, TEAM-7",
                 "expiresAt": expires},
    }


def only_finding(waivers, prof=None, workload=None):
    report = evaluate(workload or gpu_workload(), ClusterFacts(), prof or profile(), NOW,
                      namespace_waivers=[parse_waiver(w) for w in waivers])
    (finding,) = report.results
    assert finding.result is Result.FAIL
    return report, finding


def test_a_waiver_in_the_namespace_waives_the_failure_and_names_who_waived():
    report, finding = only_finding([waiver_body()])
    assert finding.waived and report.conformant
    assert finding.properties["waivedBy"] == "team-a/vendor-image"
    assert finding.properties["waiverReason"] == "vendor image, TEAM-7"
    assert finding.properties["waivedUntil"] == "2026-06-20T00:00:00Z"
    assert "waived by ConformanceWaiver team-a/vendor-image" in finding.message


def test_a_profile_that_does_not_allow_namespace_waivers_ignores_them_and_says_so():
    report, finding = only_finding([waiver_body()], prof=profile(allowed=False))
    assert not finding.waived and not report.conformant
    assert "does not allow namespace waivers" in finding.properties["waiverNotHonoured"]


def test_namespace_waivers_are_off_unless_the_profile_turns_them_on():
    default = parse_profile({
        "apiVersion": "kaico.dev/v1alpha1", "kind": "ConformanceProfile", "metadata": {"name": "d"},
        "spec": {"includeAllChecks": False, "checks": [{"id": "gpu-limits"}]},
    })
    assert not default.spec.namespace_waivers.allowed
    _, finding = only_finding([waiver_body()], prof=default)
    assert not finding.waived


def test_an_expired_waiver_is_not_honoured():
    _, finding = only_finding([waiver_body(expires="2026-05-31T00:00:00Z", created="2026-05-20T00:00:00Z")])
    assert not finding.waived
    assert finding.properties["waiverNotHonoured"] == "team-a/vendor-image: expired 2026-05-31T00:00:00Z"


def test_a_waiver_longer_than_the_profile_maximum_is_not_honoured_and_says_why():
    _, finding = only_finding([waiver_body(expires="2026-08-01T00:00:00Z")], prof=profile(max_days=30))
    assert not finding.waived
    assert "longer than the profile's maxDurationDays 30" in finding.properties["waiverNotHonoured"]


def test_the_maximum_duration_counts_from_creation_not_from_now():
    # Created 29 days before expiry: within 30 days, although most of it has passed.
    _, finding = only_finding([waiver_body(created="2026-05-10T00:00:00Z", expires="2026-06-08T00:00:00Z")])
    assert finding.waived


def test_a_waiver_read_from_a_file_without_creation_time_counts_from_now():
    _, within = only_finding([waiver_body(created=None, expires="2026-06-30T00:00:00Z")])
    _, beyond = only_finding([waiver_body(created=None, expires="2026-07-02T00:00:00Z")])
    assert within.waived and not beyond.waived
    assert "days from now" in beyond.properties["waiverNotHonoured"]


def test_a_waiver_covers_only_its_own_namespace():
    _, finding = only_finding([waiver_body(namespace="team-b")])
    assert not finding.waived and "waiverNotHonoured" not in finding.properties


def test_a_waiver_covers_only_its_checks():
    _, finding = only_finding([waiver_body(checks=("scaling-autoscaler",))])
    assert not finding.waived


@pytest.mark.parametrize(("target", "waived"), [
    ({"kind": "Deployment", "name": "ll*"}, True),
    ({"kind": "InferenceService"}, False),
    ({"name": "other"}, False),
    ({"selector": {"matchLabels": {"tier": "serving"}}}, True),
    ({"selector": {"matchLabels": {"tier": "batch"}}}, False),
])
def test_a_waiver_matches_targets_by_kind_name_glob_and_labels(target, waived):
    _, finding = only_finding([waiver_body(target=target)])
    assert finding.waived is waived


def test_an_honoured_waiver_wins_over_one_that_is_not():
    _, finding = only_finding([
        waiver_body(name="old", expires="2026-05-01T00:00:00Z", created="2026-04-10T00:00:00Z"),
        waiver_body(name="current"),
    ])
    assert finding.waived and finding.properties["waivedBy"] == "team-a/current"


def test_a_passing_check_is_never_marked_waived():
    container = Container(name="vllm", requests={"nvidia.com/gpu": "1"}, limits={"nvidia.com/gpu": "1"})
    workload = gpu_workload(pod_templates=(PodTemplate(role="pod", containers=(container,)),))
    report = evaluate(workload, ClusterFacts(), profile(), NOW, namespace_waivers=[parse_waiver(waiver_body())])
    assert report.results[0].result is Result.PASS and not report.results[0].waived


@pytest.mark.parametrize(("change", "problem"), [
    (lambda b: b["spec"].pop("reason"), "spec.reason: Field required"),
    (lambda b: b["spec"].pop("expiresAt"), "spec.expiresAt: Field required"),
    (lambda b: b["spec"].update(reason=""), "spec.reason"),
    (lambda b: b["spec"].update(checks=[]), "spec.checks"),
    (lambda b: b["spec"].update(checks=["gpu-limitz"]), "unknown check 'gpu-limitz'"),
    (lambda b: b["spec"].update(expiresAt="next week"), "spec.expiresAt"),
])
def test_an_invalid_waiver_is_refused_with_the_field_that_is_wrong(change, problem):
    body = waiver_body()
    change(body)
    with pytest.raises(WaiverError, match="invalid ConformanceWaiver w.yaml") as error:
        parse_waiver(body, "w.yaml")
    assert problem in str(error.value)


def deployment(namespace="team-a"):
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "llm", "namespace": namespace},
        "spec": {"template": {"spec": {"containers": [{
            "name": "vllm", "image": "vllm/vllm-openai:v0.8.0",
            "resources": {"requests": {"nvidia.com/gpu": "2"}, "limits": {"nvidia.com/gpu": "1"}},
        }]}}},
    }


def test_waivers_in_the_input_objects_are_applied_and_are_not_targets():
    evaluation = evaluate_objects(
        [(deployment(), "app.yaml#0"), (waiver_body(created=None), "app.yaml#1")], profile(), NOW
    )
    (report,) = evaluation.reports
    assert report.target.name == "llm" and report.results[0].waived


def test_an_invalid_waiver_in_the_input_objects_raises():
    body = waiver_body()
    del body["spec"]["reason"]
    with pytest.raises(WaiverError, match="app.yaml#1"):
        evaluate_objects([(deployment(), "app.yaml#0"), (body, "app.yaml#1")], profile(), NOW)
