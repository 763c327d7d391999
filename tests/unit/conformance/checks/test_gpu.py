"""GPU scheduling checks, as specifications: each test builds a workload and the cluster facts
it is judged against, and states the result and what the message names."""

from conformance.facts import FactClass, NodeTaint
from conformance.findings import Result
from conformance.workload import (
    Container,
    NodeSelectorRequirement,
    ResourceClaimRef,
    Toleration,
)
from tests.unit.conformance.checks.builders import (
    GPU_TAINT,
    container,
    facts,
    node,
    run,
    template,
    workload,
)

# --- gpu-limits --------------------------------------------------------------------------------


def test_gpu_limits_pass_when_requests_equal_whole_number_limits():
    outcome = run("gpu-limits", workload())
    assert outcome.result is Result.PASS
    assert "'vllm'" in outcome.message


def test_gpu_limits_fail_when_the_gpu_is_only_requested():
    c = container(limits={}, requests={"nvidia.com/gpu": "1"})
    outcome = run("gpu-limits", workload(template(c)))
    assert outcome.result is Result.FAIL
    assert "'vllm'" in outcome.message and "without a limit" in outcome.message
    assert "spec.template.spec.containers[0]" in outcome.message


def test_gpu_limits_fail_when_request_differs_from_limit():
    c = container(limits={"nvidia.com/gpu": "1"}, requests={"nvidia.com/gpu": "2"})
    outcome = run("gpu-limits", workload(template(c)))
    assert outcome.result is Result.FAIL
    assert "requests nvidia.com/gpu='2' differs from limits '1'" in outcome.message


def test_gpu_limits_treat_equal_quantities_written_differently_as_equal():
    c = container(limits={"nvidia.com/gpu": "2"}, requests={"nvidia.com/gpu": "2000m"})
    assert run("gpu-limits", workload(template(c))).result is Result.PASS


def test_gpu_limits_fail_on_fractional_and_non_numeric_counts_in_one_message():
    first = container("a", limits={"nvidia.com/gpu": "0.5"}, requests={})
    second = container("b", limits={"amd.com/gpu": "abc"}, requests={})
    outcome = run("gpu-limits", workload(template(first, second)))
    assert outcome.result is Result.FAIL
    assert "'a'" in outcome.message and "fractional" in outcome.message
    assert "'b'" in outcome.message and "'abc' is not a Kubernetes quantity" in outcome.message


def test_gpu_limits_judge_init_containers_and_fractional_gpu_resources():
    init = Container(name="warmup", requests={"nvidia.com/gpumem": "4000"})
    outcome = run("gpu-limits", workload(template(container(), init_containers=(init,))))
    assert outcome.result is Result.FAIL and "'warmup'" in outcome.message


def test_gpu_limits_skip_a_workload_that_asks_only_through_dra():
    c = container(gpus=None, claims=("gpu",))
    t = template(c, resource_claims=(ResourceClaimRef("gpu", resource_claim_template_name="one"),))
    assert run("gpu-limits", workload(t)).result is Result.SKIP


# --- gpu-toleration ----------------------------------------------------------------------------


def test_gpu_toleration_pass_when_the_taint_is_tolerated():
    t = template(tolerations=(Toleration(key="nvidia.com/gpu", operator="Exists"),))
    outcome = run("gpu-toleration", workload(t), facts(nodes=(node(taints=(GPU_TAINT,)),)))
    assert outcome.result is Result.PASS


def test_gpu_toleration_pass_when_gpu_nodes_are_not_tainted():
    assert run("gpu-toleration", workload(), facts(nodes=(node(),))).result is Result.PASS


def test_gpu_toleration_warn_and_name_the_plugin_when_the_resource_taint_is_not_tolerated():
    outcome = run("gpu-toleration", workload(), facts(nodes=(node(taints=(GPU_TAINT,)),)))
    assert outcome.result is Result.WARN
    assert "nvidia.com/gpu=present:NoSchedule" in outcome.message
    assert "template 'pod'" in outcome.message
    assert "unless the ExtendedResourceToleration" in outcome.message


def test_gpu_toleration_warn_when_a_taint_the_plugin_cannot_add_is_not_tolerated():
    taint = NodeTaint(key="dedicated", value="inference", effect="NoSchedule")
    outcome = run("gpu-toleration", workload(), facts(nodes=(node(taints=(taint,)),)))
    assert outcome.result is Result.WARN
    assert "cannot add it" in outcome.message and "dedicated=inference" in outcome.message


