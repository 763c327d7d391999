"""Metrics are rebuilt from the in-memory results: aggregates by default, per-target on request."""

from kaico.runtime.metrics import Metrics
from kaico.state import Results
from prometheus_client.parser import text_string_to_metric_families

from conformance.findings import Finding, Result, Severity
from conformance.report import Report, TargetRef


def report(name: str, result: Result) -> Report:
    return Report(TargetRef("apps/v1", "Deployment", "ml", name, "u"), "default",
                  (Finding("gpu-limits", "gpu", result, Severity.HIGH, "m"),))


def samples(metrics: Metrics) -> dict[tuple[str, tuple], float]:
    text = metrics.exposition().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text) for s in family.samples
    }


def test_aggregates_count_targets_and_check_results_without_namespace_or_name():
    results = Results()
    results.record(("Deployment", "ml", "a"), report("a", Result.PASS))
    results.record(("Deployment", "ml", "b"), report("b", Result.FAIL))
    found = samples(Metrics(results))
    assert found[("kaico_targets", (("conformant", "true"), ("kind", "Deployment"), ("profile", "default")))] == 1
    assert found[("kaico_targets", (("conformant", "false"), ("kind", "Deployment"), ("profile", "default")))] == 1
    assert found[("kaico_check_results", (("check", "gpu-limits"), ("profile", "default"),
                                          ("result", "fail"), ("severity", "high")))] == 1
    assert not any("namespace" in dict(labels) for _, labels in found)


def test_a_forgotten_target_disappears_from_the_next_scrape():
    results = Results()
    metrics = Metrics(results)
    results.record(("Deployment", "ml", "a"), report("a", Result.FAIL))
    assert any(name == "kaico_targets" for name, _ in samples(metrics))
    results.forget_workload(("Deployment", "ml", "a"))
    assert not any(name in ("kaico_targets", "kaico_check_results") for name, _ in samples(metrics))


def test_per_target_series_only_when_asked():
    results = Results()
    results.record(("Deployment", "ml", "a"), report("a", Result.FAIL))
    assert not any(name.startswith("kaico_target_") for name, _ in samples(Metrics(results)))
    found = samples(Metrics(results, per_target=True))
    key = ("kaico_target_conformant", (("kind", "Deployment"), ("name", "a"), ("namespace", "ml"),
                                       ("profile", "default")))
    assert found[key] == 0


def test_the_duration_histogram_has_no_labels_and_counters_exist():
    metrics = Metrics(Results())
    metrics.evaluation_duration.observe(0.002)
    metrics.evaluations.labels("default").inc()
    metrics.evaluation_errors.labels("default").inc(0)
    found = samples(metrics)
    buckets = [labels for name, labels in found if name == "kaico_evaluation_duration_seconds_bucket"]
    assert buckets and all(set(dict(labels)) == {"le"} for labels in buckets)
    assert found[("kaico_evaluations_total", (("profile", "default"),))] == 1
    assert ("kaico_evaluation_errors_total", (("profile", "default"),)) in found


def test_profile_readiness_is_exported():
    found = samples(Metrics(Results(), profiles_ready=lambda: {"default": True, "broken": False}))
    assert found[("kaico_profile_ready", (("profile", "broken"),))] == 0
    assert found[("kaico_profile_ready", (("profile", "default"),))] == 1
