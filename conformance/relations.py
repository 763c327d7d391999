"""How a workload relates to the other objects in the cluster facts.

Which autoscalers scale it, which Services, PodDisruptionBudgets, InferencePools and monitors
select its pods, which HTTPRoutes reach it, which nodes its pod templates can land on, and which
autoscalers scale nothing that exists. The checks and the operator both ask these questions, so
the answers live here once. Everything is a pure function of (workload, facts).

Namespaces: a workload or object without a namespace (a manifest applied with ``kubectl apply``
and no ``-n``) is treated as being in ``default``, the namespace kubectl would put it in.
"""

from __future__ import annotations

from collections.abc import Iterable

from conformance.facts import (
    AutoscalerFacts,
    ClusterFacts,
    LabelSelector,
    NodeClass,
    NodeFacts,
    RouteFacts,
    SelectingObject,
    ServingRuntimeFacts,
)
from conformance.shared import Shared
from conformance.workload import (
    NodeSelectorRequirement,
    PodTemplate,
    ScaleTargetRef,
    ServingWorkload,
)

# HTTPRoute backendRef groups under which an InferencePool is addressed (GA and the older
# experimental group).
INFERENCE_POOL_GROUPS = frozenset({"inference.networking.k8s.io", "inference.networking.x-k8s.io"})

# (kind, namespace, name) of an object in the input.
ObjectKey = tuple[str, str, str]


def namespace_of(namespace: str | None) -> str:
    """The namespace an object lands in: its own, or ``default`` when it names none."""
    return namespace or "default"


def _in_namespace(workload: ServingWorkload, namespace: str | None) -> bool:
    return namespace_of(workload.namespace) == namespace_of(namespace)


def _group_of(api_version: str | None) -> str | None:
    """``apps/v1`` -> ``apps``; ``v1`` -> ``""`` (core); None stays None (unknown)."""
    if api_version is None:
        return None
    return api_version.rpartition("/")[0] if "/" in api_version else ""


# --- autoscalers -------------------------------------------------------------------------------


def _names_scale_target(autoscaler: AutoscalerFacts, target: ScaleTargetRef) -> bool:
    """Kind and name match, whatever the API group (the group is judged by ``target_resolves``)."""
    return autoscaler.target_kind == target.kind and autoscaler.target_name == target.name


def _owned_by(autoscaler: AutoscalerFacts, workload: ServingWorkload) -> bool:
    # KServe creates "<isvc>-predictor" HPAs/ScaledObjects and owns them; they scale the
    # workload even when the adapter did not list that exact target.
    return autoscaler.owner_kind == workload.kind and autoscaler.owner_name == workload.name


def target_resolves(autoscaler: AutoscalerFacts, workload: ServingWorkload) -> bool:
    """Whether the autoscaler's scaleTargetRef reaches something that can scale the workload:
    one of its ``scale_targets`` (kind, name and, when both sides say, API group), or it is an
    autoscaler the workload's own controller created."""
    if _owned_by(autoscaler, workload):
        return True
    group = _group_of(autoscaler.target_api_version)
    for target in workload.scale_targets:
        if not _names_scale_target(autoscaler, target):
            continue
        if group is None or target.api_group is None or group == target.api_group:
            return True
    return False


def autoscalers_naming(
    workload: ServingWorkload, facts: ClusterFacts
) -> tuple[AutoscalerFacts, ...]:
    """Every autoscaler in the workload's namespace that points at it: through a scale target
    (right or wrong API group), by naming the workload's own kind and name (which may not be
    scalable), or by being owned by it."""
    return facts.autoscalers_referencing(
        workload.namespace,
        [(workload.kind, workload.name), *((t.kind, t.name) for t in workload.scale_targets)],
    )


def autoscalers_for(workload: ServingWorkload, facts: ClusterFacts) -> tuple[AutoscalerFacts, ...]:
    """The autoscalers that actually scale the workload (their target resolves)."""
    return tuple(a for a in autoscalers_naming(workload, facts) if target_resolves(a, workload))


def shared_autoscalers_for(memo: Shared) -> tuple[AutoscalerFacts, ...]:
    """``autoscalers_for`` of the evaluation's workload, once per evaluation."""
    return memo.value("autoscalers_for", autoscalers_for, memo.workload, memo.facts)


