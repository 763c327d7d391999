"""Equal findings are one object shared between reports (``conformance.engine.shared_finding``);
a report still says only what is true of its own workload."""

from datetime import UTC, datetime

import conformance.engine as engine
from conformance.engine import evaluate, shared_finding
from conformance.facts import ClusterFacts
from conformance.findings import MAX_PROPERTY_CHARS, Finding, Outcome, Result, Severity
from conformance.profile import builtin_profile, parse_profile
from conformance.waivers import parse_waiver
from conformance.workload import Container, PodTemplate, ServingWorkload

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def workload(name="llm", namespace="ml", gpus="1", labels=None):
    container = Container(name="vllm", requests={"nvidia.com/gpu": gpus},
                          limits={"nvidia.com/gpu": gpus})
    return ServingWorkload(
        api_version="apps/v1", kind="Deployment", name=name, namespace=namespace,
        labels=labels or {}, pod_templates=(PodTemplate(role="pod", containers=(container,)),),
    )


def no_limit_workload(name, namespace="ml"):
    container = Container(name="vllm", requests={"nvidia.com/gpu": "2"},
                          limits={"nvidia.com/gpu": "1"})
    return ServingWorkload(
        api_version="apps/v1", kind="Deployment", name=name, namespace=namespace,
        pod_templates=(PodTemplate(role="pod", containers=(container,)),),
    )


def test_two_workloads_of_one_shape_share_their_findings_but_not_their_targets():
    profile = builtin_profile()
    evaluate(workload("seen", "ns-0"), ClusterFacts(), profile, NOW)  # kept when built again
    first = evaluate(workload("a", "ns-1"), ClusterFacts(), profile, NOW)
    second = evaluate(workload("b", "ns-2"), ClusterFacts(), profile, NOW)
    assert first.results == second.results
    assert all(x is y for x, y in zip(first.results, second.results, strict=True))
    assert (first.target.name, first.target.namespace) == ("a", "ns-1")
    assert (second.target.name, second.target.namespace) == ("b", "ns-2")


def test_findings_that_differ_in_any_field_are_not_shared():
    outcome = Outcome(Result.FAIL, "m", {"k": "v"})
    first = shared_finding("c", "gpu", Severity.HIGH, outcome)
    base = shared_finding("c", "gpu", Severity.HIGH, outcome)
    assert base == first
    assert shared_finding("c", "gpu", Severity.HIGH, Outcome(Result.FAIL, "m", {"k": "v"})) is base
    others = [
        shared_finding("d", "gpu", Severity.HIGH, outcome),
        shared_finding("c", "scaling", Severity.HIGH, outcome),
        shared_finding("c", "gpu", Severity.LOW, outcome),
        shared_finding("c", "gpu", Severity.HIGH, Outcome(Result.WARN, "m", {"k": "v"})),
        shared_finding("c", "gpu", Severity.HIGH, Outcome(Result.FAIL, "n", {"k": "v"})),
        shared_finding("c", "gpu", Severity.HIGH, Outcome(Result.FAIL, "m", {"k": "w"})),
        shared_finding("c", "gpu", Severity.HIGH, Outcome(Result.FAIL, "m", {"j": "v"})),
        shared_finding("c", "gpu", Severity.HIGH, Outcome(Result.FAIL, "m")),
    ]
    assert all(other is not base and other != base for other in others)


def test_a_shared_finding_does_not_hold_the_outcomes_properties_dict():
    properties = {"k": "v"}
    finding = shared_finding("c-own-dict", "gpu", Severity.HIGH, Outcome(Result.FAIL, "m", properties))
    properties["k"] = "changed"
    assert finding.properties == {"k": "v"}


def test_a_shared_finding_is_capped_like_any_other():
    finding = shared_finding("c-cap", "gpu", Severity.HIGH,
                             Outcome(Result.FAIL, "m", {"k": "v" * 10_000}))
    assert len(finding.properties["k"]) == MAX_PROPERTY_CHARS


def test_an_unhashable_property_value_is_reported_unshared_instead_of_failing():
    outcome = Outcome(Result.FAIL, "m", {"k": ["not", "a", "string"]})
    finding = shared_finding("c-list", "gpu", Severity.HIGH, outcome)
    assert finding.properties == {"k": ["not", "a", "string"]}
    assert shared_finding("c-list", "gpu", Severity.HIGH, outcome) is not finding


