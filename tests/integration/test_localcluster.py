"""The local control plane behaves like a real cluster where kaico depends on it: stamped version,
GPU nodes the real scheduler uses, controllers (Deployments, GC, namespaces, HPA, service-account
tokens), RBAC and the default admission plugins."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kaico_dev.localcluster import GpuNodeSpec, LocalCluster, tool_versions


def get(cluster: LocalCluster, *args: str) -> Any:
    return json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)


def eventually(check: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.25)


def gpu_deployment(name: str, ns: str, gpus: int, resource: str = "nvidia.com/gpu",
                   tolerate: bool = True) -> dict[str, Any]:
    pod_spec: dict[str, Any] = {
        "containers": [{
            "name": "server", "image": "vllm/vllm-openai:v0.11.0",
            "resources": {"limits": {resource: str(gpus)}, "requests": {resource: str(gpus)}},
            "readinessProbe": {"httpGet": {"path": "/health", "port": 8000}},
        }],
    }
    if tolerate:
        pod_spec["tolerations"] = [{"key": resource, "operator": "Exists", "effect": "NoSchedule"}]
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec}},
    }


def pods_of(cluster: LocalCluster, ns: str, app: str) -> list[dict[str, Any]]:
    return list(get(cluster, "pods", "-n", ns, "-l", f"app={app}")["items"])


def condition(obj: dict[str, Any], ctype: str) -> dict[str, Any] | None:
    for c in obj.get("status", {}).get("conditions", []):
        if c["type"] == ctype:
            return dict(c)
    return None


def test_version_is_the_built_release(local_cluster: LocalCluster) -> None:
    want = tool_versions()["k8s"]
    assert local_cluster.server_version()["gitVersion"] == want
    out = json.loads(local_cluster.kubectl("version", "-o", "json").stdout)
    assert out["serverVersion"]["gitVersion"] == want
    assert out["clientVersion"]["gitVersion"] == want, "tests should use the matching kubectl"


def test_gpu_nodes_look_like_gfd_labelled_nodes(local_cluster: LocalCluster) -> None:
    node = get(local_cluster, "node", "kwok-gpu-0")
    labels = node["metadata"]["labels"]
    assert labels["nvidia.com/gpu.present"] == "true"
    assert labels["nvidia.com/gpu.count"] == "8"
    assert labels["nvidia.com/gpu.product"] == "NVIDIA-H100-80GB-HBM3"
    assert {"key": "nvidia.com/gpu", "effect": "NoSchedule"} in node["spec"]["taints"]
    assert node["status"]["capacity"]["nvidia.com/gpu"] == "8"
    assert node["status"]["allocatable"]["nvidia.com/gpu"] == "8"
    assert condition(node, "Ready")["status"] == "True"  # type: ignore[index]
    cpu = get(local_cluster, "node", "kwok-cpu-0")
    assert "nvidia.com/gpu" not in cpu["status"]["allocatable"]
    assert not cpu["spec"].get("taints")


def test_gpu_deployment_is_scheduled_and_becomes_ready(local_cluster: LocalCluster,
                                                       namespace: str) -> None:
    local_cluster.apply([gpu_deployment("one-gpu", namespace, gpus=1)])
    local_cluster.kubectl("wait", "-n", namespace, "deployment/one-gpu",
                          "--for=condition=Available", "--timeout=60s")
    (pod,) = pods_of(local_cluster, namespace, "one-gpu")
    assert pod["spec"]["nodeName"].startswith("kwok-gpu-"), "the scheduler placed it on a GPU node"
    assert pod["status"]["phase"] == "Running"
    assert condition(pod, "Ready")["status"] == "True"  # type: ignore[index]
    assert condition(pod, "PodScheduled")["status"] == "True"  # type: ignore[index]
    assert pod["status"]["containerStatuses"][0]["ready"] is True
    assert pod["status"]["podIP"]

    # What the node lifecycle controller does to every pod of a node whose lease lapsed (an API
    # server outage): Ready turns False. The simulated kubelet reports it ready again, as a real
    # one does once it is back in touch; otherwise the Deployment would stay unavailable for good.
    name = pod["metadata"]["name"]
    local_cluster.kubectl("patch", "pod", name, "-n", namespace, "--subresource=status", "--type=strategic",
                          "-p", json.dumps({"status": {"conditions": [
                              {"type": "Ready", "status": "False", "reason": "NodeNotReady"}]}}))
    eventually(lambda: condition(get(local_cluster, "pod", name, "-n", namespace), "Ready")["status"] == "True",  # type: ignore[index]
               what="the pod to be ready again")
    local_cluster.kubectl("wait", "-n", namespace, "deployment/one-gpu",
                          "--for=condition=Available", "--timeout=30s")


def test_more_gpus_than_any_node_stays_pending_unschedulable(local_cluster: LocalCluster,
                                                             namespace: str) -> None:
    local_cluster.apply([gpu_deployment("too-big", namespace, gpus=9)])

    def unschedulable() -> dict[str, Any] | None:
        pods = pods_of(local_cluster, namespace, "too-big")
        if not pods:
            return None
        cond = condition(pods[0], "PodScheduled")
        return pods[0] if cond and cond["reason"] == "Unschedulable" else None

    pod = eventually(unschedulable, what="PodScheduled=False/Unschedulable")
    cond = condition(pod, "PodScheduled")
    assert cond and cond["status"] == "False"
    assert "Insufficient nvidia.com/gpu" in cond["message"]
    assert pod["status"]["phase"] == "Pending"
    assert not pod["spec"].get("nodeName")


def test_gpu_request_without_toleration_is_unschedulable(local_cluster: LocalCluster,
                                                         namespace: str) -> None:
    local_cluster.apply([gpu_deployment("no-toleration", namespace, gpus=1, tolerate=False)])

    def message() -> str | None:
        pods = pods_of(local_cluster, namespace, "no-toleration")
        cond = condition(pods[0], "PodScheduled") if pods else None
        return cond["message"] if cond and cond.get("reason") == "Unschedulable" else None

    msg = eventually(message, what="Unschedulable")
    assert "untolerated taint" in msg and "nvidia.com/gpu" in msg


def test_other_gpu_vendors_are_configurable(local_cluster: LocalCluster, namespace: str) -> None:
    spec = GpuNodeSpec("kwok-amd-0", gpus=4, resource="amd.com/gpu", product="AMD-Instinct-MI300X",
                       gpu_memory_mib=None)
    if not local_cluster.request("GET", "/api/v1/nodes/kwok-amd-0")[0] == 200:
        local_cluster.add_nodes([spec])
    node = get(local_cluster, "node", "kwok-amd-0")
    assert node["metadata"]["labels"]["amd.com/gpu.product"] == "AMD-Instinct-MI300X"
    assert node["status"]["allocatable"]["amd.com/gpu"] == "4"
    local_cluster.apply([gpu_deployment("amd", namespace, gpus=2, resource="amd.com/gpu")])
    local_cluster.kubectl("wait", "-n", namespace, "deployment/amd", "--for=condition=Available",
                          "--timeout=60s")
    (pod,) = pods_of(local_cluster, namespace, "amd")
    assert pod["spec"]["nodeName"] == "kwok-amd-0"


def test_garbage_collector_deletes_owned_objects(local_cluster: LocalCluster, namespace: str) -> None:
    local_cluster.apply([gpu_deployment("gc", namespace, gpus=1)])
    local_cluster.kubectl("wait", "-n", namespace, "deployment/gc", "--for=condition=Available",
                          "--timeout=60s")
    assert get(local_cluster, "replicasets", "-n", namespace, "-l", "app=gc")["items"]
    local_cluster.kubectl("delete", "-n", namespace, "deployment/gc", "--wait=false")
    eventually(lambda: not get(local_cluster, "replicasets,pods", "-n", namespace, "-l",
                               "app=gc")["items"], what="ReplicaSet and Pod garbage-collected")


def test_namespace_deletion_completes(local_cluster: LocalCluster) -> None:
    local_cluster.create_namespace("doomed")
    local_cluster.apply([gpu_deployment("x", "doomed", gpus=1)])
    local_cluster.kubectl("delete", "namespace", "doomed", "--timeout=60s")
    assert local_cluster.request("GET", "/api/v1/namespaces/doomed")[0] == 404


def test_rbac_is_enforced_for_service_account_tokens(local_cluster: LocalCluster,
                                                     namespace: str, tmp_path: Path) -> None:
    # A TokenRequest needs the service-account signing key; the token must then authenticate
    # and be denied by RBAC, proving authorization is not AlwaysAllow.
    token = local_cluster.kubectl("create", "token", "default", "-n", namespace).stdout.strip()
    as_sa = local_cluster.write_kubeconfig(tmp_path / "sa.kubeconfig", token=token)
    denied = local_cluster.kubectl("get", "secrets", "-n", namespace, check=False, kubeconfig=as_sa)
    assert denied.returncode != 0
    assert f"system:serviceaccount:{namespace}:default" in denied.stderr
    assert "forbidden" in denied.stderr.lower()
    local_cluster.kubectl("create", "rolebinding", "view", "--clusterrole=view", "-n", namespace,
                          f"--serviceaccount={namespace}:default")
    eventually(lambda: local_cluster.kubectl("get", "pods", "-n", namespace, check=False,
                                             kubeconfig=as_sa).returncode == 0,
               what="RoleBinding to take effect")


def test_default_admission_plugins_are_on(local_cluster: LocalCluster, namespace: str) -> None:
    local_cluster.apply([gpu_deployment("admitted", namespace, gpus=1)])
    pod = eventually(lambda: (pods_of(local_cluster, namespace, "admitted") or [None])[0],
                     what="pod created")
    keys = {t["key"] for t in pod["spec"]["tolerations"]}
    # DefaultTolerationSeconds and the ServiceAccount plugin mutate every pod.
    assert {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"} <= keys
    assert pod["spec"]["serviceAccountName"] == "default"
    assert any(v["name"].startswith("kube-api-access-") for v in pod["spec"]["volumes"])


def test_hpa_controller_reconciles(local_cluster: LocalCluster, namespace: str) -> None:
    local_cluster.apply([gpu_deployment("scaled", namespace, gpus=1)])
    local_cluster.apply([{
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "scaled", "namespace": namespace},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "scaled"},
                 "minReplicas": 1, "maxReplicas": 3,
                 "metrics": [{"type": "Resource", "resource": {
                     "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]},
    }])
    # No metrics API here, so the controller reports that it cannot fetch metrics: proof it runs.
    hpa = eventually(lambda: (lambda h: h if condition(h, "AbleToScale") else None)(
        get(local_cluster, "hpa", "scaled", "-n", namespace)), timeout=45,
        what="HPA status from the controller")
    assert condition(hpa, "AbleToScale")["status"] == "True"  # type: ignore[index]


def test_component_logs_are_kept(local_cluster: LocalCluster) -> None:
    tail = local_cluster.tail_logs(5)
    for name in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"):
        assert f"----- {name} " in tail
        assert (local_cluster.log_dir / f"{name}.log").stat().st_size > 0
    assert set(local_cluster.timings.phases) >= {"etcd", "kube-apiserver", "total"}
