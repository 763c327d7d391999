"""What the cluster pipeline watches, and the small fact each watched object is reduced to.

The watch handlers keep only these facts per object, so a Node heartbeat or a Deployment's status
churn compares equal and triggers no pass. The extractors are the shared ones of
``conformance.cluster.inventory``: a change is judged relevant by the very fact the gatherer reads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from conformance.cluster.inventory import (
    api_service_from_body,
    crd_from_body,
    gateway_class_from_body,
    node_from_body,
    resource_slice_from_body,
    runtime_class_from_body,
    service_from_body,
    webhooks_from_body,
    workload_from_body,
)
from conformance.cluster.requirements import is_relevant_workload, looks_like_accelerator_exporter
from kaico.kube.resources import WatchedResource

logger = logging.getLogger("kaico.cluster.watch")


# --- what is watched, and the fact each object is reduced to ---------------------------------


def _deployment_like(body: Mapping[str, Any]) -> Hashable | None:
    # Only workloads that can change a requirement (gang schedulers, autoscalers, device
    # plugins, exporters, AI operators, ...): a vLLM rollout must not re-judge the cluster.
    fact = workload_from_body(body)
    return _frozen(fact) if is_relevant_workload(fact) else None


def _service(body: Mapping[str, Any]) -> Hashable | None:
    fact = service_from_body(body)
    return _frozen(fact) if looks_like_accelerator_exporter(fact) else None


def _device_class(body: Mapping[str, Any]) -> Hashable | None:
    return str((body.get("metadata") or {}).get("name") or "")


def _frozen(fact: Any) -> Hashable:
    """Facts hold Mapping fields (labels, allocatable); make them comparable and hashable."""
    if hasattr(fact, "__dataclass_fields__"):
        return (type(fact).__name__, *(_frozen(getattr(fact, f)) for f in fact.__dataclass_fields__))
    if isinstance(fact, Mapping):
        return tuple(sorted((str(k), _frozen(v)) for k, v in fact.items()))
    if isinstance(fact, (list, tuple)):
        return tuple(_frozen(v) for v in fact)
    if isinstance(fact, (set, frozenset)):
        return tuple(sorted(str(v) for v in fact))
    return fact


def _extractor(function: Callable[[Mapping[str, Any]], Any]) -> Callable[[Mapping[str, Any]], Hashable]:
    return lambda body: _frozen(function(body))


@dataclass(frozen=True)
class ClusterWatch:
    """One kind a requirement reads, and its body-to-fact function (None: not relevant)."""

    resource: WatchedResource
    fact: Callable[[Mapping[str, Any]], Hashable | None]


# The shared extractors of ``conformance.cluster.inventory``, so a change is judged relevant by
# the very fact the gatherer would read. The autoscaler status ConfigMap is deliberately not
# watched: kopf cannot watch one named object, watching every ConfigMap would need cluster-wide
# list/watch on them, and the autoscaler rewrites it every few seconds anyway (its timestamps);
# it is read by name on each pass (profile interval) instead.
CLUSTER_WATCHES: tuple[ClusterWatch, ...] = (
    ClusterWatch(WatchedResource("apiextensions.k8s.io", "customresourcedefinitions",
                                 "CustomResourceDefinition", "v1"), _extractor(crd_from_body)),
    ClusterWatch(WatchedResource("apiregistration.k8s.io", "apiservices", "APIService", "v1"),
                 _extractor(api_service_from_body)),
    ClusterWatch(WatchedResource("gateway.networking.k8s.io", "gatewayclasses", "GatewayClass", "v1"),
                 _extractor(gateway_class_from_body)),
    ClusterWatch(WatchedResource("node.k8s.io", "runtimeclasses", "RuntimeClass", "v1"),
                 _extractor(runtime_class_from_body)),
    ClusterWatch(WatchedResource("", "nodes", "Node", "v1"), _extractor(node_from_body)),
    ClusterWatch(WatchedResource("resource.k8s.io", "deviceclasses", "DeviceClass", "v1"), _device_class),
    ClusterWatch(WatchedResource("resource.k8s.io", "resourceslices", "ResourceSlice", "v1"),
                 _extractor(resource_slice_from_body)),
    ClusterWatch(WatchedResource("admissionregistration.k8s.io", "validatingwebhookconfigurations",
                                 "ValidatingWebhookConfiguration", "v1"), _extractor(webhooks_from_body)),
    ClusterWatch(WatchedResource("admissionregistration.k8s.io", "mutatingwebhookconfigurations",
                                 "MutatingWebhookConfiguration", "v1"), _extractor(webhooks_from_body)),
    ClusterWatch(WatchedResource("apps", "deployments", "Deployment", "v1"), _deployment_like),
    ClusterWatch(WatchedResource("apps", "daemonsets", "DaemonSet", "v1"), _deployment_like),
    ClusterWatch(WatchedResource("apps", "statefulsets", "StatefulSet", "v1"), _deployment_like),
    ClusterWatch(WatchedResource("", "services", "Service", "v1"), _service),
)


def fact_of(watch: ClusterWatch, body: Mapping[str, Any]) -> Hashable | None:
    """The fact of one watched object; a body the extractor cannot read counts as irrelevant
    (the gatherer reads it again on the next pass and records what it could not)."""
    # List events omit nothing, but kopf bodies may lack ``kind`` on some paths; the webhook
    # and workload extractors branch on it.
    plain = {**body, "kind": body.get("kind") or watch.resource.kind}
    try:
        return watch.fact(plain)
    except (AttributeError, TypeError, ValueError) as error:
        logger.debug("no cluster fact from %s: %s", watch.resource.kind, error)
        return None
