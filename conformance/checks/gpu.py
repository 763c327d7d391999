"""GPU scheduling checks: how a workload asks for accelerators and whether the cluster can place it.

Each function judges one rule over every pod template and container and returns one Outcome.
Node-related rules judge node classes (``ClusterFacts.node_classes``: nodes a template cannot
tell apart), once per class rather than per node; which ones a template can land on comes from
``conformance.relations``, shared between the checks of one evaluation (``conformance.shared``).
"""

from __future__ import annotations

from fractions import Fraction

from conformance.accelerators import (
    accelerator_resources_of,
    is_accelerator_resource,
    parse_count,
    shared_gpus_per_pod,
    shared_template_asks,
)
from conformance.checks.describe import Verdicts, container_label, quoted, shown, template_label
from conformance.facts import (
    ClusterFacts,
    FactClass,
    NodeClass,
    NodeTaint,
    missing_facts_message,
    tolerates,
)
from conformance.findings import Outcome, Severity, failed, passed, skipped
from conformance.parameters import Parameters
from conformance.quantities import QuantityError, parse_quantity
from conformance.registry import Category, check
from conformance.relations import namespace_of, node_classes_for, node_classes_of
from conformance.shared import Shared, shared
from conformance.workload import Container, PodTemplate, ServingWorkload

# Taint effects that keep a pod off a node; PreferNoSchedule only discourages.
_BLOCKING_EFFECTS = ("NoSchedule", "NoExecute")


def _containers(template: PodTemplate) -> tuple[Container, ...]:
    return (*template.containers, *template.init_containers)


def _extended_resources_asked(container: Container, params: Parameters) -> list[str]:
    """Accelerator and fractional-GPU extended resources the container names, in order."""
    names = dict.fromkeys((*container.requests, *container.limits))
    return [
        name
        for name in names
        if is_accelerator_resource(name, params) or name in params.fractional_gpu_resources
    ]


def _named_accelerators(template: PodTemplate, params: Parameters) -> frozenset[str]:
    return frozenset(
        resource for c in _containers(template) for resource in accelerator_resources_of(c, params)
    )


def _only_dra(template: PodTemplate, named: frozenset[str], params: Parameters) -> bool:
    """The template asks for accelerators only through DRA claims, whose devices live in
    ResourceSlices, not in node allocatable: node-based checks cannot judge it. ``named``:
    the accelerator resources it names (``_named_accelerators``)."""
    if named:
        return False
    fractional = any(
        name in params.fractional_gpu_resources
        for c in _containers(template)
        for name in (*c.requests, *c.limits)
    ) or any(
        key == annotation or key.endswith("/" + annotation)
        for key in template.annotations
        for annotation in params.fractional_gpu_annotations
    )
    return not fractional


def _offers(node: NodeClass, resources: frozenset[str], params: Parameters) -> bool:
    """Whether the node has any of ``resources`` allocatable; an empty set means "any
    accelerator" (a fractional-GPU template lands on ordinary GPU nodes)."""
    if resources:
        return any(node.allocatable.get(resource, 0) > 0 for resource in resources)
    return any(
        is_accelerator_resource(resource, params) and count > 0
        for resource, count in node.allocatable.items()
    )


def _describe_resources(resources: frozenset[str]) -> str:
    return quoted(resources) if resources else "any accelerator resource"


def _node_judged_templates(
    memo: Shared, verdicts: Verdicts
) -> tuple[tuple[PodTemplate, frozenset[str]], ...]:
    """The templates a node-based check can judge, with the resources they need; notes on
    ``verdicts`` the ones it cannot (DRA-only)."""
    judged, dra_only = memo.value("node_judged_templates", _judged_templates_of, memo)
    for template in dra_only:
        verdicts.skip(
            f"{template_label(template)} asks for accelerators only through DRA claims, "
            "which node allocatable cannot show"
        )
    return judged


def _judged_templates_of(
    memo: Shared,
) -> tuple[tuple[tuple[PodTemplate, frozenset[str]], ...], tuple[PodTemplate, ...]]:
    judged, dra_only = [], []
    for template in memo.workload.pod_templates:
        if not shared_template_asks(memo, template):
            continue
        named = _named_accelerators(template, memo.params)
        if _only_dra(template, named, memo.params):
            dra_only.append(template)
            continue
        judged.append((template, named))
    return tuple(judged), tuple(dra_only)


