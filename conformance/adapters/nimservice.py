"""NVIDIA NIMService (apps.nvidia.com/v1alpha1): one NIM container that the NIM operator deploys.

The spec is not a PodSpec: ``resources``, ``draResources``, placement fields and probes sit at
its top level and the operator builds the pod. Probes have an ``{enabled, probe}`` shape: a
disabled probe is absent, an enabled one without ``probe`` gets the operator's default (reference
§A5). ``multiNode`` runs it as an LWS whose group size follows from the parallelism.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from conformance.accelerators import gpus_per_pod
from conformance.adapters.envelope import Envelope, open_envelope, positive_count, unique
from conformance.adapters.fields import FieldErrors
from conformance.adapters.gang import gang_mechanisms
from conformance.adapters.podspec import parse_probe, pod_template_from_spec
from conformance.adapters.signals import metric_spec_names
from conformance.parameters import Parameters
from conformance.workload import (
    Container,
    InlineAutoscaler,
    PodTemplate,
    Port,
    Probe,
    Readiness,
    Replicas,
    ResourceClaimRef,
    ScaleTargetRef,
    ServingWorkload,
)

GROUP = "apps.nvidia.com"
KIND = "NIMService"
VERSIONS = ("v1alpha1",)
API_PORT_NAME = "api"
DEFAULT_API_PORT = 8000

# The NIM operator's defaults when a probe is enabled (the default) but not written.
DEFAULT_PROBES = {
    "livenessProbe": Probe(
        handler="httpGet",
        path="/v1/health/live",
        port=API_PORT_NAME,
        initial_delay_seconds=15,
        period_seconds=10,
        failure_threshold=3,
    ),
    "readinessProbe": Probe(
        handler="httpGet",
        path="/v1/health/ready",
        port=API_PORT_NAME,
        initial_delay_seconds=15,
        period_seconds=10,
        failure_threshold=3,
    ),
    "startupProbe": Probe(
        handler="httpGet",
        path="/v1/health/ready",
        port=API_PORT_NAME,
        initial_delay_seconds=30,
        period_seconds=10,
        failure_threshold=120,
    ),
}


def adapt(body: dict[str, Any], params: Parameters) -> ServingWorkload | None:
    envelope = open_envelope(body, KIND, VERSIONS)
    if not envelope.supported:
        return envelope.workload()
    errors, spec = envelope.errors, envelope.spec
    container = _container(spec, envelope, errors)
    claims = _dra_claims(spec, errors)
    if claims:
        # The operator wires every DRA claim into the NIM container.
        container = replace(container, claims=container.claims + tuple(c.name for c in claims))
    labels = errors.string_map(spec.get("labels"), "spec.labels")
    labels["app"] = envelope.name  # the operator's selector label
    main = pod_template_from_spec(
        spec,
        "spec",
        errors,
        role="main",
        labels=labels,
        annotations=errors.string_map(spec.get("annotations"), "spec.annotations"),
        serving_container=container.name,
        containers=(container,),
        extra_claims=claims,
    )
    templates, group_size = _multi_node(spec, main, params, errors)
    replicas, autoscaler = _scaling(spec, errors)
    expose = errors.mapping(spec.get("expose"), "spec.expose")
    service = errors.mapping(expose.get("service"), "spec.expose.service")
    router = errors.mapping(expose.get("router"), "spec.expose.router")
    gateway = errors.mapping(router.get("gateway"), "spec.expose.router.gateway")
    metrics = errors.mapping(spec.get("metrics"), "spec.metrics")
    scale_targets = [
        ScaleTargetRef(kind="Deployment", name=envelope.name, api_group="apps"),
        ScaleTargetRef(kind=KIND, name=envelope.name, api_group=GROUP),
    ]
    if spec.get("inferencePlatform") == "kserve":
        scale_targets.append(
            ScaleTargetRef(kind="Deployment", name=f"{envelope.name}-predictor", api_group="apps")
        )
    return envelope.workload(
        pod_templates=tuple(templates),
        replicas=replicas,
        autoscaler=autoscaler,
        scale_targets=tuple(scale_targets),
        group_size=group_size,
        gang_mechanisms=gang_mechanisms(envelope.labels, envelope.annotations, templates),
        declared_urls=_declared_urls(envelope),
        managed_services=(
            errors.string(service.get("name"), "spec.expose.service.name") or envelope.name,
        ),
        # The operator creates the ServiceMonitor only when metrics are enabled.
        declares_metrics_scraping=bool(
            errors.boolean(metrics.get("enabled"), "spec.metrics.enabled")
        ),
        declares_gateway_route=any(
            errors.boolean(gateway.get(key), f"spec.expose.router.gateway.{key}")
            for key in ("httpRoutesEnabled", "grpcRoutesEnabled")
        ),
        readiness=_readiness(envelope),
    )


def _container(spec: dict[str, Any], envelope: Envelope, errors: FieldErrors) -> Container:
    image = errors.mapping(spec.get("image"), "spec.image")
    repository = errors.string(image.get("repository"), "spec.image.repository")
    tag = errors.string(image.get("tag"), "spec.image.tag")
    resources = errors.mapping(spec.get("resources"), "spec.resources")
    expose = errors.mapping(spec.get("expose"), "spec.expose")
    service = errors.mapping(expose.get("service"), "spec.expose.service")
    ports = [
        Port(
            number=errors.integer(service.get("port"), "spec.expose.service.port")
            or DEFAULT_API_PORT,
            name=API_PORT_NAME,
        )
    ]
    for key, name in (("grpcPort", "grpc"), ("metricsPort", "metrics")):
        number = errors.integer(service.get(key), f"spec.expose.service.{key}")
        if number:
            ports.append(Port(number=number, name=name))
    probes = {key: _probe(spec, key, errors) for key in DEFAULT_PROBES}
    return Container(
        # The operator names the container after the NIMService.
        name=envelope.name,
        image=f"{repository}:{tag}" if repository and tag else repository,
        requests=errors.quantities(resources.get("requests"), "spec.resources.requests"),
        limits=errors.quantities(resources.get("limits"), "spec.resources.limits"),
        ports=tuple(ports),
        readiness_probe=probes["readinessProbe"],
        liveness_probe=probes["livenessProbe"],
        startup_probe=probes["startupProbe"],
        path="spec",
    )


def _probe(spec: dict[str, Any], key: str, errors: FieldErrors) -> Probe | None:
    """``{enabled, probe}``: enabled defaults to true; an enabled probe without ``probe`` is the
    operator's default."""
    wrapper = errors.mapping(spec.get(key), f"spec.{key}")
    if errors.boolean(wrapper.get("enabled"), f"spec.{key}.enabled") is False:
        return None
    if wrapper.get("probe") is None:
        return DEFAULT_PROBES[key]
    return parse_probe(wrapper.get("probe"), f"spec.{key}.probe", errors)


