"""facts_from_objects: each kind of cluster object reduced to the facts the checks read."""

from conformance.facts import FactClass
from conformance.facts_builder import facts_from_objects, facts_from_objects_with_warnings
from conformance.parameters import Parameters

PARAMS = Parameters()


def obj(api_version, kind, name="x", namespace="ml", spec=None, **extra):
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    metadata.update(extra.pop("metadata", {}))
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": metadata,
        "spec": spec or {},
        **extra,
    }


def test_nodes_keep_extended_resources_as_integers_taints_and_labels():
    node = obj(
        "v1",
        "Node",
        "gpu-1",
        None,
        {
            "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}],
            "unschedulable": True,
        },
        metadata={"labels": {"nvidia.com/gpu.product": "A100"}},
        status={"allocatable": {"nvidia.com/gpu": "8", "cpu": "64", "memory": "512Gi"}},
    )
    facts = facts_from_objects([node], PARAMS)
    (parsed,) = facts.nodes
    assert parsed.allocatable == {"nvidia.com/gpu": 8}
    assert parsed.taints[0].key == "nvidia.com/gpu" and parsed.taints[0].value == "present"
    assert parsed.labels == {"nvidia.com/gpu.product": "A100"}
    assert parsed.unschedulable
    assert facts.knows(FactClass.NODES)


def test_nodes_drop_the_condition_taints_the_node_lifecycle_controller_sets_and_clears():
    taints = [
        {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"},
        {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"},
        {"key": "node.cloudprovider.kubernetes.io/uninitialized", "value": "true", "effect": "NoSchedule"},
        {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"},
    ]
    healthy = obj("v1", "Node", "gpu-1", None, {"taints": taints[-1:]},
                  status={"allocatable": {"nvidia.com/gpu": "8"}})
    unreachable = obj("v1", "Node", "gpu-1", None, {"taints": taints},
                      status={"allocatable": {"nvidia.com/gpu": "8"}})
    (parsed,) = facts_from_objects([unreachable], PARAMS).nodes
    assert [t.key for t in parsed.taints] == ["nvidia.com/gpu"]
    # The same node, missing heartbeats or not, is the same fact: nothing is re-evaluated.
    assert parsed == facts_from_objects([healthy], PARAMS).nodes[0]


def test_hpa_v2_metrics_are_normalized():
    hpa = obj(
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
        "h",
        spec={
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "vllm"},
            "minReplicas": 2,
            "maxReplicas": 8,
            "metrics": [
                {"type": "Resource", "resource": {"name": "cpu"}},
                {"type": "Pods", "pods": {"metric": {"name": "vllm:num_requests_waiting"}}},
                {"type": "External", "external": {"metric": {"name": "queue"}}},
                {
                    "type": "ContainerResource",
                    "containerResource": {"name": "memory", "container": "c"},
                },
            ],
        },
    )
    (autoscaler,) = facts_from_objects([hpa], PARAMS).autoscalers
    assert (autoscaler.target_kind, autoscaler.target_name) == ("Deployment", "vllm")
    assert (autoscaler.minimum, autoscaler.maximum) == (2, 8)
    assert autoscaler.metrics == ("cpu", "vllm:num_requests_waiting", "queue", "memory")


def test_hpa_v1_scales_on_cpu_and_min_defaults_to_one():
    hpa = obj(
        "autoscaling/v1",
        "HorizontalPodAutoscaler",
        "h",
        spec={
            "scaleTargetRef": {"kind": "Deployment", "name": "d"},
            "maxReplicas": 3,
            "targetCPUUtilizationPercentage": 80,
        },
    )
    (autoscaler,) = facts_from_objects([hpa], PARAMS).autoscalers
    assert autoscaler.metrics == ("cpu",) and autoscaler.minimum == 1


def test_hpa_owner_reference_is_kept():
    hpa = obj(
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
        "llm-predictor",
        spec={"scaleTargetRef": {"kind": "Deployment", "name": "llm-predictor"}, "maxReplicas": 3},
        metadata={
            "ownerReferences": [{"kind": "InferenceService", "name": "llm", "controller": True}]
        },
    )
    (autoscaler,) = facts_from_objects([hpa], PARAMS).autoscalers
    assert (autoscaler.owner_kind, autoscaler.owner_name) == ("InferenceService", "llm")


def test_keda_scaled_object_defaults_and_trigger_names():
    scaled = obj(
        "keda.sh/v1alpha1",
        "ScaledObject",
        "s",
        spec={
            "scaleTargetRef": {"name": "vllm"},
            "triggers": [
                {"type": "prometheus", "metadata": {"query": "sum(vllm:num_requests_running)"}},
                {"type": "cpu", "metadata": {"value": "60"}},
            ],
        },
    )
    (autoscaler,) = facts_from_objects([scaled], PARAMS).autoscalers
    assert autoscaler.target_kind == "Deployment"
    assert (autoscaler.minimum, autoscaler.maximum) == (0, 100)
    assert autoscaler.metrics == ("sum(vllm:num_requests_running)", "cpu")
    assert not autoscaler.buffers_requests


def test_keda_prometheus_trigger_without_query_uses_metric_name():
    scaled = obj(
        "keda.sh/v1alpha1",
        "ScaledObject",
        "s",
        spec={
            "scaleTargetRef": {"name": "d"},
            "triggers": [{"type": "prometheus", "metadata": {"metricName": "m"}}],
        },
    )
    assert facts_from_objects([scaled], PARAMS).autoscalers[0].metrics == ("m",)


def test_http_scaled_object_buffers_requests():
    http = obj(
        "http.keda.sh/v1alpha1",
        "HTTPScaledObject",
        "h",
        spec={
            "scaleTargetRef": {"name": "vllm", "kind": "Deployment", "apiVersion": "apps/v1"},
            "replicas": {"min": 0, "max": 4},
        },
    )
    (autoscaler,) = facts_from_objects([http], PARAMS).autoscalers
    assert autoscaler.buffers_requests and autoscaler.minimum == 0


def test_pdb_service_and_their_selectors():
    pdb = obj(
        "policy/v1",
        "PodDisruptionBudget",
        "p",
        spec={
            "selector": {
                "matchLabels": {"app": "vllm"},
                "matchExpressions": [{"key": "tier", "operator": "Exists"}],
            }
        },
    )
    service = obj(
        "v1",
        "Service",
        "s",
        spec={
            "selector": {"app": "vllm"},
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}, {"port": 9090}],
        },
        metadata={"labels": {"svc": "y"}},
    )
    facts = facts_from_objects([pdb, service], PARAMS)
    assert facts.disruption_budgets[0].selector.matches({"app": "vllm", "tier": "gpu"})
    parsed = facts.services[0]
    assert parsed.selector.match_labels == {"app": "vllm"}
    assert parsed.ports == ("http", 9090) and parsed.named_ports
    assert parsed.labels == {"svc": "y"}