def orphan_autoscalers(
    workloads: Iterable[ServingWorkload],
    facts: ClusterFacts,
    present: Iterable[ObjectKey],
) -> tuple[AutoscalerFacts, ...]:
    """HPAs and ScaledObjects whose target is none of the workloads, none of their scale
    targets, and no object present in the input (``present``: (kind, namespace, name) of every
    object the input carried, e.g. plain Deployments that are not serving targets).

    An autoscaler owned by a workload is never an orphan: its controller manages it.
    """
    known: set[ObjectKey] = {
        (kind, namespace_of(namespace), name) for kind, namespace, name in present
    }
    owners: set[ObjectKey] = set()
    for workload in workloads:
        namespace = namespace_of(workload.namespace)
        owners.add((workload.kind, namespace, workload.name))
        known.add((workload.kind, namespace, workload.name))
        for target in workload.scale_targets:
            known.add((target.kind, namespace, target.name))
    orphans = []
    for autoscaler in facts.autoscalers:
        namespace = namespace_of(autoscaler.namespace)
        if autoscaler.owner_kind and autoscaler.owner_name:
            if (autoscaler.owner_kind, namespace, autoscaler.owner_name) in owners:
                continue
        if (autoscaler.target_kind, namespace, autoscaler.target_name) in known:
            continue
        orphans.append(autoscaler)
    return tuple(orphans)


# --- label selection ---------------------------------------------------------------------------


def selector_matches(
    selector: LabelSelector, labels: dict[str, str], *, empty_matches_all: bool
) -> bool:
    """Label-selector matching with an explicit rule for the empty selector, because kinds
    differ: an empty Service selector selects no pods (the Service then has manual endpoints),
    while an empty PodDisruptionBudget (policy/v1) or monitor selector selects every pod."""
    if selector.is_empty:
        return empty_matches_all
    return selector.matches(labels)


def templates_selected_by(
    selecting: SelectingObject, workload: ServingWorkload, *, empty_matches_all: bool
) -> tuple[PodTemplate, ...]:
    """The workload's pod templates whose pods the object selects (same namespace only)."""
    if not _in_namespace(workload, selecting.namespace):
        return ()
    return tuple(
        template
        for template in workload.pod_templates
        if selector_matches(
            selecting.selector, template.labels, empty_matches_all=empty_matches_all
        )
    )


def selecting_candidates(
    attribute: str, workload: ServingWorkload, facts: ClusterFacts
) -> tuple[SelectingObject, ...]:
    """The ``attribute`` objects of the workload's namespace that might select its pods (by
    the facts' label index), in order; ``templates_selected_by`` decides."""
    return facts.selecting_candidates(
        attribute, workload.namespace, (t.labels for t in workload.pod_templates)
    )


def _selecting(
    attribute: str, workload: ServingWorkload, facts: ClusterFacts, *, empty_matches_all: bool
) -> tuple[SelectingObject, ...]:
    return tuple(
        obj
        for obj in selecting_candidates(attribute, workload, facts)
        if templates_selected_by(obj, workload, empty_matches_all=empty_matches_all)
    )


def services_for(workload: ServingWorkload, facts: ClusterFacts) -> tuple[SelectingObject, ...]:
    return _selecting("services", workload, facts, empty_matches_all=False)


def disruption_budgets_for(
    workload: ServingWorkload, facts: ClusterFacts
) -> tuple[SelectingObject, ...]:
    return _selecting("disruption_budgets", workload, facts, empty_matches_all=True)


def inference_pools_for(
    workload: ServingWorkload, facts: ClusterFacts
) -> tuple[SelectingObject, ...]:
    # An InferencePool's selector is required and "compatible with Service selectors": an
    # empty one selects nothing.
    return _selecting("inference_pools", workload, facts, empty_matches_all=False)


def _monitor_watches(monitor: SelectingObject, namespace: str | None) -> bool:
    if monitor.namespaces is None:
        return namespace_of(monitor.namespace) == namespace_of(namespace)
    return "*" in monitor.namespaces or namespace_of(namespace) in monitor.namespaces


def monitors_for(workload: ServingWorkload, facts: ClusterFacts) -> tuple[SelectingObject, ...]:
    """PodMonitors that select the workload's pods, and ServiceMonitors that select (by the
    Service's own labels) a Service which selects them. Monitors may watch other namespaces."""
    services = services_for(workload, facts)
    found = []
    # Services are in the workload's namespace, so a monitor covers its pods only if it
    # watches that namespace.
    for monitor in facts.monitors_watching(workload.namespace):
        if monitor.selects_services:
            covers = any(
                _monitor_watches(monitor, service.namespace)
                and selector_matches(monitor.selector, service.labels, empty_matches_all=True)
                for service in services
            )
        else:
            covers = _monitor_watches(monitor, workload.namespace) and any(
                selector_matches(monitor.selector, template.labels, empty_matches_all=True)
                for template in workload.pod_templates
            )
        if covers:
            found.append(monitor)
    return tuple(found)


# --- routes ------------------------------------------------------------------------------------


def _routes_to_service(backend: tuple[str, str, str]) -> bool:
    group, kind, _ = backend
    # Gateway API defaults: kind Service in the core group.
    return (kind or "Service") == "Service" and group in ("", "core")


def _routes_to_pool(backend: tuple[str, str, str]) -> bool:
    group, kind, _ = backend
    return kind == "InferencePool" and group in INFERENCE_POOL_GROUPS


