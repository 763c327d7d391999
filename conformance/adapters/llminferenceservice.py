"""KServe LLMInferenceService (serving.kserve.io v1alpha1, v1alpha2): LLM workloads with a router.

The main workload is ``spec.template`` (a PodSpec whose serving container is ``main``); ``worker``
makes it multi-node (an LWS: the template becomes the leader). ``prefill`` is a second workload of
the same shape for prefill/decode disaggregation. ``replicas`` XOR ``scaling`` (WVA or KEDA).
``router`` (route, gateway or scheduler) means KServe sets up the HTTPRoute and InferencePool.
The template may be absent when presets (``baseRefs``) supply it; then no pod template is known.
"""

from __future__ import annotations

from typing import Any

from conformance.adapters.envelope import (
    Envelope,
    condition_readiness,
    open_envelope,
    positive_count,
    unique,
)
from conformance.adapters.fields import FieldErrors
from conformance.adapters.gang import gang_mechanisms
from conformance.adapters.podspec import pod_template_from_spec
from conformance.adapters.signals import keda_trigger_names
from conformance.parameters import Parameters
from conformance.workload import (
    InlineAutoscaler,
    PodTemplate,
    Replicas,
    ScaleTargetRef,
    ServingWorkload,
)

GROUP = "serving.kserve.io"
KIND = "LLMInferenceService"
VERSIONS = ("v1alpha1", "v1alpha2")
MAIN_CONTAINER = "main"
# KServe's workload pod selector (GetWorkloadLabelSelector) plus the component label per role.
PART_OF = "app.kubernetes.io/part-of"
COMPONENT = "app.kubernetes.io/component"


def adapt(body: dict[str, Any], params: Parameters) -> ServingWorkload | None:
    envelope = open_envelope(body, KIND, VERSIONS)
    if not envelope.supported:
        return envelope.workload()
    errors, spec = envelope.errors, envelope.spec
    templates, group_size = _workload_templates(spec, "spec", "", envelope, errors)
    if spec.get("prefill") is not None:
        prefill = errors.mapping(spec.get("prefill"), "spec.prefill")
        prefill_templates, prefill_group = _workload_templates(
            prefill, "spec.prefill", "prefill", envelope, errors
        )
        templates += prefill_templates
        group_size = max(group_size, prefill_group)
    replicas, autoscaler = _scaling(spec, errors)
    router = errors.mapping(spec.get("router"), "spec.router")
    scale_targets = [
        ScaleTargetRef(kind="Deployment", name=f"{envelope.name}-kserve", api_group="apps")
    ]
    if spec.get("worker") is not None:
        scale_targets.append(
            ScaleTargetRef(
                kind="LeaderWorkerSet",
                name=f"{envelope.name}-kserve-mn",
                api_group="leaderworkerset.x-k8s.io",
            )
        )
    return envelope.workload(
        pod_templates=tuple(templates),
        replicas=replicas,
        autoscaler=autoscaler,
        scale_targets=tuple(scale_targets),
        group_size=group_size,
        gang_mechanisms=gang_mechanisms(envelope.labels, envelope.annotations, templates),
        declared_urls=_declared_urls(envelope),
        # KServe creates the workload Service for the main pods itself.
        managed_services=(f"{envelope.name}-kserve-workload-svc",),
        # route/gateway: KServe creates the HTTPRoute; scheduler: the InferencePool and its EPP.
        declares_gateway_route=any(
            router.get(key) is not None for key in ("route", "gateway", "scheduler")
        ),
        readiness=condition_readiness(envelope, "Ready"),
    )


