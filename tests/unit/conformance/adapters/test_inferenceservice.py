"""KServe InferenceService adapter: predictor shapes, multi-node, autoscaling modes, status."""

from conformance.adapters import adapt_object
from conformance.parameters import Parameters

PARAMS = Parameters()


def isvc(predictor, annotations=None, status=None, **spec):
    body = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "llm", "namespace": "ml", "annotations": annotations or {}},
        "spec": {"predictor": predictor, **spec},
    }
    if status is not None:
        body["status"] = status
    return adapt_object(body, PARAMS)


GPU = {"limits": {"nvidia.com/gpu": "1"}, "requests": {"nvidia.com/gpu": "1"}}


def test_model_predictor_is_the_kserve_container_with_its_runtime():
    workload = isvc(
        {"model": {"modelFormat": {"name": "huggingface"}, "runtime": "vllm-rt", "resources": GPU}}
    )
    predictor = workload.pod_templates[0]
    assert workload.errors == ()
    assert predictor.role == "predictor"
    assert predictor.serving_container == "kserve-container"
    assert predictor.containers[0].limits == {"nvidia.com/gpu": "1"}
    assert predictor.containers[0].path == "spec.predictor.model"
    assert workload.serving_runtime.name == "vllm-rt"
    assert workload.serving_runtime.model_format == "huggingface"


def test_framework_field_names_the_model_format_and_leaves_the_runtime_to_kserve():
    workload = isvc({"tensorflow": {"resources": {"limits": {"nvidia.com/gpu": 1}}}})
    assert workload.serving_runtime.name is None
    assert workload.serving_runtime.model_format == "tensorflow"
    assert workload.pod_templates[0].containers[0].limits == {"nvidia.com/gpu": "1"}


def test_custom_containers_serve_through_kserve_container():
    workload = isvc(
        {
            "containers": [
                {"name": "sidecar"},
                {"name": "kserve-container", "ports": [{"containerPort": 8080}]},
            ]
        }
    )
    assert workload.pod_templates[0].serving_container == "kserve-container"


def test_pod_labels_identify_the_predictor():
    labels = isvc({"model": {"modelFormat": {"name": "sklearn"}}}).pod_templates[0].labels
    assert labels["serving.kserve.io/inferenceservice"] == "llm"
    assert labels["component"] == "predictor"


