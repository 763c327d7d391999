"""LeaderWorkerSet (leaderworkerset.x-k8s.io/v1): groups of one leader and size-1 workers.

One replica of the workload is one group: the leader template runs 1 pod, the worker template
``size - 1`` pods, and ``group_size`` is ``size``. Without a ``leaderTemplate`` the leader runs
the worker template. Leaders serve traffic (a user Service selects them); workers do not.
"""

from __future__ import annotations

from typing import Any

from conformance.adapters.envelope import condition_readiness, open_envelope, positive_count
from conformance.adapters.gang import gang_mechanisms
from conformance.adapters.podspec import pod_template_from_template_spec
from conformance.parameters import Parameters
from conformance.workload import Replicas, ScaleTargetRef, ServingWorkload

GROUP = "leaderworkerset.x-k8s.io"
KIND = "LeaderWorkerSet"
VERSIONS = ("v1",)
NAME_LABEL = "leaderworkerset.sigs.k8s.io/name"
WORKER_INDEX_LABEL = "leaderworkerset.sigs.k8s.io/worker-index"


def adapt(body: dict[str, Any], params: Parameters) -> ServingWorkload | None:
    envelope = open_envelope(body, KIND, VERSIONS)
    if not envelope.supported:
        return envelope.workload()
    errors, spec = envelope.errors, envelope.spec
    group_path = "spec.leaderWorkerTemplate"
    group = errors.mapping(spec.get("leaderWorkerTemplate"), group_path)
    size = positive_count(group.get("size"), f"{group_path}.size", errors, default=1, minimum=1)
    worker_value = group.get("workerTemplate")
    if worker_value is None:
        errors.add(f"{group_path}.workerTemplate is missing")
    leader_value = group.get("leaderTemplate")
    leader_path = (
        f"{group_path}.leaderTemplate"
        if leader_value is not None
        else f"{group_path}.workerTemplate"
    )
    leader = pod_template_from_template_spec(
        leader_value if leader_value is not None else worker_value,
        leader_path,
        errors,
        role="leader",
        extra_labels={NAME_LABEL: envelope.name, WORKER_INDEX_LABEL: "0"},
    )
    templates = [leader]
    if size > 1:
        templates.append(
            pod_template_from_template_spec(
                worker_value,
                f"{group_path}.workerTemplate",
                errors,
                role="worker",
                extra_labels={NAME_LABEL: envelope.name},
                pods_per_replica=size - 1,
                serves_traffic=False,
            )
        )
    replicas = positive_count(spec.get("replicas"), "spec.replicas", errors, default=1)
    return envelope.workload(
        pod_templates=tuple(templates),
        replicas=Replicas(fixed=replicas),
        # The scale subresource scales whole groups; an HPA names the LWS itself.
        scale_targets=(ScaleTargetRef(kind=KIND, name=envelope.name, api_group=GROUP),),
        group_size=size,
        gang_mechanisms=gang_mechanisms(envelope.labels, envelope.annotations, templates),
        readiness=condition_readiness(envelope, "Available"),
    )
