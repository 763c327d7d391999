"""Engine throughput and CLI wall time, reported as ratios against baselines from the same run.

Run with ``make bench``. Nothing here asserts a timing; it prints measurements (the engine's
in CPU seconds of the one core it is pinned to):

1. Engine throughput on N synthetic workloads of mixed kinds (default 10,000) with the
   default profile, on one core: adapt, build facts, evaluate. The baseline is a
   ``copy.deepcopy`` of every body (the cost of merely touching the same data), so the ratio
   says how many deep copies one evaluation costs. With ``--no-clones`` it runs again with
   every workload's image its own, so no two pod templates are equal and the memo of
   findings (``conformance.scope``) finds little to reuse.
2. Cluster-size sweep: the same first workloads (default 600) evaluated against clusters of
   12, 60, 200 and 600 nodes (the same four node classes, each node with its own hostname
   label, as real nodes have), printing evaluations/s and the ratio to the 12-node run. A
   per-workload cost that does not depend on the cluster keeps every ratio near 1.
3. Wall time of ``kaico check`` over ``$KAICO_SHARED/samples`` as a whole process, against
   ``python -c "import yaml, pydantic"`` (interpreter and dependency start-up) as baseline.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import gc
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "operator")]

from conformance.adapters import adapt_object  # noqa: E402
from conformance.engine import evaluate, shared_findings_emptied  # noqa: E402
from conformance.facts_builder import facts_from_objects  # noqa: E402
from conformance.profile import builtin_profile  # noqa: E402


def pin_to_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def container(name: str, gpus: int, port: int = 8000) -> dict:
    body = {
        "name": name,
        "image": "vllm/vllm-openai:v0.11.0",
        "ports": [{"name": "http", "containerPort": port}],
        "resources": {"limits": {"nvidia.com/gpu": str(gpus), "memory": "40Gi"}},
        "readinessProbe": {"httpGet": {"path": "/v1/models", "port": "http"}},
        "startupProbe": {"httpGet": {"path": "/v1/models", "port": "http"},
                         "failureThreshold": 60, "periodSeconds": 10},
    }
    if gpus == 0:
        del body["resources"]["limits"]["nvidia.com/gpu"]
    return body


def pod_spec(name: str, gpus: int) -> dict:
    return {
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "containers": [container(name, gpus)],
    }


def synthetic_workload(index: int) -> dict:
    """One of six kinds, round-robin, each in one of 100 namespaces."""
    namespace = f"team-{index % 100}"
    name = f"model-{index}"
    labels = {"app": name}
    metadata = {"name": name, "namespace": namespace, "labels": labels, "uid": f"uid-{index}"}
    kind = index % 6
    if kind == 0:
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata,
                "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                         "template": {"metadata": {"labels": labels},
                                      "spec": pod_spec("vllm", 1)}}}
    if kind == 1:
        return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
                "metadata": metadata,
                "spec": {"predictor": {"minReplicas": 1, "maxReplicas": 4,
                                       "model": {"modelFormat": {"name": "huggingface"},
                                                 **container("kserve-container", 1)}}}}
    if kind == 2:
        return {"apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet",
                "metadata": metadata,
                "spec": {"replicas": 1, "leaderWorkerTemplate": {
                    "size": 2,
                    "leaderTemplate": {"metadata": {"labels": labels},
                                       "spec": pod_spec("leader", 8)},
                    "workerTemplate": {"spec": pod_spec("worker", 8)}}}}
    if kind == 3:
        return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": metadata,
                "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                         "template": {"metadata": {"labels": labels},
                                      "spec": pod_spec("tgi", 2)}}}
    if kind == 4:
        return {"apiVersion": "apps.nvidia.com/v1alpha1", "kind": "NIMService",
                "metadata": metadata,
                "spec": {"image": {"repository": "nvcr.io/nim/meta/llama3", "tag": "1"},
                         "resources": {"limits": {"nvidia.com/gpu": "1"}},
                         "expose": {"service": {"type": "ClusterIP", "port": 8000}},
                         "replicas": 1}}
    return {"apiVersion": "production-stack.vllm.ai/v1alpha1", "kind": "VLLMRuntime",
            "metadata": metadata,
            "spec": {"model": {"modelURL": "meta-llama/Llama-3.1-8B-Instruct"},
                     "vllmConfig": {"port": 8000},
                     "deploymentConfig": {"replicas": 1, "resources": {"gpu": "1"}},
                     "autoscalingConfig": {"enabled": True, "maxReplicas": 3}}}


def with_own_image(body: dict, index: int) -> dict:
    """``body`` with every container image (and NIM image tag, VLLMRuntime model) made its
    own, so no two workloads share a pod template: the corpus without clones."""
    def visit(value):
        if isinstance(value, dict):
            out = {key: visit(item) for key, item in value.items()}
            for key in ("image", "tag", "modelURL"):
                if isinstance(out.get(key), str):
                    out[key] = f"{out[key]}-{index}"
            return out
        if isinstance(value, list):
            return [visit(item) for item in value]
        return value
    body = visit(body)
    deployment = body["spec"].get("deploymentConfig")
    if isinstance(deployment, dict):  # VLLMRuntime: the image is optional; name one
        deployment["image"] = {"registry": "docker.io", "name": f"vllm/vllm-openai-{index}"}
    return body


def gpu_node(n: int) -> dict:
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": f"gpu-{n}", "labels": {"nvidia.com/gpu.present": "true"}},
        "spec": {"taints": [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}]},
        "status": {"allocatable": {"nvidia.com/gpu": "8"}},
    }


def mixed_node(n: int) -> dict:
    """One of four node classes, round-robin: 8-GPU and 4-GPU tainted nodes of two products,
    an untainted 1-GPU node, and a CPU node. Every node has its own hostname and zone labels."""
    kind = n % 4
    labels = {"kubernetes.io/hostname": f"node-{n}", "topology.kubernetes.io/zone": f"z{n % 3}"}
    taints: list[dict] = []
    allocatable = {"cpu": "64", "memory": "512Gi"}
    if kind < 3:
        labels["nvidia.com/gpu.present"] = "true"
        products = ("NVIDIA-H100-80GB-HBM3", "NVIDIA-L40S", "NVIDIA-L4")
        labels["nvidia.com/gpu.product"] = products[kind]
        allocatable["nvidia.com/gpu"] = ("8", "4", "1")[kind]
        if kind < 2:
            taints.append({"key": "nvidia.com/gpu", "effect": "NoSchedule"})
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": f"node-{n}", "labels": labels},
        "spec": {"taints": taints},
        "status": {"allocatable": allocatable},
    }


def synthetic_facts_objects(count: int, nodes: list[dict] | None = None) -> list[dict]:
    """Nodes (``count // 50`` GPU nodes unless given), plus an HPA, a Service and a PDB for
    every second workload."""
    objects: list[dict] = list(nodes) if nodes is not None else [
        gpu_node(n) for n in range(max(count // 50, 4))
    ]
    for index in range(0, count, 2):
        namespace, name = f"team-{index % 100}", f"model-{index}"
        objects.append({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "name": name},
                     "minReplicas": 1, "maxReplicas": 3,
                     "metrics": [{"type": "Pods", "pods": {
                         "metric": {"name": "vllm:num_requests_waiting"},
                         "target": {"type": "AverageValue", "averageValue": "5"}}}]},
        })
        objects.append({
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80}]},
        })
        objects.append({
            "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": name}}},
        })
    return objects


def timed(function):
    """CPU seconds of this process running ``function``: the engine runs on one core, and CPU
    time is what it costs even when other processes share the machine (wall time is not)."""
    start = time.process_time()
    result = function()
    return time.process_time() - start, result


class CollectorTime:
    """CPU seconds the cyclic garbage collector ran while the context was open."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            self.seconds += time.process_time() - self._started

    def __enter__(self) -> CollectorTime:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc_info) -> None:
        gc.callbacks.remove(self._callback)


