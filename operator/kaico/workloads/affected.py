"""Which workloads a change to a related object can affect, so only those are re-evaluated.

An HPA or ScaledObject affects the workloads it names (``conformance.relations``); a Node, the
workloads that ask for accelerators; a Service, PDB, route or pool, the workloads of its
namespace; a monitor, those of the namespaces it watches; a RuntimeClass, the workloads naming
it; DeviceClasses and claim templates, the workloads with DRA claims; a ServingRuntime, the
InferenceServices that may use it. Pure: (facts of one object, workloads) -> workload keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from conformance.facts import ClusterFacts
from conformance.relations import autoscalers_naming, namespace_of
from conformance.workload import ServingWorkload
from kaico.state import WorkloadKey


def workload_key(workload: ServingWorkload) -> WorkloadKey:
    return (workload.kind, namespace_of(workload.namespace), workload.name)


def _namespaces_of(facts: ClusterFacts) -> set[str]:
    namespaces: set[str] = set()
    for attribute in ("autoscalers", "disruption_budgets", "services", "inference_pools", "http_routes"):
        namespaces.update(namespace_of(item.namespace) for item in getattr(facts, attribute))
    return namespaces


def affected_workloads(
    facts: ClusterFacts,
    workloads: Iterable[ServingWorkload],
    asks_for_accelerators: Callable[[ServingWorkload], bool],
) -> set[WorkloadKey]:
    """Keys of the ``workloads`` that ``facts`` (extracted from one object) can change."""
    workloads = list(workloads)
    hit: set[WorkloadKey] = set()
    if facts.nodes:
        hit.update(workload_key(w) for w in workloads if asks_for_accelerators(w))
    if facts.autoscalers:
        hit.update(workload_key(w) for w in workloads if autoscalers_naming(w, facts))
    namespaces = _namespaces_of(facts) - {namespace_of(a.namespace) for a in facts.autoscalers}
    for monitor in facts.monitors:
        if monitor.namespaces is None:
            namespaces.add(namespace_of(monitor.namespace))
        elif "*" in monitor.namespaces:
            return {workload_key(w) for w in workloads}
        else:
            namespaces.update(monitor.namespaces)
    if namespaces:
        hit.update(workload_key(w) for w in workloads if namespace_of(w.namespace) in namespaces)
    if facts.runtime_classes:
        hit.update(
            workload_key(w) for w in workloads
            if any(t.runtime_class_name in facts.runtime_classes for t in w.pod_templates)
        )
    if facts.device_classes or facts.claim_templates:
        hit.update(
            workload_key(w) for w in workloads if any(t.resource_claims for t in w.pod_templates)
        )
    for runtime in facts.serving_runtimes:
        hit.update(
            workload_key(w) for w in workloads
            if w.kind == "InferenceService"
            and (runtime.namespace is None or namespace_of(w.namespace) == namespace_of(runtime.namespace))
        )
    return hit
