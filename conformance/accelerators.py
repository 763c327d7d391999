"""What counts as asking for an accelerator.

A container asks when it names an accelerator resource (``Parameters.gpu_resource_names`` or a
``gpu_resource_prefixes`` match, e.g. MIG slices) in requests or limits, or a fractional-GPU
resource (HAMi). A pod template asks when a container does, when it carries a fractional-GPU
annotation (KAI), or when it references DRA resource claims.
"""

from __future__ import annotations

from fractions import Fraction

from conformance.parameters import Parameters
from conformance.quantities import QuantityError, parse_quantity
from conformance.shared import Shared
from conformance.workload import Container, PodTemplate, ServingWorkload


def is_accelerator_resource(resource: str, params: Parameters) -> bool:
    return resource in params.gpu_resource_names or resource.startswith(
        params.gpu_resource_prefixes
    )


def accelerator_resources_of(container: Container, params: Parameters) -> dict[str, str]:
    """The accelerator resources a container names, with the quantity that counts
    (the limit if set, else the request), as written."""
    found: dict[str, str] = {}
    for source in (container.requests, container.limits):
        for resource, quantity in source.items():
            if is_accelerator_resource(resource, params):
                found[resource] = quantity
    return found


def parse_count(quantity: object) -> Fraction | None:
    """A resource quantity as an exact number (``conformance.quantities``: "500m" is 0.5, "1Ki"
    is 1024), or None when it is not a quantity Kubernetes accepts ("1e100", "two")."""
    try:
        return parse_quantity(quantity)
    except QuantityError:
        return None


def whole_count(quantity: object) -> int | None:
    """``parse_count`` when it is a whole number, as an int; else None."""
    if isinstance(quantity, str) and len(quantity) <= 18 and quantity.isascii() and quantity.isdigit():
        return int(quantity)  # below 2^63 by length: no grammar needed
    count = parse_count(quantity)
    return int(count) if count is not None and count.denominator == 1 else None


def container_asks(container: Container, params: Parameters) -> bool:
    if accelerator_resources_of(container, params):
        return True
    names = set(container.requests) | set(container.limits)
    return any(name in params.fractional_gpu_resources for name in names) or bool(container.claims)


def template_asks(template: PodTemplate, params: Parameters) -> bool:
    if any(container_asks(c, params) for c in (*template.containers, *template.init_containers)):
        return True
    if template.resource_claims:
        return True
    return any(
        key == annotation or key.endswith("/" + annotation)
        for key in template.annotations
        for annotation in params.fractional_gpu_annotations
    )


def workload_asks(workload: ServingWorkload, params: Parameters) -> bool:
    return any(template_asks(t, params) for t in workload.pod_templates)


def gpus_per_pod(template: PodTemplate, params: Parameters) -> dict[str, int]:
    """Whole accelerators one pod of the template takes, per resource name.

    Containers add up; init containers run before them, so the pod needs the larger of the
    largest init container and the sum of the containers (the scheduler's rule). Non-numeric or
    fractional quantities are left out (``gpu-limits`` reports them).
    """
    def add(total: dict[str, int], container: Container) -> None:
        for resource, quantity in accelerator_resources_of(container, params).items():
            count = whole_count(quantity)
            if count is not None and count > 0:
                total[resource] = total.get(resource, 0) + count

    regular: dict[str, int] = {}
    for container in template.containers:
        add(regular, container)
    for container in template.init_containers:
        single: dict[str, int] = {}
        add(single, container)
        for resource, count in single.items():
            regular[resource] = max(regular.get(resource, 0), count)
    return regular


# --- the same answers, once per evaluation (``conformance.shared``) ----------------------------


def shared_template_asks(memo: Shared, template: PodTemplate) -> bool:
    return memo.value(("template_asks", id(template)), template_asks, template, memo.params)


def shared_workload_asks(memo: Shared) -> bool:
    return any(shared_template_asks(memo, t) for t in memo.workload.pod_templates)


def shared_gpus_per_pod(memo: Shared, template: PodTemplate) -> dict[str, int]:
    """``gpus_per_pod``; callers must not change the returned mapping."""
    return memo.value(("gpus_per_pod", id(template)), gpus_per_pod, template, memo.params)