def test_http_route_backends_default_to_services():
    route = obj(
        "gateway.networking.k8s.io/v1",
        "HTTPRoute",
        "r",
        spec={
            "rules": [
                {
                    "backendRefs": [
                        {"name": "svc"},
                        {
                            "group": "inference.networking.k8s.io",
                            "kind": "InferencePool",
                            "name": "pool",
                        },
                    ]
                }
            ]
        },
    )
    (parsed,) = facts_from_objects([route], PARAMS).http_routes
    assert parsed.backends == (
        ("", "Service", "svc"),
        ("inference.networking.k8s.io", "InferencePool", "pool"),
    )


def test_inference_pools_in_both_groups():
    v1 = obj(
        "inference.networking.k8s.io/v1",
        "InferencePool",
        "a",
        spec={"selector": {"matchLabels": {"app": "a"}}, "targetPorts": [{"number": 8000}]},
    )
    alpha = obj(
        "inference.networking.x-k8s.io/v1alpha2",
        "InferencePool",
        "b",
        spec={"selector": {"app": "b"}, "targetPortNumber": 8001},
    )
    pools = facts_from_objects([v1, alpha], PARAMS).inference_pools
    assert [(p.selector.match_labels, p.ports) for p in pools] == [
        ({"app": "a"}, (8000,)),
        ({"app": "b"}, (8001,)),
    ]