def _admitting(memo: Shared, template: PodTemplate) -> tuple[NodeClass, ...]:
    """The node classes the template's node selection admits."""
    return memo.value(("admitting", id(template)), node_classes_for, template, memo.facts)


def _size(classes: list[NodeClass] | tuple[NodeClass, ...]) -> int:
    return sum(len(c.members) for c in classes)


@check(
    "gpu-limits",
    reads=("templates",),
    title="Accelerators are requested as whole-number limits",
    category=Category.GPU,
    severity=Severity.HIGH,
    rationale=(
        "Extended resources such as nvidia.com/gpu are only honoured in resources.limits: a "
        "request without a limit is rejected, a request that differs from the limit is rejected, "
        "and devices are never split, so a fractional count is invalid. Asking through limits is "
        "what lets the device plugin hand the container its own devices and nothing more."
    ),
    remediation=(
        "Put the accelerator count under resources.limits as a whole number (for example "
        "nvidia.com/gpu: 1). Either drop it from resources.requests or set the request to the "
        "same value. For a share of a GPU use a MIG resource (nvidia.com/mig-1g.10gb) or a "
        "fractional-GPU scheme, not a decimal count."
    ),
    requirement="secure_accelerator_access",
    accelerators_only=True,
)
def gpu_limits(workload: ServingWorkload, facts: ClusterFacts, params: Parameters) -> Outcome:
    verdicts = Verdicts()
    for template in workload.pod_templates:
        for container in _containers(template):
            label = container_label(template, container)
            for resource in _extended_resources_asked(container, params):
                problem = _limit_problem(container, resource)
                if problem:
                    verdicts.fail(f"{label}: {problem}")
                else:
                    verdicts.ok(f"{label} limits {resource}={shown(container.limits[resource])}")
    return verdicts.outcome(
        "no container names an accelerator extended resource (it asks through DRA claims or a "
        "fractional-GPU annotation), so there are no limits to check"
    )


def _limit_problem(container: Container, resource: str) -> str | None:
    limit = container.limits.get(resource)
    request = container.requests.get(resource)
    if limit is None:
        return (
            f"requests {resource}='{shown(request)}' without a limit; move it to resources.limits "
            "(the request defaults to the limit)"
        )
    problems = []
    count: Fraction | None = None
    try:
        count = parse_quantity(limit)
    except QuantityError as error:
        problems.append(f"limits {resource}='{shown(limit)}' {error}; write a whole count such as '1'")
    if count is None:
        pass
    elif count < 0:
        problems.append(f"limits {resource}='{shown(limit)}' is negative")
    elif count.denominator != 1:
        problems.append(
            f"limits {resource}='{shown(limit)}' is fractional; devices are whole, use a MIG "
            "resource or a fractional-GPU scheme for a share"
        )
    if request is not None:
        requested = parse_count(request)
        same = (
            requested == count if requested is not None and count is not None else request == limit
        )
        if not same:
            problems.append(
                f"requests {resource}='{shown(request)}' differs from limits '{shown(limit)}'; "
                "set them equal or drop the request"
            )
    return "; ".join(problems) or None


def _blocking_taints(node: NodeClass, template: PodTemplate) -> list[NodeTaint]:
    return [
        taint
        for taint in node.taints
        if taint.effect in _BLOCKING_EFFECTS and not tolerates(template.tolerations, taint)
    ]


def _describe_taint(taint: NodeTaint) -> str:
    value = f"={taint.value}" if taint.value else ""
    return f"{taint.key}{value}:{taint.effect}"


