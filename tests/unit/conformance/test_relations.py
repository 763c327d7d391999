"""How a workload relates to the objects in the cluster facts: autoscalers, selecting objects,
routes, nodes and ServingRuntimes."""

from conformance.facts import LabelSelector, RouteFacts, ServingRuntimeFacts
from conformance.relations import (
    autoscalers_for,
    autoscalers_naming,
    disruption_budgets_for,
    inference_pools_for,
    monitors_for,
    node_matches,
    orphan_autoscalers,
    routes_for,
    services_for,
    serving_runtime_for,
)
from conformance.workload import NodeSelectorRequirement, ScaleTargetRef, ServingRuntimeRef
from tests.unit.conformance.checks.builders import (
    facts,
    hpa,
    node,
    selecting,
    template,
    workload,
)

GIE = "inference.networking.k8s.io"


def kserve(**fields):
    return workload(
        kind="InferenceService",
        api_version="serving.kserve.io/v1beta1",
        scale_targets=(ScaleTargetRef("Deployment", "llm-predictor", "apps"),),
        **fields,
    )


# --- autoscalers -------------------------------------------------------------------------------


def test_an_hpa_on_the_scale_target_in_the_same_namespace_scales_the_workload():
    known = facts(
        autoscalers=(hpa(), hpa("elsewhere", namespace="other"), hpa("x", target_name="x"))
    )
    assert [a.name for a in autoscalers_for(workload(), known)] == ["llm"]


def test_an_hpa_naming_the_workload_kind_directly_names_it_but_does_not_scale_it():
    direct = hpa(target_kind="InferenceService", target_name="llm")
    known = facts(autoscalers=(direct,))
    assert autoscalers_naming(kserve(), known) == (direct,)
    assert autoscalers_for(kserve(), known) == ()


def test_an_autoscaler_owned_by_the_workload_scales_it_whatever_it_targets():
    owned = hpa(target_name="llm-predictor-v2", owner_kind="InferenceService", owner_name="llm")
    assert autoscalers_for(kserve(), facts(autoscalers=(owned,))) == (owned,)


def test_the_api_group_must_match_when_both_sides_name_one():
    assert autoscalers_for(workload(), facts(autoscalers=(hpa(target_api_version="apps/v1"),)))
    assert not autoscalers_for(workload(), facts(autoscalers=(hpa(target_api_version="v1"),)))
    assert autoscalers_for(workload(), facts(autoscalers=(hpa(target_api_version=None),)))


def test_a_workload_without_namespace_is_in_default():
    known = facts(autoscalers=(hpa(namespace="default"),))
    assert autoscalers_for(workload(namespace=None), known)


def test_orphans_are_autoscalers_whose_target_is_nowhere_in_the_input():
    keep_workload = hpa("a", target_name="llm")
    keep_predictor = hpa("b", target_name="llm-predictor")
    keep_present = hpa("c", target_name="plain")
    keep_owned = hpa("d", target_name="gone", owner_kind="InferenceService", owner_name="llm")
    orphan = hpa("e", target_name="gone")
    elsewhere = hpa("f", target_name="plain", namespace="other")
    known = facts(
        autoscalers=(keep_workload, keep_predictor, keep_present, keep_owned, orphan, elsewhere)
    )
    workloads = [workload(), kserve(name="llm")]
    present = {("Deployment", "ml", "plain")}
    assert [a.name for a in orphan_autoscalers(workloads, known, present)] == ["e", "f"]


# --- selecting objects -------------------------------------------------------------------------


def test_an_empty_service_selector_selects_nothing_but_an_empty_pdb_selects_everything():
    known = facts(
        services=(selecting("Service", "manual", {}),),
        disruption_budgets=(selecting("PodDisruptionBudget", "all", {}),),
    )
    assert services_for(workload(), known) == ()
    assert [b.name for b in disruption_budgets_for(workload(), known)] == ["all"]


def test_selection_uses_match_expressions_and_stays_in_the_namespace():
    expressions = LabelSelector(match_expressions=(("app", "In", ("llm", "other")),))
    known = facts(
        services=(
            selecting("Service", "expr", selector=expressions),
            selecting("Service", "elsewhere", namespace="other"),
            selecting("Service", "more", {"app": "llm", "tier": "gpu"}),
        )
    )
    assert [s.name for s in services_for(workload(), known)] == ["expr"]


def test_any_template_of_the_workload_can_be_selected():
    leader = template(role="leader", labels={"role": "leader"})
    worker = template(role="worker", labels={"role": "worker"})
    known = facts(inference_pools=(selecting("InferencePool", "p", {"role": "worker"}),))
    assert inference_pools_for(workload(leader, worker), known)


