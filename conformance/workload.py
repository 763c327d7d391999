"""The normalized view of one model-serving workload, whatever kind it came from.

Adapters (``conformance.adapters``) build a ``ServingWorkload`` from one custom-resource body;
checks read only this view. Everything here is frozen: a workload is a value, so the operator
can keep it in an index and the engine can evaluate it from several threads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ProbeHandler = Literal["httpGet", "tcpSocket", "grpc", "exec", "unknown"]


@dataclass(frozen=True)
class Probe:
    """A container probe, reduced to what the endpoint checks judge."""

    handler: ProbeHandler
    path: str | None = None  # httpGet only
    port: int | str | None = None  # number or port name
    initial_delay_seconds: int = 0
    period_seconds: int = 10
    failure_threshold: int = 3
    timeout_seconds: int = 1

    @property
    def budget_seconds(self) -> int:
        """How long the probe tolerates a container that is not yet answering."""
        return self.initial_delay_seconds + self.failure_threshold * self.period_seconds


@dataclass(frozen=True)
class Port:
    number: int | None
    name: str | None = None
    protocol: str = "TCP"


@dataclass(frozen=True)
class Container:
    """One container of a pod template.

    ``requests`` and ``limits`` keep the quantities exactly as written (strings), so a check can
    say "requests nvidia.com/gpu is '0.5'" rather than a rounded number.
    ``claims`` are the names in ``resources.claims`` (DRA).
    """

    name: str
    image: str | None = None
    requests: dict[str, str] = field(default_factory=dict)
    limits: dict[str, str] = field(default_factory=dict)
    claims: tuple[str, ...] = ()
    ports: tuple[Port, ...] = ()
    readiness_probe: Probe | None = None
    liveness_probe: Probe | None = None
    startup_probe: Probe | None = None
    # Where this container was found in the body, for messages: "spec.predictor.model".
    path: str = ""


@dataclass(frozen=True)
class Toleration:
    key: str | None = None
    operator: str = "Equal"  # Equal | Exists
    value: str | None = None
    effect: str | None = None  # None tolerates every effect


@dataclass(frozen=True)
class NodeSelectorRequirement:
    key: str
    operator: str  # In | NotIn | Exists | DoesNotExist | Gt | Lt
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResourceClaimRef:
    """An entry of ``spec.resourceClaims``: a claim by name or through a template."""

    name: str
    resource_claim_name: str | None = None
    resource_claim_template_name: str | None = None
    # DeviceClasses the claim asks for when the workload spells the claim out itself
    # (NIM draResources claimCreationSpec, KServe exp-dra-device-class), for ``gpu-dra-claims``.
    device_classes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PodTemplate:
    """One kind of pod the workload runs.

    ``role`` names it for messages ("predictor", "leader", "worker", "head", "worker-group gpu").
    ``pods_per_replica`` is how many pods of this template one replica of the workload runs
    (an LWS worker template in a group of size 4 runs 3). ``required_node_terms`` are the
    ``requiredDuringSchedulingIgnoredDuringExecution`` node selector terms (ORed; the
    requirements inside one term are ANDed).
    """

    role: str
    containers: tuple[Container, ...] = ()
    init_containers: tuple[Container, ...] = ()
    pods_per_replica: int = 1
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    node_selector: dict[str, str] = field(default_factory=dict)
    required_node_terms: tuple[tuple[NodeSelectorRequirement, ...], ...] = ()
    tolerations: tuple[Toleration, ...] = ()
    runtime_class_name: str | None = None
    scheduler_name: str | None = None
    resource_claims: tuple[ResourceClaimRef, ...] = ()
    # The serving container's name, when the kind says which one serves ("kserve-container",
    # "main"); None lets checks pick the first container that exposes a port.
    serving_container: str | None = None
    # Whether this template's pods serve inference traffic (a Ray worker does not).
    serves_traffic: bool = True
    # Where this template was found in the body, for messages: "spec.leaderWorkerTemplate.workerTemplate".
    path: str = ""
    # ``spec.schedulingGroup.podGroupName``: the native Kubernetes gang (Workload/PodGroup API).
    scheduling_group: str | None = None


@dataclass(frozen=True)
class Replicas:
    """Replica count as declared: fixed, or bounded by an autoscaler.

    ``minimum``/``maximum`` are set when the workload declares bounds itself (KServe
    min/maxReplicas, NIM scale.hpa); ``fixed`` when it declares a plain count.
    """

    fixed: int | None = None
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class InlineAutoscaler:
    """An autoscaler the workload declares in its own spec, not as a separate object.

    ``mechanism``: kserve-hpa | kserve-keda | knative | nim-hpa | ray | vllmruntime-keda |
    llmisvc-keda | llmisvc-wva | external.
    ``metrics``: normalized signal names ("cpu", "memory", "concurrency", "rps",
    "vllm:num_requests_running", "DCGM_FI_DEV_GPU_UTIL", a PromQL query as written, ...).
    ``buffers_requests``: the mechanism holds requests while no pod is ready (Knative activator,
    KEDA HTTP add-on), which is what makes scale-to-zero safe for HTTP serving.
    """

    mechanism: str
    minimum: int | None = None
    maximum: int | None = None
    metrics: tuple[str, ...] = ()
    buffers_requests: bool = False


@dataclass(frozen=True)
class ScaleTargetRef:
    """A (kind, name) an HPA or ScaledObject may name to scale this workload.

    A Deployment is its own scale target; KServe's predictor is scaled through the Deployment
    ``<isvc>-predictor``; an LWS, NIMService or VLLMRuntime through its scale subresource.
    """

    kind: str
    name: str
    api_group: str | None = None  # None matches any group


@dataclass(frozen=True)
class Readiness:
    """The target's own view of whether it is ready (from its status)."""

    ready: bool
    reason: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class ServingRuntimeRef:
    """KServe: the (Cluster)ServingRuntime that supplies ports and probes."""

    name: str | None  # None: chosen by KServe from the model format
    model_format: str | None = None
    cluster_scoped: bool | None = None  # None: either kind may hold it