@check(
    "gpu-toleration",
    reads=("templates",),
    title="Tolerates the taints of the GPU nodes it targets",
    category=Category.GPU,
    severity=Severity.MEDIUM,
    rationale=(
        "GPU nodes are usually tainted (key nvidia.com/gpu, effect NoSchedule) so that ordinary "
        "pods stay off them; a GPU pod that does not tolerate the taint stays Pending. The "
        "ExtendedResourceToleration admission plugin adds the toleration for a taint whose key is "
        "the requested resource name, but it is not enabled everywhere (AKS), so a missing "
        "toleration is a warning rather than a failure. Taints that only say how a node is doing "
        "(node.kubernetes.io/not-ready, unreachable, memory-pressure, ...) are not counted: they "
        "come and go with node health, which the cluster report covers."
    ),
    remediation=(
        "Add a toleration for each taint of the GPU nodes the workload should run on, for example "
        "{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}, to the pod template's "
        "tolerations."
    ),
    needs=(FactClass.NODES,),
    accelerators_only=True,
)
def gpu_toleration(workload: ServingWorkload, facts: ClusterFacts, params: Parameters) -> Outcome:
    verdicts = Verdicts()
    memo = shared(workload, facts, params)
    for template, resources in _node_judged_templates(memo, verdicts):
        label = template_label(template)
        candidates = [c for c in _admitting(memo, template) if _offers(c, resources, params)]
        if not candidates:
            verdicts.skip(
                f"{label}: no node it can land on offers {_describe_resources(resources)}"
            )
            continue
        blocking = [(c, _blocking_taints(c, template)) for c in candidates]
        untolerated = {
            _describe_taint(taint): taint for _, taints in blocking for taint in taints
        }
        if not untolerated:
            verdicts.ok(f"{label} tolerates the taints of its {_size(candidates)} GPU node(s)")
            continue
        # Only taints keyed by a resource the pod requests get the plugin's toleration.
        plugin_covers = all(
            taint.key in resources and taint.effect == "NoSchedule"
            for taint in untolerated.values()
        )
        hint = (
            "unless the ExtendedResourceToleration admission plugin adds it"
            if plugin_covers
            else "and the ExtendedResourceToleration admission plugin cannot add it"
        )
        blocked = _size([c for c, taints in blocking if taints])
        verdicts.warn(
            f"{label} does not tolerate {quoted(untolerated)} on {blocked} of {_size(candidates)} "
            f"GPU node(s) it targets, {hint}; add matching entries to its tolerations"
        )
    return verdicts.outcome("no pod template asks for accelerators")


@check(
    "gpu-node-match",
    reads=("templates",),
    title="Node selection matches a node that offers the accelerator",
    category=Category.GPU,
    severity=Severity.HIGH,
    rationale=(
        "A nodeSelector or required node affinity that no GPU node satisfies leaves every pod "
        "Pending. When no node offers the resource at all the result is a warning only, because a "
        "cluster autoscaler may add GPU nodes on demand from a pool scaled to zero."
    ),
    remediation=(
        "Compare the template's nodeSelector and requiredDuringScheduling node affinity with the "
        "labels of the GPU nodes (kubectl get nodes -L nvidia.com/gpu.product) and fix the key or "
        "value that excludes them, or label the GPU nodes the workload should use."
    ),
    needs=(FactClass.NODES,),
    accelerators_only=True,
)
def gpu_node_match(workload: ServingWorkload, facts: ClusterFacts, params: Parameters) -> Outcome:
    verdicts = Verdicts()
    memo = shared(workload, facts, params)
    for template, resources in _node_judged_templates(memo, verdicts):
        label = template_label(template)
        offering = [c for c in node_classes_of(template, facts) if _offers(c, resources, params)]
        wanted = _describe_resources(resources)
        if not offering:
            verdicts.warn(
                f"{label}: no node offers {wanted}; fine only if a cluster autoscaler adds GPU "
                "nodes on demand"
            )
            continue
        admitting = _admitting(memo, template)
        matching = [c for c in offering if c in admitting]
        if matching:
            verdicts.ok(f"{label} can land on {_size(matching)} node(s) offering {wanted}")
        else:
            verdicts.fail(
                f"{label}: {_describe_selection(template)} matches none of the {_size(offering)} "
                f"node(s) offering {wanted} ({quoted(facts.node_names(offering, 5))}); change it "
                "to match their labels"
            )
    return verdicts.outcome("no pod template asks for accelerators")


def _describe_selection(template: PodTemplate) -> str:
    parts = []
    if template.node_selector:
        selector = ", ".join(f"{k}={v}" for k, v in sorted(template.node_selector.items()))
        parts.append(f"nodeSelector {{{selector}}}")
    if template.required_node_terms:
        parts.append(f"required node affinity ({len(template.required_node_terms)} term(s))")
    return " and ".join(parts) or "its node selection"