def test_gpu_toleration_ignore_prefer_no_schedule_taints_and_non_gpu_nodes():
    soft = NodeTaint(key="nvidia.com/gpu", effect="PreferNoSchedule")
    cpu_node = node("cpu-1", gpus=0, taints=(GPU_TAINT,))
    outcome = run("gpu-toleration", workload(), facts(nodes=(node(taints=(soft,)), cpu_node)))
    assert outcome.result is Result.PASS


def test_gpu_toleration_skip_when_no_gpu_node_is_eligible():
    assert run("gpu-toleration", workload(), facts(nodes=(node(gpus=0),))).result is Result.SKIP


# --- gpu-node-match ----------------------------------------------------------------------------


def test_gpu_node_match_pass_when_the_node_selector_matches_a_gpu_node():
    t = template(node_selector={"nvidia.com/gpu.product": "H100"})
    n = node(labels={"nvidia.com/gpu.product": "H100"})
    assert run("gpu-node-match", workload(t), facts(nodes=(n,))).result is Result.PASS


def test_gpu_node_match_fail_names_the_node_selector_that_excludes_every_gpu_node():
    t = template(node_selector={"nvidia.com/gpu.product": "H100"})
    n = node(labels={"nvidia.com/gpu.product": "A100"})
    outcome = run("gpu-node-match", workload(t), facts(nodes=(n,)))
    assert outcome.result is Result.FAIL
    assert "nodeSelector {nvidia.com/gpu.product=H100}" in outcome.message
    assert "'gpu-1'" in outcome.message


def test_gpu_node_match_fail_when_affinity_excludes_the_gpu_nodes():
    term = (NodeSelectorRequirement("nvidia.com/gpu.memory", "Gt", ("80000",)),)
    t = template(required_node_terms=(term,))
    n = node(labels={"nvidia.com/gpu.memory": "40960"})
    outcome = run("gpu-node-match", workload(t), facts(nodes=(n,)))
    assert outcome.result is Result.FAIL and "required node affinity" in outcome.message


def test_gpu_node_match_fail_when_only_non_gpu_nodes_match():
    t = template(node_selector={"pool": "cpu"})
    nodes = (node("cpu-1", gpus=0, labels={"pool": "cpu"}), node("gpu-1", labels={"pool": "gpu"}))
    assert run("gpu-node-match", workload(t), facts(nodes=nodes)).result is Result.FAIL


def test_gpu_node_match_warn_when_no_node_offers_the_resource_at_all():
    outcome = run("gpu-node-match", workload(), facts(nodes=(node(gpus=0),)))
    assert outcome.result is Result.WARN and "cluster autoscaler" in outcome.message


def test_gpu_node_match_count_any_gpu_node_for_a_fractional_gpu_template():
    t = template(container(gpus=None), annotations={"gpu-fraction": "0.5"})
    assert run("gpu-node-match", workload(t), facts(nodes=(node(),))).result is Result.PASS


def test_gpu_node_match_skip_a_dra_only_template():
    c = container(gpus=None, claims=("gpu",))
    t = template(c, resource_claims=(ResourceClaimRef("gpu", resource_claim_template_name="one"),))
    outcome = run("gpu-node-match", workload(t), facts(nodes=(node(),)))
    assert outcome.result is Result.SKIP and "DRA" in outcome.message


# --- gpu-fits-node -----------------------------------------------------------------------------


def test_gpu_fits_node_pass_when_the_largest_node_holds_the_pod():
    c = container(gpus="8")
    outcome = run("gpu-fits-node", workload(template(c)), facts(nodes=(node(gpus=8),)))
    assert outcome.result is Result.PASS


def test_gpu_fits_node_fail_when_the_pod_needs_more_than_any_eligible_node_has():
    c = container(gpus="16")
    nodes = (node("small", gpus=8), node("big", gpus=16, labels={"pool": "other"}))
    t = template(c, node_selector={"pool": "main"})
    n = node("small", gpus=8, labels={"pool": "main"})
    outcome = run("gpu-fits-node", workload(t), facts(nodes=(*nodes, n)))
    assert outcome.result is Result.FAIL
    assert "16 'nvidia.com/gpu' per pod" in outcome.message and "has 8" in outcome.message


def test_gpu_fits_node_add_up_containers_of_one_pod():
    t = template(container("a", gpus="4"), container("b", gpus="4"))
    assert run("gpu-fits-node", workload(t), facts(nodes=(node(gpus=4),))).result is Result.FAIL


def test_gpu_fits_node_skip_when_no_eligible_node_offers_the_resource():
    assert run("gpu-fits-node", workload(), facts(nodes=(node(gpus=0),))).result is Result.SKIP


# --- gpu-dra-claims ----------------------------------------------------------------------------


def _dra_workload(**claim):
    c = container(gpus=None, claims=("gpu",))
    return workload(template(c, resource_claims=(ResourceClaimRef("gpu", **claim),)))


