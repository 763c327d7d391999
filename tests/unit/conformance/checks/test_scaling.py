"""Scaling checks, as specifications: autoscaler presence and targets, bounds, signals,
capacity, disruption budgets and scale-to-zero."""

from conformance.facts import FactClass
from conformance.findings import Result
from conformance.workload import InlineAutoscaler, Replicas, ScaleTargetRef
from tests.unit.conformance.checks.builders import (
    container,
    facts,
    hpa,
    node,
    run,
    selecting,
    template,
    workload,
)

KSERVE_TARGETS = (ScaleTargetRef("Deployment", "llm-predictor", "apps"),)


def kserve(**fields):
    defaults = dict(
        api_version="serving.kserve.io/v1beta1",
        kind="InferenceService",
        scale_targets=KSERVE_TARGETS,
    )
    defaults.update(fields)
    return workload(**defaults)


# --- scaling-autoscaler ------------------------------------------------------------------------


def test_autoscaler_pass_for_an_inline_autoscaler_without_any_facts():
    w = workload(autoscaler=InlineAutoscaler("kserve-hpa", 1, 3))
    outcome = run("scaling-autoscaler", w)
    assert outcome.result is Result.PASS and "kserve-hpa" in outcome.message


def test_autoscaler_pass_when_an_hpa_targets_the_deployment():
    outcome = run("scaling-autoscaler", workload(), facts(autoscalers=(hpa(),)))
    assert outcome.result is Result.PASS and "HorizontalPodAutoscaler ml/llm" in outcome.message


def test_autoscaler_pass_for_an_autoscaler_owned_by_the_workload():
    owned = hpa(target_name="llm-predictor", owner_kind="InferenceService", owner_name="llm")
    assert run("scaling-autoscaler", kserve(), facts(autoscalers=(owned,))).result is Result.PASS


def test_autoscaler_fail_for_fixed_replicas_and_mention_an_unresolved_hpa():
    wrong = hpa(target_kind="InferenceService", target_name="llm")
    outcome = run(
        "scaling-autoscaler", kserve(replicas=Replicas(fixed=2)), facts(autoscalers=(wrong,))
    )
    assert outcome.result is Result.FAIL
    assert "Deployment llm-predictor" in outcome.message
    assert "scaling-target-resolves" in outcome.message and "fixed 2" in outcome.message


def test_autoscaler_ignores_autoscalers_in_other_namespaces():
    elsewhere = hpa(namespace="other")
    assert (
        run("scaling-autoscaler", workload(), facts(autoscalers=(elsewhere,))).result is Result.FAIL
    )


def test_autoscaler_skip_without_inline_autoscaler_or_autoscaler_facts():
    assert run("scaling-autoscaler", workload()).result is Result.SKIP


def test_autoscaler_external_class_still_needs_an_external_autoscaler():
    w = kserve(autoscaler=InlineAutoscaler("external"))
    outcome = run("scaling-autoscaler", w, facts(FactClass.AUTOSCALERS))
    assert outcome.result is Result.FAIL and "'external'" in outcome.message


# --- scaling-target-resolves -------------------------------------------------------------------


def test_target_resolves_pass_for_the_predictor_deployment():
    good = hpa(target_name="llm-predictor")
    outcome = run("scaling-target-resolves", kserve(), facts(autoscalers=(good,)))
    assert outcome.result is Result.PASS


def test_target_resolves_fail_for_an_hpa_naming_the_inference_service():
    wrong = hpa(
        name="direct",
        target_kind="InferenceService",
        target_name="llm",
        target_api_version="serving.kserve.io/v1beta1",
    )
    outcome = run("scaling-target-resolves", kserve(), facts(autoscalers=(wrong,)))
    assert outcome.result is Result.FAIL
    assert "HorizontalPodAutoscaler ml/direct" in outcome.message
    assert "Deployment llm-predictor" in outcome.message


def test_target_resolves_fail_for_the_wrong_api_group():
    wrong = hpa(target_api_version="extensions/v1beta1")
    outcome = run("scaling-target-resolves", workload(), facts(autoscalers=(wrong,)))
    assert outcome.result is Result.FAIL and "extensions/v1beta1" in outcome.message


