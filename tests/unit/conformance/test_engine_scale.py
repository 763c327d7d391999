"""The engine's cost per workload does not grow with the cluster, and its indexes answer exactly
what a scan of every object would.

Complexity, not time: the tests count the calls that match a template against nodes, taints
and selectors during one evaluation, for a small and a large cluster of the same node classes
(and a namespace with few or many unrelated objects), and require the same count. The property
tests compare each index with the plain scan it replaces, on generated nodes, templates,
autoscalers, selectors and routes.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import conformance.checks.gpu as gpu
import conformance.relations as relations
from conformance.engine import evaluate
from conformance.facts import (
    AutoscalerFacts,
    ClusterFacts,
    FactClass,
    LabelSelector,
    NodeFacts,
    NodeTaint,
    RouteFacts,
    SelectingObject,
    ServingRuntimeFacts,
)
from conformance.findings import Result
from conformance.profile import builtin_profile
from conformance.workload import (
    NodeSelectorRequirement,
    PodTemplate,
    Replicas,
    ScaleTargetRef,
    ServingRuntimeRef,
    ServingWorkload,
    Toleration,
)
from tests.unit.conformance.checks.builders import (
    GPU_TAINT,
    facts,
    hpa,
    node,
    selecting,
    template,
    workload,
)

NOW = datetime(2026, 11, 23, tzinfo=UTC)
PRODUCT = "nvidia.com/gpu.product"


def cluster_nodes(count: int) -> tuple[NodeFacts, ...]:
    """``count`` nodes of four classes, each with its own hostname label (as real nodes have)."""
    nodes = []
    for n in range(count):
        kind = n % 4
        labels = {"kubernetes.io/hostname": f"node-{n}", PRODUCT: ("H100", "L40S", "L4", "")[kind]}
        nodes.append(
            node(
                f"node-{n}",
                gpus=(8, 4, 1, 0)[kind],
                labels=labels,
                taints=(GPU_TAINT,) if kind < 2 else (),
            )
        )
    return tuple(nodes)


def counting(monkeypatch, owner, name: str) -> list[int]:
    """Replace ``owner.name`` with a wrapper that counts its calls."""
    calls = [0]
    original = getattr(owner, name)

    def counted(*args, **kwargs):
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def gpu_workload() -> ServingWorkload:
    selects_h100 = template(node_selector={PRODUCT: "H100"})
    # Tolerates nothing: every candidate node's taint is judged.
    affinity = template(
        role="worker",
        path="spec.worker",
        tolerations=(Toleration(key="other", operator="Exists"),),
        required_node_terms=((NodeSelectorRequirement(PRODUCT, "In", ("H100", "L40S")),),),
    )
    return workload(selects_h100, affinity)


def evaluate_counting(monkeypatch, known: ClusterFacts, target: ServingWorkload) -> dict:
    counts = {
        "node_matches": counting(monkeypatch, relations, "node_matches"),
        "tolerates": counting(monkeypatch, gpu, "tolerates"),
        "selector_matches": counting(monkeypatch, LabelSelector, "matches"),
        "target_resolves": counting(monkeypatch, relations, "target_resolves"),
    }
    report = evaluate(target, known, builtin_profile(), NOW)
    # Every node check judged something: the counts below are of real work.
    results = {f.check: f.result for f in report.results}
    assert results["gpu-node-match"] is Result.PASS
    assert results["gpu-toleration"] is Result.WARN
    assert results["gpu-fits-node"] is Result.PASS
    monkeypatch.undo()
    return {name: calls[0] for name, calls in counts.items()}


def test_node_matching_per_evaluation_does_not_grow_with_the_node_count(monkeypatch):
    small = evaluate_counting(monkeypatch, facts(nodes=cluster_nodes(12)), gpu_workload())
    large = evaluate_counting(monkeypatch, facts(nodes=cluster_nodes(600)), gpu_workload())
    assert small["node_matches"] > 0 and small["tolerates"] > 0
    assert large["node_matches"] == small["node_matches"]
    assert large["tolerates"] == small["tolerates"]


def namespace_objects(unrelated: int) -> dict:
    """Facts of one namespace: the workload's own HPA, Service and PDB, plus ``unrelated``
    others of each kind (other apps' objects)."""
    others = [f"other-{i}" for i in range(unrelated)]
    return dict(
        nodes=cluster_nodes(12),
        autoscalers=(hpa(), *(hpa(name, target_name=name) for name in others)),
        services=(
            selecting("Service", "llm", named_ports=True, ports=(8000,)),
            *(selecting("Service", name, {"app": name}) for name in others),
        ),
        disruption_budgets=(
            selecting("PodDisruptionBudget", "llm"),
            *(selecting("PodDisruptionBudget", name, {"app": name}) for name in others),
        ),
        http_routes=tuple(
            RouteFacts(name, "ml", (("", "Service", name),)) for name in ("llm", *others)
        ),
    )


def test_matching_autoscalers_and_selectors_does_not_grow_with_the_namespace(monkeypatch):
    target = workload(
        template(node_selector={PRODUCT: "H100"}, tolerations=(Toleration(operator="Exists"),)),
        replicas=Replicas(fixed=2),
    )

    def run(unrelated: int) -> dict:
        known = facts(FactClass.MONITORS, **namespace_objects(unrelated))
        counts = {
            "selector_matches": counting(monkeypatch, LabelSelector, "matches"),
            "target_resolves": counting(monkeypatch, relations, "target_resolves"),
        }
        report = evaluate(target, known, builtin_profile(), NOW)
        results = {f.check: f.result for f in report.results}
        assert results["scaling-autoscaler"] is Result.PASS
        assert results["scaling-disruption-budget"] is Result.PASS
        assert results["endpoint-service"] is Result.PASS
        assert results["endpoint-gateway-route"] is Result.PASS
        monkeypatch.undo()
        return {name: calls[0] for name, calls in counts.items()}

    few, many = run(3), run(300)
    assert few["selector_matches"] > 0 and few["target_resolves"] > 0
    assert many == few


# --- the indexes answer what a scan answers ----------------------------------------------------

KEYS = ("zone", "pool", PRODUCT, "kubernetes.io/hostname")
VALUES = ("a", "b", "3", "10")

label_maps = st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=3)
taints = st.builds(
    NodeTaint,
    key=st.sampled_from(("nvidia.com/gpu", "dedicated")),
    value=st.sampled_from((None, "", "x")),
    effect=st.sampled_from(("NoSchedule", "NoExecute", "PreferNoSchedule")),
)
node_lists = st.lists(
    st.builds(
        NodeFacts,
        name=st.text("abc", min_size=1, max_size=3),
        labels=label_maps,
        taints=st.lists(taints, max_size=2).map(tuple),
        allocatable=st.dictionaries(
            st.sampled_from(("nvidia.com/gpu", "amd.com/gpu")), st.integers(0, 8), max_size=2
        ),
    ),
    max_size=12,
)
requirements = st.builds(
    NodeSelectorRequirement,
    key=st.sampled_from(KEYS),
    operator=st.sampled_from(("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt", "Bad")),
    values=st.lists(st.sampled_from(VALUES), max_size=2).map(tuple),
)
templates = st.builds(
    PodTemplate,
    role=st.just("pod"),
    labels=st.dictionaries(st.sampled_from(("app", "tier")), st.sampled_from(VALUES), max_size=2),
    node_selector=label_maps,
    required_node_terms=st.lists(st.lists(requirements, max_size=2).map(tuple), max_size=2).map(
        tuple
    ),
)


