"""KubeRay RayService (ray.io/v1): a Ray cluster (head + worker groups) running Ray Serve apps.

The head serves traffic (the Serve proxy behind ``<name>-serve-svc``); worker groups run the
model replicas. A worker group's ``pods_per_replica`` is its replica count (``replicas``, else
``minReplicas``, else 1) times ``numOfHosts``; a multi-host group (TPU slice) must be scheduled
together, so ``group_size`` is the largest ``numOfHosts``. Serve autoscaling lives in the
``serveConfigV2`` YAML string; a malformed string is an error, not a crash.
"""

from __future__ import annotations

from typing import Any

import yaml

from conformance.adapters.envelope import (
    Envelope,
    condition_readiness,
    open_envelope,
    positive_count,
)
from conformance.adapters.fields import FieldErrors
from conformance.adapters.gang import gang_mechanisms
from conformance.adapters.podspec import pod_template_from_template_spec
from conformance.parameters import Parameters
from conformance.workload import InlineAutoscaler, PodTemplate, Readiness, Replicas, ServingWorkload
from conformance.yamlplain import load_single, plain_builder, speed_up


class _ConfigLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml when PyYAML has it: ten times faster, and it stops nesting at 1,000 levels.
    Its own class: ``conformance.yamlplain.speed_up`` changes how it resolves tags."""


speed_up(_ConfigLoader)
_build_plain = plain_builder(_ConfigLoader)

GROUP = "ray.io"
KIND = "RayService"
VERSIONS = ("v1",)
NODE_TYPE_LABEL = "ray.io/node-type"


def adapt(body: dict[str, Any], params: Parameters) -> ServingWorkload | None:
    envelope = open_envelope(body, KIND, VERSIONS)
    if not envelope.supported:
        return envelope.workload()
    errors, spec = envelope.errors, envelope.spec
    cluster_path = "spec.rayClusterConfig"
    cluster = errors.mapping(spec.get("rayClusterConfig"), cluster_path)
    if spec.get("rayClusterConfig") is None:
        errors.add(f"{cluster_path} is missing")
    head = errors.mapping(cluster.get("headGroupSpec"), f"{cluster_path}.headGroupSpec")
    templates: list[PodTemplate] = [
        pod_template_from_template_spec(
            head.get("template"),
            f"{cluster_path}.headGroupSpec.template",
            errors,
            role="head",
            extra_labels={NODE_TYPE_LABEL: "head"},
        )
    ]
    group_size = 1
    worker_bounds: list[tuple[int, int | None]] = []
    groups_path = f"{cluster_path}.workerGroupSpecs"
    for index, item in enumerate(errors.sequence(cluster.get("workerGroupSpecs"), groups_path)):
        path = f"{groups_path}[{index}]"
        group = errors.mapping(item, path)
        name = errors.string(group.get("groupName"), f"{path}.groupName") or str(index)
        hosts = positive_count(
            group.get("numOfHosts"), f"{path}.numOfHosts", errors, default=1, minimum=1
        )
        minimum = positive_count(group.get("minReplicas"), f"{path}.minReplicas", errors, default=0)
        maximum = errors.integer(group.get("maxReplicas"), f"{path}.maxReplicas")
        replicas = errors.integer(group.get("replicas"), f"{path}.replicas")
        count = replicas if replicas is not None and replicas >= 0 else max(minimum, 1)
        worker_bounds.append((minimum, maximum))
        group_size = max(group_size, hosts)
        templates.append(
            pod_template_from_template_spec(
                group.get("template"),
                f"{path}.template",
                errors,
                role=f"worker-group {name}",
                extra_labels={NODE_TYPE_LABEL: "worker"},
                pods_per_replica=count * hosts,
                serves_traffic=False,
            )
        )
    managed_by = errors.string(spec.get("managedBy"), "spec.managedBy") or ""
    gangs = gang_mechanisms(envelope.labels, envelope.annotations, templates)
    if managed_by.startswith("kueue.x-k8s.io") and "kueue" not in gangs:
        gangs = ("kueue", *gangs)
    return envelope.workload(
        pod_templates=tuple(templates),
        # One RayService runs one Ray cluster; scaling happens inside it.
        replicas=Replicas(fixed=1),
        autoscaler=_autoscaler(spec, cluster, worker_bounds, errors),
        group_size=group_size,
        gang_mechanisms=gangs,
        managed_services=(f"{envelope.name}-serve-svc",),
        platform_probes="KubeRay injects its own Ray health probes into Ray containers",
        readiness=_readiness(envelope),
    )


def _autoscaler(
    spec: dict[str, Any],
    cluster: dict[str, Any],
    worker_bounds: list[tuple[int, int | None]],
    errors: FieldErrors,
) -> InlineAutoscaler | None:
    """Ray Serve ``autoscaling_config`` found anywhere in serveConfigV2 (apps, deployments,
    Ray LLM ``deployment_config``), else the in-tree autoscaler's worker bounds."""
    configs = _autoscaling_configs(spec.get("serveConfigV2"), errors)
    if configs:
        minimums, maximums = [], []
        for config in configs:
            low = config.get("min_replicas", 1)
            high = config.get("max_replicas", 1)
            if isinstance(low, int) and not isinstance(low, bool):
                minimums.append(low)
            if isinstance(high, int) and not isinstance(high, bool):
                maximums.append(high)
        return InlineAutoscaler(
            mechanism="ray",
            minimum=min(minimums) if minimums else None,
            maximum=max(maximums) if maximums else None,
            # Serve scales on ongoing requests per replica, whether or not the target is written.
            metrics=("target_ongoing_requests",),
            # Serve handles queue requests while replicas start, including from zero.
            buffers_requests=True,
        )
    if errors.boolean(
        cluster.get("enableInTreeAutoscaling"), "spec.rayClusterConfig.enableInTreeAutoscaling"
    ):
        maximums = [high for _, high in worker_bounds]
        return InlineAutoscaler(
            mechanism="ray",
            minimum=sum(low for low, _ in worker_bounds),
            maximum=sum(maximums) if maximums and None not in maximums else None,
        )
    return None