def bench_engine(count: int, distinct: bool = False) -> None:
    profile = builtin_profile()
    params = profile.parameters
    now = datetime.now(UTC)
    bodies = [synthetic_workload(i) for i in range(count)]
    if distinct:
        bodies = [with_own_image(body, i) for i, body in enumerate(bodies)]
    facts_bodies = synthetic_facts_objects(count)

    baseline_s, _ = timed(lambda: [copy.deepcopy(b) for b in bodies])
    adapt_s, workloads = timed(lambda: [adapt_object(b, params) for b in bodies])
    workloads = [w for w in workloads if w is not None]
    facts_s, facts = timed(lambda: facts_from_objects([*bodies, *facts_bodies], params))
    emptied = shared_findings_emptied()
    with CollectorTime() as collector:
        evaluate_s, reports = timed(lambda: [evaluate(w, facts, profile, now) for w in workloads])
    emptied = shared_findings_emptied() - emptied
    total_s = adapt_s + facts_s + evaluate_s

    print(f"engine: {count} synthetic workloads (6 kinds"
          f"{', each with its own image: no clones' if distinct else ''}), "
          f"{len(facts_bodies)} fact objects, "
          f"default profile ({len(profile.severities)} checks), CPU time on one core")
    print(f"  baseline deepcopy of the bodies : {baseline_s:8.3f} s")
    print(f"  adapt                           : {adapt_s:8.3f} s  "
          f"({adapt_s / baseline_s:5.2f} x baseline)")
    print(f"  facts                           : {facts_s:8.3f} s  "
          f"({facts_s / baseline_s:5.2f} x baseline)")
    print(f"  evaluate                        : {evaluate_s:8.3f} s  "
          f"({evaluate_s / baseline_s:5.2f} x baseline; of which the cyclic garbage collector "
          f"{collector.seconds:.3f} s)")
    print(f"  whole pipeline                  : {total_s:8.3f} s  "
          f"({total_s / baseline_s:5.2f} x baseline)")
    print(f"  throughput                      : {len(reports) / total_s:8.0f} evaluations/s "
          f"(evaluate alone: {len(reports) / evaluate_s:.0f}/s)")
    print(f"  shared findings table emptied   : {emptied:8d} times while evaluating")


