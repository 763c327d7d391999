"""The engine over real third-party manifests ($KAICO_SHARED/samples, never copied here).

Each expectation below was read off the manifest itself: what it declares, what it leaves
out, and what kaico should therefore say about it.
"""

from datetime import UTC, datetime

import pytest
import yaml

from conformance.adapters import adapt_object
from conformance.engine import INPUT_CHECK, evaluate_objects
from conformance.findings import Result
from conformance.profile import builtin_profile

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def load_objects(paths):
    objects = []
    for path in paths:
        for index, document in enumerate(yaml.safe_load_all(path.read_text())):
            if isinstance(document, dict) and document.get("kind"):
                metadata = document.setdefault("metadata", {})
                if document["kind"] not in ("Namespace", "ClusterServingRuntime"):
                    metadata.setdefault("namespace", "default")
                objects.append((document, f"{path.name}#{index}"))
    return objects


def evaluate_files(shared_dir, *names):
    paths = [shared_dir / "samples" / name for name in names]
    return evaluate_objects(load_objects(paths), builtin_profile(), NOW)


def results(evaluation, name):
    (report,) = [r for r in evaluation.reports if r.target.name == name]
    return {f.check: f for f in report.results}


def all_sample_files(shared_dir):
    return sorted((shared_dir / "samples").rglob("*.yaml"))


def test_every_sample_evaluates_without_input_errors_or_check_errors(shared_dir):
    evaluation = evaluate_objects(
        load_objects(all_sample_files(shared_dir)), builtin_profile(), NOW
    )
    assert len(evaluation.reports) == 25
    for report in evaluation.reports:
        for finding in report.results:
            assert finding.check != INPUT_CHECK, (report.target, finding.message)
            assert finding.result is not Result.ERROR, (report.target, finding.message)
    assert evaluation.warnings == ()


def test_cpu_only_deployments_and_other_kinds_are_not_targets(shared_dir):
    evaluation = evaluate_files(
        shared_dir,
        "gateway-api-inference-extension/vllm-cpu-deployment.yaml",
        "gateway-api-inference-extension/inferencepool-resources-v1.yaml",
        "gateway-api-inference-extension/inferencemodel-v1alpha2.yaml",
        "k8s-dra-driver-gpu/gpu-test1-resourceclaimtemplate.yaml",
    )
    assert evaluation.reports == ()


def test_a_two_pod_lws_group_without_a_gang_mechanism_fails_gang_scheduling(shared_dir):
    found = results(evaluate_files(shared_dir, "lws/lws-vllm-gpu.yaml"), "vllm")
    assert found["gpu-gang-scheduling"].result is Result.FAIL
    assert found["gpu-limits"].result is Result.PASS
    # tcpSocket readiness passes before the model is loaded
    assert found["endpoint-readiness-probe"].result is Result.WARN
    assert "tcpSocket" in found["endpoint-readiness-probe"].message
    # the sample's own Service selects the leader pods
    assert found["endpoint-service"].result is Result.PASS


@pytest.mark.parametrize(
    ("sample", "mechanisms"),
    [("lws/lws-volcano-gang.yaml", ("volcano",)), ("kueue/lws-queue.yaml", ("kueue",))],
)
def test_gang_mechanisms_of_real_lws_samples_are_recognised(shared_dir, sample, mechanisms):
    (body,) = [o for o, _ in load_objects([shared_dir / "samples" / sample])]
    workload = adapt_object(body, builtin_profile().parameters)
    assert workload.group_size > 1
    assert workload.gang_mechanisms == mechanisms


def test_nim_dra_claims_resolve_against_the_claim_template_in_the_same_file(shared_dir):
    found = results(
        evaluate_files(shared_dir, "k8s-nim-operator/nimservice-dra-manual.yaml"),
        "meta-llama3-2-1b-instruct",
    )
    assert found["gpu-dra-claims"].result is Result.PASS


def test_nim_routes_through_its_own_httproute_and_defaults_its_probes(shared_dir):
    found = results(
        evaluate_files(shared_dir, "k8s-nim-operator/nimservice-httproute.yaml"),
        "meta-llama-3-2-1b-instruct",
    )
    assert found["endpoint-gateway-route"].result is Result.PASS
    assert found["endpoint-readiness-probe"].result is Result.PASS
    assert found["endpoint-startup-probe"].result is Result.PASS


def test_kserve_keda_on_running_requests_is_an_inference_signal(shared_dir):
    found = results(
        evaluate_files(shared_dir, "kserve-website/isvc-keda-prometheus-qwen-gpu.yaml"),
        "huggingface-qwen",
    )
    assert found["scaling-inference-metric"].result is Result.PASS
    assert found["scaling-autoscaler"].result is Result.PASS


def test_kserve_default_cpu_hpa_on_a_gpu_model_warns(shared_dir):
    found = results(evaluate_files(shared_dir, "kserve/isvc-hf-llama2-gpu.yaml"),
                    "huggingface-llama2")
    assert found["scaling-inference-metric"].result is Result.WARN
    assert "cpu" in found["scaling-inference-metric"].message


