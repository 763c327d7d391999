"""The engine: skips for missing facts and non-GPU workloads, errors never escape, waivers."""

from datetime import UTC, datetime

from conformance.engine import INPUT_CHECK, evaluate, run_check
from conformance.facts import ClusterFacts, FactClass
from conformance.findings import Result, Severity, passed
from conformance.profile import builtin_profile, parse_profile
from conformance.registry import Category, CheckSpec
from conformance.workload import Container, PodTemplate, ServingWorkload

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def gpu_workload(**overrides):
    container = Container(
        name="vllm", requests={"nvidia.com/gpu": "2"}, limits={"nvidia.com/gpu": "1"}
    )
    fields = dict(
        api_version="apps/v1", kind="Deployment", name="llm", namespace="ml",
        pod_templates=(PodTemplate(role="pod", containers=(container,)),),
    )
    fields.update(overrides)
    return ServingWorkload(**fields)


def spec(function, **overrides):
    fields = dict(
        id="t", title="t", category=Category.GPU, severity=Severity.HIGH, rationale="r",
        remediation="m", function=function,
    )
    fields.update(overrides)
    return CheckSpec(**fields)


def test_a_check_needing_absent_facts_is_skipped_and_says_what_is_missing():
    outcome = run_check(
        spec(lambda w, f, p: passed("ok"), needs=(FactClass.NODES,)),
        gpu_workload(), ClusterFacts(), builtin_profile(), asks=True,
    )
    assert outcome.result is Result.SKIP
    assert "Node objects" in outcome.message


def test_a_check_runs_when_its_facts_are_known_even_if_empty():
    outcome = run_check(
        spec(lambda w, f, p: passed("ok"), needs=(FactClass.NODES,)),
        gpu_workload(), ClusterFacts(known=frozenset({"nodes"})), builtin_profile(), asks=True,
    )
    assert outcome.result is Result.PASS


def test_an_accelerator_check_is_skipped_for_a_workload_without_accelerators():
    outcome = run_check(
        spec(lambda w, f, p: passed("ok"), accelerators_only=True),
        gpu_workload(), ClusterFacts(), builtin_profile(), asks=False,
    )
    assert outcome.result is Result.SKIP and "no accelerator" in outcome.message


def test_a_check_that_raises_becomes_an_error_finding():
    def broken(workload, facts, params):
        raise KeyError("spec")

    outcome = run_check(spec(broken), gpu_workload(), ClusterFacts(), builtin_profile(), True)
    assert outcome.result is Result.ERROR and "KeyError" in outcome.message


def test_adapter_errors_become_error_findings_and_make_the_target_non_conformant():
    report = evaluate(
        gpu_workload(errors=("spec.template must be a mapping, got str",)),
        ClusterFacts(), builtin_profile(), NOW,
    )
    errors = [f for f in report.results if f.check == INPUT_CHECK]
    assert [f.message for f in errors] == ["spec.template must be a mapping, got str"]
    assert errors[0].result is Result.ERROR
    assert not report.conformant


def test_every_profile_check_yields_exactly_one_finding():
    profile = builtin_profile()
    report = evaluate(gpu_workload(), ClusterFacts(), profile, NOW)
    assert [f.check for f in report.results] == list(profile.severities)
    assert sum(report.summary.values()) == len(report.results)


def waiver_profile(expires_at):
    return parse_profile({
        "apiVersion": "kaico.dev/v1alpha1", "kind": "ConformanceProfile",
        "metadata": {"name": "w"},
        "spec": {
            "includeAllChecks": False,
            "checks": [{"id": "gpu-limits"}],
            "waivers": [{
                "check": "gpu-limits", "reason": "vendor image, PLAT-9",
                "expiresAt": expires_at, "target": {"kind": "Deployment", "name": "llm"},
            }],
        },
    })


def test_an_unexpired_waiver_marks_the_failure_waived_and_keeps_the_target_conformant():
    report = evaluate(gpu_workload(), ClusterFacts(), waiver_profile("2026-12-31T00:00:00Z"), NOW)
    (finding,) = report.results
    assert finding.result is Result.FAIL and finding.waived
    assert "waived until 2026-12-31" in finding.message and "PLAT-9" in finding.message
    assert report.conformant


def test_an_expired_waiver_is_not_honoured_and_the_message_says_it_expired():
    report = evaluate(gpu_workload(), ClusterFacts(), waiver_profile("2026-01-01T00:00:00Z"), NOW)
    (finding,) = report.results
    assert finding.result is Result.FAIL and not finding.waived
    assert "waiver expired 2026-01-01" in finding.message
    assert not report.conformant


def test_failures_below_the_conformance_threshold_do_not_break_conformance():
    profile = parse_profile({
        "apiVersion": "kaico.dev/v1alpha1", "kind": "ConformanceProfile",
        "metadata": {"name": "t"},
        "spec": {"includeAllChecks": False, "conformanceThreshold": "high",
                 "checks": [{"id": "gpu-limits", "severity": "medium"}]},
    })
    report = evaluate(gpu_workload(), ClusterFacts(), profile, NOW)
    assert report.results[0].result is Result.FAIL
    assert report.conformant
    assert report.failing_at(Severity.MEDIUM)