def test_target_resolves_skip_when_no_autoscaler_names_it():
    unrelated = hpa(target_name="other")
    outcome = run("scaling-target-resolves", workload(), facts(autoscalers=(unrelated,)))
    assert outcome.result is Result.SKIP


# --- scaling-bounds ----------------------------------------------------------------------------


def test_bounds_pass_for_sane_inline_bounds():
    w = workload(autoscaler=InlineAutoscaler("kserve-keda", 1, 4))
    outcome = run("scaling-bounds", w)
    assert outcome.result is Result.PASS and "between 1 and 4" in outcome.message


def test_bounds_take_missing_inline_bounds_from_the_spec_replicas():
    w = workload(
        replicas=Replicas(minimum=3, maximum=2), autoscaler=InlineAutoscaler("kserve-keda")
    )
    outcome = run("scaling-bounds", w)
    assert outcome.result is Result.FAIL and "maximum 2 is below minimum 3" in outcome.message


def test_bounds_fail_on_zero_minimum_where_the_mechanism_cannot_scale_to_zero():
    w = workload(autoscaler=InlineAutoscaler("kserve-hpa", 0, 4))
    outcome = run("scaling-bounds", w)
    assert (
        outcome.result is Result.FAIL
        and "minimum 0 is not supported by kserve-hpa" in outcome.message
    )


def test_bounds_combine_problems_of_inline_and_external_autoscalers():
    w = workload(autoscaler=InlineAutoscaler("kserve-keda", -1, 2))
    outcome = run("scaling-bounds", w, facts(autoscalers=(hpa(minimum=5, maximum=0),)))
    assert outcome.result is Result.FAIL
    assert "minimum -1 is negative" in outcome.message
    assert "HorizontalPodAutoscaler ml/llm: maximum 0" in outcome.message


def test_bounds_allow_zero_minimum_for_keda():
    w = workload(autoscaler=InlineAutoscaler("kserve-keda", 0, 2))
    assert run("scaling-bounds", w).result is Result.PASS


def test_bounds_pass_for_a_fixed_count_and_warn_for_zero():
    assert run("scaling-bounds", workload(replicas=Replicas(fixed=2))).result is Result.PASS
    outcome = run("scaling-bounds", workload(replicas=Replicas(fixed=0)))
    assert outcome.result is Result.WARN and "replicas is 0" in outcome.message


def test_bounds_skip_when_nothing_is_declared():
    assert run("scaling-bounds", workload()).result is Result.SKIP


# --- scaling-inference-metric ------------------------------------------------------------------


def test_inference_metric_pass_on_a_queue_depth_query():
    query = 'sum(vllm:num_requests_waiting{model="llm"})'
    w = workload(autoscaler=InlineAutoscaler("kserve-keda", 1, 4, metrics=(query,)))
    assert run("scaling-inference-metric", w).result is Result.PASS


def test_inference_metric_warn_on_cpu_and_gpu_utilisation_only():
    scaler = hpa(metrics=("cpu", "DCGM_FI_DEV_GPU_UTIL"))
    outcome = run("scaling-inference-metric", workload(), facts(autoscalers=(scaler,)))
    assert outcome.result is Result.WARN
    assert "'DCGM_FI_DEV_GPU_UTIL'" in outcome.message and "'cpu'" in outcome.message


def test_inference_metric_warn_for_an_hpa_without_metrics_which_defaults_to_cpu():
    outcome = run("scaling-inference-metric", workload(), facts(autoscalers=(hpa(metrics=()),)))
    assert outcome.result is Result.WARN and "'cpu'" in outcome.message


def test_inference_metric_pass_with_a_note_for_a_custom_signal():
    w = workload(autoscaler=InlineAutoscaler("vllmruntime-keda", 1, 2, metrics=("my_metric",)))
    outcome = run("scaling-inference-metric", w)
    assert outcome.result is Result.PASS and "custom" in outcome.message


