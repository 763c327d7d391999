"""KServe InferenceService (serving.kserve.io/v1beta1): predictor, workers, transformer, explainer.

The predictor is a PodSpec with exactly one implementation: a framework field (``sklearn``,
``huggingface``, ...), the generic ``model`` (an inline container plus ``modelFormat``/``runtime``)
or custom ``containers`` whose serving container is ``kserve-container``. ``workerSpec`` makes it
multi-node: one head plus ``pipelineParallelSize - 1`` worker pods per replica. Autoscaling is
declared inline, through the deployment mode and autoscaler-class annotations (reference §A1).
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
from conformance.adapters.podspec import parse_container, parse_containers, pod_template_from_spec
from conformance.adapters.signals import metric_spec_names
from conformance.parameters import Parameters
from conformance.workload import (
    Container,
    InlineAutoscaler,
    PodTemplate,
    Replicas,
    ResourceClaimRef,
    ScaleTargetRef,
    ServingRuntimeRef,
    ServingWorkload,
)

GROUP = "serving.kserve.io"
KIND = "InferenceService"
VERSIONS = ("v1beta1",)
FRAMEWORKS = (
    "sklearn",
    "xgboost",
    "tensorflow",
    "pytorch",
    "triton",
    "onnx",
    "huggingface",
    "pmml",
    "lightgbm",
    "paddle",
)
EXPLAINERS = ("art", "alibi")
SERVING_CONTAINER = "kserve-container"
WORKER_CONTAINER = "worker-container"
ISVC_LABEL = "serving.kserve.io/inferenceservice"
ANNOTATION = "serving.kserve.io/"
KNATIVE = "autoscaling.knative.dev/"
# KServe's multi-node minimum: one head and one worker.
DEFAULT_PIPELINE_PARALLEL_SIZE = 2


def adapt(body: dict[str, Any], params: Parameters) -> ServingWorkload | None:
    envelope = open_envelope(body, KIND, VERSIONS)
    if not envelope.supported:
        return envelope.workload()
    errors, spec = envelope.errors, envelope.spec
    if spec.get("predictor") is None:
        errors.add("spec.predictor is missing")
    predictor = errors.mapping(spec.get("predictor"), "spec.predictor")
    # KServe copies the InferenceService's labels and annotations onto every component's pods.
    pod_labels = dict(envelope.labels)
    pod_annotations = dict(envelope.annotations)

    main, runtime = _predictor_containers(predictor, errors)
    dra_claims = _exp_dra_claims(envelope.annotations)
    templates: list[PodTemplate] = [
        _component_template(
            predictor,
            "spec.predictor",
            "predictor",
            envelope,
            pod_labels,
            pod_annotations,
            errors,
            containers=main,
            extra_claims=dra_claims,
        )
    ]
    group_size = 1
    if predictor.get("workerSpec") is not None:
        group_size, worker = _worker_template(
            predictor, envelope, pod_labels, pod_annotations, errors
        )
        if worker is not None:
            templates.append(worker)
    for component in ("transformer", "explainer"):
        if spec.get(component) is not None:
            component_body = errors.mapping(spec.get(component), f"spec.{component}")
            containers = _component_containers(component_body, f"spec.{component}", errors)
            templates.append(
                _component_template(
                    component_body,
                    f"spec.{component}",
                    component,
                    envelope,
                    pod_labels,
                    pod_annotations,
                    errors,
                    containers=containers,
                )
            )

    minimum = positive_count(
        predictor.get("minReplicas"), "spec.predictor.minReplicas", errors, default=1
    )
    maximum = errors.integer(predictor.get("maxReplicas"), "spec.predictor.maxReplicas")
    # maxReplicas 0 is KServe's "unset".
    maximum = maximum if maximum else None
    mode = _deployment_mode(envelope.annotations)
    return envelope.workload(
        pod_templates=tuple(templates),
        replicas=Replicas(minimum=minimum, maximum=maximum),
        autoscaler=_autoscaler(predictor, envelope.annotations, mode, minimum, maximum, errors),
        scale_targets=(
            ScaleTargetRef(kind="Deployment", name=f"{envelope.name}-predictor", api_group="apps"),
        ),
        group_size=group_size,
        gang_mechanisms=gang_mechanisms(envelope.labels, envelope.annotations, templates),
        declared_urls=_declared_urls(envelope),
        # KServe creates the predictor Service itself in every deployment mode.
        managed_services=(f"{envelope.name}-predictor",),
        declares_metrics_scraping=envelope.annotations.get(
            f"{ANNOTATION}enable-prometheus-scraping", ""
        ).lower()
        == "true",
        readiness=condition_readiness(envelope, "Ready"),
        serving_runtime=runtime,
    )


def _predictor_containers(
    predictor: dict[str, Any], errors: FieldErrors
) -> tuple[tuple[Container, ...], ServingRuntimeRef | None]:
    """The predictor's containers, serving container first, and the runtime it names."""
    implementations = [name for name in (*FRAMEWORKS, "model") if predictor.get(name) is not None]
    custom = parse_containers(predictor.get("containers"), "spec.predictor.containers", errors)
    if len(implementations) > 1:
        errors.add(
            f"spec.predictor declares more than one implementation: {', '.join(implementations)}"
        )
    if not implementations:
        if not custom:
            errors.add("spec.predictor has no model, framework or containers")
        return custom, None
    chosen = implementations[0]
    path = f"spec.predictor.{chosen}"
    body = errors.mapping(predictor.get(chosen), path)
    container = parse_container(predictor.get(chosen), path, errors, default_name=SERVING_CONTAINER)
    if chosen == "model":
        model_format = errors.mapping(body.get("modelFormat"), f"{path}.modelFormat")
        runtime = ServingRuntimeRef(
            name=errors.string(body.get("runtime"), f"{path}.runtime") or None,
            model_format=errors.string(model_format.get("name"), f"{path}.modelFormat.name")
            or None,
        )
    else:
        # A framework field is KServe's shorthand for model{modelFormat: <framework>}.
        runtime = ServingRuntimeRef(name=None, model_format=chosen)
    containers = (container,) if container is not None else ()
    # Custom containers next to a model are sidecars; the model's container still serves.
    return containers + tuple(c for c in custom if c.name != SERVING_CONTAINER), runtime