@check(
    "gpu-fits-node",
    reads=("templates",),
    title="GPUs per pod fit on one node",
    category=Category.GPU,
    severity=Severity.HIGH,
    rationale=(
        "A pod is placed on one node, so a pod that asks for more devices of a resource than the "
        "largest eligible node has allocatable can never be scheduled, however many nodes there "
        "are."
    ),
    remediation=(
        "Lower the per-pod accelerator count to what one node offers and spread the model across "
        "pods (tensor/pipeline parallelism with LeaderWorkerSet or a multi-node workerSpec), or "
        "add nodes with more devices."
    ),
    needs=(FactClass.NODES,),
    accelerators_only=True,
)
def gpu_fits_node(workload: ServingWorkload, facts: ClusterFacts, params: Parameters) -> Outcome:
    verdicts = Verdicts()
    memo = shared(workload, facts, params)
    for template in workload.pod_templates:
        label = template_label(template)
        for resource, count in sorted(shared_gpus_per_pod(memo, template).items()):
            offering = [c.allocatable.get(resource, 0) for c in _admitting(memo, template)]
            largest = max((c for c in offering if c > 0), default=0)
            if largest == 0:
                verdicts.skip(f"{label}: no eligible node offers '{resource}' (see gpu-node-match)")
            elif count > largest:
                verdicts.fail(
                    f"{label} asks for {count} '{resource}' per pod but the largest eligible node "
                    f"has {largest}; lower the per-pod count or split the model across pods"
                )
            else:
                verdicts.ok(
                    f"{label}: {count} '{resource}' per pod fits (largest node has {largest})"
                )
    return verdicts.outcome("no pod template asks for a whole number of accelerator devices")


@check(
    "gpu-dra-claims",
    reads=("templates", "claims_namespace"),
    title="Referenced ResourceClaimTemplates and DeviceClasses exist",
    category=Category.GPU,
    severity=Severity.HIGH,
    rationale=(
        "With Dynamic Resource Allocation a pod names ResourceClaimTemplates (or ResourceClaims), "
        "and those name DeviceClasses. A reference to one that does not exist keeps the pod from "
        "being created or scheduled, and a container claim that names no pod-level claim is "
        "rejected by validation."
    ),
    remediation=(
        "Create the missing ResourceClaimTemplate in the workload's namespace, or fix the name in "
        "spec.resourceClaims; make each containers[].resources.claims entry name a pod-level "
        "claim; use a DeviceClass the DRA driver installs (kubectl get deviceclasses)."
    ),
    requirement="dra_support",
)
def gpu_dra_claims(workload: ServingWorkload, facts: ClusterFacts, params: Parameters) -> Outcome:
    # Applicability first: a workload without claims has nothing to verify, whatever the input.
    if not any(
        t.resource_claims or any(c.claims for c in _containers(t)) for t in workload.pod_templates
    ):
        return skipped("it references no DRA resource claims")
    if not facts.knows(FactClass.CLAIM_TEMPLATES):
        return skipped(missing_facts_message([FactClass.CLAIM_TEMPLATES]))
    verdicts = Verdicts()
    namespace = namespace_of(workload.namespace)
    knows_classes = facts.knows(FactClass.DEVICE_CLASSES)
    unverified_classes: set[str] = set()

    def judge_classes(owner: str, classes: tuple[str, ...]) -> None:
        for device_class in classes:
            if not knows_classes:
                unverified_classes.add(device_class)
            elif device_class in facts.device_classes:
                verdicts.ok(f"{owner}: DeviceClass '{device_class}' exists")
            else:
                verdicts.fail(f"{owner} uses DeviceClass '{device_class}', which does not exist")

    for template in workload.pod_templates:
        label = template_label(template)
        declared = {claim.name for claim in template.resource_claims}
        for claim in template.resource_claims:
            owner = f"{label} claim '{claim.name}'"
            if claim.resource_claim_template_name:
                key = (namespace, claim.resource_claim_template_name)
                if key in facts.claim_templates:
                    verdicts.ok(f"{owner}: ResourceClaimTemplate '{key[1]}' exists")
                    judge_classes(owner, facts.claim_template_device_classes.get(key, ()))
                else:
                    verdicts.fail(
                        f"{owner} names ResourceClaimTemplate '{key[1]}', which does not exist "
                        f"in namespace '{namespace}'"
                    )
            elif claim.resource_claim_name:
                verdicts.skip(
                    f"{owner}: ResourceClaim '{claim.resource_claim_name}' is not verified"
                )
            elif not claim.device_classes:
                verdicts.fail(
                    f"{owner} sets neither resourceClaimName nor resourceClaimTemplateName"
                )
            judge_classes(owner, claim.device_classes)
        for container in _containers(template):
            for name in container.claims:
                if name not in declared:
                    verdicts.fail(
                        f"{container_label(template, container)} uses claim '{name}', which "
                        "spec.resourceClaims does not declare"
                    )
    if unverified_classes:
        verdicts.skip(
            f"DeviceClass {quoted(unverified_classes)} not verified (no DeviceClasses in the input)"
        )
    return verdicts.outcome("the workload references no DRA resource claims")