def test_a_service_monitor_covers_the_workload_through_a_selected_service():
    svc = selecting("Service", "llm", labels={"team": "ml"})
    monitor = selecting(
        "ServiceMonitor",
        "m",
        {"team": "ml"},
        selects_services=True,
        namespace="monitoring",
        namespaces=("ml",),
    )
    blind = selecting(
        "ServiceMonitor", "blind", {"team": "ml"}, selects_services=True, namespace="monitoring"
    )
    known = facts(services=(svc,), monitors=(monitor, blind))
    assert [m.name for m in monitors_for(workload(), known)] == ["m"]


# --- routes ------------------------------------------------------------------------------------


def test_routes_reach_the_workload_through_services_managed_services_and_pools():
    known = facts(
        services=(selecting("Service", "svc"),),
        inference_pools=(selecting("InferencePool", "pool"),),
        http_routes=(
            RouteFacts("to-service", "ml", (("", "Service", "svc"),)),
            RouteFacts("to-managed", "ml", (("", "Service", "llm-serve-svc"),)),
            RouteFacts("to-pool", "ml", ((GIE, "InferencePool", "pool"),)),
            RouteFacts("to-other", "ml", (("", "Service", "other"),)),
            RouteFacts("wrong-group", "ml", (("example.com", "InferencePool", "pool"),)),
            RouteFacts("other-namespace", "other", (("", "Service", "svc"),)),
        ),
    )
    routed = routes_for(workload(managed_services=("llm-serve-svc",)), known)
    assert [r.name for r in routed] == ["to-service", "to-managed", "to-pool"]


# --- nodes -------------------------------------------------------------------------------------


def _requirement(key, operator, *values):
    return NodeSelectorRequirement(key, operator, tuple(values))


def test_node_selection_operators():
    labels = {"gpu": "h100", "memory": "81920"}
    n = node(labels=labels)
    cases = {
        ("gpu", "In", "h100", "a100"): True,
        ("gpu", "NotIn", "h100"): False,
        ("zone", "NotIn", "a"): True,
        ("gpu", "Exists"): True,
        ("gpu", "DoesNotExist"): False,
        ("memory", "Gt", "40000"): True,
        ("memory", "Lt", "40000"): False,
        ("gpu", "Gt", "1"): False,  # a non-integer label never compares
        ("memory", "Gt", "1", "2"): False,  # Gt takes exactly one value
        ("gpu", "Like", "h100"): False,  # an unknown operator matches nothing
    }
    for (key, operator, *values), expected in cases.items():
        t = template(required_node_terms=((_requirement(key, operator, *values),),))
        assert node_matches(t, n) is expected, (key, operator, values)


def test_node_terms_are_ored_requirements_anded_and_an_empty_term_matches_nothing():
    n = node(labels={"gpu": "h100", "pool": "a"})
    either = ((_requirement("gpu", "In", "a100"),), (_requirement("pool", "In", "a"),))
    both = ((_requirement("gpu", "In", "h100"), _requirement("pool", "In", "b")),)
    assert node_matches(template(required_node_terms=either), n)
    assert not node_matches(template(required_node_terms=both), n)
    assert not node_matches(template(required_node_terms=((),)), n)


def test_node_selector_and_affinity_must_both_match():
    n = node(labels={"gpu": "h100", "pool": "a"})
    t = template(
        node_selector={"pool": "b"}, required_node_terms=((_requirement("gpu", "Exists"),),)
    )
    assert not node_matches(t, n)
    assert node_matches(template(), n)


# --- serving runtimes --------------------------------------------------------------------------


def test_serving_runtime_by_name_prefers_the_namespaced_one():
    cluster = ServingRuntimeFacts("vllm", None)
    namespaced = ServingRuntimeFacts("vllm", "ml")
    other_namespace = ServingRuntimeFacts("vllm", "other")
    known = facts(serving_runtimes=(cluster, other_namespace, namespaced))
    assert (
        serving_runtime_for(kserve(serving_runtime=ServingRuntimeRef("vllm")), known) is namespaced
    )
    cluster_only = ServingRuntimeRef("vllm", cluster_scoped=True)
    assert serving_runtime_for(kserve(serving_runtime=cluster_only), known) is cluster


def test_serving_runtime_by_model_format_needs_auto_select():
    listed = ServingRuntimeFacts("a", "ml", model_formats=("onnx",))
    auto = ServingRuntimeFacts("b", None, model_formats=("onnx",), auto_select_formats=("onnx",))
    known = facts(serving_runtimes=(listed, auto))
    chosen = serving_runtime_for(kserve(serving_runtime=ServingRuntimeRef(None, "ONNX")), known)
    assert chosen is auto
    assert serving_runtime_for(kserve(), known) is None
