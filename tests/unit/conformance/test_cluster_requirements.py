"""Each requirement's passive decision: what makes it Implemented, Partially, Not, N/A, Unknown."""

from __future__ import annotations

from dataclasses import replace

import pytest

from conformance.cluster.catalogue import load_catalogue, supported_versions
from conformance.cluster.evaluation import RequirementStatus
from conformance.cluster.inventory import (
    APIServiceFact,
    ConfigMapFact,
    GatewayClassFact,
    InventoryClass,
    MetricsScrape,
    NodeFact,
    ResourceSliceFact,
    RuntimeClassFact,
    ServiceFact,
    WebhookFact,
)
from conformance.cluster.requirements import DECISIONS
from tests.unit.conformance.cluster_builders import (
    BASE_RESOURCES,
    crd,
    decide,
    gpu_node,
    inventory,
    without,
    workload,
)

IMPLEMENTED = RequirementStatus.IMPLEMENTED
NOT_IMPLEMENTED = RequirementStatus.NOT_IMPLEMENTED
PARTIAL = RequirementStatus.PARTIALLY_IMPLEMENTED
NOT_APPLICABLE = RequirementStatus.NOT_APPLICABLE
UNKNOWN = RequirementStatus.UNKNOWN

DCGM_TEXT = """\
# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).
# TYPE DCGM_FI_DEV_GPU_UTIL gauge
DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-1",pci_bus_id="00000000:00:1E.0",device="nvidia0",modelName="NVIDIA L4",Hostname="node-a"} 37
DCGM_FI_DEV_FB_USED{gpu="0",UUID="GPU-1",device="nvidia0",modelName="NVIDIA L4",Hostname="node-a"} 4210
DCGM_FI_DEV_GPU_TEMP{gpu="0",UUID="GPU-1",device="nvidia0"} 41
DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-1",device="nvidia0"} 27.5
"""


def test_every_requirement_of_every_version_has_a_decision():
    for version in supported_versions():
        for requirement in load_catalogue(version).requirements:
            assert requirement.id in DECISIONS, requirement.id


# --- dra_support ----------------------------------------------------------------------------------


def test_dra_implemented_when_all_four_v1_resources_are_served():
    decision = decide("dra_support", inventory())
    assert decision.status is IMPLEMENTED
    assert "resource.k8s.io/v1" in decision.evidence[0]


def test_dra_partial_when_only_beta_is_served():
    resources = {**BASE_RESOURCES, "resource.k8s.io/v1beta1": BASE_RESOURCES["resource.k8s.io/v1"]}
    del resources["resource.k8s.io/v1"]
    assert decide("dra_support", inventory(api_resources=resources)).status is PARTIAL


def test_dra_partial_when_a_v1_resource_is_missing():
    resources = {**BASE_RESOURCES, "resource.k8s.io/v1": frozenset({"deviceclasses", "resourceclaims"})}
    decision = decide("dra_support", inventory(api_resources=resources))
    assert decision.status is PARTIAL and "resourceslices" in decision.notes


def test_dra_not_implemented_without_the_group_and_unknown_without_discovery():
    resources = {k: v for k, v in BASE_RESOURCES.items() if not k.startswith("resource.k8s.io")}
    assert decide("dra_support", inventory(api_resources=resources)).status is NOT_IMPLEMENTED
    assert decide("dra_support", without(inventory(), InventoryClass.DISCOVERY)).status is UNKNOWN


# --- ai_inference / advanced_inference_ingress ------------------------------------------------------

GATEWAY = (crd("gatewayclasses.gateway.networking.k8s.io"), crd("gateways.gateway.networking.k8s.io"),
           crd("httproutes.gateway.networking.k8s.io"))
ACCEPTED = GatewayClassFact("istio", "istio.io/gateway-controller", accepted=True)