def test_monitors_record_ports_target_kind_and_namespaces():
    service_monitor = obj(
        "monitoring.coreos.com/v1",
        "ServiceMonitor",
        "sm",
        spec={
            "selector": {"matchLabels": {"app": "vllm"}},
            "endpoints": [{"port": "metrics"}],
            "namespaceSelector": {"any": True},
        },
    )
    pod_monitor = obj(
        "monitoring.coreos.com/v1",
        "PodMonitor",
        "pm",
        spec={
            "selector": {},
            "podMetricsEndpoints": [{"port": "http"}],
            "namespaceSelector": {"matchNames": ["a"]},
        },
    )
    sm, pm = facts_from_objects([service_monitor, pod_monitor], PARAMS).monitors
    assert sm.selects_services and sm.ports == ("metrics",) and sm.namespaces == ("*",)
    assert not pm.selects_services and pm.namespaces == ("a",)


def test_names_of_runtime_classes_device_classes_and_claim_templates():
    facts = facts_from_objects(
        [
            obj("node.k8s.io/v1", "RuntimeClass", "nvidia", None),
            obj("resource.k8s.io/v1", "DeviceClass", "gpu.nvidia.com", None),
            obj(
                "resource.k8s.io/v1",
                "ResourceClaimTemplate",
                "single-gpu",
                "ml",
                {
                    "spec": {
                        "devices": {
                            "requests": [
                                {"name": "gpu", "exactly": {"deviceClassName": "gpu.nvidia.com"}}
                            ]
                        }
                    }
                },
            ),
        ],
        PARAMS,
    )
    assert facts.runtime_classes == {"nvidia"}
    assert facts.device_classes == {"gpu.nvidia.com"}
    assert facts.claim_templates == {("ml", "single-gpu")}
    assert facts.claim_template_device_classes[("ml", "single-gpu")] == ("gpu.nvidia.com",)


def test_serving_runtimes_keep_formats_and_containers():
    runtime = obj(
        "serving.kserve.io/v1alpha1",
        "ClusterServingRuntime",
        "hf",
        None,
        {
            "supportedModelFormats": [
                {"name": "huggingface", "autoSelect": True},
                {"name": "onnx"},
            ],
            "containers": [
                {
                    "name": "kserve-container",
                    "readinessProbe": {"httpGet": {"path": "/v2/health/ready"}},
                }
            ],
        },
    )
    (parsed,) = facts_from_objects([runtime], PARAMS).serving_runtimes
    assert parsed.namespace is None
    assert parsed.model_formats == ("huggingface", "onnx")
    assert parsed.auto_select_formats == ("huggingface",)
    assert parsed.containers[0].readiness_probe.path == "/v2/health/ready"


def test_a_class_is_known_when_one_of_its_objects_appears_or_it_is_assumed():
    facts = facts_from_objects(
        [obj("v1", "Service", "s")], PARAMS, assume_known=[FactClass.RUNTIME_CLASSES]
    )
    assert facts.knows(FactClass.SERVICES) and facts.knows(FactClass.RUNTIME_CLASSES)
    assert not facts.knows(FactClass.NODES)


def test_objects_without_namespace_land_in_default():
    assert (
        facts_from_objects([obj("v1", "Service", "s", None)], PARAMS).services[0].namespace
        == "default"
    )


def test_malformed_objects_are_skipped_with_a_warning():
    bad = obj(
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
        "h",
        spec={"scaleTargetRef": "vllm", "maxReplicas": 2},
    )
    good = obj("v1", "Service", "s")
    facts, warnings = facts_from_objects_with_warnings([bad, good, "not an object", None], PARAMS)
    assert facts.autoscalers == ()
    assert facts.knows(FactClass.AUTOSCALERS)
    assert warnings == [
        "skipped HorizontalPodAutoscaler ml/h: spec.scaleTargetRef must be a mapping, got string; "
        "spec.scaleTargetRef needs a kind and a name"
    ]
    assert len(facts.services) == 1


def test_other_kinds_are_ignored():
    assert facts_from_objects([obj("v1", "ConfigMap", "c")], PARAMS).known == frozenset()