def _dra_claims(spec: dict[str, Any], errors: FieldErrors) -> tuple[ResourceClaimRef, ...]:
    claims = []
    for index, item in enumerate(errors.sequence(spec.get("draResources"), "spec.draResources")):
        path = f"spec.draResources[{index}]"
        entry = errors.mapping(item, path)
        if not isinstance(item, dict):
            continue
        claim_name = errors.string(entry.get("resourceClaimName"), f"{path}.resourceClaimName")
        template_name = errors.string(
            entry.get("resourceClaimTemplateName"), f"{path}.resourceClaimTemplateName"
        )
        if not (claim_name or template_name or entry.get("claimCreationSpec") is not None):
            errors.add(
                f"{path} needs resourceClaimName, resourceClaimTemplateName or claimCreationSpec"
            )
            continue
        # claimCreationSpec: the operator generates the template, so there is no name to
        # resolve; the DeviceClasses it asks for are what can be checked.
        creation = errors.mapping(entry.get("claimCreationSpec"), f"{path}.claimCreationSpec")
        devices = errors.sequence(creation.get("devices"), f"{path}.claimCreationSpec.devices")
        classes = []
        for position, device in enumerate(devices):
            at = f"{path}.claimCreationSpec.devices[{position}]"
            name = errors.string(
                errors.mapping(device, at).get("deviceClassName"), f"{at}.deviceClassName"
            )
            if name:
                classes.append(name)
        claims.append(
            ResourceClaimRef(
                name=f"dra-resource-{index}",
                resource_claim_name=claim_name,
                resource_claim_template_name=template_name,
                device_classes=tuple(dict.fromkeys(classes)),
            )
        )
    return tuple(claims)