def test_the_shared_findings_are_bounded_and_count_how_often_they_were_emptied():
    emptied = engine.shared_findings_emptied()
    for index in range(engine.MAX_SHARED_FINDINGS + 10):
        for _ in range(2):  # kept the second time
            shared_finding("c-bound", "gpu", Severity.HIGH, Outcome(Result.PASS, f"m{index}"))
        assert len(engine._shared_findings) <= engine.MAX_SHARED_FINDINGS
    assert engine.shared_findings_emptied() >= emptied + 1


def waiver_profile():
    return parse_profile({
        "apiVersion": "kaico.dev/v1alpha1", "kind": "ConformanceProfile",
        "metadata": {"name": "w"},
        "spec": {
            "includeAllChecks": False,
            "checks": [{"id": "gpu-limits"}],
            "waivers": [{
                "check": "gpu-limits", "reason": "PLAT-9", "expiresAt": "2026-12-31T00:00:00Z",
                "target": {"kind": "Deployment", "name": "waived"},
            }],
        },
    })


def test_a_profile_waiver_of_one_workload_does_not_reach_another_of_the_same_shape():
    profile = waiver_profile()
    for order in (("waived", "other"), ("other", "waived"), ("waived", "other", "waived")):
        reports = {name: evaluate(no_limit_workload(name), ClusterFacts(), profile, NOW)
                   for name in order}
        (waived,) = reports["waived"].results
        (other,) = reports["other"].results
        assert waived.result is other.result is Result.FAIL
        assert waived.waived and "PLAT-9" in waived.message
        assert not other.waived and "PLAT-9" not in other.message and not other.properties


def test_a_namespace_waiver_of_one_namespace_does_not_reach_the_same_shape_elsewhere():
    profile = parse_profile({
        "apiVersion": "kaico.dev/v1alpha1", "kind": "ConformanceProfile",
        "metadata": {"name": "p"},
        "spec": {"includeAllChecks": False, "checks": [{"id": "gpu-limits"}],
                 "namespaceWaivers": {"allowed": True}},
    })
    waiver = parse_waiver({
        "apiVersion": "kaico.dev/v1alpha1", "kind": "ConformanceWaiver",
        "metadata": {"name": "vendor", "namespace": "team-a",
                     "creationTimestamp": "2026-05-30T00:00:00Z"},
        "spec": {"checks": ["gpu-limits"], "target": {}, "reason": "TEAM-7",
                 "expiresAt": "2026-06-20T00:00:00Z"},
    })
    for order in (("team-b", "team-a", "team-b"), ("team-a", "team-b")):
        reports = {namespace: evaluate(no_limit_workload("m", namespace), ClusterFacts(),
                                       profile, NOW, None, [waiver])
                   for namespace in order}
        (covered,) = reports["team-a"].results
        (elsewhere,) = reports["team-b"].results
        assert covered.result is elsewhere.result is Result.FAIL
        assert covered.waived and "TEAM-7" in covered.message
        assert not elsewhere.waived and "TEAM-7" not in elsewhere.message


def test_findings_stay_frozen():
    finding = Finding("c", "gpu", Result.PASS, Severity.HIGH, "m")
    try:
        finding.message = "x"  # type: ignore[misc]
    except AttributeError:
        return
    raise AssertionError("a Finding accepted an assignment")


def test_a_waiver_leaves_a_passing_finding_as_it_is_and_shared():
    profile = parse_profile({
        "apiVersion": "kaico.dev/v1alpha1", "kind": "ConformanceProfile",
        "metadata": {"name": "w"},
        "spec": {
            "includeAllChecks": False,
            "checks": [{"id": "gpu-limits"}],
            "waivers": [{
                "check": "gpu-limits", "reason": "PLAT-9", "expiresAt": "2026-12-31T00:00:00Z",
                "target": {"kind": "Deployment", "name": "waived"},
            }],
        },
    })
    evaluate(workload("seen"), ClusterFacts(), profile, NOW)  # kept when built again
    (waived,) = evaluate(workload("waived"), ClusterFacts(), profile, NOW).results
    (other,) = evaluate(workload("other"), ClusterFacts(), profile, NOW).results
    assert waived.result is Result.PASS and not waived.waived and "PLAT-9" not in waived.message
    assert waived is other


def test_a_finding_built_once_is_not_kept_and_one_built_again_is():
    # A finding that names its workload comes once: keeping it would only grow the table.
    outcome = Outcome(Result.FAIL, "names model-once only")
    shared_finding("c-once", "gpu", Severity.HIGH, outcome)
    assert not any(key[0] == "c-once" for key in engine._shared_findings)
    again = shared_finding("c-once", "gpu", Severity.HIGH, outcome)
    assert shared_finding("c-once", "gpu", Severity.HIGH, outcome) is again