def _workload_templates(
    workload: dict[str, Any], path: str, suffix: str, envelope: Envelope, errors: FieldErrors
) -> tuple[list[PodTemplate], int]:
    """The templates of one WorkloadSpec (main or prefill) and its group size."""
    templates: list[PodTemplate] = []
    has_worker = workload.get("worker") is not None
    size = _group_size(workload, path, errors) if has_worker else 1
    dash = f"-{suffix}" if suffix else ""
    base_labels = {
        PART_OF: "llminferenceservice",
        "app.kubernetes.io/name": envelope.name,
        "kserve.io/component": "workload",
    }
    if workload.get("template") is not None:
        role = f"{suffix or 'main'}" if not has_worker else f"leader{dash}"
        labels = dict(base_labels)
        labels[COMPONENT] = f"llminferenceservice-workload{'-leader' if has_worker else ''}{dash}"
        templates.append(
            pod_template_from_spec(
                workload.get("template"),
                f"{path}.template",
                errors,
                role=role,
                labels=labels,
                serving_container=MAIN_CONTAINER,
            )
        )
    if has_worker and size > 1:
        labels = dict(base_labels)
        labels[COMPONENT] = f"llminferenceservice-workload-worker{dash}"
        templates.append(
            pod_template_from_spec(
                workload.get("worker"),
                f"{path}.worker",
                errors,
                role=f"worker{dash}",
                labels=labels,
                pods_per_replica=size - 1,
                serving_container=MAIN_CONTAINER,
                serves_traffic=False,
            )
        )
    return templates, size


def _group_size(workload: dict[str, Any], path: str, errors: FieldErrors) -> int:
    """Pods per multi-node group: pipeline stages span nodes; else data / dataLocal ranks per
    node; else the minimum of one leader and one worker."""
    parallelism = errors.mapping(workload.get("parallelism"), f"{path}.parallelism")
    pipeline = errors.integer(parallelism.get("pipeline"), f"{path}.parallelism.pipeline")
    if pipeline and pipeline > 1:
        return pipeline
    data = errors.integer(parallelism.get("data"), f"{path}.parallelism.data")
    data_local = errors.integer(parallelism.get("dataLocal"), f"{path}.parallelism.dataLocal")
    if data and data_local and data_local > 0 and data // data_local > 1:
        return data // data_local
    return 2


def _scaling(spec: dict[str, Any], errors: FieldErrors) -> tuple[Replicas, InlineAutoscaler | None]:
    if spec.get("replicas") is not None and spec.get("scaling") is not None:
        errors.add("spec.replicas and spec.scaling are mutually exclusive")
    if spec.get("scaling") is None:
        return Replicas(
            fixed=positive_count(spec.get("replicas"), "spec.replicas", errors, default=1)
        ), None
    scaling = errors.mapping(spec.get("scaling"), "spec.scaling")
    minimum = positive_count(
        scaling.get("minReplicas"), "spec.scaling.minReplicas", errors, default=1
    )
    maximum = errors.integer(scaling.get("maxReplicas"), "spec.scaling.maxReplicas")
    replicas = Replicas(minimum=minimum, maximum=maximum)
    if scaling.get("wva") is not None:
        # The Workload Variant Autoscaler sizes on saturation of the inference signals it reads.
        return replicas, InlineAutoscaler(
            mechanism="llmisvc-wva", minimum=minimum, maximum=maximum, metrics=("wva",)
        )
    if scaling.get("keda") is not None:
        keda = errors.mapping(scaling.get("keda"), "spec.scaling.keda")
        metrics = keda_trigger_names(keda.get("triggers"), "spec.scaling.keda.triggers", errors)
        return replicas, InlineAutoscaler(
            mechanism="llmisvc-keda", minimum=minimum, maximum=maximum, metrics=metrics
        )
    return replicas, None


def _declared_urls(envelope: Envelope) -> tuple[str, ...]:
    errors, status = envelope.errors, envelope.status
    urls = [errors.string(status.get("url"), "status.url")]
    for index, item in enumerate(errors.sequence(status.get("addresses"), "status.addresses")):
        urls.append(
            errors.string(
                errors.mapping(item, f"status.addresses[{index}]").get("url"),
                f"status.addresses[{index}].url",
            )
        )
    address = errors.mapping(status.get("address"), "status.address")
    urls.append(errors.string(address.get("url"), "status.address.url"))
    return unique([u for u in urls if u])