def bench_cluster_sweep(count: int, node_counts: list[int]) -> None:
    profile = builtin_profile()
    params = profile.parameters
    now = datetime.now(UTC)
    bodies = [synthetic_workload(i) for i in range(count)]
    workloads = [w for w in (adapt_object(b, params) for b in bodies) if w is not None]
    print(f"engine vs cluster size: the same {len(workloads)} workloads, nodes of 4 classes, "
          "evaluate only, CPU time (best of 3)")
    reference = None
    for nodes in node_counts:
        facts = facts_from_objects(
            [*bodies, *synthetic_facts_objects(count, [mixed_node(n) for n in range(nodes)])],
            params,
        )
        best = float("inf")
        for _ in range(3):
            # A fresh facts value each round, so nothing memoised on it carries over.
            fresh = dataclasses.replace(facts)
            seconds, _ = timed(lambda f=fresh: [evaluate(w, f, profile, now) for w in workloads])
            best = min(best, seconds)
        rate = len(workloads) / best
        reference = reference or rate
        print(f"  {nodes:4d} nodes : {rate:8.0f} evaluations/s  "
              f"({reference / rate:4.2f} x the 12-node cost per evaluation)")


def bench_cli(samples: Path, repeat: int) -> None:
    kaico = [sys.executable, "-m", "kaico", "check", "-f", str(samples), "-o", "json"]
    baseline = [sys.executable, "-c", "import yaml, pydantic"]
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'operator'}"}

    def best_of(command):
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=False)
            best = min(best, time.perf_counter() - start)
        return best

    base = best_of(baseline)
    check = best_of(kaico)
    print(f"cli: kaico check -f {samples} (best of {repeat})")
    print(f"  baseline python start-up + imports : {base:6.3f} s")
    print(f"  kaico check                        : {check:6.3f} s  ({check / base:5.2f} x baseline)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sweep-workloads", type=int, default=600)
    parser.add_argument("--sweep-nodes", default="12,60,200,600",
                        help="comma-separated node counts; the first is the reference")
    parser.add_argument("--skip-cli", action="store_true", help="engine figures only")
    parser.add_argument("--no-clones", action="store_true",
                        help="also run the engine figures with every workload's image its own")
    args = parser.parse_args()
    pin_to_one_core()
    bench_engine(args.workloads)
    if args.no_clones:
        bench_engine(args.workloads, distinct=True)
    bench_cluster_sweep(args.sweep_workloads, [int(n) for n in args.sweep_nodes.split(",")])
    if args.skip_cli:
        return
    shared = Path(os.environ.get("KAICO_SHARED") or REPO.parent / "shared")
    if (shared / "samples").is_dir():
        bench_cli(shared / "samples", args.repeat)
    else:
        print(f"cli: skipped, no samples at {shared / 'samples'} (set KAICO_SHARED)")


if __name__ == "__main__":
    main()
