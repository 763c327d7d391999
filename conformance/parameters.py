"""Profile parameters: the knobs checks read (GPU resource names, probe budgets, ...).

Defaults here are the built-in profile's; a ConformanceProfile overrides any of them under
``spec.parameters``. ``Parameters`` is a plain frozen dataclass (the checks read it on every
evaluation, and ``kaico check`` builds it without pydantic); the profile file's camelCase keys,
their bounds and descriptions are ``conformance.schema.ParametersSpec``'s, which validates a
profile and is the CRD's schema.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_GPU_RESOURCE_NAMES = (
    "nvidia.com/gpu",
    "amd.com/gpu",
    "intel.com/gpu",
    "gpu.intel.com/i915",
    "gpu.intel.com/xe",
    "habana.ai/gaudi",
    "google.com/tpu",
    "aws.amazon.com/neuron",
    "aws.amazon.com/neuroncore",
)


@dataclass(frozen=True, slots=True)
class Parameters:
    gpu_resource_names: tuple[str, ...] = DEFAULT_GPU_RESOURCE_NAMES
    gpu_resource_prefixes: tuple[str, ...] = ("nvidia.com/mig-",)
    fractional_gpu_annotations: tuple[str, ...] = (
        "gpu-fraction", "gpu-memory", "kai.scheduler/gpu-fraction", "kai.scheduler/gpu-memory",
    )
    fractional_gpu_resources: tuple[str, ...] = (
        "nvidia.com/gpucores", "nvidia.com/gpumem", "nvidia.com/gpumem-percentage",
    )
    model_aware_paths: tuple[str, ...] = (
        "/v1/models", "/v2/health/ready", "/v1/health/ready", "/v2/models", "/ready",
    )
    startup_budget_seconds: int = 600
    liveness_min_initial_delay_seconds: int = 120
    opt_in_label: str = "kaico.dev/workload"
    inference_metrics: tuple[str, ...] = (
        "vllm:num_requests_waiting",
        "vllm:num_requests_running",
        "vllm:kv_cache_usage_perc",
        "vllm:gpu_cache_usage_perc",
        "sglang:num_queue_reqs",
        "sglang:num_running_reqs",
        "sglang:token_usage",
        "trtllm_num_requests_waiting",
        "trtllm_num_requests_running",
        "trtllm_kv_cache_utilization",
        "tgi_queue_size",
        "tgi_batch_current_size",
        "num_requests_waiting",
        "num_requests_running",
        "inference_extension_flow_control_queue_size",
        "inference_pool_average_queue_size",
        "concurrency",
        "rps",
        "target_ongoing_requests",
    )


# A profile's camelCase key for each field (the file's and the CRD's spelling).
PARAMETER_KEYS = {
    "gpuResourceNames": "gpu_resource_names",
    "gpuResourcePrefixes": "gpu_resource_prefixes",
    "fractionalGpuAnnotations": "fractional_gpu_annotations",
    "fractionalGpuResources": "fractional_gpu_resources",
    "modelAwarePaths": "model_aware_paths",
    "startupBudgetSeconds": "startup_budget_seconds",
    "livenessMinInitialDelaySeconds": "liveness_min_initial_delay_seconds",
    "optInLabel": "opt_in_label",
    "inferenceMetrics": "inference_metrics",
}
DEFAULT_PARAMETERS = Parameters()
