"""kaico's local Kubernetes control plane for tests, the demo and benchmarks.

Real etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok on 127.0.0.1, built
from Go modules by ``make tools`` (or taken from KUBEBUILDER_ASSETS), with fake GPU nodes::

    from kaico_dev.localcluster import LocalCluster
    with LocalCluster() as cluster:
        cluster.kubectl("get", "nodes")

``python -m kaico_dev.localcluster up|down|status`` runs one in the background (``make cluster-up``).
"""

from .cluster import ClusterError, LocalCluster, install_signal_handlers
from .gpunodes import GpuNodeSpec, default_nodes, node_manifest
from .tools import ToolNotFound, Toolset, find_binary, find_toolset, tool_versions

__all__ = [
    "ClusterError",
    "GpuNodeSpec",
    "LocalCluster",
    "ToolNotFound",
    "Toolset",
    "default_nodes",
    "find_binary",
    "find_toolset",
    "install_signal_handlers",
    "node_manifest",
    "tool_versions",
]