@settings(max_examples=200, deadline=None)
@given(node_lists, templates)
def test_node_classes_partition_the_nodes_into_ones_the_template_cannot_tell_apart(
    nodes, pod_template
):
    known = facts(nodes=tuple(nodes))
    classes = relations.node_classes_of(pod_template, known)
    members = sorted(p for c in classes for p in c.members)
    assert members == list(range(len(nodes)))
    for node_class in classes:
        for position in node_class.members:
            member = known.nodes[position]
            assert member.taints == node_class.taints
            assert member.allocatable == node_class.allocatable
            assert relations.node_matches(pod_template, member) == relations.node_matches(
                pod_template, node_class
            )
    scanned = tuple(n for n in known.nodes if relations.node_matches(pod_template, n))
    assert relations.nodes_for(pod_template, known) == scanned
    offering = [c for c in classes if c.allocatable]
    first = [known.nodes[p].name for p in sorted(p for c in offering for p in c.members)][:5]
    assert known.node_names(offering, 5) == first


NAMESPACES = ("ml", "other", None)
names = st.sampled_from(("llm", "llm-predictor", "x"))
kinds = st.sampled_from(("Deployment", "InferenceService", "LeaderWorkerSet"))
autoscaler_lists = st.lists(
    st.builds(
        AutoscalerFacts,
        kind=st.just("HorizontalPodAutoscaler"),
        name=st.text("ab", min_size=1, max_size=2),
        namespace=st.sampled_from(NAMESPACES),
        target_kind=kinds,
        target_name=names,
        owner_kind=st.one_of(st.none(), kinds),
        owner_name=st.one_of(st.none(), names),
    ),
    max_size=10,
)
selectors = st.builds(
    LabelSelector,
    match_labels=st.dictionaries(
        st.sampled_from(("app", "tier")), st.sampled_from(VALUES), max_size=2
    ),
    match_expressions=st.lists(
        st.tuples(
            st.sampled_from(("app", "tier")),
            st.sampled_from(("In", "NotIn", "Exists", "DoesNotExist")),
            st.lists(st.sampled_from(VALUES), max_size=2).map(tuple),
        ),
        max_size=1,
    ).map(tuple),
)
selecting_lists = st.lists(
    st.builds(
        SelectingObject,
        kind=st.just("Service"),
        name=st.sampled_from(("s", "t", "u")),
        namespace=st.sampled_from(NAMESPACES),
        selector=selectors,
    ),
    max_size=10,
)
route_lists = st.lists(
    st.builds(
        RouteFacts,
        name=st.text("rs", min_size=1, max_size=2),
        namespace=st.sampled_from(NAMESPACES),
        backends=st.lists(
            st.tuples(
                st.sampled_from(("", "inference.networking.k8s.io")),
                st.sampled_from(("Service", "InferencePool", "")),
                st.sampled_from(("s", "t", "u")),
            ),
            max_size=2,
        ).map(tuple),
    ),
    max_size=6,
)
workloads = st.builds(
    ServingWorkload,
    api_version=st.just("apps/v1"),
    kind=kinds,
    name=names,
    namespace=st.sampled_from(NAMESPACES),
    pod_templates=st.lists(templates, min_size=1, max_size=2).map(tuple),
    scale_targets=st.lists(
        st.builds(ScaleTargetRef, kind=kinds, name=names), max_size=2
    ).map(tuple),
    managed_services=st.lists(st.sampled_from(("s", "t")), max_size=1).map(tuple),
)


