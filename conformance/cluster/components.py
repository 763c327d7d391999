"""Recognising well-known cluster components (schedulers, autoscalers, device plugins, DRA
drivers, exporters, AI operators) among the inventory's Deployments, DaemonSets and StatefulSets.

Recognition is by name, image or label, never by a single vendor namespace: Helm charts let
users rename namespaces and release names, but images and the chart's own labels stay. The
tables are data so adding a component is one entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.cluster.inventory import ClusterInventory, WorkloadFact


@dataclass(frozen=True)
class Component:
    id: str
    title: str
    # A workload belongs to the component when its name contains one of ``names``, one of its
    # images contains one of ``images``, or its labels include one of ``labels``.
    names: tuple[str, ...] = ()
    images: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    crds: tuple[str, ...] = ()

    def owns(self, workload: WorkloadFact) -> bool:
        if any(name in workload.name for name in self.names):
            return True
        if any(part in image for part in self.images for image in workload.images):
            return True
        return any(workload.labels.get(key) == value for key, value in self.labels)


def workloads_of(inventory: ClusterInventory, component: Component) -> tuple[WorkloadFact, ...]:
    return tuple(w for w in inventory.workloads if component.owns(w))


KUEUE = Component(
    "kueue", "Kueue",
    names=("kueue-controller-manager",), images=("kueue/kueue",),
    labels=(("app.kubernetes.io/name", "kueue"),),
    crds=("clusterqueues.kueue.x-k8s.io", "localqueues.kueue.x-k8s.io",
          "resourceflavors.kueue.x-k8s.io", "workloads.kueue.x-k8s.io"),
)
VOLCANO = Component(
    "volcano", "Volcano",
    names=("volcano-scheduler",), images=("volcanosh/vc-scheduler",),
    crds=("jobs.batch.volcano.sh", "podgroups.scheduling.volcano.sh",
          "queues.scheduling.volcano.sh"),
)
KAI_SCHEDULER = Component(
    "kai-scheduler", "KAI Scheduler",
    names=("kai-scheduler",), images=("kai-scheduler/scheduler", "nvidia/kai-scheduler"),
    crds=("podgroups.scheduling.run.ai", "queues.scheduling.run.ai"),
)
GANG_SCHEDULERS = (KUEUE, VOLCANO, KAI_SCHEDULER)

CLUSTER_AUTOSCALER = Component(
    "cluster-autoscaler", "cluster-autoscaler",
    names=("cluster-autoscaler",), images=("autoscaling/cluster-autoscaler",),
    labels=(("app.kubernetes.io/name", "cluster-autoscaler"),),
)
KARPENTER = Component(
    "karpenter", "Karpenter",
    names=("karpenter",), images=("karpenter/controller",),
    labels=(("app.kubernetes.io/name", "karpenter"),),
    crds=("nodepools.karpenter.sh", "nodeclaims.karpenter.sh"),
)

DEVICE_PLUGINS = (
    Component("nvidia-device-plugin", "NVIDIA device plugin",
              names=("nvidia-device-plugin",), images=("nvidia/k8s-device-plugin",)),
    Component("amd-device-plugin", "AMD GPU device plugin",
              names=("amdgpu-device-plugin", "amd-gpu-device-plugin"),
              images=("rocm/k8s-device-plugin",)),
    Component("intel-gpu-plugin", "Intel GPU device plugin",
              names=("intel-gpu-plugin",), images=("intel/intel-gpu-plugin",)),
)
DRA_DRIVERS = (
    Component("nvidia-dra-driver", "NVIDIA DRA driver for GPUs",
              names=("nvidia-dra-driver",), images=("k8s-dra-driver-gpu", "k8s-dra-driver")),
    Component("dra-example-driver", "DRA example driver",
              names=("dra-example-driver",), images=("dra-example-driver",)),
)
ACCELERATOR_EXPORTERS = (
    Component("dcgm-exporter", "NVIDIA DCGM exporter",
              names=("dcgm-exporter",), images=("dcgm-exporter",),
              labels=(("app", "nvidia-dcgm-exporter"), ("app.kubernetes.io/name", "dcgm-exporter"))),
    Component("amd-device-metrics-exporter", "AMD device metrics exporter",
              names=("metrics-exporter",), images=("device-metrics-exporter",)),
)
GPU_OPERATOR_DRIVER = Component(
    "nvidia-driver", "NVIDIA driver (GPU Operator)",
    names=("nvidia-driver-daemonset",), images=("nvidia/driver",),
)
GPU_OPERATOR_TOOLKIT = Component(
    "nvidia-container-toolkit", "NVIDIA container toolkit (GPU Operator)",
    names=("nvidia-container-toolkit",), images=("k8s/container-toolkit",),
)

PROMETHEUS_OPERATOR = Component(
    "prometheus-operator", "Prometheus Operator",
    names=("prometheus-operator",), images=("prometheus-operator/prometheus-operator",),
    labels=(("app.kubernetes.io/name", "prometheus-operator"),),
    crds=("servicemonitors.monitoring.coreos.com", "podmonitors.monitoring.coreos.com"),
)
PROMETHEUS_SERVER = Component(
    "prometheus", "Prometheus",
    images=("prometheus/prometheus", "prom/prometheus"),
)


@dataclass(frozen=True)
class AIOperator:
    """An operator that can stand as robust_controller's "complex AI operator with a CRD"."""

    component: Component
    # Validating webhook configurations the operator installs (all must carry a caBundle).
    webhook_configurations: tuple[str, ...] = ()


AI_OPERATORS = (
    AIOperator(Component(
        "kaico", "kaico",
        names=("kaico",), images=("kaico",), labels=(("app.kubernetes.io/name", "kaico"),),
        crds=("conformanceprofiles.kaico.dev", "conformancereports.kaico.dev",
              "clusterconformancereports.kaico.dev"),
    )),
    AIOperator(Component(
        "kuberay", "KubeRay",
        names=("kuberay-operator",), images=("kuberay/operator",),
        crds=("rayclusters.ray.io", "rayjobs.ray.io", "rayservices.ray.io"),
    )),
    AIOperator(Component(
        "kubeflow-trainer", "Kubeflow Trainer",
        names=("kubeflow-trainer-controller-manager",), images=("kubeflow/trainer",),
        crds=("trainjobs.trainer.kubeflow.org", "clustertrainingruntimes.trainer.kubeflow.org"),
    ), webhook_configurations=("validator.trainer.kubeflow.org",)),
    AIOperator(Component(
        "kubeflow-training-operator", "Kubeflow Training Operator",
        names=("training-operator",), images=("kubeflow/training-operator",),
        crds=("pytorchjobs.kubeflow.org",),
    )),
    AIOperator(Component(
        "kserve", "KServe",
        names=("kserve-controller-manager",), images=("kserve/kserve-controller",),
        crds=("inferenceservices.serving.kserve.io", "servingruntimes.serving.kserve.io"),
    )),
)