def test_ai_inference_implemented_with_established_crds_and_an_accepted_class():
    decision = decide("ai_inference", inventory(crds=GATEWAY, gateway_classes=(ACCEPTED,)))
    assert decision.status is IMPLEMENTED
    assert any("GatewayClass/istio" in e for e in decision.evidence)


def test_ai_inference_partial_when_no_class_is_accepted():
    pending = GatewayClassFact("nope", "example.com/none", accepted=None)
    decision = decide("ai_inference", inventory(crds=GATEWAY, gateway_classes=(pending,)))
    assert decision.status is PARTIAL and "nope" in decision.notes


def test_ai_inference_partial_when_a_crd_is_not_established_or_missing():
    broken = (GATEWAY[0], crd("gateways.gateway.networking.k8s.io", established=False))
    decision = decide("ai_inference", inventory(crds=broken, gateway_classes=(ACCEPTED,)))
    assert decision.status is PARTIAL
    assert "httproutes" in decision.notes and "not Established" in decision.notes


def test_ai_inference_not_implemented_without_gateway_api_and_unknown_without_crds():
    assert decide("ai_inference", inventory()).status is NOT_IMPLEMENTED
    assert decide("ai_inference", without(inventory(crds=GATEWAY), InventoryClass.CRDS)).status is UNKNOWN
    unread = without(inventory(crds=GATEWAY), InventoryClass.GATEWAY_CLASSES)
    assert decide("ai_inference", unread).status is UNKNOWN


def test_advanced_ingress_needs_v1_inference_pool_and_an_accepted_class():
    pool = crd("inferencepools.inference.networking.k8s.io")
    assert decide("advanced_inference_ingress",
                  inventory(crds=(*GATEWAY, pool), gateway_classes=(ACCEPTED,))).status is IMPLEMENTED
    assert decide("advanced_inference_ingress", inventory(crds=(pool,))).status is PARTIAL
    legacy = crd("inferencepools.inference.networking.x-k8s.io", versions=("v1alpha2",))
    assert decide("advanced_inference_ingress", inventory(crds=(legacy,))).status is PARTIAL
    assert decide("advanced_inference_ingress", inventory()).status is NOT_IMPLEMENTED


# --- high_performance_networking / disaggregated_inference ------------------------------------------


def test_networking_implemented_through_dranet():
    slices = (ResourceSliceFact("node-a-dranet", driver="dra.net", node="a", devices=4,
                                attributes=frozenset({"ifName", "rdma"})),)
    assert decide("high_performance_networking", inventory(resource_slices=slices)).status is IMPLEMENTED


def test_networking_partial_with_multus_or_rdma_without_dra():
    multus = crd("network-attachment-definitions.k8s.cni.cncf.io")
    assert decide("high_performance_networking", inventory(crds=(multus,))).status is PARTIAL
    rdma = NodeFact("a", allocatable={"rdma/hca_shared_devices_a": "1000"})
    assert decide("high_performance_networking", inventory(nodes=(rdma,))).status is PARTIAL


def test_networking_not_implemented_when_nothing_is_found():
    assert decide("high_performance_networking", inventory()).status is NOT_IMPLEMENTED


def test_disaggregated_inference_needs_both_phases_running():
    prefill = workload("ms-prefill", namespace="llm", labels={"llm-d.ai/role": "prefill"})
    decode = workload("ms-decode", namespace="llm", labels={"llm-d.ai/role": "decode"})
    assert decide("disaggregated_inference", inventory(workloads=(prefill, decode))).status is IMPLEMENTED
    assert decide("disaggregated_inference", inventory(workloads=(prefill,))).status is PARTIAL
    stalled = replace(decode, ready=0)
    assert decide("disaggregated_inference", inventory(workloads=(prefill, stalled))).status is PARTIAL
    # Absence of a deployment does not show the platform cannot run one.
    assert decide("disaggregated_inference", inventory()).status is UNKNOWN


# --- gang_scheduling --------------------------------------------------------------------------------