def _autoscaling_configs(value: object, errors: FieldErrors) -> list[dict[str, Any]]:
    text = errors.string(value, "spec.serveConfigV2")
    if not text:
        return []
    try:
        # yaml.load(text, Loader=_ConfigLoader), a plain config built by one walk (serveConfigV2
        # was a quarter of adapting the 10,000 sample files).
        document = load_single(text, _ConfigLoader, _build_plain)
    except (yaml.YAMLError, ValueError, RecursionError) as error:
        errors.add(f"spec.serveConfigV2 is not valid YAML: {str(error).splitlines()[0]}")
        return []
    if document is not None and not isinstance(document, dict):
        errors.add(f"spec.serveConfigV2 must hold a mapping, got {type(document).__name__}")
        return []
    found: list[dict[str, Any]] = []
    _collect(document, found, depth=0)
    return found


def _collect(root: object, found: list[dict[str, Any]], depth: int) -> None:
    """The autoscaling configs anywhere in the config, each container visited once: the config
    is user text, where aliases can share one node a billion times and nesting can be deep."""
    seen: set[int] = set()
    pending = [(root, depth)]
    while pending:
        node, level = pending.pop()
        if level > 32 or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "autoscaling_config" and isinstance(value, dict):
                    found.append(value)
                elif key == "num_replicas" and value == "auto":
                    found.append({})
                elif isinstance(value, dict | list):
                    pending.append((value, level + 1))
        elif isinstance(node, list):
            pending.extend((item, level + 1) for item in reversed(node) if isinstance(item, dict | list))


def _readiness(envelope: Envelope) -> Readiness | None:
    ready = condition_readiness(envelope, "Ready")
    if ready is not None:
        return ready
    # serviceStatus is deprecated but older KubeRay only reports that.
    service_status = envelope.errors.string(
        envelope.status.get("serviceStatus"), "status.serviceStatus"
    )
    if service_status:
        return Readiness(ready=service_status == "Running", reason=service_status)
    return None