monitor_lists = st.lists(
    st.builds(
        SelectingObject,
        kind=st.sampled_from(("PodMonitor", "ServiceMonitor")),
        name=st.sampled_from(("m", "n")),
        namespace=st.sampled_from(NAMESPACES),
        selector=selectors,
        selects_services=st.booleans(),
        namespaces=st.one_of(
            st.none(),
            st.lists(st.sampled_from(("ml", "other", "default", "*")), max_size=2).map(tuple),
        ),
        labels=st.dictionaries(
            st.sampled_from(("app", "tier")), st.sampled_from(VALUES), max_size=2
        ),
    ),
    max_size=6,
)
runtime_lists = st.lists(
    st.builds(
        ServingRuntimeFacts,
        name=st.sampled_from(("vllm", "triton")),
        namespace=st.sampled_from((*NAMESPACES, "")),
        auto_select_formats=st.lists(
            st.sampled_from(("huggingface", "ONNX")), max_size=2
        ).map(tuple),
    ),
    max_size=6,
)
runtime_references = st.builds(
    ServingRuntimeRef,
    name=st.sampled_from((None, "vllm", "triton")),
    model_format=st.sampled_from((None, "HuggingFace", "onnx")),
    cluster_scoped=st.sampled_from((None, True, False)),
)


def scanned_selecting(objects, target, empty_matches_all):
    return tuple(
        obj for obj in objects
        if relations.templates_selected_by(obj, target, empty_matches_all=empty_matches_all)
    )


