"""KubeRay RayService adapter: head and worker groups, serveConfigV2 autoscaling, gangs."""

from conformance.adapters import adapt_object
from conformance.parameters import Parameters

PARAMS = Parameters()
POD = {"spec": {"containers": [{"name": "ray", "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}}
SERVE = """
applications:
  - name: llm
    import_path: ray.serve.llm:build_openai_app
    args:
      llm_configs:
        - deployment_config:
            autoscaling_config:
              min_replicas: 1
              max_replicas: 4
              target_ongoing_requests: 16
"""


def rayservice(spec=None, labels=None, status=None, cluster=None):
    body = {
        "apiVersion": "ray.io/v1",
        "kind": "RayService",
        "metadata": {"name": "llm", "labels": labels or {}},
        "spec": {
            "rayClusterConfig": cluster
            or {
                "headGroupSpec": {"template": POD},
                "workerGroupSpecs": [{"groupName": "gpu", "replicas": 2, "template": POD}],
            },
            **(spec or {}),
        },
    }
    if status is not None:
        body["status"] = status
    return adapt_object(body, PARAMS)


def test_head_serves_traffic_and_workers_do_not():
    head, worker = rayservice().pod_templates
    assert (head.role, head.serves_traffic) == ("head", True)
    assert (worker.role, worker.pods_per_replica, worker.serves_traffic) == (
        "worker-group gpu",
        2,
        False,
    )
    assert worker.path == "spec.rayClusterConfig.workerGroupSpecs[0].template"


def test_multi_host_worker_group_sets_the_group_size():
    workload = rayservice(
        cluster={
            "headGroupSpec": {"template": POD},
            "workerGroupSpecs": [
                {"groupName": "tpu", "replicas": 1, "numOfHosts": 4, "template": POD}
            ],
        }
    )
    assert workload.group_size == 4
    assert workload.pod_templates[1].pods_per_replica == 4


def test_serve_autoscaling_config_is_an_inline_ray_autoscaler():
    autoscaler = rayservice({"serveConfigV2": SERVE}).autoscaler
    assert autoscaler.mechanism == "ray"
    assert (autoscaler.minimum, autoscaler.maximum) == (1, 4)
    assert autoscaler.metrics == ("target_ongoing_requests",)


def test_malformed_serve_config_is_an_error_not_a_crash():
    workload = rayservice({"serveConfigV2": "applications: [unclosed"})
    assert any(e.startswith("spec.serveConfigV2 is not valid YAML") for e in workload.errors)
    assert workload.autoscaler is None


def test_in_tree_autoscaling_without_serve_autoscaling_uses_worker_bounds():
    workload = rayservice(
        cluster={
            "enableInTreeAutoscaling": True,
            "headGroupSpec": {"template": POD},
            "workerGroupSpecs": [{"minReplicas": 1, "maxReplicas": 5, "template": POD}],
        }
    )
    assert (workload.autoscaler.minimum, workload.autoscaler.maximum) == (1, 5)


def test_the_serve_service_is_managed():
    assert rayservice().managed_services == ("llm-serve-svc",)


def test_queue_labels_and_managed_by_kueue_are_gangs():
    assert rayservice(labels={"volcano.sh/queue-name": "q"}).gang_mechanisms == ("volcano",)
    assert rayservice(labels={"scheduling.x-k8s.io/pod-group": "g"}).gang_mechanisms == (
        "scheduler-plugins",
    )
    assert rayservice({"managedBy": "kueue.x-k8s.io/multikueue"}).gang_mechanisms == ("kueue",)


def test_readiness_comes_from_the_ready_condition():
    workload = rayservice(
        status={
            "conditions": [{"type": "Ready", "status": "False", "reason": "ZeroServeEndpoints"}]
        }
    )
    assert workload.readiness.ready is False and workload.readiness.reason == "ZeroServeEndpoints"


def test_a_serve_config_whose_aliases_share_one_node_a_billion_times_is_read_once():
    from conformance.adapters import adapt_object
    from conformance.parameters import Parameters

    lines = ["a: &a {autoscaling_config: {min_replicas: 1, max_replicas: 4}}"]
    for previous, name in zip("abcdefghi", "bcdefghij", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 10) + "]")
    lines.append("applications: [*j]")  # 10^9 paths to one autoscaling_config
    body = {
        "apiVersion": "ray.io/v1", "kind": "RayService", "metadata": {"name": "r", "namespace": "d"},
        "spec": {"serveConfigV2": "\n".join(lines), "rayClusterConfig": {"headGroupSpec": {
            "template": {"spec": {"containers": [{"name": "head", "image": "rayproject/ray"}]}}}}},
    }
    workload = adapt_object(body, Parameters())  # returns at once instead of walking 10^9 paths
    assert workload is not None
