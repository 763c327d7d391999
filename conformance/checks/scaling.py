"""Scaling checks: whether a workload autoscales, on what signal, within which bounds, and
whether the cluster and a disruption budget can carry those replicas.

A workload's scaling comes from up to three places, read together here as ``Scaler`` values:
the autoscaler it declares inline (KServe, NIM, ...), replica bounds in its own spec, and the
HPAs/ScaledObjects that target it (``conformance.relations.autoscalers_for``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from conformance.accelerators import shared_gpus_per_pod
from conformance.checks.describe import Verdicts, quoted, template_label
from conformance.facts import AutoscalerFacts, ClusterFacts, FactClass
from conformance.findings import Outcome, Severity, failed, passed, skipped, warned
from conformance.parameters import Parameters
from conformance.registry import Category, check
from conformance.relations import (
    autoscalers_for,
    autoscalers_naming,
    disruption_budgets_for,
    namespace_of,
    shared_autoscalers_for,
    target_resolves,
)
from conformance.shared import shared
from conformance.workload import ServingWorkload

# Inline mechanisms that only say "someone else scales this" rather than scaling it.
_DELEGATING_MECHANISMS = frozenset({"external", "none"})
# Mechanisms that cannot go to zero replicas: KServe Standard mode with HPA ("scale down to zero
# is not supported"), and NIM's HPA, which the NIM CRD bounds at minReplicas >= 1.
_NO_SCALE_TO_ZERO = frozenset({"kserve-hpa", "nim-hpa"})
# Mechanisms whose default signal applies when no metric is written.
_DEFAULT_METRICS = {
    "HorizontalPodAutoscaler": ("cpu",),  # autoscaling/v2 defaults to 80% CPU
    "kserve-hpa": ("cpu",),
    "nim-hpa": ("cpu",),
    "knative": ("concurrency",),  # the Knative Pod Autoscaler's default
}
_HARDWARE_METRIC = re.compile(r"^(cpu|memory)$|dcgm_fi_|gpu_(util|mem|power)", re.IGNORECASE)


@dataclass(frozen=True)
class Scaler:
    """One source of replica bounds for a workload, reduced to what the scaling checks judge."""

    label: str  # for messages: "inline kserve-hpa autoscaler", "HorizontalPodAutoscaler ns/x"
    mechanism: str  # inline mechanism, autoscaler kind, or "spec" for bare replica bounds
    minimum: int | None
    maximum: int | None
    metrics: tuple[str, ...] = ()
    buffers_requests: bool = False


def _inline_autoscales(workload: ServingWorkload) -> bool:
    autoscaler = workload.autoscaler
    return autoscaler is not None and autoscaler.mechanism not in _DELEGATING_MECHANISMS


def _external_scaler(autoscaler: AutoscalerFacts) -> Scaler:
    return Scaler(
        label=f"{autoscaler.kind} {namespace_of(autoscaler.namespace)}/{autoscaler.name}",
        mechanism=autoscaler.kind,
        minimum=autoscaler.minimum,
        maximum=autoscaler.maximum,
        metrics=autoscaler.metrics,
        buffers_requests=autoscaler.buffers_requests,
    )


def scalers_of(
    workload: ServingWorkload, facts: ClusterFacts,
    found: tuple[AutoscalerFacts, ...] | None = None,
) -> tuple[Scaler, ...]:
    """Every source of replica bounds: inline autoscaler (or bare spec bounds), then the
    external autoscalers that target the workload when the facts know them (``found``, when
    the caller has ``autoscalers_for`` already)."""
    scalers = []
    replicas = workload.replicas
    autoscaler = workload.autoscaler
    if _inline_autoscales(workload) and autoscaler is not None:
        scalers.append(
            Scaler(
                label=f"inline {autoscaler.mechanism} autoscaler",
                mechanism=autoscaler.mechanism,
                minimum=autoscaler.minimum if autoscaler.minimum is not None else replicas.minimum,
                maximum=autoscaler.maximum if autoscaler.maximum is not None else replicas.maximum,
                metrics=autoscaler.metrics,
                buffers_requests=autoscaler.buffers_requests,
            )
        )
    elif replicas.minimum is not None or replicas.maximum is not None:
        scalers.append(
            Scaler(
                "minReplicas/maxReplicas in its spec", "spec", replicas.minimum, replicas.maximum
            )
        )
    if facts.knows(FactClass.AUTOSCALERS):
        if found is None:
            found = autoscalers_for(workload, facts)
        scalers.extend(_external_scaler(a) for a in found)
    return tuple(scalers)


def _scalers(
    workload: ServingWorkload, facts: ClusterFacts, params: Parameters
) -> tuple[Scaler, ...]:
    """``scalers_of``, once per evaluation."""
    memo = shared(workload, facts, params)
    return memo.value("scalers", scalers_of, workload, facts, shared_autoscalers_for(memo))


def _naming(
    workload: ServingWorkload, facts: ClusterFacts, params: Parameters
) -> tuple[AutoscalerFacts, ...]:
    """``autoscalers_naming``, once per evaluation."""
    return shared(workload, facts, params).value(
        "autoscalers_naming", autoscalers_naming, workload, facts
    )


def _autoscalers_unknown(workload: ServingWorkload, facts: ClusterFacts) -> bool:
    return not _inline_autoscales(workload) and not facts.knows(FactClass.AUTOSCALERS)


_UNKNOWN_AUTOSCALERS = (
    "it declares no inline autoscaler and the input holds no HorizontalPodAutoscalers or "
    "ScaledObjects to look for one"
)


def _max_replicas(workload: ServingWorkload, scalers: tuple[Scaler, ...]) -> int | None:
    """The most replicas the workload may run: the largest declared maximum, else the fixed
    count."""
    maxima = [s.maximum for s in scalers if s.maximum is not None]
    if workload.replicas.maximum is not None:
        maxima.append(workload.replicas.maximum)
    if maxima:
        return max(maxima)
    return workload.replicas.fixed


@check(
    "scaling-autoscaler",
    title="An autoscaler scales the workload",
    category=Category.SCALING,
    severity=Severity.MEDIUM,
    rationale=(
        "Inference load is bursty and a GPU replica is expensive: a fixed replica count is either "
        "idle capacity or dropped requests. An HPA, a KEDA ScaledObject or the serving platform's "
        "own autoscaler (KServe, NIM, Knative, Ray) keeps replicas matched to demand."
    ),
    remediation=(
        "Declare the serving platform's autoscaler (KServe minReplicas/maxReplicas with "
        "autoscalerClass hpa or keda, NIM spec.scale) or create a HorizontalPodAutoscaler or KEDA "
        "ScaledObject whose scaleTargetRef names the workload's scale target."
    ),
    requirement="pod_autoscaling",
)
def scaling_autoscaler(
    workload: ServingWorkload, facts: ClusterFacts, params: Parameters
) -> Outcome:
    autoscaler = workload.autoscaler
    if _inline_autoscales(workload) and autoscaler is not None:
        return passed(f"scales through its inline {autoscaler.mechanism} autoscaler")
    delegated = (
        f"it declares autoscaler '{autoscaler.mechanism}' but " if autoscaler is not None else ""
    )
    if not facts.knows(FactClass.AUTOSCALERS):
        return skipped(_UNKNOWN_AUTOSCALERS)
    found = shared_autoscalers_for(shared(workload, facts, params))
    if found:
        return passed(f"scaled by {quoted(_external_scaler(a).label for a in found)}")
    targets = (
        quoted(f"{t.kind} {t.name}" for t in workload.scale_targets)
        or f"{workload.kind} {workload.name}"
    )
    unresolved = _naming(workload, facts, params)
    note = (
        f" ({quoted(_external_scaler(a).label for a in unresolved)} names it but its target "
        "does not resolve, see scaling-target-resolves)"
        if unresolved
        else ""
    )
    fixed = workload.replicas.fixed
    runs = f" and runs a fixed {fixed} replica(s)" if fixed is not None else ""
    return failed(
        f"{delegated}no HorizontalPodAutoscaler or ScaledObject targets {targets}{note}{runs}; "
        "declare an autoscaler for it"
    )


@check(
    "scaling-target-resolves",
    title="Autoscalers target something that can scale the workload",
    category=Category.SCALING,
    severity=Severity.HIGH,
    rationale=(
        "An HPA or ScaledObject whose scaleTargetRef names a kind without a scale subresource, or "
        "the wrong API group, never scales anything, and the failure only shows in the "
        "autoscaler's own conditions. KServe, for example, is scaled through the "
        "'<name>-predictor' Deployment, not the InferenceService."
    ),
    remediation=(
        "Point scaleTargetRef at the workload's scale target (kind, name and apiVersion), for "
        "KServe the Deployment '<isvc>-predictor', or let the serving platform create the "
        "autoscaler."
    ),
    requirement="pod_autoscaling",
    needs=(FactClass.AUTOSCALERS,),
)
def scaling_target_resolves(
    workload: ServingWorkload, facts: ClusterFacts, params: Parameters
) -> Outcome:
    verdicts = Verdicts()
    naming = _naming(workload, facts, params)
    expected = quoted(
        f"{t.kind} {t.name}" + (f" ({t.api_group or 'core'})" if t.api_group is not None else "")
        for t in workload.scale_targets
    ) if naming else ""
    for autoscaler in naming:
        label = _external_scaler(autoscaler).label
        target = f"{autoscaler.target_kind} '{autoscaler.target_name}'"
        if target_resolves(autoscaler, workload):
            verdicts.ok(f"{label} targets {target}")
            continue
        where = (
            f"target {expected} instead"
            if expected
            else f"{workload.kind} has no scale subresource"
        )
        if autoscaler.target_api_version and any(
            t.kind == autoscaler.target_kind and t.name == autoscaler.target_name
            for t in workload.scale_targets
        ):
            verdicts.fail(
                f"{label} targets {target} in apiVersion '{autoscaler.target_api_version}', "
                f"which is not the scalable one; {where}"
            )
        else:
            verdicts.fail(f"{label} targets {target}, which cannot be scaled that way; {where}")
    return verdicts.outcome("no HorizontalPodAutoscaler or ScaledObject names it")


@check(
    "scaling-bounds",
    reads=("scaling", "autoscalers"),
    title="Replica bounds are sane",
    category=Category.SCALING,
    severity=Severity.HIGH,
    rationale=(
        "A maximum below the minimum, a negative bound or a maximum of zero makes the autoscaler "
        "reject the spec or never serve. A minimum of zero is only valid where the mechanism can "
        "scale to zero: KServe Standard mode with HPA and NIM's HPA cannot."
    ),
    remediation=(
        "Set minReplicas to at least 1 (or use a mechanism that scales to zero, such as Knative "
        "mode or KEDA, with a buffering layer) and maxReplicas to at least minReplicas."
    ),
    requirement="pod_autoscaling",
)
def scaling_bounds(workload: ServingWorkload, facts: ClusterFacts, params: Parameters) -> Outcome:
    verdicts = Verdicts()
    scalers = _scalers(workload, facts, params)
    for scaler in scalers:
        problem = _bounds_problem(scaler)
        if problem:
            verdicts.fail(f"{scaler.label}: {problem}")
        else:
            low = "?" if scaler.minimum is None else scaler.minimum
            high = "?" if scaler.maximum is None else scaler.maximum
            verdicts.ok(f"{scaler.label} scales between {low} and {high}")
    fixed = workload.replicas.fixed
    if not scalers and fixed is not None:
        if fixed < 0:
            verdicts.fail(f"replicas is {fixed}; set a positive count")
        elif fixed == 0:
            verdicts.warn(
                "replicas is 0, so it serves nothing; set it to 1 or more if it should serve"
            )
        else:
            verdicts.ok(f"runs a fixed {fixed} replica(s)")
    return verdicts.outcome("it declares no replica count, bounds or autoscaler")


def _bounds_problem(scaler: Scaler) -> str | None:
    low, high = scaler.minimum, scaler.maximum
    problems = []
    if low is not None and low < 0:
        problems.append(f"minimum {low} is negative")
    if high is not None and high < 1:
        problems.append(f"maximum {high} never runs a replica; set it to 1 or more")
    if low is not None and high is not None and high < low:
        problems.append(f"maximum {high} is below minimum {low}")
    if low == 0 and scaler.mechanism in _NO_SCALE_TO_ZERO:
        problems.append(
            f"minimum 0 is not supported by {scaler.mechanism}; set it to 1 or switch to a "
            "mechanism that scales to zero (Knative mode, KEDA)"
        )
    return "; ".join(problems) or None


def _effective_metrics(scaler: Scaler) -> tuple[str, ...]:
    return scaler.metrics or _DEFAULT_METRICS.get(scaler.mechanism, ())


def _is_inference_metric(metric: str, params: Parameters) -> bool:
    return any(signal and signal in metric for signal in params.inference_metrics)


@check(
    "scaling-inference-metric",
    reads=("scaling", "autoscalers"),
    title="GPU workloads scale on an inference signal",
    category=Category.SCALING,
    severity=Severity.MEDIUM,
    rationale=(
        "CPU and memory barely move with inference load on a GPU server, GPU utilisation "
        "(DCGM_FI_DEV_GPU_UTIL) measures duty cycle rather than work done, and GPU memory "
        "(DCGM_FI_DEV_FB_USED) never falls because vLLM and TGI pre-allocate it. Queue depth, "
        "running requests and KV-cache usage track what users wait for."
    ),
    remediation=(
        "Scale on the model server's queue or batch metrics, for example "
        "vllm:num_requests_waiting (throughput) or vllm:num_requests_running (latency), through a "
        "KEDA Prometheus trigger or an HPA External/Pods metric via prometheus-adapter; Knative "
        "concurrency also works."
    ),
    requirement="pod_autoscaling",
    accelerators_only=True,
)
def scaling_inference_metric(
    workload: ServingWorkload, facts: ClusterFacts, params: Parameters
) -> Outcome:
    if _autoscalers_unknown(workload, facts):
        return skipped(_UNKNOWN_AUTOSCALERS)
    scalers = [s for s in _scalers(workload, facts, params) if s.mechanism != "spec"]
    if not scalers:
        return skipped("it has no autoscaler")
    metrics = list(dict.fromkeys(m for s in scalers for m in _effective_metrics(s)))
    inference = [m for m in metrics if _is_inference_metric(m, params)]
    if inference:
        return passed(f"scales on inference signal(s) {quoted(inference)}")
    if not metrics:
        return skipped(f"{quoted(s.label for s in scalers)} declares no metric to judge")
    hardware = [m for m in metrics if _HARDWARE_METRIC.search(m)]
    if len(hardware) == len(metrics):
        return warned(
            f"{', '.join(sorted(s.label for s in scalers))} scales only on {quoted(hardware)} "
            "(utilisation, not inference load); scale on queue depth or running requests "
            "(vllm:num_requests_waiting, vllm:num_requests_running) instead"
        )
    custom = [m for m in metrics if m not in hardware]
    return passed(
        f"scales on custom signal(s) {quoted(custom)}; make sure they reflect queue depth or "
        "running requests"
    )


@check(
    "scaling-capacity",
    reads=("templates", "scaling", "autoscalers"),
    title="Maximum replicas fit the cluster's accelerator capacity",
    category=Category.SCALING,
    severity=Severity.MEDIUM,
    rationale=(
        "An autoscaler allowed to go past the cluster's accelerators produces Pending pods "
        "instead of capacity, and the Pending pods hide real shortages. Comparing maxReplicas "
        "times the devices one replica needs (every pod of a multi-pod group) with the cluster's "
        "allocatable devices catches a bound that cannot be reached."
    ),
    remediation=(
        "Lower maxReplicas to what the cluster's allocatable accelerators can hold, or add GPU "
        "nodes (or let a cluster autoscaler add them) before raising it."
    ),
    needs=(FactClass.NODES,),
    accelerators_only=True,
)
def scaling_capacity(workload: ServingWorkload, facts: ClusterFacts, params: Parameters) -> Outcome:
    per_replica: dict[str, int] = {}
    memo = shared(workload, facts, params)
    for template in workload.pod_templates:
        pods = max(template.pods_per_replica or 0, 0)
        for resource, count in shared_gpus_per_pod(memo, template).items():
            per_replica[resource] = per_replica.get(resource, 0) + count * pods
    per_replica = {r: c for r, c in per_replica.items() if c > 0}
    if not per_replica:
        return skipped("it asks for no whole accelerator devices (DRA or fractional only)")
    replicas = _max_replicas(workload, _scalers(workload, facts, params))
    if replicas is None:
        return skipped("it declares no replica count or maximum")
    verdicts = Verdicts()
    for resource, count in sorted(per_replica.items()):
        capacity = facts.allocatable_totals.get(resource, 0)
        needed = max(replicas, 0) * count
        if capacity == 0:
            verdicts.warn(
                f"no node offers '{resource}'; {replicas} replica(s) need {needed}, fine only if a "
                "cluster autoscaler adds GPU nodes"
            )
        elif needed > capacity:
            verdicts.fail(
                f"{replicas} replica(s) x {count} '{resource}' = {needed}, but the cluster has "
                f"{capacity} allocatable; lower the maximum to {capacity // count} or add capacity"
            )
        else:
            verdicts.ok(
                f"{replicas} replica(s) x {count} '{resource}' = {needed} of {capacity} allocatable"
            )
    return verdicts.outcome("it asks for no whole accelerator devices")


@check(
    "scaling-disruption-budget",
    reads=("templates", "scaling", "autoscalers", "disruption_budgets"),
    title="A PodDisruptionBudget covers multi-replica workloads",
    category=Category.SCALING,
    severity=Severity.MEDIUM,
    rationale=(
        "Without a PodDisruptionBudget a node drain or cluster upgrade may evict every replica at "
        "once, and GPU replicas take minutes to load the model again. Neither KServe nor the NIM "
        "operator creates one."
    ),
    remediation=(
        "Create a PodDisruptionBudget (policy/v1) with maxUnavailable: 1 whose selector matches "
        "the serving pods' labels; for LeaderWorkerSet select whole groups, for example the "
        "leader pods."
    ),
)
def scaling_disruption_budget(
    workload: ServingWorkload, facts: ClusterFacts, params: Parameters
) -> Outcome:
    replicas = _max_replicas(workload, _scalers(workload, facts, params))
    if replicas is None or replicas <= 1:
        return skipped("it runs at most one replica")
    if not facts.knows(FactClass.DISRUPTION_BUDGETS):
        return skipped(
            f"it runs up to {replicas} replicas; the input holds no PodDisruptionBudgets"
        )
    budgets = disruption_budgets_for(workload, facts)
    if budgets:
        return passed(f"PodDisruptionBudget {quoted(b.name for b in budgets)} covers its pods")
    templates = ", ".join(sorted(template_label(t) for t in workload.pod_templates)) or "its pods"
    return failed(
        f"it runs up to {replicas} replicas and no PodDisruptionBudget selects {templates}; "
        "add one with maxUnavailable: 1 selecting their labels"
    )


@check(
    "scaling-scale-to-zero",
    reads=("scaling", "autoscalers"),
    title="Scale-to-zero only behind a request buffer",
    category=Category.SCALING,
    severity=Severity.HIGH,
    rationale=(
        "With no pod running, a plain Service has no endpoints and requests fail until a replica "
        "has started and loaded the model, which takes minutes. Scale-to-zero is only safe behind "
        "a layer that holds requests meanwhile: the Knative activator or the KEDA HTTP add-on."
    ),
    remediation=(
        "Either set the minimum to 1 or more, or put a buffering layer in front: KServe Knative "
        "mode, or a KEDA HTTPScaledObject that routes through the HTTP add-on's interceptor."
    ),
)
def scaling_scale_to_zero(
    workload: ServingWorkload, facts: ClusterFacts, params: Parameters
) -> Outcome:
    scalers = _scalers(workload, facts, params)
    to_zero = [s for s in scalers if s.minimum == 0]
    if not to_zero:
        if _autoscalers_unknown(workload, facts) and not scalers:
            return skipped(_UNKNOWN_AUTOSCALERS)
        return skipped("it does not scale to zero")
    # Adapters set buffers_requests (Knative's KPA activator, the KEDA HTTP add-on); Knative's
    # HPA class does not buffer, so the mechanism name alone is not evidence.
    buffers = [s for s in scalers if s.buffers_requests]
    zero = quoted(s.label for s in to_zero)
    if buffers:
        return passed(
            f"{zero} scales to zero behind the request buffer of {quoted(s.label for s in buffers)}"
        )
    return failed(
        f"{zero} allows 0 replicas but nothing buffers requests while no pod is ready; set the "
        "minimum to 1 or use Knative mode or the KEDA HTTP add-on"
    )