@settings(max_examples=300, deadline=None)
@given(workloads, autoscaler_lists, selecting_lists, selecting_lists, route_lists)
def test_indexed_lookups_equal_a_scan_of_the_namespace(
    target, autoscalers, services, pools, routes
):
    known = facts(
        autoscalers=tuple(autoscalers),
        services=tuple(services),
        disruption_budgets=tuple(services),
        inference_pools=tuple(pools),
        http_routes=tuple(routes),
    )
    namespace = target.namespace

    references = {(target.kind, target.name), *((t.kind, t.name) for t in target.scale_targets)}
    assert relations.autoscalers_naming(target, known) == tuple(
        a for a in known.in_namespace("autoscalers", namespace)
        if (a.target_kind, a.target_name) in references
        or (a.owner_kind, a.owner_name) in references
    )
    assert relations.services_for(target, known) == scanned_selecting(
        known.in_namespace("services", namespace), target, False
    )
    assert relations.disruption_budgets_for(target, known) == scanned_selecting(
        known.in_namespace("disruption_budgets", namespace), target, True
    )
    scanned_pools = scanned_selecting(
        known.in_namespace("inference_pools", namespace), target, False
    )
    assert relations.inference_pools_for(target, known) == scanned_pools
    service_names = {s.name for s in relations.services_for(target, known)}
    service_names |= set(target.managed_services)
    pool_names = {p.name for p in scanned_pools}
    assert relations.routes_for(target, known) == tuple(
        route for route in known.in_namespace("http_routes", namespace)
        if any(
            (relations._routes_to_service(b) and b[2] in service_names)
            or (relations._routes_to_pool(b) and b[2] in pool_names)
            for b in route.backends
        )
    )
    for pool in scanned_pools:
        assert relations.routes_to_pool(pool, known) == tuple(
            route for route in known.in_namespace("http_routes", pool.namespace)
            if any(relations._routes_to_pool(b) and b[2] == pool.name for b in route.backends)
        )


@settings(max_examples=300, deadline=None)
@given(workloads, selecting_lists, monitor_lists, runtime_lists, runtime_references)
def test_monitors_and_serving_runtimes_equal_a_scan_of_the_cluster(
    target, services, monitors, runtimes, reference
):
    known = facts(services=tuple(services), monitors=tuple(monitors),
                  serving_runtimes=tuple(runtimes))
    services_selecting = relations.services_for(target, known)

    def covers(monitor):
        if monitor.selects_services:
            return any(
                relations._monitor_watches(monitor, service.namespace)
                and relations.selector_matches(monitor.selector, service.labels,
                                               empty_matches_all=True)
                for service in services_selecting
            )
        return relations._monitor_watches(monitor, target.namespace) and any(
            relations.selector_matches(monitor.selector, t.labels, empty_matches_all=True)
            for t in target.pod_templates
        )

    assert relations.monitors_for(target, known) == tuple(m for m in monitors if covers(m))

    kserve = ServingWorkload(**{**target.__dict__, "serving_runtime": reference})
    namespace = relations.namespace_of(target.namespace)
    candidates = sorted(
        (
            r for r in runtimes
            if (r.namespace is None and reference.cluster_scoped is not False)
            or (r.namespace is not None and relations.namespace_of(r.namespace) == namespace
                and reference.cluster_scoped is not True)
        ),
        key=lambda r: r.namespace is None,
    )
    if reference.name:
        expected = next((r for r in candidates if r.name == reference.name), None)
    elif reference.model_format:
        expected = next(
            (r for r in candidates
             if reference.model_format.casefold() in (f.casefold() for f in r.auto_select_formats)),
            None,
        )
    else:
        expected = None
    assert relations.serving_runtime_for(kserve, known) is expected


@pytest.mark.parametrize("nodes", [12, 600])
def test_node_check_messages_count_nodes_not_classes(nodes):
    known = facts(nodes=cluster_nodes(nodes))
    report = evaluate(gpu_workload(), known, builtin_profile(), NOW)
    messages = {f.check: f.message for f in report.results}
    per_class = nodes // 4
    assert f"can land on {per_class} node(s)" in messages["gpu-node-match"]
    assert f"on {2 * per_class} of {2 * per_class}" in messages["gpu-toleration"]
    unmatched = evaluate(
        workload(template(node_selector={PRODUCT: "B200"})), known,
        builtin_profile(), NOW,
    )
    (message,) = [f.message for f in unmatched.results if f.check == "gpu-node-match"]
    # The first five offering nodes by position, named in sorted order.
    assert f"none of the {3 * per_class} node(s)" in message
    assert "'node-0', 'node-1', 'node-2', 'node-4', 'node-5'" in message
