"""Profile parameters: the knobs checks read (GPU resource names, probe budgets, ...).

Defaults here are the built-in profile's; a ConformanceProfile overrides any of them under
``spec.parameters``. Field names are the profile's camelCase keys.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

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


class Parameters(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    gpu_resource_names: tuple[str, ...] = Field(
        DEFAULT_GPU_RESOURCE_NAMES,
        alias="gpuResourceNames",
        description="Extended-resource names that count as accelerators.",
    )
    gpu_resource_prefixes: tuple[str, ...] = Field(
        ("nvidia.com/mig-",),
        alias="gpuResourcePrefixes",
        description="Resource-name prefixes that count as accelerators (MIG slices).",
    )
    fractional_gpu_annotations: tuple[str, ...] = Field(
        ("gpu-fraction", "gpu-memory", "kai.scheduler/gpu-fraction", "kai.scheduler/gpu-memory"),
        alias="fractionalGpuAnnotations",
        description="Pod annotations of fractional-GPU schemes (KAI) that count as asking for a GPU.",
    )
    fractional_gpu_resources: tuple[str, ...] = Field(
        ("nvidia.com/gpucores", "nvidia.com/gpumem", "nvidia.com/gpumem-percentage"),
        alias="fractionalGpuResources",
        description="Resource names of fractional-GPU schemes (HAMi) that count as asking for a GPU.",
    )
    model_aware_paths: tuple[str, ...] = Field(
        ("/v1/models", "/v2/health/ready", "/v1/health/ready", "/v2/models", "/ready"),
        alias="modelAwarePaths",
        description="Readiness paths (or prefixes ending in '/') that answer only once the model is loaded.",
    )
    startup_budget_seconds: int = Field(
        600,
        alias="startupBudgetSeconds",
        ge=0,
        description="Minimum startup-probe budget (initialDelaySeconds + failureThreshold x periodSeconds).",
    )
    liveness_min_initial_delay_seconds: int = Field(
        120,
        alias="livenessMinInitialDelaySeconds",
        ge=0,
        description="Without a startup probe, the liveness probe needs at least this initial delay.",
    )
    opt_in_label: str = Field(
        "kaico.dev/workload",
        alias="optInLabel",
        description="A Deployment or StatefulSet carrying this label is a target even without accelerators.",
    )
    inference_metrics: tuple[str, ...] = Field(
        (
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
        ),
        alias="inferenceMetrics",
        description="Metric names (matched as substrings of a metric name or query) that are inference signals.",
    )