KUEUE_CRDS = tuple(crd(f"{p}.kueue.x-k8s.io", versions=("v1beta1", "v1beta2"))
                   for p in ("clusterqueues", "localqueues", "resourceflavors", "workloads"))
KUEUE_CONTROLLER = workload("kueue-controller-manager", namespace="kueue-system",
                            images=("registry.k8s.io/kueue/kueue:v0.14.0",))


def test_gang_implemented_with_kueue_crds_and_a_ready_controller():
    decision = decide("gang_scheduling", inventory(crds=KUEUE_CRDS, workloads=(KUEUE_CONTROLLER,)))
    assert decision.status is IMPLEMENTED
    assert "Kueue" in decision.notes
    assert any("kueue-controller-manager" in e for e in decision.evidence)


def test_gang_partial_with_crds_but_no_controller_or_unready_one():
    assert decide("gang_scheduling", inventory(crds=KUEUE_CRDS)).status is PARTIAL
    stalled = replace(KUEUE_CONTROLLER, ready=0)
    decision = decide("gang_scheduling", inventory(crds=KUEUE_CRDS, workloads=(stalled,)))
    assert decision.status is PARTIAL and "not ready" in decision.notes


def test_gang_partial_with_only_some_crds():
    decision = decide("gang_scheduling", inventory(crds=KUEUE_CRDS[1:2], workloads=(KUEUE_CONTROLLER,)))
    assert decision.status is PARTIAL and "clusterqueues" in decision.notes


def test_gang_recognises_volcano_and_kai_by_image():
    volcano = (crd("jobs.batch.volcano.sh", versions=("v1alpha1",)),
               crd("podgroups.scheduling.volcano.sh", versions=("v1beta1",)),
               crd("queues.scheduling.volcano.sh", versions=("v1beta1",)))
    scheduler = workload("vc-sched", images=("docker.io/volcanosh/vc-scheduler:v1.12.0",))
    assert decide("gang_scheduling", inventory(crds=volcano, workloads=(scheduler,))).status is IMPLEMENTED
    kai = (crd("podgroups.scheduling.run.ai", versions=("v2alpha2",)),
           crd("queues.scheduling.run.ai", versions=("v2",)))
    binder = workload("scheduler", images=("ghcr.io/nvidia/kai-scheduler/scheduler:v0.9.0",))
    assert decide("gang_scheduling", inventory(crds=kai, workloads=(binder,))).status is IMPLEMENTED


def test_gang_unknown_when_controllers_cannot_be_read():
    unread = without(inventory(crds=KUEUE_CRDS), InventoryClass.WORKLOADS)
    assert decide("gang_scheduling", unread).status is UNKNOWN


def test_gang_partial_with_only_the_native_alpha_workload_api():
    resources = {**BASE_RESOURCES, "scheduling.k8s.io/v1alpha1": frozenset({"workloads"})}
    assert decide("gang_scheduling", inventory(api_resources=resources)).status is PARTIAL
    assert decide("gang_scheduling", inventory()).status is NOT_IMPLEMENTED


# --- cluster_autoscaling ------------------------------------------------------------------------------

STATUS_TEXT = "Cluster-autoscaler status at 2026-11-23 10:00:00:\nCluster-wide:\n  Health: Healthy (ready=3)\n"


def test_cluster_autoscaler_status_configmap_means_implemented():
    status = ConfigMapFact("kube-system", "cluster-autoscaler-status", {"status": STATUS_TEXT})
    decision = decide("cluster_autoscaling", inventory(config_maps=(status,)))
    assert decision.status is IMPLEMENTED
    assert "ConfigMap kube-system/cluster-autoscaler-status" in decision.evidence


def test_cluster_autoscaler_unhealthy_is_partial_and_yaml_status_is_read():
    unhealthy = ConfigMapFact("kube-system", "cluster-autoscaler-status",
                              {"status": "autoscalerStatus: Running\nclusterWide:\n  health:\n    status: Unhealthy\n"})
    assert decide("cluster_autoscaling", inventory(config_maps=(unhealthy,))).status is PARTIAL


