"""Small builders for cluster inventories, shared by the cluster conformance unit tests."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from conformance.cluster.catalogue import load_catalogue
from conformance.cluster.evaluation import Decision
from conformance.cluster.inventory import (
    ClusterInventory,
    CustomResourceDefinitionFact,
    InventoryClass,
    NodeFact,
    WorkloadFact,
)
from conformance.cluster.requirements import DECISIONS

EVERYTHING = frozenset(c.value for c in InventoryClass)
# A 1.35 cluster's built-in discovery, enough for the requirements that read it.
BASE_RESOURCES = {
    "v1": frozenset({"pods", "services", "nodes", "configmaps"}),
    "apps/v1": frozenset({"deployments", "daemonsets", "statefulsets"}),
    "autoscaling/v2": frozenset({"horizontalpodautoscalers"}),
    "resource.k8s.io/v1": frozenset(
        {"deviceclasses", "resourceclaims", "resourceclaimtemplates", "resourceslices"}
    ),
}


def inventory(**fields: Any) -> ClusterInventory:
    """An inventory where every class is known (override ``known`` to make some unknown)."""
    fields.setdefault("known", EVERYTHING)
    fields.setdefault("server_version", "v1.35.4")
    fields.setdefault("api_resources", dict(BASE_RESOURCES))
    return ClusterInventory(**fields)


def without(inv: ClusterInventory, *classes: InventoryClass) -> ClusterInventory:
    return replace(inv, known=inv.known - {c.value for c in classes})


def crd(name: str, established: bool = True, versions: tuple[str, ...] = ("v1",),
        schema: bool = True) -> CustomResourceDefinitionFact:
    plural, _, group = name.partition(".")
    return CustomResourceDefinitionFact(
        name=name, group=group, kind=plural.capitalize(), served_versions=versions,
        established=established, has_schema=schema,
    )


def workload(name: str, namespace: str = "system", kind: str = "Deployment", ready: bool = True,
             images: tuple[str, ...] = (), labels: dict[str, str] | None = None) -> WorkloadFact:
    return WorkloadFact(kind=kind, namespace=namespace, name=name, labels=labels or {},
                        images=images, desired=1, ready=1 if ready else 0)


def gpu_node(name: str = "gpu-0", resources: dict[str, str] | None = None,
             labels: dict[str, str] | None = None) -> NodeFact:
    return NodeFact(
        name=name,
        allocatable=resources if resources is not None else {"nvidia.com/gpu": "8"},
        labels=labels if labels is not None else {"nvidia.com/gpu.present": "true"},
        container_runtime_version="containerd://2.1.0",
        ready=True,
    )


def decide(requirement_id: str, inv: ClusterInventory, version: str = "1.37") -> Decision:
    requirement = load_catalogue(version).get(requirement_id)
    if requirement is None:  # dra_support left the checklist in 1.36
        requirement = load_catalogue("1.35").get(requirement_id)
    assert requirement is not None
    return DECISIONS[requirement_id](inv, requirement)
