"""vLLM production-stack VLLMRuntime (production-stack.vllm.ai/v1alpha1): one vLLM Deployment.

Resources are plain strings (``cpu``, ``memory``, ``gpu`` of type ``gpuType``, default
``nvidia.com/gpu``) that the operator puts in both requests and limits. ``autoscalingConfig``
makes the operator create a KEDA ScaledObject on the runtime's scale subresource, with
Prometheus triggers on vLLM's own metrics.
"""

from __future__ import annotations

from typing import Any

from conformance.adapters.envelope import Envelope, open_envelope, positive_count
from conformance.adapters.fields import FieldErrors
from conformance.adapters.podspec import parse_node_selector_terms, parse_tolerations
from conformance.parameters import Parameters
from conformance.workload import (
    Container,
    InlineAutoscaler,
    PodTemplate,
    Port,
    Readiness,
    Replicas,
    ScaleTargetRef,
    ServingWorkload,
)

GROUP = "production-stack.vllm.ai"
KIND = "VLLMRuntime"
VERSIONS = ("v1alpha1",)
CONTAINER_NAME = "vllm"
DEFAULT_GPU_TYPE = "nvidia.com/gpu"
DEFAULT_RUNTIME_CLASS = "nvidia"  # the CRD's default for deploymentConfig.runtimeClass
# The operator's KEDA triggers, by the threshold field that tunes each.
TRIGGER_METRICS = {
    "requestsRunningThreshold": "vllm:num_requests_running",
    "generationTokensThreshold": "vllm:generation_tokens_total",
    "promptTokensThreshold": "vllm:prompt_tokens_total",
}


def adapt(body: dict[str, Any], params: Parameters) -> ServingWorkload | None:
    envelope = open_envelope(body, KIND, VERSIONS)
    if not envelope.supported:
        return envelope.workload()
    errors, spec = envelope.errors, envelope.spec
    deployment = errors.mapping(spec.get("deploymentConfig"), "spec.deploymentConfig")
    template = PodTemplate(
        role="vllm",
        containers=(_container(spec, deployment, errors),),
        annotations=errors.string_map(
            deployment.get("podAnnotations"), "spec.deploymentConfig.podAnnotations"
        ),
        required_node_terms=parse_node_selector_terms(
            deployment.get("nodeSelectorTerms"), "spec.deploymentConfig.nodeSelectorTerms", errors
        ),
        tolerations=parse_tolerations(
            deployment.get("toleration"), "spec.deploymentConfig.toleration", errors
        ),
        runtime_class_name=errors.string(
            deployment.get("runtimeClass"), "spec.deploymentConfig.runtimeClass"
        )
        or DEFAULT_RUNTIME_CLASS,
        serving_container=CONTAINER_NAME,
        path="spec.deploymentConfig",
    )
    replicas, autoscaler = _scaling(spec, deployment, errors)
    return envelope.workload(
        pod_templates=(template,),
        replicas=replicas,
        autoscaler=autoscaler,
        scale_targets=(ScaleTargetRef(kind=KIND, name=envelope.name, api_group=GROUP),),
        readiness=_readiness(envelope, replicas),
        # The VLLMRuntime API has no probe fields and the operator creates the Service: neither
        # is the user's to declare, so the checks note it rather than fail.
        platform_probes="the production-stack operator sets the probes of its Deployment",
        managed_services=(envelope.name,),
    )


def _container(spec: dict[str, Any], deployment: dict[str, Any], errors: FieldErrors) -> Container:
    path = "spec.deploymentConfig.resources"
    resources = errors.mapping(deployment.get("resources"), path)
    quantities = errors.quantities(
        {k: v for k, v in resources.items() if k in ("cpu", "memory", "gpu")}, path
    )
    gpu = quantities.pop("gpu", None)
    if gpu is not None:
        gpu_type = errors.string(resources.get("gpuType"), f"{path}.gpuType") or DEFAULT_GPU_TYPE
        quantities[gpu_type] = gpu
    image = errors.mapping(deployment.get("image"), "spec.deploymentConfig.image")
    registry = errors.string(image.get("registry"), "spec.deploymentConfig.image.registry")
    name = errors.string(image.get("name"), "spec.deploymentConfig.image.name")
    vllm = errors.mapping(spec.get("vllmConfig"), "spec.vllmConfig")
    port = errors.integer(vllm.get("port"), "spec.vllmConfig.port") or 8000
    return Container(
        name=CONTAINER_NAME,
        image=f"{registry}/{name}" if registry and name else name,
        requests=dict(quantities),
        limits=dict(quantities),
        ports=(Port(number=port),),
        path="spec.deploymentConfig",
    )


def _scaling(
    spec: dict[str, Any], deployment: dict[str, Any], errors: FieldErrors
) -> tuple[Replicas, InlineAutoscaler | None]:
    config = errors.mapping(spec.get("autoscalingConfig"), "spec.autoscalingConfig")
    if not errors.boolean(config.get("enabled"), "spec.autoscalingConfig.enabled"):
        fixed = positive_count(
            deployment.get("replicas"), "spec.deploymentConfig.replicas", errors, default=1
        )
        return Replicas(fixed=fixed), None
    minimum = positive_count(
        config.get("minReplicas"), "spec.autoscalingConfig.minReplicas", errors, default=1
    )
    maximum = errors.integer(config.get("maxReplicas"), "spec.autoscalingConfig.maxReplicas")
    if maximum is None:
        errors.add("spec.autoscalingConfig.maxReplicas is missing")
    triggers = errors.mapping(config.get("triggers"), "spec.autoscalingConfig.triggers")
    for field_name in TRIGGER_METRICS:
        errors.integer(triggers.get(field_name), f"spec.autoscalingConfig.triggers.{field_name}")
    # The operator always creates all three triggers; unset thresholds take their defaults.
    metrics = tuple(TRIGGER_METRICS.values())
    return Replicas(minimum=minimum, maximum=maximum), InlineAutoscaler(
        mechanism="vllmruntime-keda", minimum=minimum, maximum=maximum, metrics=metrics
    )


def _readiness(envelope: Envelope, replicas: Replicas) -> Readiness | None:
    if not envelope.has_status:
        return None
    errors = envelope.errors
    available = (
        errors.integer(envelope.status.get("availableReplicas"), "status.availableReplicas") or 0
    )
    desired = replicas.fixed if replicas.fixed is not None else max(replicas.minimum or 0, 1)
    reason = errors.string(envelope.status.get("modelStatus"), "status.modelStatus")
    return Readiness(
        ready=available > 0 and available >= desired,
        reason=reason,
        message=f"{available} of {desired} replicas are available",
    )