def test_cluster_autoscaler_deployment_without_status_configmap():
    ready = workload("cluster-autoscaler", namespace="kube-system",
                     images=("registry.k8s.io/autoscaling/cluster-autoscaler:v1.34.0",))
    assert decide("cluster_autoscaling", inventory(workloads=(ready,))).status is IMPLEMENTED
    assert decide("cluster_autoscaling", inventory(workloads=(replace(ready, ready=0),))).status is PARTIAL


def test_karpenter_api_with_its_controller():
    resources = {**BASE_RESOURCES, "karpenter.sh/v1": frozenset({"nodepools", "nodeclaims"})}
    controller = workload("karpenter", namespace="kube-system",
                          images=("public.ecr.aws/karpenter/controller:1.6.0",))
    assert decide("cluster_autoscaling",
                  inventory(api_resources=resources, workloads=(controller,))).status is IMPLEMENTED
    assert decide("cluster_autoscaling", inventory(api_resources=resources)).status is PARTIAL


def test_no_autoscaler_is_not_applicable_with_a_justification():
    decision = decide("cluster_autoscaling", inventory())
    assert decision.status is NOT_APPLICABLE
    assert "applies only" in decision.notes
    assert decide("cluster_autoscaling", without(inventory(), InventoryClass.CONFIG_MAPS)).status is UNKNOWN


# --- pod_autoscaling ------------------------------------------------------------------------------------


def metrics_api(group: str, available: bool | None, message: str = "") -> APIServiceFact:
    return APIServiceFact(f"v1beta1.{group}", group, "v1beta1", service="monitoring/adapter",
                          available=available, message=message)


def test_pod_autoscaling_implemented_with_an_available_custom_metrics_api():
    decision = decide("pod_autoscaling", inventory(api_services=(metrics_api("custom.metrics.k8s.io", True),)))
    assert decision.status is IMPLEMENTED
    assert "APIService/v1beta1.custom.metrics.k8s.io (Available)" in decision.evidence


def test_pod_autoscaling_external_metrics_count_too():
    api = metrics_api("external.metrics.k8s.io", True)
    assert decide("pod_autoscaling", inventory(api_services=(api,))).status is IMPLEMENTED


def test_pod_autoscaling_partial_when_the_api_is_not_available():
    api = metrics_api("custom.metrics.k8s.io", False, "endpoints for service/adapter have no addresses")
    decision = decide("pod_autoscaling", inventory(api_services=(api,)))
    assert decision.status is PARTIAL and "no addresses" in decision.notes


def test_pod_autoscaling_not_implemented_with_resource_metrics_only():
    decision = decide("pod_autoscaling", inventory(api_services=(metrics_api("metrics.k8s.io", True),)))
    assert decision.status is NOT_IMPLEMENTED and "resource metrics" in decision.notes


def test_pod_autoscaling_not_applicable_without_the_hpa_api():
    resources = {k: v for k, v in BASE_RESOURCES.items() if not k.startswith("autoscaling")}
    decision = decide("pod_autoscaling", inventory(api_resources=resources))
    assert decision.status is NOT_APPLICABLE and decision.notes


# --- accelerator_metrics -----------------------------------------------------------------------------


def test_accelerator_metrics_implemented_from_a_dcgm_scrape():
    scrape = MetricsScrape("http://127.0.0.1:9400/metrics", text=DCGM_TEXT)
    decision = decide("accelerator_metrics", inventory(metrics_scrapes=(scrape,)))
    assert decision.status is IMPLEMENTED
    assert "DCGM_FI_DEV_GPU_UTIL" in decision.notes and "DCGM_FI_DEV_FB_USED" in decision.notes
    assert "temperature" in decision.notes


