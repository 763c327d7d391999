"""LeaderWorkerSet adapter: leader and worker templates, group size and gang mechanisms."""

from conformance.adapters import adapt_object
from conformance.parameters import Parameters

PARAMS = Parameters()
POD = {"spec": {"containers": [{"name": "vllm", "resources": {"limits": {"nvidia.com/gpu": "8"}}}]}}


def lws(group, labels=None, replicas=None, status=None):
    spec = {"leaderWorkerTemplate": group}
    if replicas is not None:
        spec["replicas"] = replicas
    body = {
        "apiVersion": "leaderworkerset.x-k8s.io/v1",
        "kind": "LeaderWorkerSet",
        "metadata": {"name": "vllm", "labels": labels or {}},
        "spec": spec,
    }
    if status is not None:
        body["status"] = status
    return adapt_object(body, PARAMS)


def test_leader_runs_one_pod_and_workers_the_rest_of_the_group():
    workload = lws({"size": 4, "leaderTemplate": POD, "workerTemplate": POD}, replicas=2)
    leader, worker = workload.pod_templates
    assert workload.group_size == 4
    assert workload.replicas.fixed == 2
    assert (leader.role, leader.pods_per_replica, leader.serves_traffic) == ("leader", 1, True)
    assert (worker.role, worker.pods_per_replica, worker.serves_traffic) == ("worker", 3, False)
    assert leader.path == "spec.leaderWorkerTemplate.leaderTemplate"


def test_without_leader_template_the_leader_runs_the_worker_template():
    leader, _ = lws({"size": 2, "workerTemplate": POD}).pod_templates
    assert leader.path == "spec.leaderWorkerTemplate.workerTemplate"
    assert leader.containers[0].name == "vllm"


def test_size_and_replicas_default_to_one():
    workload = lws({"workerTemplate": POD})
    assert workload.group_size == 1
    assert workload.replicas.fixed == 1
    assert [t.role for t in workload.pod_templates] == ["leader"]


def test_pods_carry_the_lws_name_label():
    for template in lws({"size": 2, "workerTemplate": POD}).pod_templates:
        assert template.labels["leaderworkerset.sigs.k8s.io/name"] == "vllm"


def test_the_lws_is_its_own_scale_target():
    target = lws({"workerTemplate": POD}).scale_targets[0]
    assert (target.kind, target.name) == ("LeaderWorkerSet", "vllm")


def test_kueue_queue_label_on_the_lws_is_a_gang():
    workload = lws({"size": 2, "workerTemplate": POD}, labels={"kueue.x-k8s.io/queue-name": "q"})
    assert workload.gang_mechanisms == ("kueue",)


def test_volcano_kai_and_native_gangs_are_read_from_the_pod_spec():
    volcano = {"spec": {"schedulerName": "volcano", "containers": [{"name": "c"}]}}
    kai = {
        "metadata": {"labels": {"kai.scheduler/queue": "q"}},
        "spec": {"containers": [{"name": "c"}]},
    }
    native = {"spec": {"schedulingGroup": {"podGroupName": "g"}, "containers": [{"name": "c"}]}}
    assert lws({"size": 2, "workerTemplate": volcano}).gang_mechanisms == ("volcano",)
    assert lws({"size": 2, "workerTemplate": kai}).gang_mechanisms == ("kai",)
    assert lws({"size": 2, "workerTemplate": native}).gang_mechanisms == ("native",)


def test_no_gang_is_declared_by_default():
    assert lws({"size": 2, "workerTemplate": POD}).gang_mechanisms == ()


def test_readiness_comes_from_the_available_condition():
    workload = lws(
        {"workerTemplate": POD}, status={"conditions": [{"type": "Available", "status": "True"}]}
    )
    assert workload.readiness.ready


def test_missing_worker_template_is_an_error():
    assert "spec.leaderWorkerTemplate.workerTemplate is missing" in lws({"size": 2}).errors