def routes_for(workload: ServingWorkload, facts: ClusterFacts) -> tuple[RouteFacts, ...]:
    """HTTPRoutes (in the workload's namespace; backendRefs here carry no namespace) with a
    backend that is a Service selecting its pods, a Service the workload manages itself, or an
    InferencePool selecting its pods."""
    service_names = {s.name for s in services_for(workload, facts)} | set(workload.managed_services)
    pool_names = {p.name for p in inference_pools_for(workload, facts)}
    return tuple(
        route
        for route in facts.routes_naming(workload.namespace, service_names | pool_names)
        if any(
            (_routes_to_service(backend) and backend[2] in service_names)
            or (_routes_to_pool(backend) and backend[2] in pool_names)
            for backend in route.backends
        )
    )


def routes_to_pool(pool: SelectingObject, facts: ClusterFacts) -> tuple[RouteFacts, ...]:
    """HTTPRoutes whose backends include the InferencePool."""
    return tuple(
        route
        for route in facts.routes_naming(pool.namespace, (pool.name,))
        if any(_routes_to_pool(b) and b[2] == pool.name for b in route.backends)
    )


# --- nodes -------------------------------------------------------------------------------------


def _integer(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def requirement_matches(requirement: NodeSelectorRequirement, labels: dict[str, str]) -> bool:
    """One node-affinity requirement, as the scheduler reads it. An unknown operator matches
    nothing, so a typo shows up as "matches no node" instead of silently matching all."""
    value = labels.get(requirement.key)
    operator = requirement.operator
    if operator == "In":
        return value is not None and value in requirement.values
    if operator == "NotIn":
        return value is None or value not in requirement.values
    if operator == "Exists":
        return value is not None
    if operator == "DoesNotExist":
        return value is None
    if operator in ("Gt", "Lt"):
        # Exactly one integer value; a non-integer label never matches.
        if len(requirement.values) != 1:
            return False
        bound, actual = _integer(requirement.values[0]), _integer(value)
        if bound is None or actual is None:
            return False
        return actual > bound if operator == "Gt" else actual < bound
    return False


def node_matches(template: PodTemplate, node: NodeFacts | NodeClass) -> bool:
    """Whether the template's nodeSelector and required node affinity admit the node.

    The terms are ORed and an empty term matches no node (the API's rule). Taints are not
    considered here: tolerating them is a separate question (``gpu-toleration``), and a
    cordoned node still counts, because cordoning is a transient operational state.
    """
    for key, value in template.node_selector.items():
        if node.labels.get(key) != value:
            return False
    if not template.required_node_terms:
        return True
    return any(
        bool(term) and all(requirement_matches(r, node.labels) for r in term)
        for term in template.required_node_terms
    )


def nodes_for(template: PodTemplate, facts: ClusterFacts) -> tuple[NodeFacts, ...]:
    """The nodes the template's node selection admits."""
    positions = sorted(p for c in node_classes_for(template, facts) for p in c.members)
    return tuple(facts.nodes[position] for position in positions)


def node_label_keys(template: PodTemplate) -> frozenset[str]:
    """The node label keys the template's node selection reads."""
    keys = set(template.node_selector)
    for term in template.required_node_terms:
        keys.update(requirement.key for requirement in term)
    return frozenset(keys)


def node_classes_of(template: PodTemplate, facts: ClusterFacts) -> tuple[NodeClass, ...]:
    """Every node, in classes the template's node selection cannot tell apart."""
    return facts.node_classes(node_label_keys(template))


def node_classes_for(template: PodTemplate, facts: ClusterFacts) -> tuple[NodeClass, ...]:
    """The node classes (of ``node_classes_of``) the template's node selection admits: one
    ``node_matches`` per class, however many nodes the class holds."""
    return tuple(c for c in node_classes_of(template, facts) if node_matches(template, c))


# --- KServe serving runtimes -------------------------------------------------------------------


def serving_runtime_for(
    workload: ServingWorkload, facts: ClusterFacts
) -> ServingRuntimeFacts | None:
    """The (Cluster)ServingRuntime that supplies a KServe workload's container, as KServe picks
    it: by name when the workload names one, else the first runtime that auto-selects its model
    format. A ServingRuntime in the workload's namespace wins over a ClusterServingRuntime."""
    reference = workload.serving_runtime
    if reference is None:
        return None
    # Namespaced first: KServe prefers a ServingRuntime over a same-named ClusterServingRuntime.
    candidates = [
        *(facts.serving_runtimes_in(namespace_of(workload.namespace))
          if reference.cluster_scoped is not True else ()),
        *(facts.serving_runtimes_in(None) if reference.cluster_scoped is not False else ()),
    ]
    if reference.name:
        return next((r for r in candidates if r.name == reference.name), None)
    if reference.model_format:
        wanted = reference.model_format.casefold()
        return next(
            (r for r in candidates if wanted in (f.casefold() for f in r.auto_select_formats)),
            None,
        )
    return None