def test_accelerator_metrics_partial_with_utilisation_only():
    only_util = "\n".join(line for line in DCGM_TEXT.splitlines() if "FB_USED" not in line)
    scrape = MetricsScrape("http://127.0.0.1:9400/metrics", text=only_util)
    decision = decide("accelerator_metrics", inventory(metrics_scrapes=(scrape,)))
    assert decision.status is PARTIAL and "no per-device memory" in decision.notes


def test_accelerator_metrics_need_a_device_label():
    unlabelled = 'DCGM_FI_DEV_GPU_UTIL{Hostname="a"} 3\nDCGM_FI_DEV_FB_USED{Hostname="a"} 10\n'
    scrape = MetricsScrape("http://127.0.0.1:9400/metrics", text=unlabelled)
    assert decide("accelerator_metrics", inventory(metrics_scrapes=(scrape,))).status is NOT_IMPLEMENTED


def test_accelerator_metrics_unknown_when_the_exporter_cannot_be_scraped():
    exporter = workload("nvidia-dcgm-exporter", namespace="gpu-operator", kind="DaemonSet",
                        images=("nvcr.io/nvidia/k8s/dcgm-exporter:4.2.3",))
    failed = MetricsScrape("service gpu-operator/nvidia-dcgm-exporter:9400", error="503 no endpoints")
    decision = decide("accelerator_metrics", inventory(workloads=(exporter,), metrics_scrapes=(failed,)))
    assert decision.status is UNKNOWN and "503" in decision.notes
    # Found but not scraped at all: still not decided.
    assert decide("accelerator_metrics", inventory(workloads=(exporter,))).status is UNKNOWN


def test_accelerator_metrics_dcgm_service_is_recognised():
    service = ServiceFact("gpu-operator", "nvidia-dcgm-exporter", {"app": "nvidia-dcgm-exporter"},
                          (("gpu-metrics", 9400),))
    assert decide("accelerator_metrics", inventory(services=(service,))).status is UNKNOWN


def test_accelerator_metrics_not_implemented_without_any_exporter():
    decision = decide("accelerator_metrics", inventory())
    assert decision.status is NOT_IMPLEMENTED
    assert decide("accelerator_metrics", without(inventory(), InventoryClass.SERVICES)).status is UNKNOWN


# --- ai_service_metrics ---------------------------------------------------------------------------------

MONITOR_CRDS = (crd("servicemonitors.monitoring.coreos.com"), crd("podmonitors.monitoring.coreos.com"))
PROMETHEUS = workload("prometheus-k8s", namespace="monitoring", kind="StatefulSet",
                      images=("quay.io/prometheus/prometheus:v3.5.0",))
OPERATOR = workload("prometheus-operator", namespace="monitoring",
                    images=("quay.io/prometheus-operator/prometheus-operator:v0.85.0",))


def test_service_metrics_implemented_with_monitors_and_a_collector():
    decision = decide("ai_service_metrics", inventory(crds=MONITOR_CRDS, workloads=(OPERATOR, PROMETHEUS)))
    assert decision.status is IMPLEMENTED


def test_service_metrics_partial_with_crds_only_or_prometheus_only():
    assert decide("ai_service_metrics", inventory(crds=MONITOR_CRDS)).status is PARTIAL
    assert decide("ai_service_metrics", inventory(workloads=(PROMETHEUS,))).status is PARTIAL


def test_service_metrics_not_implemented_without_monitoring():
    assert decide("ai_service_metrics", inventory()).status is NOT_IMPLEMENTED


# --- secure_accelerator_access ----------------------------------------------------------------------------


def test_secure_access_implemented_through_the_device_plugin():
    decision = decide("secure_accelerator_access", inventory(nodes=(gpu_node(),)))
    assert decision.status is IMPLEMENTED
    assert "nvidia.com/gpu=8" in decision.evidence[0]
    assert "probe" in decision.notes  # isolation itself is the active probe's


