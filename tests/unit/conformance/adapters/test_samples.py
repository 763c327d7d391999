"""Every real sample manifest of a supported kind adapts without errors (KAICO_SHARED samples)."""

from pathlib import Path

import pytest
import yaml

from conformance.adapters import adapt_object, adapter_for
from conformance.facts_builder import facts_from_objects_with_warnings
from conformance.parameters import Parameters


def sample_documents(shared_dir: Path) -> list[tuple[str, dict]]:
    documents = []
    for path in sorted((shared_dir / "samples").rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if isinstance(document, dict):
                documents.append((str(path.relative_to(shared_dir)), document))
    return documents


def test_every_supported_sample_adapts_without_errors(shared_dir):
    adapted = 0
    for where, document in sample_documents(shared_dir):
        if adapter_for(document.get("apiVersion"), document.get("kind")) is None:
            continue
        workload = adapt_object(document, Parameters())
        if workload is None:  # a Deployment that is not a model server
            continue
        adapted += 1
        assert workload.errors == (), f"{where}: {workload.errors}"
        assert workload.pod_templates, where
    assert adapted >= 20


def test_every_sample_feeds_the_facts_builder_without_warnings(shared_dir):
    documents = [document for _, document in sample_documents(shared_dir)]
    facts, warnings = facts_from_objects_with_warnings(documents, Parameters())
    assert warnings == []
    assert facts.serving_runtimes and facts.inference_pools and facts.claim_templates


@pytest.mark.parametrize(
    "sample, kind, gpu",
    [
        ("kserve/isvc-hf-llama2-gpu.yaml", "InferenceService", True),
        ("lws/lws-vllm-gpu.yaml", "LeaderWorkerSet", True),
        ("k8s-nim-operator/nimservice-dra-manual.yaml", "NIMService", True),
        ("kuberay/rayservice-vllm-tpu-v6e.yaml", "RayService", True),
        ("production-stack/vllmruntime-autoscaling.yaml", "VLLMRuntime", True),
    ],
)
def test_gpu_samples_ask_for_accelerators(shared_dir, sample, kind, gpu):
    from conformance.accelerators import workload_asks

    documents = yaml.safe_load_all((shared_dir / "samples" / sample).read_text())
    workloads = [
        adapt_object(d, Parameters())
        for d in documents
        if isinstance(d, dict) and d.get("kind") == kind
    ]
    assert workloads and all(workload_asks(w, Parameters()) is gpu for w in workloads)
