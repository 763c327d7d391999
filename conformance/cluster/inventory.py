"""What the cluster requirements are judged on: facts extracted from a live cluster.

A ``ClusterInventory`` holds small frozen facts, never whole object bodies, so the operator can
keep one in memory and the CLI can build one in a few list calls. The ``*_from_body`` functions
turn one Kubernetes object (a dict, as the API or a kopf event gives it) into its fact; the CLI
gatherer and the operator's indexes share them, so the two read objects identically.

Each class of facts is *known* (the read succeeded, possibly with zero objects) or not (the API
refused it, or it was never read). A requirement that needs an unknown class is ``Unknown``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class InventoryClass(StrEnum):
    DISCOVERY = "discovery"
    CRDS = "customresourcedefinitions"
    API_SERVICES = "apiservices"
    GATEWAY_CLASSES = "gatewayclasses"
    WORKLOADS = "workloads"  # Deployments, DaemonSets, StatefulSets
    SERVICES = "services"
    CONFIG_MAPS = "configmaps"  # only the well-known ones in ``WATCHED_CONFIG_MAPS``
    RUNTIME_CLASSES = "runtimeclasses"
    NODES = "nodes"
    DEVICE_CLASSES = "deviceclasses"
    RESOURCE_SLICES = "resourceslices"
    WEBHOOKS = "webhookconfigurations"


# ConfigMaps a requirement reads, as (namespace, name): fetched by name, never listed.
WATCHED_CONFIG_MAPS: tuple[tuple[str, str], ...] = (("kube-system", "cluster-autoscaler-status"),)

# Node label prefixes worth keeping (accelerator discovery, sharing, vGPU); the rest is dropped.
KEPT_NODE_LABEL_PREFIXES = (
    "nvidia.com/", "amd.com/", "beta.amd.com/", "gpu.intel.com/", "intel.feature.node.kubernetes.io/",
    "cloud.google.com/gke-accelerator", "cloud.google.com/gke-tpu", "k8s.amazonaws.com/accelerator",
    "feature.node.kubernetes.io/pci-10de", "aws.amazon.com/neuron",
)


@dataclass(frozen=True)
class CustomResourceDefinitionFact:
    name: str  # plural.group
    group: str
    kind: str
    served_versions: tuple[str, ...] = ()
    established: bool = False
    has_schema: bool = False


@dataclass(frozen=True)
class APIServiceFact:
    name: str  # e.g. v1beta1.custom.metrics.k8s.io
    group: str
    version: str
    # None for a locally served group (no ``spec.service``).
    service: str | None = None
    available: bool | None = None
    message: str = ""


@dataclass(frozen=True)
class GatewayClassFact:
    name: str
    controller: str
    accepted: bool | None = None
    message: str = ""


@dataclass(frozen=True)
class WorkloadFact:
    """A Deployment, DaemonSet or StatefulSet reduced to identity and readiness."""

    kind: str
    namespace: str
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    images: tuple[str, ...] = ()
    desired: int = 0
    ready: int = 0

    @property
    def is_ready(self) -> bool:
        return self.desired > 0 and self.ready >= self.desired

    @property
    def display(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name} ({self.ready}/{self.desired} ready)"


@dataclass(frozen=True)
class ServiceFact:
    namespace: str
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    # (port name or "", port number)
    ports: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class ConfigMapFact:
    namespace: str
    name: str
    data: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RuntimeClassFact:
    name: str
    handler: str


@dataclass(frozen=True)
class NodeFact:
    name: str
    # Extended resources only (names with a "/"), as written ("8", "4").
    allocatable: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    container_runtime_version: str = ""
    ready: bool = False


@dataclass(frozen=True)
class ResourceSliceFact:
    name: str
    driver: str
    node: str | None = None
    pool: str = ""
    devices: int = 0
    # Attribute names seen on any device (``driverVersion``, ``type``, ``rdma`` ...).
    attributes: frozenset[str] = frozenset()
    # Partitionable devices: the slice declares shared counters or devices consume them.
    shares_counters: bool = False


@dataclass(frozen=True)
class WebhookFact:
    """One webhook of a Validating/MutatingWebhookConfiguration."""

    configuration: str
    kind: str  # ValidatingWebhookConfiguration | MutatingWebhookConfiguration
    name: str
    has_ca_bundle: bool = False
    has_rules: bool = False
    service: str | None = None  # namespace/name of the backing Service


@dataclass(frozen=True)
class MetricsScrape:
    """One attempt to read an exporter's Prometheus text: where from, and what came back."""

    source: str  # "http://127.0.0.1:9400/metrics" or "service gpu-operator/nvidia-dcgm-exporter:9400"
    text: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class ClusterInventory:
    known: frozenset[str] = frozenset()
    server_version: str | None = None
    # "group/version" ("v1" for the core group) -> resource plurals served there.
    api_resources: Mapping[str, frozenset[str]] = field(default_factory=dict)
    crds: tuple[CustomResourceDefinitionFact, ...] = ()
    api_services: tuple[APIServiceFact, ...] = ()
    gateway_classes: tuple[GatewayClassFact, ...] = ()
    workloads: tuple[WorkloadFact, ...] = ()
    services: tuple[ServiceFact, ...] = ()
    config_maps: tuple[ConfigMapFact, ...] = ()
    runtime_classes: tuple[RuntimeClassFact, ...] = ()
    nodes: tuple[NodeFact, ...] = ()
    device_classes: frozenset[str] = frozenset()
    resource_slices: tuple[ResourceSliceFact, ...] = ()
    webhooks: tuple[WebhookFact, ...] = ()
    metrics_scrapes: tuple[MetricsScrape, ...] = ()
    # Why a class is not known ("customresourcedefinitions: 403 Forbidden"), for notes.
    problems: tuple[str, ...] = ()

    def knows(self, inventory_class: InventoryClass) -> bool:
        return inventory_class.value in self.known

    def crd(self, name: str) -> CustomResourceDefinitionFact | None:
        return next((c for c in self.crds if c.name == name), None)

    def serves(self, group_version: str, resource: str) -> bool:
        return resource in self.api_resources.get(group_version, frozenset())

    def config_map(self, namespace: str, name: str) -> ConfigMapFact | None:
        return next(
            (c for c in self.config_maps if c.namespace == namespace and c.name == name), None
        )


