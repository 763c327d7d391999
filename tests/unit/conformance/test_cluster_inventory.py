"""Extracting inventory facts from object bodies, as the API and kopf events deliver them."""

from conformance.cluster.inventory import (
    api_service_from_body,
    config_map_from_body,
    crd_from_body,
    gateway_class_from_body,
    node_from_body,
    resource_slice_from_body,
    served_from_discovery,
    webhooks_from_body,
    workload_from_body,
)


def test_crd_established_served_versions_and_schema():
    body = {
        "metadata": {"name": "gateways.gateway.networking.k8s.io"},
        "spec": {"group": "gateway.networking.k8s.io", "names": {"kind": "Gateway"},
                 "versions": [{"name": "v1", "served": True, "schema": {"openAPIV3Schema": {"type": "object"}}},
                              {"name": "v1beta1", "served": False, "schema": {"openAPIV3Schema": {"type": "object"}}}]},
        "status": {"conditions": [{"type": "NamesAccepted", "status": "True"},
                                  {"type": "Established", "status": "True"}]},
    }
    fact = crd_from_body(body)
    assert fact.established and fact.has_schema
    assert fact.served_versions == ("v1",)
    assert not crd_from_body({**body, "status": {}}).established


def test_api_service_availability_and_message():
    body = {"metadata": {"name": "v1beta1.custom.metrics.k8s.io"},
            "spec": {"group": "custom.metrics.k8s.io", "version": "v1beta1",
                     "service": {"namespace": "monitoring", "name": "adapter"}},
            "status": {"conditions": [{"type": "Available", "status": "False", "reason": "MissingEndpoints",
                                       "message": "endpoints for service/adapter in \"monitoring\" have no addresses"}]}}
    fact = api_service_from_body(body)
    assert fact.available is False and "no addresses" in fact.message
    assert fact.service == "monitoring/adapter"
    local = api_service_from_body({"metadata": {"name": "v1.apps"}, "spec": {"group": "apps", "version": "v1"}})
    assert local.service is None and local.available is None


def test_gateway_class_accepted():
    body = {"metadata": {"name": "eg"}, "spec": {"controllerName": "gateway.envoyproxy.io/gatewayclass-controller"},
            "status": {"conditions": [{"type": "Accepted", "status": "True"}]}}
    assert gateway_class_from_body(body).accepted is True


def test_workload_readiness_for_deployments_and_daemonsets():
    deployment = workload_from_body({
        "kind": "Deployment", "metadata": {"name": "kueue-controller-manager", "namespace": "kueue-system",
                                           "labels": {"app.kubernetes.io/name": "kueue"}},
        "spec": {"replicas": 2, "template": {"metadata": {"labels": {"control-plane": "controller-manager"}},
                                             "spec": {"containers": [{"image": "registry.k8s.io/kueue/kueue:v0.14"}]}}},
        "status": {"readyReplicas": 2},
    })
    assert deployment.is_ready and deployment.images == ("registry.k8s.io/kueue/kueue:v0.14",)
    assert deployment.labels["control-plane"] == "controller-manager"
    daemonset = workload_from_body({"kind": "DaemonSet", "metadata": {"name": "dcgm", "namespace": "gpu"},
                                    "spec": {}, "status": {"desiredNumberScheduled": 3, "numberReady": 2}})
    assert (daemonset.desired, daemonset.ready, daemonset.is_ready) == (3, 2, False)
    # A DaemonSet scheduled nowhere is not "ready": it runs nothing.
    assert not workload_from_body({"kind": "DaemonSet", "metadata": {"name": "x"}}).is_ready


def test_node_keeps_extended_resources_and_accelerator_labels_only():
    node = node_from_body({
        "metadata": {"name": "gpu-0", "labels": {"nvidia.com/gpu.present": "true", "kubernetes.io/os": "linux"}},
        "status": {"allocatable": {"cpu": "32", "nvidia.com/gpu": "8"},
                   "nodeInfo": {"containerRuntimeVersion": "containerd://2.1.0"},
                   "conditions": [{"type": "Ready", "status": "True"}]},
    })
    assert dict(node.allocatable) == {"nvidia.com/gpu": "8"}
    assert dict(node.labels) == {"nvidia.com/gpu.present": "true"}
    assert node.ready and node.container_runtime_version == "containerd://2.1.0"


def test_resource_slice_v1_and_v1beta1_device_shapes():
    v1 = resource_slice_from_body({"metadata": {"name": "s"}, "spec": {
        "driver": "gpu.nvidia.com", "nodeName": "a", "pool": {"name": "a"},
        "devices": [{"name": "gpu-0", "attributes": {"driverVersion": {"version": "580.0.0"}},
                     "consumesCounters": [{"counterSet": "gpu-0"}]}]}})
    assert v1.devices == 1 and "driverVersion" in v1.attributes and v1.shares_counters
    beta = resource_slice_from_body({"metadata": {"name": "s"}, "spec": {
        "driver": "dra.net", "devices": [{"name": "eth1", "basic": {"attributes": {"rdma": {"bool": True}}}}]}})
    assert beta.attributes == frozenset({"rdma"}) and beta.node is None


def test_webhooks_and_config_maps():
    hooks = webhooks_from_body({"kind": "ValidatingWebhookConfiguration",
                                "metadata": {"name": "validator.trainer.kubeflow.org"},
                                "webhooks": [{"name": "a", "clientConfig": {"caBundle": "LS0t",
                                              "service": {"namespace": "k", "name": "svc"}},
                                              "rules": [{"operations": ["CREATE"]}]},
                                             {"name": "b", "clientConfig": {}}]})
    assert [(h.has_ca_bundle, h.has_rules) for h in hooks] == [(True, True), (False, False)]
    assert hooks[0].service == "k/svc"
    status = config_map_from_body({"metadata": {"namespace": "kube-system", "name": "cluster-autoscaler-status"},
                                   "data": {"status": "x" * 20000}})
    assert len(status.data["status"]) == 16384


def test_discovery_aggregated_and_legacy():
    aggregated = {"kind": "APIGroupDiscoveryList", "items": [
        {"metadata": {"name": "resource.k8s.io"}, "versions": [
            {"version": "v1", "resources": [{"resource": "deviceclasses"}, {"resource": "resourceslices"}]}]},
        {"metadata": {"name": "custom.metrics.k8s.io"}, "versions": [
            {"version": "v1beta1", "freshness": "Stale", "resources": [{"resource": "pods/x"}]}]},
    ]}
    core = {"kind": "APIGroupDiscoveryList", "items": [
        {"metadata": {}, "versions": [{"version": "v1", "resources": [{"resource": "pods"}]}]}]}
    served = served_from_discovery([core, aggregated])
    assert served["resource.k8s.io/v1"] == {"deviceclasses", "resourceslices"}
    assert served["v1"] == {"pods"}
    assert "custom.metrics.k8s.io/v1beta1" not in served
    legacy = served_from_discovery([{"kind": "APIResourceList", "groupVersion": "apps/v1",
                                     "resources": [{"name": "deployments"}, {"name": "deployments/scale"}]}])
    assert legacy == {"apps/v1": frozenset({"deployments"})}