def test_gpu_dra_claims_pass_when_the_claim_template_and_its_device_class_exist():
    known = facts(
        claim_templates=frozenset({("ml", "one-gpu")}),
        claim_template_device_classes={("ml", "one-gpu"): ("gpu.nvidia.com",)},
        device_classes=frozenset({"gpu.nvidia.com"}),
    )
    outcome = run("gpu-dra-claims", _dra_workload(resource_claim_template_name="one-gpu"), known)
    assert outcome.result is Result.PASS and "'one-gpu'" in outcome.message


def test_gpu_dra_claims_fail_when_the_claim_template_is_missing_in_the_namespace():
    known = facts(claim_templates=frozenset({("other", "one-gpu")}))
    outcome = run("gpu-dra-claims", _dra_workload(resource_claim_template_name="one-gpu"), known)
    assert outcome.result is Result.FAIL
    assert "claim 'gpu'" in outcome.message and "namespace 'ml'" in outcome.message


def test_gpu_dra_claims_fail_when_a_device_class_does_not_exist():
    known = facts(claim_templates=frozenset(), device_classes=frozenset({"gpu.nvidia.com"}))
    outcome = run("gpu-dra-claims", _dra_workload(device_classes=("gpu.amd.com",)), known)
    assert outcome.result is Result.FAIL and "'gpu.amd.com'" in outcome.message


def test_gpu_dra_claims_say_device_classes_are_unverified_without_device_class_facts():
    known = facts(
        claim_templates=frozenset({("ml", "one-gpu")}),
        claim_template_device_classes={("ml", "one-gpu"): ("gpu.nvidia.com",)},
    )
    outcome = run("gpu-dra-claims", _dra_workload(resource_claim_template_name="one-gpu"), known)
    assert outcome.result is Result.PASS and "not verified" in outcome.message


def test_gpu_dra_claims_fail_when_a_container_uses_an_undeclared_claim():
    c = container(gpus=None, claims=("gpus",))
    t = template(c, resource_claims=(ResourceClaimRef("gpu", resource_claim_template_name="x"),))
    known = facts(claim_templates=frozenset({("ml", "x")}))
    outcome = run("gpu-dra-claims", workload(t), known)
    assert outcome.result is Result.FAIL and "'gpus'" in outcome.message


def test_gpu_dra_claims_skip_when_the_workload_has_no_claims():
    outcome = run("gpu-dra-claims", workload(), facts(claim_templates=frozenset()))
    assert outcome.result is Result.SKIP


def test_gpu_dra_claims_skip_a_claim_by_name_which_it_cannot_verify():
    outcome = run(
        "gpu-dra-claims",
        _dra_workload(resource_claim_name="shared"),
        facts(FactClass.CLAIM_TEMPLATES),
    )
    assert outcome.result is Result.SKIP and "'shared'" in outcome.message


# --- gpu-runtime-class -------------------------------------------------------------------------


def test_gpu_runtime_class_pass_when_the_runtime_class_exists():
    t = template(runtime_class_name="nvidia")
    known = facts(runtime_classes=frozenset({"nvidia"}))
    assert run("gpu-runtime-class", workload(t), known).result is Result.PASS


def test_gpu_runtime_class_fail_names_the_missing_runtime_class():
    t = template(runtime_class_name="nvidia")
    outcome = run("gpu-runtime-class", workload(t), facts(runtime_classes=frozenset({"kata"})))
    assert outcome.result is Result.FAIL
    assert "runtimeClassName 'nvidia'" in outcome.message and "template 'pod'" in outcome.message


def test_gpu_runtime_class_skip_when_none_is_referenced():
    outcome = run("gpu-runtime-class", workload(), facts(runtime_classes=frozenset()))
    assert outcome.result is Result.SKIP


# --- gpu-gang-scheduling -----------------------------------------------------------------------


def test_gpu_gang_scheduling_pass_when_a_multi_pod_group_declares_a_mechanism():
    outcome = run("gpu-gang-scheduling", workload(group_size=4, gang_mechanisms=("volcano",)))
    assert outcome.result is Result.PASS and "'volcano'" in outcome.message


def test_gpu_gang_scheduling_fail_for_a_multi_pod_group_without_one():
    leader, worker = template(role="leader"), template(role="worker", pods_per_replica=3)
    outcome = run("gpu-gang-scheduling", workload(leader, worker, group_size=4))
    assert outcome.result is Result.FAIL
    assert "group of 4 pods" in outcome.message and "'worker'" in outcome.message


def test_gpu_gang_scheduling_skip_single_pod_replicas():
    assert run("gpu-gang-scheduling", workload(group_size=1)).result is Result.SKIP
