"""Normalized autoscaling signal names from HPA MetricSpecs, KServe metrics and KEDA triggers.

The scaling checks compare signal names ("cpu", "vllm:num_requests_running", a PromQL query as
written) with the profile's inference metrics, so every autoscaler, inline or separate, must
name its signals the same way. Used by the adapters and by the cluster-facts builder.
"""

from __future__ import annotations

from typing import Any

from conformance.adapters.envelope import unique
from conformance.adapters.fields import FieldErrors


def _metric_identity(metric: dict[str, Any], path: str, errors: FieldErrors) -> str | None:
    """``metric.query`` (KServe External, a PromQL query) wins over ``metric.name``."""
    for key in ("query", "name", "metricName"):
        text = errors.string(metric.get(key), f"{path}.{key}")
        if text:
            return text
    names = errors.strings(metric.get("metricNames"), f"{path}.metricNames")
    return names[0] if names else None


def metric_spec_names(value: object, path: str, errors: FieldErrors) -> tuple[str, ...]:
    """Signal names from autoscaling/v2 MetricSpecs (also KServe's ``autoScaling.metrics``,
    whose External metric carries a ``query`` and whose PodMetric key is ``podmetric``)."""
    names: list[str] = []
    for index, item in enumerate(errors.sequence(value, path)):
        where = f"{path}[{index}]"
        spec = errors.mapping(item, where)
        metric_type = errors.string(spec.get("type"), f"{where}.type")
        if not metric_type:
            if isinstance(item, dict):
                errors.add(f"{where}.type is missing")
            continue
        expected = metric_type[:1].lower() + metric_type[1:]
        key = next((k for k in (expected, metric_type.lower()) if k in spec), None)
        if key is None:
            errors.add(f"{where} has type {metric_type} but no {expected} field")
            continue
        source = errors.mapping(spec[key], f"{where}.{key}")
        if key in ("resource", "containerResource"):
            name = errors.string(source.get("name"), f"{where}.{key}.name")
        else:
            name = _metric_identity(
                errors.mapping(source.get("metric"), f"{where}.{key}.metric"),
                f"{where}.{key}.metric",
                errors,
            )
        if name:
            names.append(name)
        elif isinstance(spec[key], dict):
            errors.add(f"{where}.{key} names no metric")
    return unique(names)


def keda_trigger_names(value: object, path: str, errors: FieldErrors) -> tuple[str, ...]:
    """Signal names from KEDA ScaledObject triggers: the PromQL query (or metricName) of a
    prometheus trigger, "cpu"/"memory" for resource triggers, else the trigger type."""
    names: list[str] = []
    for index, item in enumerate(errors.sequence(value, path)):
        where = f"{path}[{index}]"
        trigger = errors.mapping(item, where)
        trigger_type = errors.string(trigger.get("type"), f"{where}.type")
        if not trigger_type:
            if isinstance(item, dict):
                errors.add(f"{where}.type is missing")
            continue
        metadata = errors.mapping(trigger.get("metadata"), f"{where}.metadata")
        if trigger_type == "prometheus":
            name = None
            for key in ("query", "metricName"):
                name = name or errors.string(metadata.get(key), f"{where}.metadata.{key}")
            names.append(name or "prometheus")
        else:
            # cpu and memory are their own signal names; other scalers are named by type.
            names.append(trigger_type)
    return unique(names)
