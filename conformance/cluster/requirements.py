"""The passive decision of each CNCF AI Conformance requirement, one function per id.

Each function reads the inventory and returns a ``Decision``: a status, the objects that prove
it and notes that say what was seen and what passive detection cannot show. The rules, in
short (the docs page has the full table):

- a class of facts the gatherer could not read makes the requirement ``Unknown``, never a guess;
- ``NotApplicable`` is decided only where a requirement's condition visibly does not hold
  (cluster_autoscaling without an autoscaler, pod_autoscaling without the HPA API);
- a capability kaico cannot see from objects (isolation between containers, all-or-nothing
  placement, reconciliation) is named in the notes, and an active probe can settle it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from conformance.accelerators import is_accelerator_resource
from conformance.cluster.catalogue import Requirement
from conformance.cluster.components import (
    ACCELERATOR_EXPORTERS,
    AI_OPERATORS,
    CLUSTER_AUTOSCALER,
    DEVICE_PLUGINS,
    DRA_DRIVERS,
    GANG_SCHEDULERS,
    GPU_OPERATOR_DRIVER,
    GPU_OPERATOR_TOOLKIT,
    KARPENTER,
    PROMETHEUS_OPERATOR,
    Component,
    workloads_of,
)
from conformance.cluster.exposition import assess_exposition
from conformance.cluster.inventory import (
    ClusterInventory,
    InventoryClass,
    NodeFact,
    ResourceSliceFact,
    ServiceFact,
    WorkloadFact,
)
from conformance.cluster.results import Decision, RequirementStatus
from conformance.parameters import Parameters

DecisionFunction = Callable[[ClusterInventory, Requirement], Decision]
DECISIONS: dict[str, DecisionFunction] = {}

IMPLEMENTED = RequirementStatus.IMPLEMENTED
NOT_IMPLEMENTED = RequirementStatus.NOT_IMPLEMENTED
PARTIAL = RequirementStatus.PARTIALLY_IMPLEMENTED
NOT_APPLICABLE = RequirementStatus.NOT_APPLICABLE
UNKNOWN = RequirementStatus.UNKNOWN

_DEFAULTS = Parameters()
DRA_RESOURCES = ("deviceclasses", "resourceclaims", "resourceclaimtemplates", "resourceslices")
GATEWAY_CRDS = tuple(
    f"{plural}.gateway.networking.k8s.io" for plural in ("gatewayclasses", "gateways", "httproutes")
)
INFERENCE_POOL_CRD = "inferencepools.inference.networking.k8s.io"
LEGACY_INFERENCE_POOL_CRD = "inferencepools.inference.networking.x-k8s.io"
# DRA drivers that publish network interfaces rather than accelerators.
NETWORK_DRA_DRIVERS = ("dra.net",)
MULTI_NETWORK_CRDS = (
    "network-attachment-definitions.k8s.cni.cncf.io",
    "nicclusterpolicies.mellanox.com",
    "sriovnetworknodepolicies.sriovnetwork.openshift.io",
)
SANDBOX_MARKERS = ("gvisor", "runsc", "kata", "sandboxed", "quark", "krun")
SERVICE_DISCOVERY_CRDS = (
    "servicemonitors.monitoring.coreos.com",
    "podmonitors.monitoring.coreos.com",
    "podmonitorings.monitoring.googleapis.com",
    "vmservicescrapes.operator.victoriametrics.com",
)
METRICS_COLLECTORS = (
    Component("prometheus", "Prometheus", images=("prometheus/prometheus", "prom/prometheus")),
    Component("vmagent", "VictoriaMetrics agent", images=("victoriametrics/vmagent",)),
    Component("otel-collector", "OpenTelemetry Collector", images=("opentelemetry-collector",)),
    Component("gmp-collector", "Google managed Prometheus", images=("prometheus-engine",)),
)
DISAGGREGATION_CRDS = ("dynamographdeployments.nvidia.com",)
DRIVER_VERSION_LABELS = ("nvidia.com/cuda.driver-version.full", "nvidia.com/cuda.driver.major")


def decides(requirement_id: str) -> Callable[[DecisionFunction], DecisionFunction]:
    def register(function: DecisionFunction) -> DecisionFunction:
        DECISIONS[requirement_id] = function
        return function

    return register


# --- shared readings ---------------------------------------------------------------------------

_WHAT = {
    InventoryClass.DISCOVERY: "API discovery",
    InventoryClass.CRDS: "CustomResourceDefinitions",
    InventoryClass.API_SERVICES: "APIServices",
    InventoryClass.GATEWAY_CLASSES: "GatewayClasses",
    InventoryClass.WORKLOADS: "Deployments/DaemonSets/StatefulSets",
    InventoryClass.SERVICES: "Services",
    InventoryClass.CONFIG_MAPS: "ConfigMaps",
    InventoryClass.RUNTIME_CLASSES: "RuntimeClasses",
    InventoryClass.NODES: "Nodes",
    InventoryClass.DEVICE_CLASSES: "DeviceClasses",
    InventoryClass.RESOURCE_SLICES: "ResourceSlices",
    InventoryClass.WEBHOOKS: "webhook configurations",
}


def _unreadable(inventory: ClusterInventory, *classes: InventoryClass) -> Decision | None:
    missing = [c for c in classes if not inventory.knows(c)]
    if not missing:
        return None
    names = ", ".join(_WHAT[c] for c in missing)
    return Decision(UNKNOWN, f"Could not read {names} (permissions or API errors); not judged.")


def _listing(items: Iterable[str], limit: int = 4) -> str:
    items = list(items)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _crd_evidence(name: str) -> str:
    return f"CustomResourceDefinition/{name} (Established)"


def _crds_state(inventory: ClusterInventory, names: Iterable[str]
                ) -> tuple[list[str], list[str], list[str]]:
    """(established, installed but not Established, absent) among ``names``."""
    established, pending, absent = [], [], []
    for name in names:
        crd = inventory.crd(name)
        if crd is None:
            absent.append(name)
        elif crd.established:
            established.append(name)
        else:
            pending.append(name)
    return established, pending, absent


def accelerator_nodes(inventory: ClusterInventory) -> list[tuple[NodeFact, dict[str, str]]]:
    """Nodes advertising a non-zero accelerator resource, with those resources."""
    found = []
    for node in inventory.nodes:
        resources = {
            name: quantity for name, quantity in node.allocatable.items()
            if (is_accelerator_resource(name, _DEFAULTS) or name.startswith("nvidia.com/"))
            and quantity not in ("0", "")
        }
        if resources:
            found.append((node, resources))
    return found


def accelerator_slices(inventory: ClusterInventory) -> list[ResourceSliceFact]:
    return [
        s for s in inventory.resource_slices
        if s.devices > 0 and s.driver not in NETWORK_DRA_DRIVERS
    ]


def _is_nvidia(node: NodeFact) -> bool:
    return node.labels.get("nvidia.com/gpu.present") == "true" or any(
        name.startswith("nvidia.com/") for name in node.allocatable
    )


def _workload_readiness(workloads: Iterable[WorkloadFact]) -> tuple[list[str], list[str]]:
    """(ready, not ready) workload descriptions."""
    ready, unready = [], []
    for workload in workloads:
        (ready if workload.is_ready else unready).append(workload.display)
    return ready, unready


@dataclass(frozen=True)
class _Health:
    """How far a component (CRDs plus controller workloads) is installed and running."""

    present: bool
    problems: tuple[str, ...]
    established: tuple[str, ...]
    evidence: tuple[str, ...]


def _component_health(inventory: ClusterInventory, component: Component) -> _Health:
    established, pending, absent = _crds_state(inventory, component.crds)
    workloads = workloads_of(inventory, component)
    ready, unready = _workload_readiness(workloads)
    problems = []
    if absent or pending:
        problems.append(f"CRDs missing or not Established: {_listing(absent + pending)}")
    if not inventory.knows(InventoryClass.WORKLOADS):
        problems.append("controller readiness unreadable")
    elif unready:
        problems.append(f"controller not ready: {_listing(unready)}")
    elif not ready:
        problems.append("no controller found")
    return _Health(
        present=bool(established or pending or workloads),
        problems=tuple(problems),
        established=tuple(established),
        evidence=(*(_crd_evidence(n) for n in established), *ready),
    )


def _distinct(workloads: Iterable[WorkloadFact]) -> list[WorkloadFact]:
    """Workloads once each, in order (one may match several components)."""
    seen: set[tuple[str, str, str]] = set()
    unique = []
    for workload in workloads:
        key = (workload.kind, workload.namespace, workload.name)
        if key not in seen:
            seen.add(key)
            unique.append(workload)
    return unique


# The label a platform puts on an accelerator exporter's Service for kaico to find it.
EXPORTER_LABEL = "kaico.dev/accelerator-exporter"


def looks_like_accelerator_exporter(service: ServiceFact) -> bool:
    """A Service in front of an accelerator exporter: labelled ``kaico.dev/accelerator-exporter
    =true``, or carrying the label the GPU Operator or the dcgm-exporter chart sets. Never by
    its name: a name containing "dcgm-exporter" is anyone's to pick, and the operator proxies
    requests to what this selects (issue 11's confused deputy)."""
    if service.labels.get(EXPORTER_LABEL) == "true":
        return True
    if service.labels.get("app") in ("nvidia-dcgm-exporter", "dcgm-exporter"):
        return True
    return service.labels.get("app.kubernetes.io/name") == "dcgm-exporter"


# --- accelerators -------------------------------------------------------------------------------


@decides("dra_support")
def dra_support(inventory: ClusterInventory, requirement: Requirement) -> Decision:
    if unknown := _unreadable(inventory, InventoryClass.DISCOVERY):
        return unknown
    served = [r for r in DRA_RESOURCES if inventory.serves("resource.k8s.io/v1", r)]
    context = []
    if inventory.knows(InventoryClass.DEVICE_CLASSES):
        context.append(f"{len(inventory.device_classes)} DeviceClass(es)")
    if inventory.knows(InventoryClass.RESOURCE_SLICES):
        drivers = sorted({s.driver for s in inventory.resource_slices})
        context.append(
            f"ResourceSlices from {_listing(drivers)}" if drivers else "no ResourceSlices published"
        )
    suffix = f" The cluster has {' and '.join(context)}." if context else ""
    if len(served) == len(DRA_RESOURCES):
        return Decision(
            IMPLEMENTED,
            "resource.k8s.io/v1 serves DeviceClasses, ResourceClaims, ResourceClaimTemplates and "
            "ResourceSlices." + suffix,
            (f"API resource.k8s.io/v1: {', '.join(DRA_RESOURCES)}",),
        )
    if served:
        missing = [r for r in DRA_RESOURCES if r not in served]
        return Decision(
            PARTIAL, f"resource.k8s.io/v1 does not serve {', '.join(missing)}." + suffix,
            (f"API resource.k8s.io/v1: {', '.join(served)}",),
        )
    beta = sorted(
        gv for gv in inventory.api_resources
        if gv.startswith("resource.k8s.io/") and inventory.api_resources[gv] & set(DRA_RESOURCES)
    )
    if beta:
        return Decision(
            PARTIAL,
            f"DRA is served only as {_listing(beta)}, not as the GA resource.k8s.io/v1." + suffix,
            tuple(f"API {gv}" for gv in beta),
        )
    return Decision(NOT_IMPLEMENTED, "The resource.k8s.io API group (DRA) is not served.")


@decides("driver_runtime_management")
def driver_runtime_management(inventory: ClusterInventory, requirement: Requirement) -> Decision:
    if unknown := _unreadable(inventory, InventoryClass.NODES):
        return unknown
    versioned_slices = [
        s for s in accelerator_slices(inventory)
        if any("driverversion" in a.lower() for a in s.attributes)
    ]
    if versioned_slices:
        return Decision(
            IMPLEMENTED,
            "The DRA driver publishes driver version attributes on its devices (the mechanism "
            "the requirement prefers). Whether the installed driver matches is checked only by "
            "running a pod on the accelerator (upstream TestAcceleratorDriverRuntimeManagement).",
            tuple(f"ResourceSlice/{s.name} (driver {s.driver})" for s in versioned_slices[:5]),
        )
    nodes = [node for node, _ in accelerator_nodes(inventory)]
    nvidia = [n for n in nodes if _is_nvidia(n)]
    if not nodes:
        return Decision(UNKNOWN, "No node advertises an accelerator; nothing to judge.")
    if not nvidia:
        return Decision(
            UNKNOWN,
            "The accelerators on this cluster are not ones kaico (or the upstream test) "
            "recognises for driver and runtime version checks.",
        )
    labelled = [n for n in nvidia if any(label in n.labels for label in DRIVER_VERSION_LABELS)]
    runtimes = sorted({n.container_runtime_version for n in nvidia if n.container_runtime_version})
    runtime_note = f" Container runtimes: {_listing(runtimes)}." if runtimes else ""
    evidence = tuple(
        f"Node/{n.name} ({n.labels.get(DRIVER_VERSION_LABELS[0]) or 'driver labelled'})"
        for n in labelled[:5]
    )
    if labelled and len(labelled) == len(nvidia):
        return Decision(
            IMPLEMENTED,
            f"All {len(nvidia)} NVIDIA node(s) advertise driver and CUDA versions as GPU Feature "
            "Discovery labels." + runtime_note,
            evidence,
        )
    managed = workloads_of(inventory, GPU_OPERATOR_DRIVER) + workloads_of(
        inventory, GPU_OPERATOR_TOOLKIT
    )
    if labelled or managed:
        return Decision(
            PARTIAL,
            f"{len(labelled)} of {len(nvidia)} NVIDIA node(s) advertise driver versions"
            + (f"; driver/toolkit managed by {_listing(w.display for w in managed)}" if managed else "")
            + "." + runtime_note,
            evidence + tuple(w.display for w in managed[:3]),
        )
    return Decision(
        NOT_IMPLEMENTED,
        f"{len(nvidia)} NVIDIA node(s) carry no driver version labels or DRA attributes, and no "
        "driver manager (GPU Operator) was found." + runtime_note,
    )


@decides("gpu_sharing")
def gpu_sharing(inventory: ClusterInventory, requirement: Requirement) -> Decision:
    if unknown := _unreadable(inventory, InventoryClass.NODES):
        return unknown
    evidence: list[str] = []
    for node in inventory.nodes:
        shared = [n for n in node.allocatable if n.startswith("nvidia.com/mig-")
                  or n in ("nvidia.com/gpu.shared", "nvidia.com/gpumem", "nvidia.com/gpucores")]
        if shared:
            evidence.append(f"Node/{node.name} advertises {_listing(sorted(shared), 2)}")
            continue
        strategy = node.labels.get("nvidia.com/gpu.sharing-strategy", "")
        replicas = node.labels.get("nvidia.com/gpu.replicas", "")
        # A label is any text: compare digits as text, never int() a 5,000-digit value.
        several = replicas.isascii() and replicas.isdigit() and replicas.lstrip("0") not in ("", "1")
        if strategy in ("time-slicing", "mps") or several:
            evidence.append(f"Node/{node.name} shares GPUs ({strategy or 'replicas=' + replicas})")
    if "mig.nvidia.com" in inventory.device_classes:
        evidence.append("DeviceClass/mig.nvidia.com")
    partitionable = [s for s in inventory.resource_slices if s.shares_counters]
    evidence.extend(f"ResourceSlice/{s.name} (partitionable devices)" for s in partitionable[:3])
    if evidence:
        return Decision(
            IMPLEMENTED,
            f"GPU sharing is exposed as schedulable resources ({len(evidence)} signal(s)).",
            tuple(evidence[:6]),
        )
    nodes = [node for node, _ in accelerator_nodes(inventory)]
    if any(_is_nvidia(n) for n in nodes):
        return Decision(
            NOT_IMPLEMENTED,
            "NVIDIA GPUs are exposed only whole: no MIG resources, time-slicing or MPS replicas, "
            "or partitionable DRA devices were found.",
        )
    return Decision(
        UNKNOWN,
        "No sharing mechanism found, and no accelerator kaico knows to support static sharing "
        "is present; whether the condition applies cannot be told from the cluster.",
    )


@decides("virtualized_accelerator")
def virtualized_accelerator(inventory: ClusterInventory, requirement: Requirement) -> Decision:
    if unknown := _unreadable(inventory, InventoryClass.NODES):
        return unknown
    evidence = [
        f"Node/{n.name} (vGPU)" for n in inventory.nodes
        if n.labels.get("nvidia.com/vgpu.present") == "true"
        or any(marker in name.lower() for name in n.allocatable for marker in ("vgpu", "grid_", "vfio"))
    ]
    if "vfio.gpu.nvidia.com" in inventory.device_classes:
        evidence.append("DeviceClass/vfio.gpu.nvidia.com")
    if evidence:
        return Decision(
            IMPLEMENTED, "Virtualized accelerators (vGPU or passthrough) are exposed.",
            tuple(evidence[:6]),
        )
    return Decision(
        UNKNOWN,
        "No vGPU or VFIO devices are exposed; whether the cluster's accelerators support "
        "virtualization cannot be told from the cluster.",
    )


# --- networking ---------------------------------------------------------------------------------


def _accepted_gateway_classes(inventory: ClusterInventory) -> list[str]:
    return [
        f"GatewayClass/{c.name} (Accepted, controller {c.controller})"
        for c in inventory.gateway_classes if c.accepted
    ]


@decides("ai_inference")
def ai_inference(inventory: ClusterInventory, requirement: Requirement) -> Decision:
    if unknown := _unreadable(inventory, InventoryClass.CRDS):
        return unknown
    established, pending, absent = _crds_state(inventory, GATEWAY_CRDS)
    no_v1 = [n for n in established if "v1" not in inventory.crd(n).served_versions]  # type: ignore[union-attr]
    evidence = tuple(_crd_evidence(n) for n in established)
    if len(absent) == len(GATEWAY_CRDS):
        return Decision(NOT_IMPLEMENTED, "The Gateway API CRDs are not installed.")
    if pending or absent or no_v1:
        problems = [f"{_listing(absent)} absent" if absent else "",
                    f"{_listing(pending)} not Established" if pending else "",
                    f"{_listing(no_v1)} not served as v1" if no_v1 else ""]
        return Decision(
            PARTIAL, "Gateway API is incomplete: " + "; ".join(p for p in problems if p) + ".",
            evidence,
        )
    if unknown := _unreadable(inventory, InventoryClass.GATEWAY_CLASSES):
        return Decision(UNKNOWN, "Gateway API CRDs are Established. " + unknown.notes, evidence)
    accepted = _accepted_gateway_classes(inventory)
    if accepted:
        return Decision(
            IMPLEMENTED,
            "Gateway API v1 CRDs are Established and an implementation has Accepted a "
            "GatewayClass. Traffic splitting and header routing are the implementation's; "
            "kaico does not send traffic.",
            evidence + tuple(accepted),
        )
    waiting = [f"{c.name} ({c.controller})" for c in inventory.gateway_classes]
    return Decision(
        PARTIAL,
        "Gateway API CRDs are Established but no GatewayClass is Accepted, so no implementation "
        "is serving them" + (f" (not accepted: {_listing(waiting)})" if waiting else "") + ".",
        evidence,
    )


@decides("advanced_inference_ingress")
def advanced_inference_ingress(inventory: ClusterInventory, requirement: Requirement) -> Decision:
    if unknown := _unreadable(inventory, InventoryClass.CRDS):
        return unknown
    pool = inventory.crd(INFERENCE_POOL_CRD)
    legacy = inventory.crd(LEGACY_INFERENCE_POOL_CRD)
    if pool is not None and pool.established and "v1" in pool.served_versions:
        accepted = _accepted_gateway_classes(inventory)
        if accepted:
            return Decision(
                IMPLEMENTED,
                "InferencePool (inference.networking.k8s.io/v1) is served and a GatewayClass is "
                "Accepted. Whether that gateway routes to InferencePools is settled only by the "
                "GAIE conformance suite.",
                (_crd_evidence(INFERENCE_POOL_CRD), *accepted),
            )
        return Decision(
            PARTIAL, "InferencePool v1 is served but no GatewayClass is Accepted to route to it.",
            (_crd_evidence(INFERENCE_POOL_CRD),),
        )
    if legacy is not None and legacy.established:
        return Decision(
            PARTIAL,
            "Only the alpha inference.networking.x-k8s.io InferencePool is served, not the GA "
            "inference.networking.k8s.io/v1.",
            (_crd_evidence(LEGACY_INFERENCE_POOL_CRD),),
        )
    return Decision(NOT_IMPLEMENTED, "The Gateway API Inference Extension (InferencePool) is not installed.")


@decides("high_performance_networking")
def high_performance_networking(inventory: ClusterInventory, requirement: Requirement) -> Decision:
    if unknown := _unreadable(inventory, InventoryClass.CRDS, InventoryClass.NODES):
        return unknown
    network_slices = [
        s for s in inventory.resource_slices
        if s.driver in NETWORK_DRA_DRIVERS or any("rdma" in a.lower() for a in s.attributes)
    ]
    if network_slices:
        return Decision(
            IMPLEMENTED,
            "Network devices are published through DRA with discoverable attributes.",
            tuple(f"ResourceSlice/{s.name} (driver {s.driver})" for s in network_slices[:5]),
        )
    established, _, _ = _crds_state(inventory, MULTI_NETWORK_CRDS)
    rdma_nodes = [n.name for n in inventory.nodes if any(r.startswith("rdma/") for r in n.allocatable)]
    if established or rdma_nodes:
        return Decision(
            PARTIAL,
            "Multi-network or RDMA resources are present but not managed through DRA, so their "
            "characteristics are not discoverable as device attributes.",
            tuple(_crd_evidence(n) for n in established) + tuple(f"Node/{n} (rdma/*)" for n in rdma_nodes[:3]),
        )
    if not inventory.knows(InventoryClass.RESOURCE_SLICES):
        return Decision(UNKNOWN, "ResourceSlices could not be read; DRA network drivers not judged.")
    return Decision(
        NOT_IMPLEMENTED,
        "No DRA network driver (e.g. DRANET), multi-network CRD or RDMA resource was found. The "
        "requirement applies only where high-performance pod-to-pod networking is needed.",
    )


@decides("disaggregated_inference")
def disaggregated_inference(inventory: ClusterInventory, requirement: Requirement) -> Decision:
    if unknown := _unreadable(inventory, InventoryClass.WORKLOADS, InventoryClass.CRDS):
        return unknown

    def role_of(workload: WorkloadFact) -> str | None:
        role = workload.labels.get("llm-d.ai/role")
        if role in ("prefill", "decode"):
            return role
        for candidate in ("prefill", "decode"):
            if candidate in workload.name:
                return candidate
        return None

    roles: dict[str, list[WorkloadFact]] = {"prefill": [], "decode": []}
    for workload in inventory.workloads:
        if workload.kind != "DaemonSet" and (role := role_of(workload)):
            roles[role].append(workload)
    ready = {role: [w for w in found if w.is_ready] for role, found in roles.items()}
    evidence = tuple(w.display for found in roles.values() for w in found[:3])
    if ready["prefill"] and ready["decode"]:
        return Decision(
            IMPLEMENTED,
            "Separate prefill and decode workloads are running. That requests cross them (KV "
            "transfer) is verified only by sending inference traffic.",
            evidence,
        )
    established, _, _ = _crds_state(inventory, DISAGGREGATION_CRDS)
    if roles["prefill"] or roles["decode"] or established:
        return Decision(
            PARTIAL,
            "A disaggregated serving solution is present but not running both phases: "
            f"{len(ready['prefill'])} prefill and {len(ready['decode'])} decode workload(s) ready.",
            evidence + tuple(_crd_evidence(n) for n in established),
        )
    return Decision(
        UNKNOWN,
        "No disaggregated (prefill/decode) deployment is running; whether the platform can run "
        "one is shown only by deploying it.",
    )


# --- scheduling and orchestration ---------------------------------------------------------------


@decides("gang_scheduling")
def gang_scheduling(inventory: ClusterInventory, requirement: Requirement) -> Decision:
    if unknown := _unreadable(inventory, InventoryClass.CRDS):
        return unknown
    healthy: list[str] = []
    partial: list[str] = []
    evidence: list[str] = []
    readable_workloads = inventory.knows(InventoryClass.WORKLOADS)
    for scheduler in GANG_SCHEDULERS:
        health = _component_health(inventory, scheduler)
        if not health.present:
            continue
        evidence.extend(health.evidence)
        if health.problems:
            partial.append(f"{scheduler.title} ({'; '.join(health.problems)})")
        else:
            healthy.append(scheduler.title)
    if healthy:
        return Decision(
            IMPLEMENTED,
            f"{_listing(healthy)} installed: CRDs Established and controller ready. All-or-nothing "
            "placement itself is shown by the gang-scheduling probe (--active-probes, or a profile's "
            "spec.activeProbes).",
            tuple(evidence),
        )
    if partial:
        status = UNKNOWN if not readable_workloads else PARTIAL
        return Decision(status, f"Gang scheduler present but not healthy: {'; '.join(partial)}.",
                        tuple(evidence))
    if inventory.serves("scheduling.k8s.io/v1alpha1", "workloads"):
        return Decision(
            PARTIAL,
            "Only the alpha native Workload API (scheduling.k8s.io/v1alpha1) is served; whether "
            "the scheduler's gang-scheduling feature is enabled cannot be seen from the API.",
            ("API scheduling.k8s.io/v1alpha1: workloads",),
        )
    return Decision(NOT_IMPLEMENTED, "No gang scheduler (Kueue, Volcano, KAI Scheduler) is installed.")


def _autoscaler_health(data: dict[str, str] | object) -> str | None:
    """"Healthy", "Unhealthy" ... from cluster-autoscaler's status text (the older plain-text
    format "Health: Healthy" and the newer YAML "health: {status: Healthy}")."""
    text = "\n".join(data.values()) if isinstance(data, dict) else ""
    for line in text.splitlines():
        stripped = line.strip()
        for prefix in ("Health:", "status:"):
            if stripped.startswith(prefix):
                word = stripped[len(prefix):].split()
                if word and word[0] in ("Healthy", "Unhealthy"):
                    return word[0]
    return None


@decides("cluster_autoscaling")
def cluster_autoscaling(inventory: ClusterInventory, requirement: Requirement) -> Decision:
    if unknown := _unreadable(inventory, InventoryClass.CONFIG_MAPS, InventoryClass.DISCOVERY):
        return unknown
    scale_note = (" Scaling of accelerator node groups on pending pods is verified only by "
                  "upstream TestAcceleratorClusterAutoscaling.")
    status_map = inventory.config_map("kube-system", "cluster-autoscaler-status")
    ready, unready = _workload_readiness(workloads_of(inventory, CLUSTER_AUTOSCALER))
    if status_map is not None:
        evidence = ("ConfigMap kube-system/cluster-autoscaler-status", *ready)
        health = _autoscaler_health(dict(status_map.data))
        if health == "Unhealthy" or unready:
            return Decision(
                PARTIAL, "cluster-autoscaler is installed but reports itself unhealthy or is not ready.",
                evidence,
            )
        return Decision(
            IMPLEMENTED,
            f"cluster-autoscaler publishes its status ({health or 'health not stated'})." + scale_note,
            evidence,
        )
    if ready or unready:
        if ready and not unready:
            return Decision(
                IMPLEMENTED,
                "cluster-autoscaler is running (its status ConfigMap is absent, e.g. "
                "--write-status-configmap=false)." + scale_note,
                tuple(ready),
            )
        return Decision(PARTIAL, f"cluster-autoscaler is not ready: {_listing(unready)}.", tuple(ready))
    if inventory.serves("karpenter.sh/v1", "nodepools"):
        k_ready, k_unready = _workload_readiness(workloads_of(inventory, KARPENTER))
        evidence = ("API karpenter.sh/v1: nodepools", *k_ready)
        if k_ready and not k_unready:
            return Decision(IMPLEMENTED, "Karpenter is installed and ready." + scale_note, evidence)
        return Decision(
            PARTIAL,
            "The Karpenter API is served but its controller is not ready or runs outside the "
            "cluster, where kaico cannot see it." + scale_note,
            evidence,
        )
    return Decision(
        NOT_APPLICABLE,
        "The platform provides no cluster autoscaler or equivalent that kaico can see (no "
        "cluster-autoscaler status ConfigMap or Deployment, no Karpenter API); the requirement "
        "applies only when one is provided.",
    )


@decides("pod_autoscaling")
def pod_autoscaling(inventory: ClusterInventory, requirement: Requirement) -> Decision:
    if unknown := _unreadable(inventory, InventoryClass.DISCOVERY, InventoryClass.API_SERVICES):
        return unknown
    if not inventory.serves("autoscaling/v2", "horizontalpodautoscalers"):
        return Decision(
            NOT_APPLICABLE,
            "The platform does not serve the HorizontalPodAutoscaler API (autoscaling/v2); the "
            "requirement applies only when it does.",
        )
    metrics_apis = [
        s for s in inventory.api_services
        if s.group in ("custom.metrics.k8s.io", "external.metrics.k8s.io")
    ]
    available = [s for s in metrics_apis if s.available]
    hpa = "API autoscaling/v2: horizontalpodautoscalers"
    drive_note = (" Scaling accelerator pods on such a metric is shown only by driving an HPA.")
    if available:
        return Decision(
            IMPLEMENTED,
            f"HPA is served and {_listing(s.group for s in available)} is Available, so HPAs can "
            "scale on custom or external metrics." + drive_note,
            (hpa, *(f"APIService/{s.name} (Available)" for s in available)),
        )
    if metrics_apis:
        reasons = [f"{s.name}: {s.message or 'not Available'}" for s in metrics_apis]
        return Decision(
            PARTIAL,
            f"A custom/external metrics API is registered but not Available ({'; '.join(reasons)}).",
            (hpa, *(f"APIService/{s.name} (not Available)" for s in metrics_apis)),
        )
    resource_only = any(s.group == "metrics.k8s.io" for s in inventory.api_services)
    return Decision(
        NOT_IMPLEMENTED,
        "HPA is served but no custom.metrics.k8s.io or external.metrics.k8s.io APIService is "
        "registered, so HPAs cannot scale on AI metrics"
        + (" (only resource metrics, metrics.k8s.io, are available)" if resource_only else "")
        + ".",
        (hpa,),
    )


# --- observability ------------------------------------------------------------------------------


@decides("accelerator_metrics")
def accelerator_metrics(inventory: ClusterInventory, requirement: Requirement) -> Decision:
    exporters = _distinct(w for c in ACCELERATOR_EXPORTERS for w in workloads_of(inventory, c))
    services = [s for s in inventory.services if looks_like_accelerator_exporter(s)]
    found = [w.display for w in exporters] + [f"Service {s.namespace}/{s.name}" for s in services]
    read = [s for s in inventory.metrics_scrapes if s.text is not None]
    for scrape in read:
        assessment = assess_exposition(scrape.text or "")
        if assessment.complete:
            util, memory = assessment.utilisation, assessment.memory
            optional = ", ".join(f"{k} ({v})" for k, v in assessment.optional.items())
            return Decision(
                IMPLEMENTED,
                f"{scrape.source} exposes per-device utilisation {util[0]} and memory "  # type: ignore[index]
                f"{memory[0]} (device label {util[1]}) for {len(assessment.devices) or 'some'} "  # type: ignore[index]
                f"device(s). Optional: {optional or 'none found'}.",
                (f"metrics {scrape.source}", *found[:4]),
            )
    if read:
        details, partly = [], False
        for scrape in read:
            assessment = assess_exposition(scrape.text or "")
            if assessment.utilisation or assessment.memory:
                partly = True
                has, lacks = (("utilisation", "memory") if assessment.utilisation
                              else ("memory", "utilisation"))
                details.append(f"{scrape.source} has per-device {has} but no per-device {lacks}")
            else:
                details.append(f"{scrape.source} has no per-device utilisation or memory metric "
                               "with a device label")
        return Decision(PARTIAL if partly else NOT_IMPLEMENTED, "; ".join(details) + ".",
                        tuple(f"metrics {s.source}" for s in read) + tuple(found[:4]))
    failed = [f"{s.source}: {s.error}" for s in inventory.metrics_scrapes if s.error]
    if failed or found:
        return Decision(
            UNKNOWN,
            (f"Exporter(s) found: {_listing(found)}. " if found else "")
            + (f"Scrape failed: {'; '.join(failed)}. " if failed else "Not scraped. ")
            + "Per-device metrics are judged only on a readable endpoint (--metrics-endpoint or "
            "--metrics-service).",
            tuple(found[:4]),
        )
    if unknown := _unreadable(inventory, InventoryClass.WORKLOADS, InventoryClass.SERVICES):
        return unknown
    no_accelerators = not accelerator_nodes(inventory) and not accelerator_slices(inventory)
    return Decision(
        NOT_IMPLEMENTED,
        "No accelerator metrics exporter (e.g. DCGM exporter) was found"
        + (" and no node advertises an accelerator" if no_accelerators else "") + ".",
    )


@decides("ai_service_metrics")
def ai_service_metrics(inventory: ClusterInventory, requirement: Requirement) -> Decision:
    if unknown := _unreadable(inventory, InventoryClass.CRDS, InventoryClass.WORKLOADS):
        return unknown
    established, _, _ = _crds_state(inventory, SERVICE_DISCOVERY_CRDS)
    collectors = [
        w for component in (PROMETHEUS_OPERATOR, *METRICS_COLLECTORS)
        for w in workloads_of(inventory, component)
    ]
    ready, unready = _workload_readiness(_distinct(collectors))
    evidence = tuple(_crd_evidence(n) for n in established) + tuple(ready)
    if established and ready:
        return Decision(
            IMPLEMENTED,
            "Workload metrics are discovered through monitor resources "
            f"({_listing(n.split('.')[0] for n in established)}) and collected by a running "
            "collector. Collection of a given workload's metrics is shown only by querying it.",
            evidence,
        )
    if established or ready or unready:
        missing = ("no collector is ready" if established else
                   "no discovery resources (ServiceMonitor/PodMonitor) are installed; scrape "
                   "configuration is not visible to kaico")
        return Decision(PARTIAL, f"A monitoring system is partly present: {missing}.",
                        evidence + tuple(unready))
    return Decision(
        NOT_IMPLEMENTED,
        "No monitoring system (Prometheus Operator monitors, Prometheus, or another collector "
        "kaico knows) was found.",
    )


# --- security -----------------------------------------------------------------------------------


@decides("secure_accelerator_access")
def secure_accelerator_access(inventory: ClusterInventory, requirement: Requirement) -> Decision:
    if unknown := _unreadable(inventory, InventoryClass.NODES):
        return unknown
    nodes = accelerator_nodes(inventory)
    slices = accelerator_slices(inventory)
    plugins = _distinct(w for c in (*DEVICE_PLUGINS, *DRA_DRIVERS) for w in workloads_of(inventory, c))
    evidence = [
        f"Node/{node.name} advertises {', '.join(f'{k}={v}' for k, v in sorted(res.items()))}"
        for node, res in nodes[:4]
    ] + [f"ResourceSlice/{s.name} (driver {s.driver}, {s.devices} device(s))" for s in slices[:4]]
    ready, unready = _workload_readiness(plugins)
    mechanisms = (["device plugin"] if nodes else []) + (["DRA"] if slices else [])
    isolation = (" Isolation between containers is shown only by the secure-accelerator-access "
                 "probe (--active-probes, or a profile's spec.activeProbes).")
    if mechanisms:
        note = (f"Accelerators are requested only through the {' and '.join(mechanisms)} "
                f"({len(nodes)} node(s), {len(slices)} ResourceSlice(s)).")
        if unready:
            note += f" Not ready: {_listing(unready)}."
        return Decision(IMPLEMENTED, note + isolation, tuple(evidence + ready[:2]))
    if plugins:
        return Decision(
            PARTIAL,
            f"A device plugin or DRA driver is installed ({_listing(ready + unready)}) but no "
            "accelerator is advertised.",
            tuple(ready),
        )
    if not inventory.knows(InventoryClass.RESOURCE_SLICES) and inventory.serves(
        "resource.k8s.io/v1", "resourceslices"
    ):
        return Decision(UNKNOWN, "No node advertises an accelerator and ResourceSlices could not be read.")
    return Decision(
        NOT_IMPLEMENTED,
        "No accelerator is exposed through a device plugin or a DRA driver, so container access "
        "to accelerators is not mediated by Kubernetes.",
    )


@decides("workload_sandboxing")
def workload_sandboxing(inventory: ClusterInventory, requirement: Requirement) -> Decision:
    if unknown := _unreadable(inventory, InventoryClass.RUNTIME_CLASSES):
        return unknown
    sandboxes = [
        rc for rc in inventory.runtime_classes
        if any(m in rc.name.lower() or m in rc.handler.lower() for m in SANDBOX_MARKERS)
    ]
    if sandboxes:
        return Decision(
            IMPLEMENTED,
            f"Sandboxed runtime classes: {_listing(f'{rc.name} (handler {rc.handler})' for rc in sandboxes)}. "
            "That the sandbox kernel differs from the host's is shown only by running a pod in it.",
            tuple(f"RuntimeClass/{rc.name} (handler {rc.handler})" for rc in sandboxes),
        )
    if inventory.serves("agents.x-k8s.io/v1alpha1", "sandboxes"):
        return Decision(
            PARTIAL,
            "The agent-sandbox API is served but no gVisor/Kata-style RuntimeClass exists, so its "
            "sandboxes share the host kernel unless a runtime class elsewhere provides isolation.",
            ("API agents.x-k8s.io/v1alpha1: sandboxes",),
        )
    return Decision(NOT_IMPLEMENTED, "No sandboxing RuntimeClass (gVisor, Kata, ...) is defined.")


# --- operator -----------------------------------------------------------------------------------


@decides("robust_controller")
def robust_controller(inventory: ClusterInventory, requirement: Requirement) -> Decision:
    if unknown := _unreadable(inventory, InventoryClass.CRDS, InventoryClass.WORKLOADS):
        return unknown
    healthy: list[str] = []
    partial: list[str] = []
    evidence: list[str] = []
    for operator in AI_OPERATORS:
        health = _component_health(inventory, operator.component)
        if not health.present:
            continue
        problems = list(health.problems)
        unvalidated = [n for n in health.established if not inventory.crd(n).has_schema]  # type: ignore[union-attr]
        if unvalidated:
            problems.append(f"CRDs without a validation schema: {_listing(unvalidated)}")
        evidence.extend(health.evidence)
        for configuration in operator.webhook_configurations:
            hooks = [h for h in inventory.webhooks if h.configuration == configuration]
            if not inventory.knows(InventoryClass.WEBHOOKS):
                problems.append("webhooks unreadable")
            elif not hooks or not all(h.has_ca_bundle and h.has_rules for h in hooks):
                problems.append(f"webhook {configuration} missing, without rules or without caBundle")
            else:
                evidence.append(f"ValidatingWebhookConfiguration/{configuration} (caBundle set)")
        if problems:
            partial.append(f"{operator.component.title} ({'; '.join(problems)})")
        else:
            healthy.append(operator.component.title)
    if healthy:
        return Decision(
            IMPLEMENTED,
            f"{_listing(healthy)}: CRDs Established with validation schemas, controller ready"
            " and webhooks (where it has them) configured. Reconciliation of a custom resource "
            "is shown by the operator's own status updates, not by this passive check.",
            tuple(evidence),
        )
    if partial:
        return Decision(PARTIAL, f"AI operators present but not healthy: {'; '.join(partial)}.",
                        tuple(evidence))
    return Decision(
        NOT_IMPLEMENTED,
        "No AI operator with CRDs that kaico recognises (kaico, KubeRay, Kubeflow Trainer, "
        "KServe) is installed.",
    )


# --- what a watcher should follow -----------------------------------------------------------------


def is_relevant_workload(workload: WorkloadFact) -> bool:
    """Whether a Deployment/DaemonSet/StatefulSet can change a requirement's status: the
    operator keeps only these in its index, so unrelated workloads cause no re-evaluation."""
    components = (
        *GANG_SCHEDULERS, CLUSTER_AUTOSCALER, KARPENTER, *DEVICE_PLUGINS, *DRA_DRIVERS,
        *ACCELERATOR_EXPORTERS, GPU_OPERATOR_DRIVER, GPU_OPERATOR_TOOLKIT, PROMETHEUS_OPERATOR,
        *METRICS_COLLECTORS, *(operator.component for operator in AI_OPERATORS),
    )
    if any(component.owns(workload) for component in components):
        return True
    return workload.labels.get("llm-d.ai/role") in ("prefill", "decode") or any(
        phase in workload.name for phase in ("prefill", "decode")
    )
