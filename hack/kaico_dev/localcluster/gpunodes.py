"""Fake GPU nodes: kwok-managed Node objects that look like GPU Feature Discovery labelled them.

The scheduler treats ``nvidia.com/gpu`` (or ``amd.com/gpu``, …) as an ordinary extended resource,
so a Node whose status carries it in ``capacity``/``allocatable`` is enough for real scheduling
decisions: no device plugin, no DRA. kwok then plays the kubelet for pods bound to these nodes.
Labels follow GFD's ``<resource>.product`` / ``.present`` / ``.count`` / ``.memory`` pattern; the
taint mirrors what GPU node pools commonly carry, so workloads must tolerate it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# kwok's default selector: only nodes with this annotation are simulated. Real-looking nodes
# created by other tests stay untouched.
KWOK_ANNOTATION = "kwok.x-k8s.io/node"
MANAGED_LABEL = "kaico.dev/local-cluster"


@dataclass(frozen=True)
class GpuNodeSpec:
    """One fake node. ``gpus=0`` makes a plain CPU node (no GPU labels, no taint)."""

    name: str
    gpus: int = 8
    resource: str = "nvidia.com/gpu"
    product: str = "NVIDIA-H100-80GB-HBM3"
    gpu_memory_mib: int | None = 81559
    cpu: str = "64"
    memory: str = "512Gi"
    pods: str = "110"
    taint: bool = True
    labels: Mapping[str, str] = field(default_factory=dict)
    extra_resources: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_gpu(self) -> bool:
        return self.gpus > 0


def default_nodes() -> list[GpuNodeSpec]:
    """Two 8-GPU NVIDIA nodes and one CPU node, enough to show both fits and misfits."""
    return [
        GpuNodeSpec("kwok-gpu-0"),
        GpuNodeSpec("kwok-gpu-1"),
        GpuNodeSpec("kwok-cpu-0", gpus=0, cpu="32", memory="128Gi"),
    ]


def node_manifest(spec: GpuNodeSpec) -> dict[str, Any]:
    labels = {
        "kubernetes.io/hostname": spec.name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "node.kubernetes.io/instance-type": "kwok-gpu" if spec.is_gpu else "kwok-cpu",
        "type": "kwok",
        MANAGED_LABEL: "true",
    }
    resources: dict[str, str] = {"cpu": spec.cpu, "memory": spec.memory, "pods": spec.pods}
    taints: list[dict[str, str]] = []
    if spec.is_gpu:
        # GFD labels are prefixed with the resource name: nvidia.com/gpu.product, amd.com/gpu.count, …
        labels[f"{spec.resource}.present"] = "true"
        labels[f"{spec.resource}.count"] = str(spec.gpus)
        labels[f"{spec.resource}.product"] = spec.product
        if spec.gpu_memory_mib is not None:
            labels[f"{spec.resource}.memory"] = str(spec.gpu_memory_mib)
        resources[spec.resource] = str(spec.gpus)
        if spec.taint:
            taints.append({"key": spec.resource, "effect": "NoSchedule"})
    labels.update(spec.labels)
    resources.update(spec.extra_resources)
    node: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": spec.name, "labels": labels, "annotations": {KWOK_ANNOTATION: "fake"}},
        "spec": {"taints": taints} if taints else {},
        # Node creation keeps status (that is how a kubelet registers), so capacity is set here.
        "status": {"capacity": dict(resources), "allocatable": dict(resources)},
    }
    return node
