"""Cluster facts from a stream of objects (the CLI's manifests, a ``--cluster-facts`` file).

``facts_from_objects`` reduces Nodes, HPAs, KEDA ScaledObjects, PDBs, Services, HTTPRoutes,
InferencePools, monitors, RuntimeClasses, DeviceClasses, ResourceClaimTemplates and KServe
ServingRuntimes to the extracted facts in ``conformance.facts``. A class of facts is *known* when
at least one object of it appears (or the caller lists it in ``assume_known``), so a check can
tell "there are none" from "nobody said". Objects of other kinds are ignored; a malformed object
is skipped and reported in the warnings of ``facts_from_objects_with_warnings``. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from conformance.accelerators import parse_count
from conformance.adapters.fields import FieldErrors
from conformance.adapters.podspec import parse_containers
from conformance.adapters.signals import keda_trigger_names, metric_spec_names
from conformance.facts import (
    APPLICATION_FACT_CLASSES,
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
from conformance.parameters import Parameters

# KEDA's own defaults for a ScaledObject without replica counts.
KEDA_DEFAULT_MIN = 0
KEDA_DEFAULT_MAX = 100


@dataclass
class _Collected:
    """Facts gathered so far; frozen into ClusterFacts at the end."""

    known: set[str] = field(default_factory=set)
    nodes: list[NodeFacts] = field(default_factory=list)
    autoscalers: list[AutoscalerFacts] = field(default_factory=list)
    disruption_budgets: list[SelectingObject] = field(default_factory=list)
    services: list[SelectingObject] = field(default_factory=list)
    inference_pools: list[SelectingObject] = field(default_factory=list)
    http_routes: list[RouteFacts] = field(default_factory=list)
    monitors: list[SelectingObject] = field(default_factory=list)
    runtime_classes: set[str] = field(default_factory=set)
    device_classes: set[str] = field(default_factory=set)
    # (namespace, name) -> the DeviceClass names its requests use
    claim_templates: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    serving_runtimes: list[ServingRuntimeFacts] = field(default_factory=list)


@dataclass
class _Object:
    """One input object being read: identity plus the error collector."""

    kind: str
    name: str
    namespace: str
    metadata: dict[str, Any]
    spec: dict[str, Any]
    body: dict[str, Any]
    errors: FieldErrors


# A reader returns the fact it extracted; the loop stores it only if no error was recorded.
Reader = Callable[[_Object], Any]


def facts_from_objects(
    objects: Iterable[object],
    params: Parameters | None = None,
    assume_known: Iterable[FactClass] = (),
    default_namespace: str = "default",
    whole_application: bool = False,
) -> ClusterFacts:
    """ClusterFacts from ``objects``; see ``facts_from_objects_with_warnings`` for the warnings."""
    return facts_from_objects_with_warnings(
        objects, params, assume_known, default_namespace, whole_application
    )[0]


def facts_from_objects_with_warnings(
    objects: Iterable[object],
    params: Parameters | None = None,
    assume_known: Iterable[FactClass] = (),
    default_namespace: str = "default",
    whole_application: bool = False,
) -> tuple[ClusterFacts, list[str]]:
    """ClusterFacts and one warning per malformed object that was skipped.

    With ``whole_application`` the objects are the whole application: each of
    ``APPLICATION_FACT_CLASSES`` the objects hold none of is known to be empty, and named in
    ``assumed_absent``.

    ``default_namespace`` is where a namespaced object without ``metadata.namespace`` lands
    (kubectl's behaviour with the default context). ``params`` is accepted so callers pass the
    profile's parameters uniformly; no fact depends on them yet.
    """
    collected = _Collected(known={fact_class.value for fact_class in assume_known})
    warnings: list[str] = []
    for body in objects:
        if not isinstance(body, dict):
            continue
        api_version, kind = body.get("apiVersion"), body.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str):
            continue
        entry = _READERS.get((api_version.rpartition("/")[0], kind))
        if entry is None:
            continue
        fact_class, reader, attribute = entry
        collected.known.add(fact_class.value)
        errors = FieldErrors()
        metadata = errors.mapping(body.get("metadata"), "metadata")
        name = errors.string(metadata.get("name"), "metadata.name") or ""
        namespace = (
            errors.string(metadata.get("namespace"), "metadata.namespace") or default_namespace
        )
        item = _Object(
            kind, name, namespace, metadata, errors.mapping(body.get("spec"), "spec"), body, errors
        )
        if not name:
            errors.add("metadata.name is missing")
        else:
            fact = reader(item)
            if not errors.messages:
                _store(getattr(collected, attribute), fact)
        if errors.messages:
            where = f"{namespace}/{name}" if name else "(unnamed)"
            warnings.append(f"skipped {kind} {where}: {'; '.join(errors.messages)}")
    facts = _freeze(collected)
    if whole_application:
        absent = frozenset(c.value for c in APPLICATION_FACT_CLASSES) - facts.known
        facts = replace(facts, known=facts.known | absent, assumed_absent=absent)
    return facts, warnings


def _store(store: list[Any] | set[Any] | dict[Any, Any], fact: Any) -> None:
    if isinstance(store, list):
        store.append(fact)
    elif isinstance(store, set):
        store.add(fact)
    else:
        key, value = fact
        store[key] = value


def _freeze(collected: _Collected) -> ClusterFacts:
    return ClusterFacts(
        known=frozenset(collected.known),
        nodes=tuple(collected.nodes),
        autoscalers=tuple(collected.autoscalers),
        disruption_budgets=tuple(collected.disruption_budgets),
        services=tuple(collected.services),
        inference_pools=tuple(collected.inference_pools),
        http_routes=tuple(collected.http_routes),
        monitors=tuple(collected.monitors),
        runtime_classes=frozenset(collected.runtime_classes),
        device_classes=frozenset(collected.device_classes),
        claim_templates=frozenset(collected.claim_templates),
        claim_template_device_classes=dict(collected.claim_templates),
        serving_runtimes=tuple(collected.serving_runtimes),
    )


# --- shared pieces ---------------------------------------------------------------------------


def parse_label_selector(value: object, path: str, errors: FieldErrors) -> LabelSelector:
    """A metav1.LabelSelector (matchLabels + matchExpressions)."""
    body = errors.mapping(value, path)
    expressions = []
    for index, item in enumerate(
        errors.sequence(body.get("matchExpressions"), f"{path}.matchExpressions")
    ):
        where = f"{path}.matchExpressions[{index}]"
        entry = errors.mapping(item, where)
        key = errors.string(entry.get("key"), f"{where}.key")
        operator = errors.string(entry.get("operator"), f"{where}.operator")
        if not key or operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            errors.add(f"{where} needs a key and an operator In, NotIn, Exists or DoesNotExist")
            continue
        expressions.append((key, operator, errors.strings(entry.get("values"), f"{where}.values")))
    return LabelSelector(
        match_labels=errors.string_map(body.get("matchLabels"), f"{path}.matchLabels"),
        match_expressions=tuple(expressions),
    )


def _owner(item: _Object) -> tuple[str | None, str | None]:
    """The controlling owner (KServe owns the ``<isvc>-predictor`` HPA/ScaledObject it creates)."""
    errors = item.errors
    owners = [
        errors.mapping(o, f"metadata.ownerReferences[{i}]")
        for i, o in enumerate(
            errors.sequence(item.metadata.get("ownerReferences"), "metadata.ownerReferences")
        )
    ]
    owners = [o for o in owners if o]
    chosen = next((o for o in owners if o.get("controller") is True), owners[0] if owners else None)
    if chosen is None:
        return None, None
    return (
        errors.string(chosen.get("kind"), "metadata.ownerReferences.kind"),
        errors.string(chosen.get("name"), "metadata.ownerReferences.name"),
    )


def _scale_target(item: _Object, default_kind: str | None) -> tuple[str, str, str | None]:
    errors = item.errors
    ref = errors.mapping(item.spec.get("scaleTargetRef"), "spec.scaleTargetRef")
    kind = errors.string(ref.get("kind"), "spec.scaleTargetRef.kind") or default_kind
    name = errors.string(ref.get("name"), "spec.scaleTargetRef.name")
    # The HTTP add-on's older shape names the Deployment directly.
    name = name or errors.string(ref.get("deployment"), "spec.scaleTargetRef.deployment")
    if not kind or not name:
        errors.add("spec.scaleTargetRef needs a kind and a name")
    return (
        kind or "",
        name or "",
        errors.string(ref.get("apiVersion"), "spec.scaleTargetRef.apiVersion"),
    )


# --- readers, one per kind ---------------------------------------------------------------------


# Taints the node lifecycle controller and cloud providers set and clear as a node's condition
# changes (not-ready, unreachable, memory-pressure, unschedulable, uninitialized, shutdown, ...).
# They say how a node is doing this minute, not where a workload may run: no workload is expected
# to tolerate them, and a report that flipped with every missed node heartbeat (then flipped back,
# re-evaluating every GPU workload twice) would be noise. Node health is the cluster report's job.
NODE_CONDITION_TAINT_PREFIXES = ("node.kubernetes.io/", "node.cloudprovider.kubernetes.io/")


def _read_node(item: _Object) -> Any:
    errors = item.errors
    status = errors.mapping(item.body.get("status"), "status")
    allocatable: dict[str, int] = {}
    for resource, quantity in errors.quantities(
        status.get("allocatable"), "status.allocatable"
    ).items():
        # Only extended resources (vendor/name) matter to the GPU checks.
        count = parse_count(quantity)
        if "/" in resource and count is not None and count.denominator == 1:
            allocatable[resource] = int(count)
    taints = []
    for index, value in enumerate(errors.sequence(item.spec.get("taints"), "spec.taints")):
        where = f"spec.taints[{index}]"
        taint = errors.mapping(value, where)
        key = errors.string(taint.get("key"), f"{where}.key")
        effect = errors.string(taint.get("effect"), f"{where}.effect")
        if not key or not effect:
            errors.add(f"{where} needs a key and an effect")
            continue
        if key.startswith(NODE_CONDITION_TAINT_PREFIXES):
            continue
        taints.append(
            NodeTaint(
                key=key, value=errors.string(taint.get("value"), f"{where}.value"), effect=effect
            )
        )
    return NodeFacts(
        name=item.name,
        labels=errors.string_map(item.metadata.get("labels"), "metadata.labels"),
        taints=tuple(taints),
        allocatable=allocatable,
        unschedulable=bool(errors.boolean(item.spec.get("unschedulable"), "spec.unschedulable")),
    )


def _autoscaler_facts(
    item: _Object,
    default_target_kind: str | None,
    minimum: int,
    maximum: int | None,
    metrics: tuple[str, ...],
    buffers_requests: bool = False,
) -> AutoscalerFacts:
    """The parts every autoscaler kind shares: identity, scale target and controlling owner."""
    target_kind, target_name, target_api = _scale_target(item, default_target_kind)
    owner_kind, owner_name = _owner(item)
    return AutoscalerFacts(
        kind=item.kind,
        name=item.name,
        namespace=item.namespace,
        target_kind=target_kind,
        target_name=target_name,
        target_api_version=target_api,
        minimum=minimum,
        maximum=maximum,
        metrics=metrics,
        buffers_requests=buffers_requests,
        owner_kind=owner_kind,
        owner_name=owner_name,
    )


def _read_hpa(item: _Object) -> Any:
    errors, spec = item.errors, item.spec
    if "targetCPUUtilizationPercentage" in spec or "metrics" not in spec:
        # autoscaling/v1 (or v2 without metrics): CPU utilisation, the HPA default.
        metrics: tuple[str, ...] = ("cpu",)
        errors.integer(
            spec.get("targetCPUUtilizationPercentage"), "spec.targetCPUUtilizationPercentage"
        )
    else:
        metrics = metric_spec_names(spec.get("metrics"), "spec.metrics", errors) or ("cpu",)
    return _autoscaler_facts(
        item,
        None,
        # minReplicas defaults to 1 in the HPA API.
        minimum=_integer(errors, spec.get("minReplicas"), "spec.minReplicas", 1),
        maximum=errors.integer(spec.get("maxReplicas"), "spec.maxReplicas"),
        metrics=metrics,
    )


def _read_scaled_object(item: _Object) -> Any:
    errors, spec = item.errors, item.spec
    return _autoscaler_facts(
        item,
        "Deployment",
        minimum=_integer(
            errors, spec.get("minReplicaCount"), "spec.minReplicaCount", KEDA_DEFAULT_MIN
        ),
        maximum=_integer(
            errors, spec.get("maxReplicaCount"), "spec.maxReplicaCount", KEDA_DEFAULT_MAX
        ),
        metrics=keda_trigger_names(spec.get("triggers"), "spec.triggers", errors),
    )


def _read_http_scaled_object(item: _Object) -> Any:
    """KEDA HTTP add-on: the interceptor holds requests while the target scales from zero."""
    errors, spec = item.errors, item.spec
    replicas = errors.mapping(spec.get("replicas"), "spec.replicas")
    scaling_metric = errors.mapping(spec.get("scalingMetric"), "spec.scalingMetric")
    return _autoscaler_facts(
        item,
        "Deployment",
        minimum=_integer(errors, replicas.get("min"), "spec.replicas.min", 0),
        maximum=_integer(errors, replicas.get("max"), "spec.replicas.max", KEDA_DEFAULT_MAX),
        metrics=("rps",) if "requestRate" in scaling_metric else ("concurrency",),
        buffers_requests=True,
    )


def _read_pdb(item: _Object) -> Any:
    return SelectingObject(
        kind=item.kind,
        name=item.name,
        namespace=item.namespace,
        labels=_labels(item),
        selector=parse_label_selector(item.spec.get("selector"), "spec.selector", item.errors),
    )


def _read_service(item: _Object) -> Any:
    errors = item.errors
    ports: list[int | str] = []
    named = False
    for index, value in enumerate(errors.sequence(item.spec.get("ports"), "spec.ports")):
        where = f"spec.ports[{index}]"
        port = errors.mapping(value, where)
        named = named or bool(errors.string(port.get("name"), f"{where}.name"))
        target = errors.int_or_string(port.get("targetPort"), f"{where}.targetPort")
        # Without targetPort the Service forwards to the same number as its port.
        target = target if target is not None else errors.integer(port.get("port"), f"{where}.port")
        if target is not None:
            ports.append(target)
    return SelectingObject(
        kind=item.kind,
        name=item.name,
        namespace=item.namespace,
        labels=_labels(item),
        # A Service selector is a plain label map.
        selector=LabelSelector(
            match_labels=errors.string_map(item.spec.get("selector"), "spec.selector")
        ),
        ports=tuple(ports),
        named_ports=named,
    )


def _read_http_route(item: _Object) -> Any:
    errors = item.errors
    backends = []
    for rule_index, rule in enumerate(errors.sequence(item.spec.get("rules"), "spec.rules")):
        rule_path = f"spec.rules[{rule_index}]"
        refs = errors.sequence(
            errors.mapping(rule, rule_path).get("backendRefs"), f"{rule_path}.backendRefs"
        )
        for index, value in enumerate(refs):
            where = f"{rule_path}.backendRefs[{index}]"
            ref = errors.mapping(value, where)
            name = errors.string(ref.get("name"), f"{where}.name")
            if not name:
                errors.add(f"{where}.name is missing")
                continue
            group = errors.string(ref.get("group"), f"{where}.group") or ""
            kind = errors.string(ref.get("kind"), f"{where}.kind") or "Service"
            backends.append((group, kind, name))
    return RouteFacts(name=item.name, namespace=item.namespace, backends=tuple(backends))


def _read_inference_pool(item: _Object) -> Any:
    """v1: ``selector.matchLabels`` and ``targetPorts[].number``; x-k8s v1alpha2: a plain
    ``selector`` map and ``targetPortNumber``."""
    errors, spec = item.errors, item.spec
    raw_selector = errors.mapping(spec.get("selector"), "spec.selector")
    if "matchLabels" in raw_selector:
        selector = LabelSelector(
            match_labels=errors.string_map(
                raw_selector.get("matchLabels"), "spec.selector.matchLabels"
            )
        )
    else:
        selector = LabelSelector(match_labels=errors.string_map(raw_selector, "spec.selector"))
    ports: list[int | str] = []
    for index, value in enumerate(errors.sequence(spec.get("targetPorts"), "spec.targetPorts")):
        number = errors.integer(
            errors.mapping(value, f"spec.targetPorts[{index}]").get("number"),
            f"spec.targetPorts[{index}].number",
        )
        if number is not None:
            ports.append(number)
    legacy = errors.integer(spec.get("targetPortNumber"), "spec.targetPortNumber")
    if legacy is not None:
        ports.append(legacy)
    return SelectingObject(
        kind=item.kind,
        name=item.name,
        namespace=item.namespace,
        labels=_labels(item),
        selector=selector,
        ports=tuple(ports),
    )


def _read_monitor(item: _Object) -> Any:
    errors, spec = item.errors, item.spec
    is_service_monitor = item.kind == "ServiceMonitor"
    endpoints_key = "endpoints" if is_service_monitor else "podMetricsEndpoints"
    ports: list[int | str] = []
    for index, value in enumerate(
        errors.sequence(spec.get(endpoints_key), f"spec.{endpoints_key}")
    ):
        where = f"spec.{endpoints_key}[{index}]"
        endpoint = errors.mapping(value, where)
        port = errors.string(endpoint.get("port"), f"{where}.port")
        target = errors.int_or_string(endpoint.get("targetPort"), f"{where}.targetPort")
        if port or target is not None:
            ports.append(port or target)  # type: ignore[arg-type]
    namespace_selector = errors.mapping(spec.get("namespaceSelector"), "spec.namespaceSelector")
    namespaces: tuple[str, ...] | None = None
    if errors.boolean(namespace_selector.get("any"), "spec.namespaceSelector.any"):
        namespaces = ("*",)
    elif namespace_selector.get("matchNames") is not None:
        namespaces = errors.strings(
            namespace_selector.get("matchNames"), "spec.namespaceSelector.matchNames"
        )
    return SelectingObject(
        kind=item.kind,
        name=item.name,
        namespace=item.namespace,
        labels=_labels(item),
        selector=parse_label_selector(spec.get("selector"), "spec.selector", errors),
        ports=tuple(ports),
        selects_services=is_service_monitor,
        namespaces=namespaces,
    )


def _read_runtime_class(item: _Object) -> Any:
    return item.name


def _read_device_class(item: _Object) -> Any:
    return item.name


def _read_claim_template(item: _Object) -> Any:
    """Its key and the DeviceClasses its requests name: ``exactly.deviceClassName`` (v1),
    ``deviceClassName`` (v1beta1), or each ``firstAvailable`` alternative."""
    errors = item.errors
    claim_spec = errors.mapping(item.spec.get("spec"), "spec.spec")
    devices = errors.mapping(claim_spec.get("devices"), "spec.spec.devices")
    classes: list[str] = []
    for index, value in enumerate(
        errors.sequence(devices.get("requests"), "spec.spec.devices.requests")
    ):
        where = f"spec.spec.devices.requests[{index}]"
        request = errors.mapping(value, where)
        exactly = errors.mapping(request.get("exactly"), f"{where}.exactly")
        candidates = [(exactly, f"{where}.exactly"), (request, where)]
        alternatives = errors.sequence(request.get("firstAvailable"), f"{where}.firstAvailable")
        for position, alternative in enumerate(alternatives):
            at = f"{where}.firstAvailable[{position}]"
            candidates.append((errors.mapping(alternative, at), at))
        for body, at in candidates:
            name = errors.string(body.get("deviceClassName"), f"{at}.deviceClassName")
            if name:
                classes.append(name)
    return (item.namespace, item.name), tuple(dict.fromkeys(classes))


def _read_serving_runtime(item: _Object) -> Any:
    errors, spec = item.errors, item.spec
    formats, auto_select = [], []
    for index, value in enumerate(
        errors.sequence(spec.get("supportedModelFormats"), "spec.supportedModelFormats")
    ):
        where = f"spec.supportedModelFormats[{index}]"
        entry = errors.mapping(value, where)
        name = errors.string(entry.get("name"), f"{where}.name")
        if not name:
            errors.add(f"{where}.name is missing")
            continue
        formats.append(name)
        if errors.boolean(entry.get("autoSelect"), f"{where}.autoSelect"):
            auto_select.append(name)
    return ServingRuntimeFacts(
        name=item.name,
        namespace=item.namespace if item.kind == "ServingRuntime" else None,
        model_formats=tuple(formats),
        auto_select_formats=tuple(auto_select),
        containers=parse_containers(spec.get("containers"), "spec.containers", errors),
    )


def _labels(item: _Object) -> dict[str, str]:
    """The object's own labels (a ServiceMonitor selects Services by them)."""
    return item.errors.string_map(item.metadata.get("labels"), "metadata.labels")


def _integer(errors: FieldErrors, value: object, path: str, default: int) -> int:
    number = errors.integer(value, path)
    return default if number is None else number


# (API group, kind) -> (fact class, reader, the _Collected field its facts go to). Any served
# version is read: the fields used are stable across versions (HPA v1 is handled in its reader).
_READERS: dict[tuple[str, str], tuple[FactClass, Reader, str]] = {
    ("", "Node"): (FactClass.NODES, _read_node, "nodes"),
    ("autoscaling", "HorizontalPodAutoscaler"): (FactClass.AUTOSCALERS, _read_hpa, "autoscalers"),
    ("keda.sh", "ScaledObject"): (FactClass.AUTOSCALERS, _read_scaled_object, "autoscalers"),
    ("http.keda.sh", "HTTPScaledObject"): (
        FactClass.AUTOSCALERS,
        _read_http_scaled_object,
        "autoscalers",
    ),
    ("policy", "PodDisruptionBudget"): (
        FactClass.DISRUPTION_BUDGETS,
        _read_pdb,
        "disruption_budgets",
    ),
    ("", "Service"): (FactClass.SERVICES, _read_service, "services"),
    ("gateway.networking.k8s.io", "HTTPRoute"): (FactClass.ROUTES, _read_http_route, "http_routes"),
    ("inference.networking.k8s.io", "InferencePool"): (
        FactClass.ROUTES,
        _read_inference_pool,
        "inference_pools",
    ),
    ("inference.networking.x-k8s.io", "InferencePool"): (
        FactClass.ROUTES,
        _read_inference_pool,
        "inference_pools",
    ),
    ("monitoring.coreos.com", "ServiceMonitor"): (FactClass.MONITORS, _read_monitor, "monitors"),
    ("monitoring.coreos.com", "PodMonitor"): (FactClass.MONITORS, _read_monitor, "monitors"),
    ("node.k8s.io", "RuntimeClass"): (
        FactClass.RUNTIME_CLASSES,
        _read_runtime_class,
        "runtime_classes",
    ),
    ("resource.k8s.io", "DeviceClass"): (
        FactClass.DEVICE_CLASSES,
        _read_device_class,
        "device_classes",
    ),
    ("resource.k8s.io", "ResourceClaimTemplate"): (
        FactClass.CLAIM_TEMPLATES,
        _read_claim_template,
        "claim_templates",
    ),
    ("serving.kserve.io", "ServingRuntime"): (
        FactClass.SERVING_RUNTIMES,
        _read_serving_runtime,
        "serving_runtimes",
    ),
    ("serving.kserve.io", "ClusterServingRuntime"): (
        FactClass.SERVING_RUNTIMES,
        _read_serving_runtime,
        "serving_runtimes",
    ),
}