# --- extraction from object bodies (shared by the CLI gatherer and the operator) ---------------


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _condition(status: Any, condition_type: str) -> tuple[bool | None, str]:
    """(True/False/None for Unknown or absent, message) of one status condition."""
    for condition in _list(_dict(status).get("conditions")):
        condition = _dict(condition)
        if condition.get("type") == condition_type:
            value = condition.get("status")
            state = True if value == "True" else False if value == "False" else None
            return state, str(condition.get("message") or condition.get("reason") or "")
    return None, ""


def _labels(metadata: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in _dict(metadata.get("labels")).items()}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def crd_from_body(body: Mapping[str, Any]) -> CustomResourceDefinitionFact:
    spec = _dict(body.get("spec"))
    versions = [_dict(v) for v in _list(spec.get("versions"))]
    established, _ = _condition(body.get("status"), "Established")
    return CustomResourceDefinitionFact(
        name=str(_dict(body.get("metadata")).get("name", "")),
        group=str(spec.get("group", "")),
        kind=str(_dict(spec.get("names")).get("kind", "")),
        served_versions=tuple(str(v.get("name")) for v in versions if v.get("served")),
        established=established is True,
        has_schema=bool(versions) and all(
            _dict(_dict(v.get("schema")).get("openAPIV3Schema")) for v in versions
        ),
    )


def api_service_from_body(body: Mapping[str, Any]) -> APIServiceFact:
    spec = _dict(body.get("spec"))
    service = _dict(spec.get("service"))
    available, message = _condition(body.get("status"), "Available")
    return APIServiceFact(
        name=str(_dict(body.get("metadata")).get("name", "")),
        group=str(spec.get("group", "")),
        version=str(spec.get("version", "")),
        service=f"{service.get('namespace')}/{service.get('name')}" if service else None,
        available=available,
        message=message,
    )


def gateway_class_from_body(body: Mapping[str, Any]) -> GatewayClassFact:
    accepted, message = _condition(body.get("status"), "Accepted")
    return GatewayClassFact(
        name=str(_dict(body.get("metadata")).get("name", "")),
        controller=str(_dict(body.get("spec")).get("controllerName", "")),
        accepted=accepted,
        message=message,
    )


def workload_from_body(body: Mapping[str, Any]) -> WorkloadFact:
    """Deployment and StatefulSet count ``readyReplicas`` against ``spec.replicas`` (default 1);
    a DaemonSet counts ``numberReady`` against ``desiredNumberScheduled``."""
    kind = str(body.get("kind", ""))
    metadata = _dict(body.get("metadata"))
    spec = _dict(body.get("spec"))
    status = _dict(body.get("status"))
    template = _dict(spec.get("template"))
    pod_spec = _dict(template.get("spec"))
    containers = [_dict(c) for c in _list(pod_spec.get("containers"))]
    labels = {**_labels(_dict(template.get("metadata"))), **_labels(metadata)}
    if kind == "DaemonSet":
        desired, ready = _int(status.get("desiredNumberScheduled")), _int(status.get("numberReady"))
    else:
        replicas = spec.get("replicas")
        desired = _int(replicas) if replicas is not None else 1
        ready = _int(status.get("readyReplicas"))
    return WorkloadFact(
        kind=kind,
        namespace=str(metadata.get("namespace", "")),
        name=str(metadata.get("name", "")),
        labels=labels,
        images=tuple(str(c.get("image", "")) for c in containers),
        desired=desired,
        ready=ready,
    )