def test_kserve_probes_skip_naming_the_runtime_when_it_is_not_in_the_input(shared_dir):
    found = results(evaluate_files(shared_dir, "kserve/isvc-hf-llama2-gpu.yaml"),
                    "huggingface-llama2")
    probe = found["endpoint-readiness-probe"]
    assert probe.result is Result.SKIP
    # the sample names no runtime: KServe picks one by model format
    assert "model format 'huggingface'" in probe.message
    assert "not in the input" in probe.message


def test_kserve_probes_are_judged_from_the_runtime_when_it_is_in_the_input(shared_dir):
    found = results(
        evaluate_files(shared_dir, "kserve/isvc-hf-llama2-gpu.yaml",
                       "kserve/csr-huggingfaceserver.yaml"),
        "huggingface-llama2",
    )
    probe = found["endpoint-readiness-probe"]
    assert probe.result is Result.FAIL  # the real runtime declares no probes
    assert "ClusterServingRuntime 'kserve-huggingfaceserver'" in probe.message


def test_vllmruntime_scale_to_zero_without_a_buffer_fails(shared_dir):
    evaluation = evaluate_files(shared_dir, "production-stack/vllmruntime-autoscaling.yaml")
    zero = results(evaluation, "vllmruntime-autoscaling-scale-to-zero")
    assert zero["scaling-scale-to-zero"].result is Result.FAIL
    sample = results(evaluation, "vllmruntime-autoscaling-sample")
    assert sample["scaling-scale-to-zero"].result is Result.SKIP
    assert sample["scaling-inference-metric"].result is Result.PASS


def test_an_hpa_whose_deployment_is_not_in_the_input_is_an_orphan(shared_dir):
    evaluation = evaluate_files(shared_dir, "production-stack/hpa-10.yaml")
    assert evaluation.reports == ()
    (orphan,) = evaluation.orphans
    assert (orphan.name, orphan.target_kind) == ("vllm-hpa", "Deployment")


def test_the_vllm_docs_deployment_probes_health_not_the_model(shared_dir):
    found = results(evaluate_files(shared_dir, "vllm/k8s-doc-nvidia-gpu-deployment.yaml"),
                    "mistral-7b")
    assert found["gpu-limits"].result is Result.PASS
    assert found["endpoint-readiness-probe"].result is Result.WARN
    assert found["endpoint-startup-probe"].result is Result.FAIL


def test_llm_d_decode_deployment_has_model_aware_probes(shared_dir):
    found = results(
        evaluate_files(shared_dir, "llm-d/optimized-baseline-vllm-deployment.yaml"),
        "optimized-baseline-nvidia-gpu-vllm-decode",
    )
    for check in ("endpoint-readiness-probe", "endpoint-startup-probe",
                  "endpoint-liveness-probe", "gpu-limits"):
        assert found[check].result is Result.PASS, found[check].message


def test_ray_tpu_workers_count_as_accelerators_and_ray_probes_are_kuberays(shared_dir):
    found = results(evaluate_files(shared_dir, "kuberay/rayservice-vllm-tpu-v6e.yaml"),
                    "vllm-tpu")
    assert found["gpu-limits"].result is Result.PASS
    assert found["endpoint-readiness-probe"].result is Result.SKIP
    assert "KubeRay" in found["endpoint-readiness-probe"].message


# Read as the whole application (the default), a sample that leaves out an autoscaler, a PDB, a
# Service or a route gets the finding kube-score and Polaris would give it; read as a fragment,
# those checks skip. (check, the sample's target) pairs, read off each manifest.
WHOLE_APPLICATION_GAPS = [
    ("vllm/k8s-doc-nvidia-gpu-deployment.yaml", "mistral-7b", "scaling-autoscaler"),
    ("vllm/k8s-doc-nvidia-gpu-deployment.yaml", "mistral-7b", "endpoint-service"),
    ("vllm/k8s-doc-nvidia-gpu-deployment.yaml", "mistral-7b", "endpoint-gateway-route"),
    ("llm-d/optimized-baseline-vllm-deployment.yaml",
     "optimized-baseline-nvidia-gpu-vllm-decode", "scaling-autoscaler"),
    ("llm-d/optimized-baseline-vllm-deployment.yaml",
     "optimized-baseline-nvidia-gpu-vllm-decode", "endpoint-service"),
    ("lws/lws-vllm-gpu.yaml", "vllm", "scaling-autoscaler"),
    ("lws/lws-vllm-gpu.yaml", "vllm", "endpoint-gateway-route"),
]


@pytest.mark.parametrize(("sample", "target", "check"), WHOLE_APPLICATION_GAPS)
def test_whole_application_gaps_in_real_samples_fail_and_skip_as_a_fragment(
    shared_dir, sample, target, check
):
    from conformance.facts import InputMode

    objects = load_objects([shared_dir / "samples" / sample])
    whole = results(evaluate_objects(objects, builtin_profile(), NOW), target)[check]
    assert whole.result is Result.FAIL, whole.message
    assert "the input held no" in whole.message
    fragment = results(
        evaluate_objects(objects, builtin_profile(), NOW, mode=InputMode.PARTIAL), target
    )[check]
    assert fragment.result is Result.SKIP, fragment.message