def _component_containers(
    body: dict[str, Any], path: str, errors: FieldErrors
) -> tuple[Container, ...]:
    """A transformer or explainer: custom containers, or an explainer implementation field."""
    for name in EXPLAINERS:
        if body.get(name) is not None:
            container = parse_container(
                body.get(name), f"{path}.{name}", errors, default_name=SERVING_CONTAINER
            )
            return (container,) if container else ()
    return parse_containers(body.get("containers"), f"{path}.containers", errors)


def _component_template(
    body: dict[str, Any],
    path: str,
    component: str,
    envelope: Envelope,
    pod_labels: dict[str, str],
    pod_annotations: dict[str, str],
    errors: FieldErrors,
    *,
    containers: tuple[Container, ...],
    extra_claims: tuple[ResourceClaimRef, ...] = (),
) -> PodTemplate:
    labels = dict(pod_labels)
    labels.update(errors.string_map(body.get("labels"), f"{path}.labels"))
    labels.update({ISVC_LABEL: envelope.name, "component": component})
    annotations = dict(pod_annotations)
    annotations.update(errors.string_map(body.get("annotations"), f"{path}.annotations"))
    names = [c.name for c in containers]
    serving = SERVING_CONTAINER if SERVING_CONTAINER in names else (names[0] if names else None)
    return pod_template_from_spec(
        body,
        path,
        errors,
        role=component,
        labels=labels,
        annotations=annotations,
        serving_container=serving,
        containers=containers,
        extra_claims=extra_claims,
    )


def _worker_template(
    predictor: dict[str, Any],
    envelope: Envelope,
    pod_labels: dict[str, str],
    pod_annotations: dict[str, str],
    errors: FieldErrors,
) -> tuple[int, PodTemplate | None]:
    """group_size = pipelineParallelSize (the number of nodes, head included; KServe's minimum 2
    when unset) and the worker template running ``group_size - 1`` pods per replica."""
    path = "spec.predictor.workerSpec"
    worker = errors.mapping(predictor.get("workerSpec"), path)
    size = positive_count(
        worker.get("pipelineParallelSize"),
        f"{path}.pipelineParallelSize",
        errors,
        default=DEFAULT_PIPELINE_PARALLEL_SIZE,
        minimum=1,
    )
    if size < 2:
        return size, None
    labels = dict(pod_labels)
    labels[ISVC_LABEL] = envelope.name
    containers = parse_containers(worker.get("containers"), f"{path}.containers", errors)
    names = [c.name for c in containers]
    template = pod_template_from_spec(
        worker,
        path,
        errors,
        role="worker",
        labels=labels,
        annotations=dict(pod_annotations),
        pods_per_replica=size - 1,
        serves_traffic=False,
        containers=containers,
        serving_container=WORKER_CONTAINER if WORKER_CONTAINER in names else None,
    )
    return size, template


