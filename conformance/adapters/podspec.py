"""Pod-spec parsing shared by every adapter: containers, probes, ports, placement and claims.

Each kind embeds a Kubernetes PodSpec somewhere (KServe inlines it in the predictor, LWS and Ray
wrap it in a PodTemplateSpec, NIM spreads its fields over its own spec). The helpers here read
those fields into the ``conformance.workload`` dataclasses, reporting wrong types through
``FieldErrors`` with the full field path.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from conformance.adapters.fields import FieldErrors
from conformance.workload import (
    Container,
    NodeSelectorRequirement,
    PodTemplate,
    Port,
    Probe,
    ProbeHandler,
    ResourceClaimRef,
    Toleration,
)

_PROBE_HANDLERS: tuple[ProbeHandler, ...] = ("httpGet", "tcpSocket", "grpc", "exec")


def parse_probe(value: object, path: str, errors: FieldErrors) -> Probe | None:
    """A corev1 Probe; None when absent. Unset timings take the Kubernetes defaults."""
    body = errors.mapping(value, path)
    if not isinstance(value, dict):
        return None
    handler: ProbeHandler = "unknown"
    action: dict[str, Any] = {}
    for name in _PROBE_HANDLERS:
        if body.get(name) is not None:
            handler = name
            action = errors.mapping(body[name], f"{path}.{name}")
            break
    probe_path = (
        errors.string(action.get("path"), f"{path}.httpGet.path") if handler == "httpGet" else None
    )
    port = None
    if handler in ("httpGet", "tcpSocket", "grpc"):
        port = errors.int_or_string(action.get("port"), f"{path}.{handler}.port")

    def timing(key: str, default: int) -> int:
        number = errors.integer(body.get(key), f"{path}.{key}")
        return default if number is None else number

    return Probe(
        handler=handler,
        path=probe_path,
        port=port,
        initial_delay_seconds=timing("initialDelaySeconds", 0),
        period_seconds=timing("periodSeconds", 10),
        failure_threshold=timing("failureThreshold", 3),
        timeout_seconds=timing("timeoutSeconds", 1),
    )


def parse_ports(value: object, path: str, errors: FieldErrors) -> tuple[Port, ...]:
    ports = []
    for index, item in enumerate(errors.sequence(value, path)):
        where = f"{path}[{index}]"
        entry = errors.mapping(item, where)
        if not entry:
            continue
        protocol = errors.string(entry.get("protocol"), f"{where}.protocol") or "TCP"
        ports.append(
            Port(
                number=errors.integer(entry.get("containerPort"), f"{where}.containerPort"),
                name=errors.string(entry.get("name"), f"{where}.name"),
                protocol=protocol,
            )
        )
    return tuple(ports)


def parse_container(
    value: object, path: str, errors: FieldErrors, default_name: str | None = None
) -> Container | None:
    """One corev1 Container (or a KServe ModelSpec/framework spec, which inline one)."""
    body = errors.mapping(value, path)
    if not isinstance(value, dict):
        return None
    name = errors.string(body.get("name"), f"{path}.name") or default_name
    if name is None:
        errors.add(f"{path}.name is missing")
        name = ""
    resources = errors.mapping(body.get("resources"), f"{path}.resources")
    claims = []
    for index, claim in enumerate(
        errors.sequence(resources.get("claims"), f"{path}.resources.claims")
    ):
        claim_body = errors.mapping(claim, f"{path}.resources.claims[{index}]")
        claim_name = errors.string(claim_body.get("name"), f"{path}.resources.claims[{index}].name")
        if claim_name:
            claims.append(claim_name)
    return Container(
        name=name,
        image=errors.string(body.get("image"), f"{path}.image"),
        requests=errors.quantities(resources.get("requests"), f"{path}.resources.requests"),
        limits=errors.quantities(resources.get("limits"), f"{path}.resources.limits"),
        claims=tuple(claims),
        ports=parse_ports(body.get("ports"), f"{path}.ports", errors),
        readiness_probe=parse_probe(body.get("readinessProbe"), f"{path}.readinessProbe", errors),
        liveness_probe=parse_probe(body.get("livenessProbe"), f"{path}.livenessProbe", errors),
        startup_probe=parse_probe(body.get("startupProbe"), f"{path}.startupProbe", errors),
        path=path,
    )


def parse_containers(value: object, path: str, errors: FieldErrors) -> tuple[Container, ...]:
    found = []
    for index, item in enumerate(errors.sequence(value, path)):
        container = parse_container(item, f"{path}[{index}]", errors)
        if container is not None:
            found.append(container)
    return tuple(found)


def parse_tolerations(value: object, path: str, errors: FieldErrors) -> tuple[Toleration, ...]:
    found = []
    for index, item in enumerate(errors.sequence(value, path)):
        where = f"{path}[{index}]"
        entry = errors.mapping(item, where)
        if not isinstance(item, dict):
            continue
        found.append(
            Toleration(
                key=errors.string(entry.get("key"), f"{where}.key"),
                operator=errors.string(entry.get("operator"), f"{where}.operator") or "Equal",
                value=errors.string(entry.get("value"), f"{where}.value"),
                effect=errors.string(entry.get("effect"), f"{where}.effect") or None,
            )
        )
    return tuple(found)


def parse_node_selector_terms(
    value: object, path: str, errors: FieldErrors
) -> tuple[tuple[NodeSelectorRequirement, ...], ...]:
    """NodeSelectorTerms (ORed); only ``matchExpressions`` are kept, as they judge node labels."""
    terms = []
    for index, item in enumerate(errors.sequence(value, path)):
        where = f"{path}[{index}]"
        term = errors.mapping(item, where)
        requirements = []
        expressions = errors.sequence(term.get("matchExpressions"), f"{where}.matchExpressions")
        for position, expression in enumerate(expressions):
            at = f"{where}.matchExpressions[{position}]"
            entry = errors.mapping(expression, at)
            key = errors.string(entry.get("key"), f"{at}.key")
            operator = errors.string(entry.get("operator"), f"{at}.operator")
            if not key or not operator:
                if isinstance(expression, dict):
                    errors.add(f"{at} needs a key and an operator")
                continue
            values = errors.strings(entry.get("values"), f"{at}.values")
            requirements.append(NodeSelectorRequirement(key=key, operator=operator, values=values))
        if isinstance(item, dict):
            terms.append(tuple(requirements))
    return tuple(terms)


def parse_required_node_terms(
    affinity: object, path: str, errors: FieldErrors
) -> tuple[tuple[NodeSelectorRequirement, ...], ...]:
    """``affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms``."""
    node_affinity = errors.mapping(
        errors.mapping(affinity, path).get("nodeAffinity"), f"{path}.nodeAffinity"
    )
    required_path = f"{path}.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
    required = errors.mapping(
        node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution"), required_path
    )
    return parse_node_selector_terms(
        required.get("nodeSelectorTerms"), f"{required_path}.nodeSelectorTerms", errors
    )


def parse_resource_claims(
    value: object, path: str, errors: FieldErrors
) -> tuple[ResourceClaimRef, ...]:
    found = []
    for index, item in enumerate(errors.sequence(value, path)):
        where = f"{path}[{index}]"
        entry = errors.mapping(item, where)
        name = errors.string(entry.get("name"), f"{where}.name")
        if not name:
            if isinstance(item, dict):
                errors.add(f"{where}.name is missing")
            continue
        found.append(
            ResourceClaimRef(
                name=name,
                resource_claim_name=errors.string(
                    entry.get("resourceClaimName"), f"{where}.resourceClaimName"
                ),
                resource_claim_template_name=errors.string(
                    entry.get("resourceClaimTemplateName"), f"{where}.resourceClaimTemplateName"
                ),
            )
        )
    return tuple(found)


def scheduling_group_of(spec: dict[str, Any], path: str, errors: FieldErrors) -> str | None:
    """The native gang: ``spec.schedulingGroup.podGroupName`` (Kubernetes Workload API)."""
    group = errors.mapping(spec.get("schedulingGroup"), f"{path}.schedulingGroup")
    if not group:
        return None
    name = errors.string(group.get("podGroupName"), f"{path}.schedulingGroup.podGroupName")
    # A schedulingGroup without a name still opts the pod into a group; keep that visible.
    return name or "<unnamed>"


def pod_template_from_spec(
    spec: object,
    path: str,
    errors: FieldErrors,
    *,
    role: str,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    pods_per_replica: int = 1,
    serving_container: str | None = None,
    serves_traffic: bool = True,
    containers: tuple[Container, ...] | None = None,
    extra_claims: tuple[ResourceClaimRef, ...] = (),
) -> PodTemplate:
    """A PodTemplate from a PodSpec-shaped mapping at ``path``.

    ``containers`` replaces ``spec.containers`` for kinds that build the container themselves
    (a KServe ModelSpec, NIM's single container); ``extra_claims`` adds DRA claims the kind
    creates for the pod (NIM draResources, KServe exp-dra annotations).
    """
    body = errors.mapping(spec, path)
    if containers is None:
        containers = parse_containers(body.get("containers"), f"{path}.containers", errors)
    return PodTemplate(
        role=role,
        containers=containers,
        init_containers=parse_containers(
            body.get("initContainers"), f"{path}.initContainers", errors
        ),
        pods_per_replica=pods_per_replica,
        labels=dict(labels or {}),
        annotations=dict(annotations or {}),
        node_selector=errors.string_map(body.get("nodeSelector"), f"{path}.nodeSelector"),
        required_node_terms=parse_required_node_terms(
            body.get("affinity"), f"{path}.affinity", errors
        ),
        tolerations=parse_tolerations(body.get("tolerations"), f"{path}.tolerations", errors),
        runtime_class_name=errors.string(body.get("runtimeClassName"), f"{path}.runtimeClassName"),
        scheduler_name=errors.string(body.get("schedulerName"), f"{path}.schedulerName"),
        resource_claims=parse_resource_claims(
            body.get("resourceClaims"), f"{path}.resourceClaims", errors
        )
        + extra_claims,
        serving_container=serving_container,
        serves_traffic=serves_traffic,
        scheduling_group=scheduling_group_of(body, path, errors),
        path=path,
    )


def pod_template_from_template_spec(
    template: object,
    path: str,
    errors: FieldErrors,
    *,
    role: str,
    extra_labels: dict[str, str] | None = None,
    pods_per_replica: int = 1,
    serving_container: str | None = None,
    serves_traffic: bool = True,
) -> PodTemplate:
    """A PodTemplate from a PodTemplateSpec (``{metadata: {labels, annotations}, spec: PodSpec}``).

    ``extra_labels`` are the labels the owning controller stamps on the pods (LWS name, KServe
    component), which Services and PDBs select on.
    """
    body = errors.mapping(template, path)
    metadata = errors.mapping(body.get("metadata"), f"{path}.metadata")
    labels = errors.string_map(metadata.get("labels"), f"{path}.metadata.labels")
    labels.update(extra_labels or {})
    parsed = pod_template_from_spec(
        body.get("spec"),
        f"{path}.spec",
        errors,
        role=role,
        labels=labels,
        annotations=errors.string_map(metadata.get("annotations"), f"{path}.metadata.annotations"),
        pods_per_replica=pods_per_replica,
        serving_container=serving_container,
        serves_traffic=serves_traffic,
    )
    # Messages name the template ("spec.template"); fields inside keep their ".spec." paths.
    return replace(parsed, path=path)
