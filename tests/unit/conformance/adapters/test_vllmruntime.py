"""vLLM production-stack VLLMRuntime adapter: resources, autoscaling, placement."""

from conformance.adapters import adapt_object
from conformance.parameters import Parameters

PARAMS = Parameters()


def runtime(spec):
    return adapt_object(
        {
            "apiVersion": "production-stack.vllm.ai/v1alpha1",
            "kind": "VLLMRuntime",
            "metadata": {"name": "llama"},
            "spec": spec,
        },
        PARAMS,
    )


def test_gpu_count_uses_the_default_gpu_resource_in_requests_and_limits():
    container = (
        runtime({"deploymentConfig": {"resources": {"gpu": "1", "cpu": "8"}}})
        .pod_templates[0]
        .containers[0]
    )
    assert container.limits == {"cpu": "8", "nvidia.com/gpu": "1"}
    assert container.requests == container.limits


def test_gpu_type_names_the_resource():
    container = (
        runtime(
            {"deploymentConfig": {"resources": {"gpu": "1", "gpuType": "nvidia.com/mig-3g.20gb"}}}
        )
        .pod_templates[0]
        .containers[0]
    )
    assert container.limits == {"nvidia.com/mig-3g.20gb": "1"}


def test_autoscaling_is_keda_on_vllm_metrics_with_min_one_by_default():
    workload = runtime(
        {
            "deploymentConfig": {"replicas": 1},
            "autoscalingConfig": {"enabled": True, "maxReplicas": 4},
        }
    )
    assert workload.autoscaler.mechanism == "vllmruntime-keda"
    assert (workload.autoscaler.minimum, workload.autoscaler.maximum) == (1, 4)
    assert "vllm:num_requests_running" in workload.autoscaler.metrics


def test_without_autoscaling_replicas_are_fixed():
    workload = runtime({"deploymentConfig": {"replicas": 2}})
    assert workload.replicas.fixed == 2 and workload.autoscaler is None


def test_placement_fields_and_port():
    workload = runtime(
        {
            "vllmConfig": {"port": 9000},
            "deploymentConfig": {
                "toleration": [{"key": "nvidia.com/gpu", "operator": "Exists"}],
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "gpu", "operator": "In", "values": ["a100"]}]}
                ],
                "runtimeClass": "nvidia-cdi",
            },
        }
    )
    template = workload.pod_templates[0]
    assert template.tolerations[0].key == "nvidia.com/gpu"
    assert template.required_node_terms[0][0].values == ("a100",)
    assert template.runtime_class_name == "nvidia-cdi"
    assert template.containers[0].ports[0].number == 9000


def test_runtime_class_defaults_to_nvidia_as_the_crd_does():
    assert runtime({}).pod_templates[0].runtime_class_name == "nvidia"


def test_the_runtime_is_its_own_scale_target():
    assert runtime({}).scale_targets[0].kind == "VLLMRuntime"
