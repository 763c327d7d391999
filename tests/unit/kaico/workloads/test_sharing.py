"""Equal containers and tolerations of different targets are one object; the workloads stay
equal to what the adapter built, and each stays its own object."""

from __future__ import annotations

import gc

from kaico.workloads.sharing import WorkloadSharing

from conformance.adapters import adapt_object
from conformance.parameters import Parameters


def deployment(name: str, image: str = "vllm/vllm-openai:v0.11.0") -> dict:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "ml", "uid": f"uid-{name}", "labels": labels},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
                "metadata": {"labels": labels},
                "spec": {"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}],
                         "containers": [{"name": "vllm", "image": image,
                                         "resources": {"limits": {"nvidia.com/gpu": "1"}},
                                         "readinessProbe": {"httpGet": {"path": "/health", "port": 8000}}}]}}}}


def test_equal_containers_and_tolerations_are_shared_and_the_workloads_unchanged():
    sharing = WorkloadSharing()
    adapted = [adapt_object(deployment(name), Parameters()) for name in ("a", "b")]
    other = adapt_object(deployment("c", image="vllm/vllm-openai:v0.12.0"), Parameters())
    shared = [sharing.share(w) for w in (*adapted, other)]
    assert shared[:2] == adapted and shared[2] == other
    a, b, c = (w.pod_templates[0] for w in shared)
    assert a.containers[0] is b.containers[0] and a.tolerations[0] is b.tolerations[0]
    assert c.containers[0] is not a.containers[0] and c.containers[0] == other.pod_templates[0].containers[0]
    assert c.tolerations[0] is a.tolerations[0]
    assert a is not b and shared[0] is not shared[1]  # the template names its target: not shared
    # A copy no workload uses any more goes away.
    del shared, a, b, c, other
    gc.collect()
    assert len(sharing) == 2  # the adapted list still holds one container and one toleration
    del adapted
    gc.collect()
    assert len(sharing) == 0