@dataclass(frozen=True)
class ServingWorkload:
    """One model-serving target, normalized.

    ``errors`` lists what the adapter could not read; the engine turns each into an ``error``
    finding on this workload instead of failing the whole run.
    ``group_size`` is the number of pods that must be scheduled together for one replica to
    serve (LWS ``size``, KServe workerSpec pods + 1, ...); 1 means no gang is needed.
    ``gang_mechanisms`` are the gang-scheduling mechanisms the adapter found declared
    ("kueue", "volcano", "kai", "native", "scheduler-plugins").
    """

    api_version: str
    kind: str
    name: str
    namespace: str | None
    uid: str | None = None
    generation: int | None = None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    pod_templates: tuple[PodTemplate, ...] = ()
    replicas: Replicas = field(default_factory=Replicas)
    autoscaler: InlineAutoscaler | None = None
    scale_targets: tuple[ScaleTargetRef, ...] = ()
    group_size: int = 1
    gang_mechanisms: tuple[str, ...] = ()
    declared_urls: tuple[str, ...] = ()
    # Services the kind creates for itself (Ray's "<name>-serve-svc", NIM's expose.service).
    managed_services: tuple[str, ...] = ()
    # Metrics scraping the kind sets up itself (NIM metrics.serviceMonitor, KServe annotation).
    declares_metrics_scraping: bool = False
    # Routing the kind sets up itself (LLMInferenceService router, NIM expose.router.gateway).
    declares_gateway_route: bool = False
    readiness: Readiness | None = None
    # Who supplies probes the manifest does not declare (KubeRay injects health probes into
    # Ray containers; the vLLM production-stack operator owns its Deployment's probes). The
    # probe checks skip with this note instead of failing for something the user cannot set.
    platform_probes: str | None = None
    serving_runtime: ServingRuntimeRef | None = None
    errors: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        """``Kind namespace/name`` for messages and table headings."""
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"

    @property
    def api_group(self) -> str:
        return self.api_version.rpartition("/")[0] if "/" in self.api_version else ""