def service_from_body(body: Mapping[str, Any]) -> ServiceFact:
    metadata = _dict(body.get("metadata"))
    ports = tuple(
        (str(_dict(p).get("name") or ""), _int(_dict(p).get("port")))
        for p in _list(_dict(body.get("spec")).get("ports"))
    )
    return ServiceFact(
        namespace=str(metadata.get("namespace", "")),
        name=str(metadata.get("name", "")),
        labels=_labels(metadata),
        ports=ports,
    )


def config_map_from_body(body: Mapping[str, Any]) -> ConfigMapFact:
    metadata = _dict(body.get("metadata"))
    return ConfigMapFact(
        namespace=str(metadata.get("namespace", "")),
        name=str(metadata.get("name", "")),
        # The autoscaler status is a few KiB; cap it so an odd ConfigMap cannot bloat memory.
        data={str(k): str(v)[:16384] for k, v in _dict(body.get("data")).items()},
    )


def runtime_class_from_body(body: Mapping[str, Any]) -> RuntimeClassFact:
    return RuntimeClassFact(
        name=str(_dict(body.get("metadata")).get("name", "")),
        handler=str(body.get("handler", "")),
    )


def node_from_body(body: Mapping[str, Any]) -> NodeFact:
    metadata = _dict(body.get("metadata"))
    status = _dict(body.get("status"))
    ready, _ = _condition(status, "Ready")
    return NodeFact(
        name=str(metadata.get("name", "")),
        allocatable={
            str(k): str(v) for k, v in _dict(status.get("allocatable")).items() if "/" in str(k)
        },
        labels={
            k: v for k, v in _labels(metadata).items() if k.startswith(KEPT_NODE_LABEL_PREFIXES)
        },
        container_runtime_version=str(
            _dict(status.get("nodeInfo")).get("containerRuntimeVersion", "")
        ),
        ready=ready is True,
    )


def resource_slice_from_body(body: Mapping[str, Any]) -> ResourceSliceFact:
    spec = _dict(body.get("spec"))
    devices = [_dict(d) for d in _list(spec.get("devices"))]
    attributes: set[str] = set()
    consumes = False
    for device in devices:
        # v1 puts attributes on the device; v1beta1 nests them under ``basic``.
        holder = _dict(device.get("basic")) or device
        attributes.update(str(name) for name in _dict(holder.get("attributes")))
        consumes = consumes or bool(_list(holder.get("consumesCounters")))
    return ResourceSliceFact(
        name=str(_dict(body.get("metadata")).get("name", "")),
        driver=str(spec.get("driver", "")),
        node=spec.get("nodeName") if isinstance(spec.get("nodeName"), str) else None,
        pool=str(_dict(spec.get("pool")).get("name", "")),
        devices=len(devices),
        attributes=frozenset(attributes),
        shares_counters=consumes or bool(_list(spec.get("sharedCounters"))),
    )


def webhooks_from_body(body: Mapping[str, Any]) -> tuple[WebhookFact, ...]:
    kind = str(body.get("kind", ""))
    configuration = str(_dict(body.get("metadata")).get("name", ""))
    facts = []
    for webhook in _list(body.get("webhooks")):
        webhook = _dict(webhook)
        client = _dict(webhook.get("clientConfig"))
        service = _dict(client.get("service"))
        facts.append(WebhookFact(
            configuration=configuration,
            kind=kind,
            name=str(webhook.get("name", "")),
            has_ca_bundle=bool(client.get("caBundle")),
            has_rules=bool(_list(webhook.get("rules"))),
            service=f"{service.get('namespace')}/{service.get('name')}" if service else None,
        ))
    return tuple(facts)


def served_from_discovery(documents: list[Mapping[str, Any]]) -> dict[str, frozenset[str]]:
    """"group/version" -> resources, from aggregated discovery documents (``/api`` and ``/apis``
    as ``APIGroupDiscoveryList``) or legacy ``APIResourceList`` documents. Subresources
    ("pods/log") are left out, and so are versions whose discovery is stale (an aggregated
    API that is down)."""
    served: dict[str, set[str]] = {}
    for document in documents:
        if document.get("kind") == "APIGroupDiscoveryList":
            for group in _list(document.get("items")):
                group = _dict(group)
                name = str(_dict(group.get("metadata")).get("name", ""))
                for version in _list(group.get("versions")):
                    version = _dict(version)
                    if version.get("freshness") == "Stale":
                        continue
                    key = f"{name}/{version.get('version')}" if name else str(version.get("version"))
                    served.setdefault(key, set()).update(
                        str(_dict(r).get("resource")) for r in _list(version.get("resources"))
                    )
        elif document.get("kind") == "APIResourceList":
            key = str(document.get("groupVersion", ""))
            served.setdefault(key, set()).update(
                str(_dict(r).get("name")) for r in _list(document.get("resources"))
                if "/" not in str(_dict(r).get("name"))
            )
    return {key: frozenset(resources) for key, resources in served.items()}