def test_predictor_pod_spec_fields_are_read():
    workload = isvc(
        {
            "model": {"modelFormat": {"name": "x"}},
            "nodeSelector": {"nvidia.com/gpu.product": "A100"},
            "tolerations": [
                {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
            ],
            "runtimeClassName": "nvidia",
            "schedulerName": "volcano",
        }
    )
    predictor = workload.pod_templates[0]
    assert predictor.node_selector == {"nvidia.com/gpu.product": "A100"}
    assert predictor.tolerations[0].operator == "Exists"
    assert predictor.runtime_class_name == "nvidia"
    assert workload.gang_mechanisms == ("volcano",)


def test_worker_spec_makes_a_group_of_pipeline_parallel_size_pods():
    workload = isvc(
        {
            "model": {"modelFormat": {"name": "huggingface"}, "resources": GPU},
            "workerSpec": {
                "pipelineParallelSize": 3,
                "containers": [{"name": "worker-container", "resources": GPU}],
            },
        }
    )
    head, worker = workload.pod_templates
    assert workload.group_size == 3
    assert (head.role, head.pods_per_replica) == ("predictor", 1)
    assert (worker.role, worker.pods_per_replica, worker.serves_traffic) == ("worker", 2, False)
    assert worker.path == "spec.predictor.workerSpec"


def test_worker_spec_without_pipeline_size_is_one_head_and_one_worker():
    workload = isvc({"model": {"modelFormat": {"name": "huggingface"}}, "workerSpec": {}})
    assert workload.group_size == 2
    assert workload.pod_templates[1].pods_per_replica == 1


def test_transformer_and_explainer_are_extra_templates_that_serve_traffic():
    workload = isvc(
        {"model": {"modelFormat": {"name": "x"}}},
        transformer={"containers": [{"name": "kserve-container", "image": "t"}]},
        explainer={"art": {"image": "e"}},
    )
    roles = {t.role: t for t in workload.pod_templates}
    assert roles["transformer"].serves_traffic and roles["explainer"].serves_traffic
    assert roles["transformer"].labels["component"] == "transformer"


def test_standard_mode_defaults_to_kserve_hpa_on_cpu_with_min_one():
    workload = isvc({"model": {"modelFormat": {"name": "x"}}})
    assert workload.replicas.minimum == 1
    assert workload.autoscaler.mechanism == "kserve-hpa"
    assert workload.autoscaler.metrics == ("cpu",)
    assert workload.autoscaler.buffers_requests is False
    assert workload.scale_targets[0].kind == "Deployment"
    assert workload.scale_targets[0].name == "llm-predictor"


def test_keda_class_reads_the_external_prometheus_query():
    workload = isvc(
        {
            "model": {"modelFormat": {"name": "x"}},
            "minReplicas": 1,
            "maxReplicas": 5,
            "autoScaling": {
                "metrics": [
                    {
                        "type": "External",
                        "external": {
                            "metric": {
                                "backend": "prometheus",
                                "query": "vllm:num_requests_running",
                            }
                        },
                    }
                ]
            },
        },
        annotations={"serving.kserve.io/autoscalerClass": "keda"},
    )
    assert workload.autoscaler.mechanism == "kserve-keda"
    assert workload.autoscaler.metrics == ("vllm:num_requests_running",)
    assert (workload.autoscaler.minimum, workload.autoscaler.maximum) == (1, 5)


def test_scale_metric_names_the_signal():
    workload = isvc({"model": {"modelFormat": {"name": "x"}}, "scaleMetric": "memory"})
    assert workload.autoscaler.metrics == ("memory",)


def test_legacy_serverless_mode_is_knative_which_buffers_requests():
    workload = isvc(
        {"model": {"modelFormat": {"name": "x"}}, "minReplicas": 0},
        annotations={
            "serving.kserve.io/deploymentMode": "Serverless",
            "autoscaling.knative.dev/max-scale": "4",
            "autoscaling.knative.dev/metric": "rps",
        },
    )
    assert workload.autoscaler.mechanism == "knative"
    assert workload.autoscaler.buffers_requests is True
    assert (workload.autoscaler.minimum, workload.autoscaler.maximum) == (0, 4)
    assert workload.autoscaler.metrics == ("rps",)


def test_raw_deployment_is_standard_mode():
    workload = isvc(
        {"model": {"modelFormat": {"name": "x"}}},
        annotations={"serving.kserve.io/deploymentMode": "RawDeployment"},
    )
    assert workload.autoscaler.mechanism == "kserve-hpa"


def test_external_and_none_autoscaler_classes_declare_no_inline_autoscaler():
    for autoscaler_class in ("external", "none"):
        workload = isvc(
            {"model": {"modelFormat": {"name": "x"}}},
            annotations={"serving.kserve.io/autoscalerClass": autoscaler_class},
        )
        assert workload.autoscaler is None


def test_prometheus_scraping_annotation_declares_metrics_scraping():
    workload = isvc(
        {"model": {"modelFormat": {"name": "x"}}},
        annotations={"serving.kserve.io/enable-prometheus-scraping": "true"},
    )
    assert workload.declares_metrics_scraping


def test_exp_dra_annotations_count_as_a_resource_claim():
    workload = isvc(
        {"model": {"modelFormat": {"name": "x"}}},
        annotations={"serving.kserve.io/exp-dra-device-class": "gpu.nvidia.com"},
    )
    assert workload.pod_templates[0].resource_claims[0].device_classes == ("gpu.nvidia.com",)


def test_status_gives_urls_and_readiness():
    workload = isvc(
        {"model": {"modelFormat": {"name": "x"}}},
        status={
            "url": "http://llm.ml.example.com",
            "address": {"url": "http://llm-predictor.ml.svc.cluster.local"},
            "components": {"predictor": {"url": "http://llm.ml.example.com"}},
            "conditions": [{"type": "Ready", "status": "False", "reason": "ModelLoadFailed"}],
        },
    )
    assert workload.declared_urls == (
        "http://llm.ml.example.com",
        "http://llm-predictor.ml.svc.cluster.local",
    )
    assert workload.readiness.ready is False
    assert workload.readiness.reason == "ModelLoadFailed"


def test_wrong_typed_limits_are_an_error_with_the_field_path():
    workload = isvc({"model": {"modelFormat": {"name": "x"}, "resources": {"limits": ["gpu"]}}})
    assert "spec.predictor.model.resources.limits must be a mapping, got list" in workload.errors
    assert workload.pod_templates[0].containers[0].limits == {}


def test_unknown_version_is_an_error_naming_the_version():
    workload = adapt_object(
        {
            "apiVersion": "serving.kserve.io/v1alpha9",
            "kind": "InferenceService",
            "metadata": {"name": "x"},
        },
        PARAMS,
    )
    assert any(
        "serving.kserve.io/v1alpha9 InferenceService is not supported" in e for e in workload.errors
    )


def test_predictor_without_an_implementation_is_an_error():
    assert "spec.predictor has no model, framework or containers" in isvc({}).errors