def _multi_node(
    spec: dict[str, Any], main: PodTemplate, params: Parameters, errors: FieldErrors
) -> tuple[list[PodTemplate], int]:
    """With ``multiNode`` the operator runs an LWS: group size = tensor x pipeline GPUs divided by
    the GPUs one pod takes (pipeline stages when per-pod GPUs are unknown)."""
    if spec.get("multiNode") is None:
        return [main], 1
    multi = errors.mapping(spec.get("multiNode"), "spec.multiNode")
    parallelism = errors.mapping(multi.get("parallelism"), "spec.multiNode.parallelism")
    tensor = positive_count(
        parallelism.get("tensor"), "spec.multiNode.parallelism.tensor", errors, default=1, minimum=1
    )
    pipeline = positive_count(
        parallelism.get("pipeline"),
        "spec.multiNode.parallelism.pipeline",
        errors,
        default=1,
        minimum=1,
    )
    per_pod = sum(gpus_per_pod(main, params).values())
    size = math.ceil(tensor * pipeline / per_pod) if per_pod else pipeline
    size = max(size, 1)
    leader = replace(main, role="leader")
    if size == 1:
        return [leader], 1
    worker = replace(main, role="worker", pods_per_replica=size - 1, serves_traffic=False)
    return [leader, worker], size


def _scaling(spec: dict[str, Any], errors: FieldErrors) -> tuple[Replicas, InlineAutoscaler | None]:
    scale = errors.mapping(spec.get("scale"), "spec.scale")
    if not errors.boolean(scale.get("enabled"), "spec.scale.enabled"):
        return Replicas(
            fixed=positive_count(spec.get("replicas"), "spec.replicas", errors, default=1)
        ), None
    hpa = errors.mapping(scale.get("hpa"), "spec.scale.hpa")
    minimum = positive_count(
        hpa.get("minReplicas"), "spec.scale.hpa.minReplicas", errors, default=1
    )
    maximum = errors.integer(hpa.get("maxReplicas"), "spec.scale.hpa.maxReplicas")
    if maximum is None:
        errors.add("spec.scale.hpa.maxReplicas is missing")
    # An HPA without metrics scales on CPU utilisation.
    metrics = metric_spec_names(hpa.get("metrics"), "spec.scale.hpa.metrics", errors) or ("cpu",)
    return Replicas(minimum=minimum, maximum=maximum), InlineAutoscaler(
        mechanism="nim-hpa", minimum=minimum, maximum=maximum, metrics=metrics
    )


def _declared_urls(envelope: Envelope) -> tuple[str, ...]:
    errors = envelope.errors
    model = errors.mapping(envelope.status.get("model"), "status.model")
    return unique(
        [
            u
            for u in (
                errors.string(model.get("clusterEndpoint"), "status.model.clusterEndpoint"),
                errors.string(model.get("externalEndpoint"), "status.model.externalEndpoint"),
            )
            if u
        ]
    )


def _readiness(envelope: Envelope) -> Readiness | None:
    state = envelope.errors.string(envelope.status.get("state"), "status.state")
    if not state:
        return None
    return Readiness(ready=state == "Ready", reason=state)