def test_secure_access_implemented_through_dra():
    slices = (ResourceSliceFact("a-gpu", driver="gpu.nvidia.com", node="a", devices=8),)
    assert decide("secure_accelerator_access", inventory(resource_slices=slices)).status is IMPLEMENTED


def test_secure_access_partial_when_the_plugin_advertises_nothing():
    plugin = workload("nvidia-device-plugin-daemonset", kind="DaemonSet", ready=False,
                      images=("nvcr.io/nvidia/k8s-device-plugin:v0.17.0",))
    assert decide("secure_accelerator_access", inventory(workloads=(plugin,))).status is PARTIAL


def test_secure_access_not_implemented_without_accelerators():
    cpu = NodeFact("cpu-0", allocatable={}, ready=True)
    assert decide("secure_accelerator_access", inventory(nodes=(cpu,))).status is NOT_IMPLEMENTED
    assert decide("secure_accelerator_access", without(inventory(), InventoryClass.NODES)).status is UNKNOWN


def test_zero_gpus_do_not_count_as_exposed():
    drained = gpu_node(resources={"nvidia.com/gpu": "0"})
    assert decide("secure_accelerator_access", inventory(nodes=(drained,))).status is NOT_IMPLEMENTED


# --- workload_sandboxing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name,handler", [("gvisor", "runsc"), ("kata-qemu", "kata-qemu"),
                                          ("secure", "runsc"), ("sandboxed", "krun")])
def test_sandbox_runtime_classes_are_recognised(name, handler):
    decision = decide("workload_sandboxing", inventory(runtime_classes=(RuntimeClassFact(name, handler),)))
    assert decision.status is IMPLEMENTED
    assert f"RuntimeClass/{name} (handler {handler})" in decision.evidence


def test_nvidia_runtime_class_is_not_a_sandbox():
    classes = (RuntimeClassFact("nvidia", "nvidia"),)
    assert decide("workload_sandboxing", inventory(runtime_classes=classes)).status is NOT_IMPLEMENTED
    resources = {**BASE_RESOURCES, "agents.x-k8s.io/v1alpha1": frozenset({"sandboxes"})}
    assert decide("workload_sandboxing", inventory(api_resources=resources)).status is PARTIAL
    assert decide("workload_sandboxing", without(inventory(), InventoryClass.RUNTIME_CLASSES)).status is UNKNOWN


# --- robust_controller -----------------------------------------------------------------------------------------

KAICO_CRDS = tuple(crd(f"{p}.kaico.dev", versions=("v1alpha1",))
                   for p in ("conformanceprofiles", "conformancereports", "clusterconformancereports"))
KAICO = workload("kaico", namespace="kaico-system", labels={"app.kubernetes.io/name": "kaico"})


def test_robust_controller_implemented_by_kaico_itself():
    decision = decide("robust_controller", inventory(crds=KAICO_CRDS, workloads=(KAICO,)))
    assert decision.status is IMPLEMENTED
    assert "CustomResourceDefinition/clusterconformancereports.kaico.dev (Established)" in decision.evidence


def test_robust_controller_partial_without_the_controller_or_schema():
    assert decide("robust_controller", inventory(crds=KAICO_CRDS)).status is PARTIAL
    loose = (*KAICO_CRDS[:2], crd("clusterconformancereports.kaico.dev", schema=False))
    decision = decide("robust_controller", inventory(crds=loose, workloads=(KAICO,)))
    assert decision.status is PARTIAL and "validation schema" in decision.notes


def test_robust_controller_checks_the_trainer_webhook():
    crds = (crd("trainjobs.trainer.kubeflow.org", versions=("v1alpha1",)),
            crd("clustertrainingruntimes.trainer.kubeflow.org", versions=("v1alpha1",)))
    controller = workload("kubeflow-trainer-controller-manager", namespace="kubeflow-system")
    webhook = WebhookFact("validator.trainer.kubeflow.org", "ValidatingWebhookConfiguration",
                          "validator.trainjob.trainer.kubeflow.org", has_ca_bundle=True, has_rules=True)
    assert decide("robust_controller", inventory(crds=crds, workloads=(controller,),
                                                 webhooks=(webhook,))).status is IMPLEMENTED
    no_ca = replace(webhook, has_ca_bundle=False)
    decision = decide("robust_controller", inventory(crds=crds, workloads=(controller,), webhooks=(no_ca,)))
    assert decision.status is PARTIAL and "caBundle" in decision.notes


