"""Deployment and StatefulSet adapter: targets only with accelerators or the opt-in label."""

from conformance.adapters import adapt_object
from conformance.parameters import Parameters

PARAMS = Parameters()


def deployment(containers, labels=None, status=None, kind="Deployment", template_meta=None, **spec):
    body = {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": "vllm", "labels": labels or {}},
        "spec": {
            "template": {"metadata": template_meta or {}, "spec": {"containers": containers}},
            **spec,
        },
    }
    if status is not None:
        body["status"] = status
    return adapt_object(body, PARAMS)


GPU_CONTAINER = {"name": "vllm", "resources": {"limits": {"nvidia.com/gpu": "1"}}}


def test_a_deployment_asking_for_a_gpu_is_a_target():
    workload = deployment([GPU_CONTAINER], replicas=3)
    assert workload.kind == "Deployment"
    assert workload.replicas.fixed == 3
    assert workload.pod_templates[0].path == "spec.template"
    assert workload.scale_targets[0].name == "vllm"


def test_a_cpu_deployment_is_not_a_target():
    assert deployment([{"name": "web"}]) is None


def test_the_opt_in_label_makes_a_cpu_deployment_a_target_unless_false():
    assert deployment([{"name": "web"}], labels={"kaico.dev/workload": "true"}) is not None
    assert deployment([{"name": "web"}], labels={"kaico.dev/workload": "false"}) is None


def test_dra_claims_make_a_target():
    assert deployment([{"name": "c", "resources": {"claims": [{"name": "gpu"}]}}]) is not None


def test_statefulset_is_read_the_same_way():
    assert deployment([GPU_CONTAINER], kind="StatefulSet").scale_targets[0].kind == "StatefulSet"


def test_readiness_is_none_without_status():
    assert deployment([GPU_CONTAINER]).readiness is None


def test_readiness_compares_ready_replicas_with_desired():
    assert (
        deployment([GPU_CONTAINER], replicas=2, status={"readyReplicas": 1}).readiness.ready
        is False
    )
    assert deployment([GPU_CONTAINER], replicas=2, status={"readyReplicas": 2}).readiness.ready


def test_kueue_queue_alone_is_not_a_gang_but_a_pod_group_is():
    queue = {"labels": {"kueue.x-k8s.io/queue-name": "q"}}
    group = {
        "labels": {"kueue.x-k8s.io/pod-group-name": "g"},
        "annotations": {"kueue.x-k8s.io/pod-group-total-count": "2"},
    }
    assert deployment([GPU_CONTAINER], template_meta=queue).gang_mechanisms == ()
    assert deployment([GPU_CONTAINER], template_meta=group).gang_mechanisms == ("kueue",)


def test_probes_ports_and_required_affinity_are_read():
    container = {
        **GPU_CONTAINER,
        "ports": [{"containerPort": 8000, "name": "http"}],
        "readinessProbe": {"httpGet": {"path": "/v1/models", "port": "http"}, "periodSeconds": 5},
        "startupProbe": {
            "httpGet": {"path": "/v1/models", "port": "http"},
            "failureThreshold": 60,
            "initialDelaySeconds": 15,
        },
    }
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [container],
                    "affinity": {
                        "nodeAffinity": {
                            "requiredDuringSchedulingIgnoredDuringExecution": {
                                "nodeSelectorTerms": [
                                    {
                                        "matchExpressions": [
                                            {"key": "nvidia.com/gpu.present", "operator": "Exists"}
                                        ]
                                    }
                                ]
                            }
                        }
                    },
                }
            }
        },
    }
    workload = adapt_object(body, PARAMS)
    parsed = workload.pod_templates[0].containers[0]
    assert parsed.ports[0].name == "http"
    assert parsed.readiness_probe.path == "/v1/models" and parsed.readiness_probe.port == "http"
    assert parsed.startup_probe.budget_seconds == 15 + 60 * 10
    assert workload.pod_templates[0].required_node_terms[0][0].operator == "Exists"
