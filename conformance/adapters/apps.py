"""apps/v1 Deployment and StatefulSet: a target only when it asks for accelerators or opts in.

Plain vLLM/TGI/llm-d model servers are Deployments (or StatefulSets); most Deployments in a
cluster are not model servers, so one is a target only when a container asks for an accelerator
(``conformance.accelerators.template_asks``) or the object carries ``Parameters.opt_in_label``
with any value but "false".
"""

from __future__ import annotations

from typing import Any

from conformance.accelerators import template_asks
from conformance.adapters.envelope import (
    Envelope,
    condition_readiness,
    open_envelope,
    positive_count,
)
from conformance.adapters.gang import gang_mechanisms
from conformance.adapters.podspec import pod_template_from_template_spec
from conformance.parameters import Parameters
from conformance.workload import Readiness, Replicas, ScaleTargetRef, ServingWorkload

GROUP = "apps"
KINDS = ("Deployment", "StatefulSet")
VERSIONS = ("v1",)


def adapt(body: dict[str, Any], params: Parameters) -> ServingWorkload | None:
    kind = body.get("kind") if body.get("kind") in KINDS else "Deployment"
    envelope = open_envelope(body, kind, VERSIONS)
    if not envelope.supported:
        # An old apps/v1beta* object may or may not be a model server; say why it was not read.
        return envelope.workload()
    errors, spec = envelope.errors, envelope.spec
    template = pod_template_from_template_spec(
        spec.get("template"), "spec.template", errors, role=kind.lower()
    )
    opted_in = envelope.labels.get(params.opt_in_label, "false") != "false"
    if not opted_in and not template_asks(template, params):
        return None
    replicas = positive_count(spec.get("replicas"), "spec.replicas", errors, default=1)
    return envelope.workload(
        pod_templates=(template,),
        replicas=Replicas(fixed=replicas),
        scale_targets=(ScaleTargetRef(kind=kind, name=envelope.name, api_group=GROUP),),
        gang_mechanisms=gang_mechanisms(
            envelope.labels, envelope.annotations, (template,), kueue_queue_is_gang=False
        ),
        readiness=_readiness(envelope, replicas),
    )


def _readiness(envelope: Envelope, desired: int) -> Readiness | None:
    """Ready when every desired replica is ready and no Available=False condition says otherwise;
    None for a manifest without status (nothing observed yet)."""
    if not envelope.has_status:
        return None
    ready_count = (
        envelope.errors.integer(envelope.status.get("readyReplicas"), "status.readyReplicas") or 0
    )
    available = condition_readiness(envelope, "Available")
    if available is not None and not available.ready:
        return available
    if ready_count < desired:
        return Readiness(
            ready=False,
            reason="ReplicasNotReady",
            message=f"{ready_count} of {desired} replicas are ready",
        )
    return Readiness(
        ready=True, reason="ReplicasReady", message=f"{ready_count} of {desired} replicas are ready"
    )