def test_robust_controller_not_implemented_without_operators():
    assert decide("robust_controller", inventory()).status is NOT_IMPLEMENTED


# --- accelerator SHOULDs -----------------------------------------------------------------------------------------


def test_driver_versions_from_dra_attributes_or_gfd_labels():
    slices = (ResourceSliceFact("a", driver="gpu.nvidia.com", devices=1,
                                attributes=frozenset({"driverVersion", "cudaDriverVersion"})),)
    assert decide("driver_runtime_management", inventory(resource_slices=slices)).status is IMPLEMENTED
    labelled = gpu_node(labels={"nvidia.com/gpu.present": "true",
                                "nvidia.com/cuda.driver-version.full": "580.65.06"})
    assert decide("driver_runtime_management", inventory(nodes=(labelled,))).status is IMPLEMENTED
    mixed = inventory(nodes=(labelled, gpu_node("gpu-1")))
    assert decide("driver_runtime_management", mixed).status is PARTIAL


def test_driver_versions_missing_or_unjudgeable():
    assert decide("driver_runtime_management", inventory(nodes=(gpu_node(),))).status is NOT_IMPLEMENTED
    amd = NodeFact("amd-0", allocatable={"amd.com/gpu": "8"})
    assert decide("driver_runtime_management", inventory(nodes=(amd,))).status is UNKNOWN
    assert decide("driver_runtime_management", inventory()).status is UNKNOWN


def test_gpu_sharing_mig_time_slicing_or_partitionable_dra():
    mig = gpu_node(resources={"nvidia.com/mig-1g.10gb": "7"})
    assert decide("gpu_sharing", inventory(nodes=(mig,))).status is IMPLEMENTED
    sliced = gpu_node(labels={"nvidia.com/gpu.present": "true", "nvidia.com/gpu.replicas": "4"})
    assert decide("gpu_sharing", inventory(nodes=(sliced,))).status is IMPLEMENTED
    partitionable = (ResourceSliceFact("a", driver="gpu.nvidia.com", devices=8, shares_counters=True),)
    assert decide("gpu_sharing", inventory(resource_slices=partitionable)).status is IMPLEMENTED


def test_gpu_sharing_absent_on_whole_nvidia_gpus_and_unknown_elsewhere():
    assert decide("gpu_sharing", inventory(nodes=(gpu_node(),))).status is NOT_IMPLEMENTED
    assert decide("gpu_sharing", inventory()).status is UNKNOWN


def test_virtualized_accelerator_from_vgpu_labels_or_vfio_class():
    vgpu = gpu_node(labels={"nvidia.com/vgpu.present": "true"})
    assert decide("virtualized_accelerator", inventory(nodes=(vgpu,))).status is IMPLEMENTED
    vfio = inventory(device_classes=frozenset({"vfio.gpu.nvidia.com"}))
    assert decide("virtualized_accelerator", vfio).status is IMPLEMENTED
    assert decide("virtualized_accelerator", inventory(nodes=(gpu_node(),))).status is UNKNOWN


def test_only_workloads_that_matter_are_relevant_to_a_watcher():
    from conformance.cluster.requirements import is_relevant_workload

    assert is_relevant_workload(KUEUE_CONTROLLER)
    assert is_relevant_workload(PROMETHEUS)
    assert is_relevant_workload(workload("ms-prefill"))
    assert not is_relevant_workload(workload("web-frontend", images=("nginx:1.27",)))
