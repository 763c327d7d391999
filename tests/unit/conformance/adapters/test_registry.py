"""adapt_object: which bodies are serving targets, and how odd bodies are answered."""

from conformance.adapters import adapt_object, served_kinds
from conformance.parameters import Parameters

PARAMS = Parameters()


def test_every_kind_of_the_brief_is_served():
    assert {
        ("serving.kserve.io", "InferenceService"),
        ("serving.kserve.io", "LLMInferenceService"),
        ("leaderworkerset.x-k8s.io", "LeaderWorkerSet"),
        ("ray.io", "RayService"),
        ("apps.nvidia.com", "NIMService"),
        ("production-stack.vllm.ai", "VLLMRuntime"),
        ("apps", "Deployment"),
        ("apps", "StatefulSet"),
    } <= set(served_kinds())


def test_a_service_is_not_a_serving_target():
    assert (
        adapt_object({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}, PARAMS)
        is None
    )


def test_a_body_that_is_not_a_mapping_is_not_a_target():
    for body in (None, [], "InferenceService", 3):
        assert adapt_object(body, PARAMS) is None


def test_a_known_kind_with_a_non_mapping_metadata_is_a_workload_with_errors():
    workload = adapt_object(
        {"apiVersion": "ray.io/v1", "kind": "RayService", "metadata": []}, PARAMS
    )
    assert "metadata must be a mapping, got list" in workload.errors
    assert "metadata.name is missing" in workload.errors


def test_identity_fields_are_copied_and_namespace_may_be_absent():
    workload = adapt_object(
        {
            "apiVersion": "leaderworkerset.x-k8s.io/v1",
            "kind": "LeaderWorkerSet",
            "metadata": {
                "name": "a",
                "uid": "u-1",
                "generation": 4,
                "labels": {"team": "ml"},
                "annotations": {"note": "x"},
            },
            "spec": {"leaderWorkerTemplate": {"workerTemplate": {}}},
        },
        PARAMS,
    )
    assert (workload.uid, workload.generation, workload.namespace) == ("u-1", 4, None)
    assert workload.labels == {"team": "ml"} and workload.annotations == {"note": "x"}


def test_unknown_version_of_a_known_kind_is_reported_not_adapted():
    workload = adapt_object(
        {
            "apiVersion": "ray.io/v2",
            "kind": "RayService",
            "metadata": {"name": "r", "namespace": "ns"},
        },
        PARAMS,
    )
    assert workload.name == "r" and workload.pod_templates == ()
    assert workload.errors == ("ray.io/v2 RayService is not supported (supported versions: v1)",)