@check(
    "gpu-runtime-class",
    reads=("templates",),
    title="Referenced RuntimeClass exists",
    category=Category.GPU,
    severity=Severity.HIGH,
    rationale=(
        "A pod that names a RuntimeClass which does not exist is rejected at admission, so the "
        "workload never starts. GPU clusters often use a RuntimeClass (nvidia) that wires the "
        "device libraries into the container; clusters using CDI do not need one."
    ),
    remediation=(
        "Set runtimeClassName to a RuntimeClass that exists (kubectl get runtimeclasses), install "
        "the one the GPU operator provides, or remove runtimeClassName when the default runtime "
        "handles the devices."
    ),
    requirement="driver_runtime_management",
    needs=(FactClass.RUNTIME_CLASSES,),
    accelerators_only=True,
)
def gpu_runtime_class(
    workload: ServingWorkload, facts: ClusterFacts, params: Parameters
) -> Outcome:
    verdicts = Verdicts()
    for template in workload.pod_templates:
        name = template.runtime_class_name
        if not name:
            continue
        label = template_label(template)
        if name in facts.runtime_classes:
            verdicts.ok(f"{label}: RuntimeClass '{name}' exists")
        else:
            known = quoted(facts.runtime_classes) or "none"
            verdicts.fail(
                f"{label}: runtimeClassName '{name}' does not exist (RuntimeClasses: {known}); "
                "fix the name or remove it"
            )
    return verdicts.outcome("no pod template sets runtimeClassName")


@check(
    "gpu-gang-scheduling",
    reads=("templates", "group"),
    title="Multi-pod groups declare gang scheduling",
    category=Category.GPU,
    severity=Severity.HIGH,
    rationale=(
        "A replica that needs several pods at once (LeaderWorkerSet size > 1, KServe workerSpec, "
        "multi-node NIM or Ray) serves nothing until all of them run. Without gang scheduling the "
        "scheduler can place part of a group, which then holds GPUs idle while it waits, and two "
        "partial groups can deadlock each other."
    ),
    remediation=(
        "Schedule the group all-or-nothing: a Kueue queue (label kueue.x-k8s.io/queue-name), "
        "Volcano (schedulerName: volcano with the LWS gang-scheduling provider), the KAI "
        "scheduler, or the native Kubernetes Workload/PodGroup API."
    ),
    requirement="gang_scheduling",
    accelerators_only=True,
)
def gpu_gang_scheduling(
    workload: ServingWorkload, facts: ClusterFacts, params: Parameters
) -> Outcome:
    size = workload.group_size
    if size is None or size <= 1:
        return skipped("each replica is a single pod; no gang is needed")
    if workload.gang_mechanisms:
        return passed(
            f"groups of {size} pods are gang-scheduled through {quoted(workload.gang_mechanisms)}"
        )
    roles = quoted(t.role for t in workload.pod_templates) or "its pod templates"
    return failed(
        f"each replica is a group of {size} pods ({roles}) but no gang mechanism is declared; "
        "add a Kueue queue label, schedulerName volcano or kai-scheduler, or a native "
        "scheduling group"
    )
