"""NVIDIA NIMService adapter: one container, default probes, scale.hpa, DRA, exposure."""

from conformance.adapters import adapt_object
from conformance.parameters import Parameters

PARAMS = Parameters()


def nim(spec, status=None):
    body = {
        "apiVersion": "apps.nvidia.com/v1alpha1",
        "kind": "NIMService",
        "metadata": {"name": "llama", "namespace": "nim"},
        "spec": {"image": {"repository": "nvcr.io/nim/llama", "tag": "1.0"}, **spec},
    }
    if status is not None:
        body["status"] = status
    return adapt_object(body, PARAMS)


def test_resources_and_placement_land_on_the_single_template():
    workload = nim(
        {
            "resources": {"limits": {"nvidia.com/gpu": 1}},
            "runtimeClassName": "nvidia",
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}],
            "nodeSelector": {"gpu": "a100"},
        }
    )
    template = workload.pod_templates[0]
    container = template.containers[0]
    assert workload.errors == ()
    assert container.limits == {"nvidia.com/gpu": "1"}
    assert template.serving_container == container.name == "llama"
    assert template.runtime_class_name == "nvidia"
    assert template.node_selector == {"gpu": "a100"}
    assert container.ports[0].name == "api" and container.ports[0].number == 8000


def test_absent_probes_get_the_operator_defaults():
    container = nim({}).pod_templates[0].containers[0]
    assert container.readiness_probe.path == "/v1/health/ready"
    assert container.readiness_probe.port == "api"
    assert container.liveness_probe.path == "/v1/health/live"
    assert container.startup_probe.failure_threshold == 120
    assert container.startup_probe.budget_seconds == 30 + 120 * 10


def test_disabled_probe_is_absent_and_a_written_probe_is_used():
    container = (
        nim(
            {
                "livenessProbe": {"enabled": False},
                "readinessProbe": {"probe": {"httpGet": {"path": "/custom", "port": 9000}}},
            }
        )
        .pod_templates[0]
        .containers[0]
    )
    assert container.liveness_probe is None
    assert container.readiness_probe.path == "/custom"


def test_scale_hpa_is_an_inline_nim_autoscaler():
    workload = nim(
        {
            "scale": {
                "enabled": True,
                "hpa": {
                    "minReplicas": 2,
                    "maxReplicas": 6,
                    "metrics": [
                        {"type": "Pods", "pods": {"metric": {"name": "num_requests_running"}}}
                    ],
                },
            }
        }
    )
    assert workload.autoscaler.mechanism == "nim-hpa"
    assert workload.autoscaler.metrics == ("num_requests_running",)
    assert (workload.replicas.minimum, workload.replicas.maximum) == (2, 6)


def test_without_scale_replicas_are_fixed():
    assert nim({"replicas": 3}).replicas.fixed == 3
    assert nim({}).autoscaler is None


def test_dra_resources_are_claims_on_the_pod_and_container():
    template = nim({"draResources": [{"resourceClaimTemplateName": "gpu-rct"}]}).pod_templates[0]
    assert template.resource_claims[0].resource_claim_template_name == "gpu-rct"
    assert template.containers[0].claims == (template.resource_claims[0].name,)


def test_expose_service_router_and_metrics():
    workload = nim(
        {
            "expose": {
                "service": {"name": "llama-api", "port": 8080},
                "router": {"gateway": {"name": "gw", "httpRoutesEnabled": True}},
            },
            "metrics": {"enabled": True, "serviceMonitor": {}},
        }
    )
    assert workload.managed_services == ("llama-api",)
    assert workload.declares_gateway_route
    assert workload.declares_metrics_scraping
    assert workload.pod_templates[0].containers[0].ports[0].number == 8080


def test_managed_service_defaults_to_the_nimservice_name():
    assert nim({}).managed_services == ("llama",)


def test_multi_node_group_size_follows_parallelism_over_gpus_per_pod():
    workload = nim(
        {
            "resources": {"limits": {"nvidia.com/gpu": 8}},
            "multiNode": {"parallelism": {"tensor": 8, "pipeline": 2}},
        }
    )
    assert workload.group_size == 2
    assert [(t.role, t.pods_per_replica) for t in workload.pod_templates] == [
        ("leader", 1),
        ("worker", 1),
    ]


def test_status_state_ready_is_readiness():
    assert nim({}, status={"state": "Ready"}).readiness.ready
    assert nim({}, status={"state": "NotReady"}).readiness.ready is False
    assert nim({}).readiness is None


def test_claim_creation_spec_names_its_device_classes():
    template = nim(
        {
            "draResources": [
                {
                    "claimCreationSpec": {
                        "devices": [{"name": "g", "deviceClassName": "gpu.nvidia.com"}]
                    }
                }
            ]
        }
    ).pod_templates[0]
    assert template.resource_claims[0].device_classes == ("gpu.nvidia.com",)
    assert template.resource_claims[0].resource_claim_template_name is None
