"""KServe LLMInferenceService adapter: main/worker/prefill templates, scaling, router."""

from conformance.adapters import adapt_object
from conformance.parameters import Parameters

PARAMS = Parameters()
TEMPLATE = {"containers": [{"name": "main", "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}


def llmisvc(spec, version="v1alpha2", status=None):
    body = {
        "apiVersion": f"serving.kserve.io/{version}",
        "kind": "LLMInferenceService",
        "metadata": {"name": "qwen", "namespace": "ml"},
        "spec": spec,
    }
    if status is not None:
        body["status"] = status
    return adapt_object(body, PARAMS)


def test_main_template_serves_through_the_main_container():
    workload = llmisvc({"replicas": 3, "template": TEMPLATE})
    main = workload.pod_templates[0]
    assert workload.errors == ()
    assert (main.role, main.serving_container, main.path) == ("main", "main", "spec.template")
    assert workload.replicas.fixed == 3
    assert main.labels["app.kubernetes.io/name"] == "qwen"


def test_both_served_versions_are_read():
    assert llmisvc({"template": TEMPLATE}, version="v1alpha1").errors == ()


def test_worker_makes_a_multi_node_group():
    workload = llmisvc({"template": TEMPLATE, "worker": TEMPLATE, "parallelism": {"pipeline": 4}})
    leader, worker = workload.pod_templates
    assert workload.group_size == 4
    assert leader.role == "leader"
    assert (worker.role, worker.pods_per_replica, worker.serves_traffic) == ("worker", 3, False)


def test_prefill_adds_its_own_templates():
    workload = llmisvc({"template": TEMPLATE, "prefill": {"template": TEMPLATE, "replicas": 2}})
    assert [t.role for t in workload.pod_templates] == ["main", "prefill"]
    assert workload.pod_templates[1].path == "spec.prefill.template"


def test_keda_scaling_reads_trigger_queries():
    workload = llmisvc(
        {
            "template": TEMPLATE,
            "scaling": {
                "minReplicas": 1,
                "maxReplicas": 4,
                "keda": {
                    "triggers": [
                        {
                            "type": "prometheus",
                            "metadata": {"query": "sum(vllm:num_requests_waiting)"},
                        }
                    ]
                },
            },
        }
    )
    assert workload.replicas.minimum == 1 and workload.replicas.maximum == 4
    assert workload.autoscaler.mechanism == "llmisvc-keda"
    assert workload.autoscaler.metrics == ("sum(vllm:num_requests_waiting)",)


def test_wva_scaling_is_its_own_mechanism():
    workload = llmisvc({"template": TEMPLATE, "scaling": {"maxReplicas": 2, "wva": {}}})
    assert workload.autoscaler.mechanism == "llmisvc-wva"
    assert workload.autoscaler.minimum == 1


def test_replicas_and_scaling_together_are_an_error():
    workload = llmisvc({"template": TEMPLATE, "replicas": 1, "scaling": {"maxReplicas": 2}})
    assert "spec.replicas and spec.scaling are mutually exclusive" in workload.errors


def test_router_declares_the_gateway_route():
    assert llmisvc(
        {"template": TEMPLATE, "router": {"route": {}, "gateway": {}}}
    ).declares_gateway_route
    assert llmisvc(
        {"template": TEMPLATE, "router": {"scheduler": {"pool": {}}}}
    ).declares_gateway_route
    assert not llmisvc({"template": TEMPLATE}).declares_gateway_route


def test_status_gives_urls_and_readiness():
    workload = llmisvc(
        {"template": TEMPLATE},
        status={
            "url": "http://gw/ml/qwen",
            "addresses": [{"url": "http://gw/ml/qwen"}, {"url": "http://in"}],
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    )
    assert workload.declared_urls == ("http://gw/ml/qwen", "http://in")
    assert workload.readiness.ready
