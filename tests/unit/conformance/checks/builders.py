"""Small builders for check specifications: a workload, its containers and the cluster facts,
with defaults that describe a healthy one-GPU vLLM Deployment so each test states only what
it changes."""

from __future__ import annotations

from typing import Any

from conformance.catalogue import catalogue
from conformance.facts import (
    AutoscalerFacts,
    ClusterFacts,
    FactClass,
    LabelSelector,
    NodeFacts,
    NodeTaint,
    SelectingObject,
)
from conformance.findings import Outcome
from conformance.parameters import Parameters
from conformance.workload import (
    Container,
    PodTemplate,
    Port,
    Probe,
    ScaleTargetRef,
    ServingWorkload,
)

NAMESPACE = "ml"
APP_LABELS = {"app": "llm"}


def run(
    check_id: str,
    workload: ServingWorkload,
    facts: ClusterFacts | None = None,
    params: Parameters | None = None,
) -> Outcome:
    """Call the registered check function directly (no engine skips), as the engine would."""
    spec = catalogue()[check_id]
    return spec.function(workload, facts or ClusterFacts(), params or Parameters())


def http_probe(path: str = "/v1/models", **fields: Any) -> Probe:
    return Probe(handler="httpGet", path=path, port=8000, **fields)


def container(name: str = "vllm", gpus: str | None = "1", **fields: Any) -> Container:
    """A serving container; ``gpus`` sets limits and requests of nvidia.com/gpu (None: no GPU)."""
    resources = {"nvidia.com/gpu": gpus} if gpus is not None else {}
    defaults: dict[str, Any] = dict(
        limits=dict(resources),
        requests=dict(resources),
        ports=(Port(8000, "http"),),
        readiness_probe=http_probe("/v1/models"),
        liveness_probe=http_probe("/health"),
        startup_probe=http_probe("/v1/models", failure_threshold=60, period_seconds=10),
        path="spec.template.spec.containers[0]",
    )
    defaults.update(fields)
    return Container(name=name, **defaults)


def template(*containers: Container, **fields: Any) -> PodTemplate:
    defaults: dict[str, Any] = dict(
        role="pod",
        containers=containers or (container(),),
        labels=dict(APP_LABELS),
        path="spec.template",
    )
    defaults.update(fields)
    return PodTemplate(**defaults)


def workload(*templates: PodTemplate, **fields: Any) -> ServingWorkload:
    defaults: dict[str, Any] = dict(
        api_version="apps/v1",
        kind="Deployment",
        name="llm",
        namespace=NAMESPACE,
        pod_templates=templates or (template(),),
        scale_targets=(ScaleTargetRef("Deployment", "llm", "apps"),),
    )
    defaults.update(fields)
    return ServingWorkload(**defaults)


def node(
    name: str = "gpu-1",
    gpus: int = 8,
    resource: str = "nvidia.com/gpu",
    labels: dict[str, str] | None = None,
    taints: tuple[NodeTaint, ...] = (),
) -> NodeFacts:
    allocatable = {resource: gpus} if gpus else {}
    return NodeFacts(name=name, labels=labels or {}, taints=taints, allocatable=allocatable)


GPU_TAINT = NodeTaint(key="nvidia.com/gpu", value="present", effect="NoSchedule")


def facts(*known: FactClass, **fields: Any) -> ClusterFacts:
    """ClusterFacts with ``known`` fact classes (plus the class of every field given)."""
    classes = {k.value for k in known}
    for field_name, fact_class in _FIELD_CLASSES.items():
        if field_name in fields:
            classes.add(fact_class.value)
    return ClusterFacts(known=frozenset(classes), **fields)


_FIELD_CLASSES = {
    "nodes": FactClass.NODES,
    "autoscalers": FactClass.AUTOSCALERS,
    "disruption_budgets": FactClass.DISRUPTION_BUDGETS,
    "services": FactClass.SERVICES,
    "inference_pools": FactClass.ROUTES,
    "http_routes": FactClass.ROUTES,
    "monitors": FactClass.MONITORS,
    "runtime_classes": FactClass.RUNTIME_CLASSES,
    "device_classes": FactClass.DEVICE_CLASSES,
    "claim_templates": FactClass.CLAIM_TEMPLATES,
    "serving_runtimes": FactClass.SERVING_RUNTIMES,
}


def hpa(
    name: str = "llm", target_kind: str = "Deployment", target_name: str = "llm", **fields: Any
) -> AutoscalerFacts:
    defaults: dict[str, Any] = dict(
        kind="HorizontalPodAutoscaler",
        namespace=NAMESPACE,
        target_api_version="apps/v1",
        minimum=1,
        maximum=4,
        metrics=("vllm:num_requests_waiting",),
    )
    defaults.update(fields)
    return AutoscalerFacts(name=name, target_kind=target_kind, target_name=target_name, **defaults)


def selecting(
    kind: str, name: str, selects: dict[str, str] | None = None, **fields: Any
) -> SelectingObject:
    """A Service/PDB/InferencePool/monitor selecting ``selects`` (default: the app labels)."""
    selector = LabelSelector(match_labels=dict(APP_LABELS if selects is None else selects))
    defaults: dict[str, Any] = dict(namespace=NAMESPACE, selector=selector)
    defaults.update(fields)
    return SelectingObject(kind=kind, name=name, **defaults)