def _exp_dra_claims(annotations: dict[str, str]) -> tuple[ResourceClaimRef, ...]:
    """KServe's experimental DRA annotations make it create a claim for the predictor pod."""
    if any(key.startswith(f"{ANNOTATION}exp-dra-") for key in annotations):
        device_class = annotations.get(f"{ANNOTATION}exp-dra-device-class", "")
        return (
            ResourceClaimRef(
                name="exp-dra",
                device_classes=(device_class,) if device_class else (),
            ),
        )
    return ()


def _deployment_mode(annotations: dict[str, str]) -> str:
    """Standard (default; legacy RawDeployment), Knative (legacy Serverless) or ModelMesh."""
    mode = annotations.get(f"{ANNOTATION}deploymentMode", "Standard")
    return {"RawDeployment": "Standard", "Serverless": "Knative"}.get(mode, mode)


def _autoscaler(
    predictor: dict[str, Any],
    annotations: dict[str, str],
    mode: str,
    minimum: int,
    maximum: int | None,
    errors: FieldErrors,
) -> InlineAutoscaler | None:
    """The autoscaler KServe creates for the predictor.

    Knative: the KPA (or Knative's HPA class), whose activator buffers requests at zero.
    Standard: ``autoscalerClass`` hpa (default; cannot scale to zero) or keda; ``external`` and
    ``none`` create nothing inline (an external HPA/ScaledObject shows up in the cluster facts).
    """
    metrics = metric_spec_names(
        errors.mapping(predictor.get("autoScaling"), "spec.predictor.autoScaling").get("metrics"),
        "spec.predictor.autoScaling.metrics",
        errors,
    )
    scale_metric = errors.string(predictor.get("scaleMetric"), "spec.predictor.scaleMetric")
    legacy_metric = annotations.get(f"{ANNOTATION}metric")
    declared = metrics or tuple(m for m in (scale_metric or legacy_metric,) if m)
    if mode == "Knative":
        knative_class = annotations.get(f"{KNATIVE}class", "kpa.autoscaling.knative.dev")
        is_kpa = knative_class.startswith("kpa")
        metric = annotations.get(f"{KNATIVE}metric")
        return InlineAutoscaler(
            mechanism="knative",
            minimum=_annotation_int(annotations, ("min-scale", "minScale"), minimum, errors),
            maximum=_annotation_int(annotations, ("max-scale", "maxScale"), maximum, errors),
            metrics=(metric,) if metric else declared or (("concurrency",) if is_kpa else ("cpu",)),
            buffers_requests=is_kpa,
        )
    if mode != "Standard":
        return None
    autoscaler_class = annotations.get(f"{ANNOTATION}autoscalerClass", "hpa")
    if autoscaler_class not in ("hpa", "keda"):
        return None
    return InlineAutoscaler(
        mechanism=f"kserve-{autoscaler_class}",
        minimum=minimum,
        maximum=maximum,
        # KServe's HPA defaults to CPU utilisation when no metric is named.
        metrics=declared or ("cpu",),
    )


def _annotation_int(
    annotations: dict[str, str], names: tuple[str, ...], default: int | None, errors: FieldErrors
) -> int | None:
    for name in names:
        key = f"{KNATIVE}{name}"
        if key in annotations:
            try:
                return int(annotations[key])
            except ValueError:
                errors.add(
                    f"metadata.annotations.{key} must be an integer, got {annotations[key]!r}"
                )
    return default


def _declared_urls(envelope: Envelope) -> tuple[str, ...]:
    errors, status = envelope.errors, envelope.status
    address = errors.mapping(status.get("address"), "status.address")
    components = errors.mapping(status.get("components"), "status.components")
    predictor = errors.mapping(components.get("predictor"), "status.components.predictor")
    urls = [
        errors.string(status.get("url"), "status.url"),
        errors.string(address.get("url"), "status.address.url"),
        errors.string(predictor.get("url"), "status.components.predictor.url"),
    ]
    return unique([u for u in urls if u])