def test_inference_metric_skip_without_autoscaler():
    assert (
        run("scaling-inference-metric", workload(), facts(FactClass.AUTOSCALERS)).result
        is Result.SKIP
    )
    assert run("scaling-inference-metric", workload()).result is Result.SKIP


# --- scaling-capacity --------------------------------------------------------------------------


def test_capacity_pass_when_max_replicas_fit():
    w = workload(autoscaler=InlineAutoscaler("kserve-keda", 1, 2))
    outcome = run("scaling-capacity", w, facts(nodes=(node(gpus=2),)))
    assert outcome.result is Result.PASS and "2 of 2" in outcome.message


def test_capacity_fail_counts_every_pod_of_a_multi_pod_group():
    leader = template(container(gpus="8"), role="leader")
    worker = template(container(gpus="8"), role="worker", pods_per_replica=3)
    w = workload(leader, worker, replicas=Replicas(fixed=2))
    outcome = run("scaling-capacity", w, facts(nodes=(node("a", 8), node("b", 8), node("c", 16))))
    assert outcome.result is Result.FAIL
    assert "2 replica(s) x 32 'nvidia.com/gpu' = 64" in outcome.message
    assert "32 allocatable" in outcome.message


def test_capacity_warn_when_no_node_offers_the_resource():
    outcome = run("scaling-capacity", workload(replicas=Replicas(fixed=1)), facts(nodes=()))
    assert outcome.result is Result.WARN


def test_capacity_skip_without_a_replica_count():
    assert run("scaling-capacity", workload(), facts(nodes=(node(),))).result is Result.SKIP


# --- scaling-disruption-budget -----------------------------------------------------------------


def test_disruption_budget_pass_when_a_pdb_selects_the_pods():
    known = facts(disruption_budgets=(selecting("PodDisruptionBudget", "llm-pdb"),))
    outcome = run("scaling-disruption-budget", workload(replicas=Replicas(fixed=3)), known)
    assert outcome.result is Result.PASS and "'llm-pdb'" in outcome.message


def test_disruption_budget_fail_when_no_pdb_selects_a_multi_replica_workload():
    other = selecting("PodDisruptionBudget", "other", {"app": "other"})
    w = workload(autoscaler=InlineAutoscaler("kserve-keda", 1, 4))
    outcome = run("scaling-disruption-budget", w, facts(disruption_budgets=(other,)))
    assert outcome.result is Result.FAIL
    assert "up to 4 replicas" in outcome.message and "template 'pod'" in outcome.message


def test_disruption_budget_skip_for_a_single_replica_even_without_pdb_facts():
    assert (
        run("scaling-disruption-budget", workload(replicas=Replicas(fixed=1))).result is Result.SKIP
    )


def test_disruption_budget_skip_when_pdbs_are_unknown():
    outcome = run("scaling-disruption-budget", workload(replicas=Replicas(fixed=2)))
    assert outcome.result is Result.SKIP and "PodDisruptionBudgets" in outcome.message


# --- scaling-scale-to-zero ---------------------------------------------------------------------


def test_scale_to_zero_pass_behind_the_knative_activator():
    w = workload(autoscaler=InlineAutoscaler("knative", 0, 3, buffers_requests=True))
    assert run("scaling-scale-to-zero", w).result is Result.PASS


def test_scale_to_zero_pass_behind_a_keda_http_scaled_object():
    http = hpa(name="llm-http", kind="HTTPScaledObject", minimum=0, buffers_requests=True)
    outcome = run("scaling-scale-to-zero", workload(), facts(autoscalers=(http,)))
    assert outcome.result is Result.PASS


def test_scale_to_zero_fail_for_a_scaled_object_without_a_buffer():
    keda = hpa(kind="ScaledObject", minimum=0)
    outcome = run("scaling-scale-to-zero", workload(), facts(autoscalers=(keda,)))
    assert outcome.result is Result.FAIL and "ScaledObject ml/llm" in outcome.message


def test_scale_to_zero_skip_when_the_minimum_is_at_least_one():
    w = workload(autoscaler=InlineAutoscaler("kserve-keda", 1, 3))
    assert run("scaling-scale-to-zero", w).result is Result.SKIP
