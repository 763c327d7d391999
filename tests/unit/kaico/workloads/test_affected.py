"""A related object's change re-evaluates only the workloads it can affect."""

from kaico.workloads.affected import affected_workloads
from kaico.workloads.object_facts import facts_of

from conformance.accelerators import workload_asks
from conformance.parameters import Parameters
from conformance.workload import Container, PodTemplate, ScaleTargetRef, ServingWorkload


def workload(name: str, namespace: str = "ml", gpu: bool = True, **fields) -> ServingWorkload:
    limits = {"nvidia.com/gpu": "1"} if gpu else {}
    template = PodTemplate(role="pod", containers=(Container("c", limits=limits, requests=limits),),
                           labels={"app": name})
    return ServingWorkload("apps/v1", "Deployment", name, namespace, pod_templates=(template,),
                           scale_targets=(ScaleTargetRef("Deployment", name, "apps"),), **fields)


WORKLOADS = [workload("a"), workload("b"), workload("c", namespace="other"), workload("cpu", gpu=False)]


def asks(w: ServingWorkload) -> bool:
    return workload_asks(w, Parameters())


def affected(body: dict) -> set[str]:
    facts, _ = facts_of(body)
    return {key[2] for key in affected_workloads(facts, WORKLOADS, asks)}


def test_an_hpa_affects_only_its_scale_target():
    hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
           "metadata": {"name": "h", "namespace": "ml"},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "b"},
                    "maxReplicas": 3}}
    assert affected(hpa) == {"b"}


def test_a_node_affects_the_workloads_that_ask_for_accelerators():
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "gpu-0"},
            "status": {"allocatable": {"nvidia.com/gpu": "8"}}}
    assert affected(node) == {"a", "b", "c"}


def test_a_service_or_pdb_affects_the_workloads_of_its_namespace():
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "other"},
               "spec": {"selector": {"app": "c"}}}
    pdb = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
           "metadata": {"name": "p", "namespace": "ml"}, "spec": {"selector": {"matchLabels": {}}}}
    assert affected(service) == {"c"}
    assert affected(pdb) == {"a", "b", "cpu"}


def test_a_runtime_class_affects_the_workloads_naming_it():
    named = ServingWorkload("apps/v1", "Deployment", "rc", "ml",
                            pod_templates=(PodTemplate(role="pod", runtime_class_name="nvidia"),))
    facts, _ = facts_of({"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass",
                         "metadata": {"name": "nvidia"}, "handler": "nvidia"})
    assert {k[2] for k in affected_workloads(facts, [*WORKLOADS, named], asks)} == {"rc"}
