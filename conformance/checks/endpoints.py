"""Inference endpoint checks: probes on the serving container, and whether a Service, a Gateway
route and a metrics scraper reach the workload, and whether it reports itself Ready.

These apply to every workload, GPU or not. Probes are judged on the *serving container* of each
template that serves traffic (``serving_parts``); for KServe, probes the workload does not set
come from its ServingRuntime (``conformance.relations.serving_runtime_for``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from conformance.checks.describe import Verdicts, container_label, quoted, template_label
from conformance.facts import ClusterFacts, FactClass
from conformance.findings import Outcome, Severity, failed, passed, skipped, warned
from conformance.parameters import Parameters
from conformance.registry import Category, check
from conformance.relations import (
    inference_pools_for,
    monitors_for,
    routes_for,
    routes_to_pool,
    selecting_candidates,
    serving_runtime_for,
    templates_selected_by,
)
from conformance.shared import shared
from conformance.workload import Container, PodTemplate, Probe, ServingWorkload

_SCRAPE_ANNOTATION = "prometheus.io/scrape"
_KSERVE_SCRAPE_ANNOTATION = "serving.kserve.io/enable-prometheus-scraping"
_NO_SERVING_TEMPLATE = "no pod template with containers serves traffic"


def serving_container_of(template: PodTemplate) -> Container | None:
    """The container that answers inference requests: the one the kind names, else the first
    that declares a port, else the first."""
    containers = template.containers
    if template.serving_container:
        named = next((c for c in containers if c.name == template.serving_container), None)
        if named is not None:
            return named
    with_ports = next((c for c in containers if c.ports), None)
    if with_ports is not None:
        return with_ports
    return containers[0] if containers else None


@dataclass(frozen=True)
class ServingPart:
    template: PodTemplate
    container: Container

    @property
    def label(self) -> str:
        return container_label(self.template, self.container)


def serving_parts(workload: ServingWorkload) -> tuple[ServingPart, ...]:
    """(template, serving container) for every template whose pods serve traffic."""
    parts = []
    for template in workload.pod_templates:
        if not template.serves_traffic:
            continue
        container = serving_container_of(template)
        if container is not None:
            parts.append(ServingPart(template, container))
    return tuple(parts)


@dataclass(frozen=True)
class ResolvedProbe:
    """A probe as the pod will run it, or why it cannot be known from the input."""

    probe: Probe | None
    source: str  # "" when set on the workload, else " (from ServingRuntime 'x')"
    unknown: str | None = None  # set when the probe lives in a ServingRuntime not in the input


def _runtime_description(workload: ServingWorkload) -> str:
    reference = workload.serving_runtime
    if reference is None:
        return "its ServingRuntime"
    if reference.name:
        return f"ServingRuntime '{reference.name}'"
    return f"the ServingRuntime KServe picks for model format '{reference.model_format or '?'}'"


def resolve_probe(
    workload: ServingWorkload, facts: ClusterFacts, part: ServingPart, kind: str
) -> ResolvedProbe:
    """The ``kind`` probe ("readiness", "liveness", "startup") of the serving container. KServe
    merges the workload's container over the ServingRuntime's, so a probe the workload leaves
    unset comes from the runtime's container of the same name (or its first container)."""
    attribute = f"{kind}_probe"
    own = getattr(part.container, attribute, None)
    if own is None and workload.platform_probes:
        return ResolvedProbe(None, "", f"no {kind}Probe is declared and {workload.platform_probes}")
    if own is not None or workload.serving_runtime is None:
        return ResolvedProbe(own, "")
    runtime_name = _runtime_description(workload)
    unknown = f"probes come from {runtime_name}, which is not in the input"
    if not facts.knows(FactClass.SERVING_RUNTIMES):
        return ResolvedProbe(None, "", unknown)
    runtime = serving_runtime_for(workload, facts)
    if runtime is None:
        return ResolvedProbe(None, "", unknown)
    containers = [c for c in runtime.containers if isinstance(c, Container)]
    supplied = next((c for c in containers if c.name == part.container.name), None) or next(
        iter(containers), None
    )
    probe = getattr(supplied, attribute, None) if supplied is not None else None
    kind = "ClusterServingRuntime" if runtime.namespace is None else "ServingRuntime"
    return ResolvedProbe(probe, f" (from {kind} '{runtime.name}')")


def _serving_parts(
    workload: ServingWorkload, facts: ClusterFacts, params: Parameters
) -> tuple[ServingPart, ...]:
    """``serving_parts``, once per evaluation."""
    return shared(workload, facts, params).value("serving_parts", serving_parts, workload)


def probes_to_judge(
    workload: ServingWorkload, facts: ClusterFacts, params: Parameters, kind: str,
    verdicts: Verdicts,
) -> Iterator[tuple[ServingPart, str, Probe | None]]:
    """(part, label, probe) for each serving container whose ``kind`` probe is known; the ones
    whose probe lives in a ServingRuntime missing from the input are noted as skipped."""
    for part in _serving_parts(workload, facts, params):
        resolved = resolve_probe(workload, facts, part, kind)
        if resolved.unknown:
            verdicts.skip(f"{part.label}: {resolved.unknown}")
            continue
        yield part, part.label + resolved.source, resolved.probe


def is_model_aware_path(path: str | None, params: Parameters) -> bool:
    """Whether an httpGet path answers only once the model is loaded. An entry ending in '/' is a
    prefix; any other entry matches itself and the paths below it, so KServe's per-model
    ``/v1/models/<name>`` counts under ``/v1/models``."""
    if not path:
        return False
    path = path.split("?", 1)[0]
    for entry in params.model_aware_paths:
        if not entry:
            continue
        if entry.endswith("/"):
            if path.startswith(entry):
                return True
        elif path == entry or path.startswith(entry + "/"):
            return True
    return False


def _describe_probe(probe: Probe) -> str:
    if probe.handler == "httpGet":
        return f"httpGet {probe.path or '/'}"
    return probe.handler


@check(
    "endpoint-readiness-probe",
    reads=("templates", "probe_sources"),
    title="Readiness probe checks that the model is loaded",
    category=Category.ENDPOINTS,
    severity=Severity.HIGH,
    rationale=(
        "The readiness probe decides when a pod receives traffic. A TCP check or a liveness-style "
        "path such as vLLM's /health passes as soon as the process listens, minutes before the "
        "model is loaded, so requests reach a server that cannot answer them. Paths like "
        "/v1/models or /v2/health/ready answer only once the model is ready."
    ),
    remediation=(
        "Give the serving container a readinessProbe with httpGet on a model-aware path: "
        "/v1/models (vLLM, OpenAI-compatible servers), /v2/health/ready (KServe v2, Triton), "
        "/v1/health/ready (NIM), /v1/models/<name> (KServe v1)."
    ),
)
def endpoint_readiness_probe(
    workload: ServingWorkload, facts: ClusterFacts, params: Parameters
) -> Outcome:
    verdicts = Verdicts()
    for _, label, probe in probes_to_judge(workload, facts, params, "readiness", verdicts):
        if probe is None:
            verdicts.fail(
                f"{label} has no readinessProbe; add an httpGet probe on a model-aware path such "
                "as /v1/models"
            )
        elif probe.handler != "httpGet":
            verdicts.warn(
                f"{label} readinessProbe uses {probe.handler}, which passes before the model is "
                "loaded; use httpGet on a model-aware path such as /v1/models"
            )
        elif not is_model_aware_path(probe.path, params):
            verdicts.warn(
                f"{label} readinessProbe httpGet {probe.path or '/'} only shows the process is up; "
                f"probe a model-aware path ({quoted(params.model_aware_paths)})"
            )
        else:
            verdicts.ok(f"{label} readinessProbe httpGet {probe.path} is model-aware")
    return verdicts.outcome(_NO_SERVING_TEMPLATE)


@check(
    "endpoint-startup-probe",
    reads=("templates", "probe_sources"),
    title="Startup probe allows for model load",
    category=Category.ENDPOINTS,
    severity=Severity.MEDIUM,
    rationale=(
        "Loading weights onto GPUs takes minutes (NIM allows about 20). A startup probe holds off "
        "the liveness probe until the server is up; its budget, initialDelaySeconds + "
        "failureThreshold x periodSeconds, must cover the slowest expected load or the kubelet "
        "restarts the container in a loop."
    ),
    remediation=(
        "Add a startupProbe on the serving container (httpGet on a model-aware path) and raise "
        "failureThreshold so that initialDelaySeconds + failureThreshold x periodSeconds reaches "
        "the profile's startupBudgetSeconds."
    ),
)
def endpoint_startup_probe(
    workload: ServingWorkload, facts: ClusterFacts, params: Parameters
) -> Outcome:
    verdicts = Verdicts()
    required = params.startup_budget_seconds
    for _, label, probe in probes_to_judge(workload, facts, params, "startup", verdicts):
        if probe is None:
            verdicts.fail(
                f"{label} has no startupProbe; add one whose budget covers model load "
                f"(at least {required}s)"
            )
        elif probe.budget_seconds < required:
            verdicts.fail(
                f"{label} startupProbe budget is {probe.budget_seconds}s "
                f"(initialDelaySeconds {probe.initial_delay_seconds} + failureThreshold "
                f"{probe.failure_threshold} x periodSeconds {probe.period_seconds}), below "
                f"{required}s; {_threshold_hint(probe, required)}"
            )
        else:
            verdicts.ok(f"{label} startupProbe budget {probe.budget_seconds}s covers {required}s")
    return verdicts.outcome(_NO_SERVING_TEMPLATE)


def _threshold_hint(probe: Probe, required: int) -> str:
    if probe.period_seconds <= 0:
        return "set periodSeconds to a positive value and raise failureThreshold"
    needed = math.ceil((required - probe.initial_delay_seconds) / probe.period_seconds)
    return f"raise failureThreshold to {max(needed, 1)}"


@check(
    "endpoint-liveness-probe",
    reads=("templates", "probe_sources"),
    title="Liveness probe present and safe during model load",
    category=Category.ENDPOINTS,
    severity=Severity.MEDIUM,
    rationale=(
        "A liveness probe restarts a server that has hung, but one that fires during model load "
        "restarts it forever: it needs a startup probe in front or a long initialDelaySeconds. It "
        "should probe process health (/health), not the model-aware path, or a busy or reloading "
        "model gets the container killed."
    ),
    remediation=(
        "Add a livenessProbe on a process-health path such as /health or /v1/health/live, and add "
        "a startupProbe (or set initialDelaySeconds to at least the profile's "
        "livenessMinInitialDelaySeconds)."
    ),
)
def endpoint_liveness_probe(
    workload: ServingWorkload, facts: ClusterFacts, params: Parameters
) -> Outcome:
    verdicts = Verdicts()
    minimum_delay = params.liveness_min_initial_delay_seconds
    for part, label, probe in probes_to_judge(workload, facts, params, "liveness", verdicts):
        if probe is None:
            verdicts.fail(
                f"{label} has no livenessProbe, so a hung server is never restarted; add one on a "
                "process-health path such as /health"
            )
            continue
        startup = resolve_probe(workload, facts, part, "startup")
        protected = startup.probe is not None or probe.initial_delay_seconds >= minimum_delay
        model_aware = probe.handler == "httpGet" and is_model_aware_path(probe.path, params)
        if not protected and startup.unknown:
            verdicts.skip(f"{part.label}: startup {startup.unknown}")
            continue
        if not protected:
            verdicts.fail(
                f"{label} livenessProbe starts after {probe.initial_delay_seconds}s with no "
                f"startupProbe, which can kill a model load; add a startupProbe or set "
                f"initialDelaySeconds to at least {minimum_delay}"
            )
        if model_aware:
            verdicts.warn(
                f"{label} livenessProbe probes the model-aware path {probe.path}; a busy or "
                "reloading model restarts the container, probe /health instead"
            )
        if protected and not model_aware:
            verdicts.ok(
                f"{label} livenessProbe {_describe_probe(probe)} is guarded during model load"
            )
    return verdicts.outcome(_NO_SERVING_TEMPLATE)


def _port_matches(target: int | str, container: Container) -> bool:
    return any(target in (port.number, port.name) for port in container.ports)


@check(
    "endpoint-service",
    title="A Service exposes the serving pods",
    category=Category.ENDPOINTS,
    severity=Severity.HIGH,
    rationale=(
        "Clients, gateways and monitors reach model servers through a Service. Without one "
        "selecting the serving pods there is no stable address; a named port lets "
        "ServiceMonitors, meshes and HTTPRoutes refer to it by name. Kinds that create their own "
        "Service or report a URL (KServe, Ray, NIM) satisfy this by themselves."
    ),
    remediation=(
        "Create a Service whose selector matches the serving pods' labels, with a named port (for "
        "example name: http) whose targetPort is the serving container's port."
    ),
    requirement="ai_inference",
)
def endpoint_service(workload: ServingWorkload, facts: ClusterFacts, params: Parameters) -> Outcome:
    if workload.declared_urls:
        return passed(f"reachable at {quoted(workload.declared_urls)}")
    if workload.managed_services:
        return passed(f"exposed by the Service(s) it manages: {quoted(workload.managed_services)}")
    parts = _serving_parts(workload, facts, params)
    if not parts:
        return skipped(_NO_SERVING_TEMPLATE)
    if not facts.knows(FactClass.SERVICES):
        return skipped("it declares no URL and the input holds no Services to look for one")
    # One well-formed Service is enough; other Services' shortcomings are not the workload's.
    good: list[str] = []
    shortcomings: list[str] = []
    for service in selecting_candidates("services", workload, facts):
        selected = templates_selected_by(service, workload, empty_matches_all=False)
        containers = [p.container for p in parts if any(p.template is t for t in selected)]
        if not containers:
            continue
        problems = []
        declared_ports = [c for c in containers if c.ports]
        if (
            service.ports
            and declared_ports
            and not any(
                _port_matches(target, c) for target in service.ports for c in declared_ports
            )
        ):
            problems.append(
                f"targets port(s) {quoted(service.ports)}, which the serving container does not "
                f"declare"
            )
        if not service.named_ports and not any(isinstance(p, str) for p in service.ports):
            problems.append("has no named port; name it (for example 'http')")
        if problems:
            shortcomings.append(f"Service '{service.name}' " + " and ".join(problems))
        else:
            good.append(service.name)
    if good:
        return passed(f"Service {quoted(good)} selects its serving pods on a named port")
    if shortcomings:
        return warned("; ".join(shortcomings))
    labels = "; ".join(f"{template_label(p.template)} labels {p.template.labels}" for p in parts)
    return failed(
        f"no Service selects its serving pods ({labels}) and it declares no URL; create a Service "
        "selecting those labels with a named port"
    )


@check(
    "endpoint-gateway-route",
    title="Routed through Gateway API or an InferencePool",
    category=Category.ENDPOINTS,
    severity=Severity.INFO,
    rationale=(
        "Gateway API is the Kubernetes AI Conformance ingress for inference: an HTTPRoute to the "
        "model's Service, or to an InferencePool whose endpoint picker balances on queue depth and "
        "KV-cache, gives traffic management, model-aware load balancing and a single entry point."
    ),
    remediation=(
        "Create an HTTPRoute whose backendRefs name a Service selecting the serving pods, or an "
        "InferencePool (group inference.networking.k8s.io) that selects them; or use the serving "
        "platform's router (LLMInferenceService spec.router, NIM expose.router)."
    ),
    requirement="ai_inference",
)
def endpoint_gateway_route(
    workload: ServingWorkload, facts: ClusterFacts, params: Parameters
) -> Outcome:
    if workload.declares_gateway_route:
        return passed("it sets up its own Gateway API route")
    if not facts.knows(FactClass.ROUTES):
        return skipped(
            "it declares no route and the input holds no HTTPRoutes or InferencePools to look for "
            "one"
        )
    routes = routes_for(workload, facts)
    if routes:
        return passed(f"HTTPRoute {quoted(r.name for r in routes)} routes to it")
    pools = inference_pools_for(workload, facts)
    unrouted = [pool for pool in pools if not routes_to_pool(pool, facts)]
    if pools:
        return warned(
            f"InferencePool {quoted(p.name for p in unrouted or pools)} selects its pods but no "
            "HTTPRoute routes to it; add an HTTPRoute backendRef of kind InferencePool"
        )
    if not facts.knows(FactClass.SERVICES) and not workload.managed_services and facts.http_routes:
        return skipped("the input holds no Services to resolve the HTTPRoutes' backends")
    return failed(
        "no HTTPRoute routes to a Service or InferencePool that selects its pods; add an HTTPRoute "
        "(or an InferencePool plus HTTPRoute) for it"
    )


def _annotated_for_scraping(workload: ServingWorkload) -> str | None:
    """The annotation that makes Prometheus scrape the pods, if any."""
    sources = [workload.annotations, *(t.annotations for t in workload.pod_templates)]
    for source in sources:
        for key in (_SCRAPE_ANNOTATION, _KSERVE_SCRAPE_ANNOTATION):
            if str(source.get(key, "")).lower() == "true":
                return key
    return None


@check(
    "endpoint-metrics",
    title="Serving metrics are scraped",
    category=Category.ENDPOINTS,
    severity=Severity.MEDIUM,
    rationale=(
        "Model servers export queue depth, running requests, KV-cache usage and latency, which are "
        "what autoscaling, alerting and capacity planning need. They are only useful when a "
        "Prometheus ServiceMonitor or PodMonitor, or the scrape annotations, pick them up."
    ),
    remediation=(
        "Create a PodMonitor selecting the serving pods (or a ServiceMonitor selecting their "
        'Service), or annotate the pod template with prometheus.io/scrape: "true" (KServe: '
        'serving.kserve.io/enable-prometheus-scraping: "true").'
    ),
    requirement="ai_service_metrics",
)
def endpoint_metrics(workload: ServingWorkload, facts: ClusterFacts, params: Parameters) -> Outcome:
    if workload.declares_metrics_scraping:
        return passed("it sets up metrics scraping itself")
    annotation = _annotated_for_scraping(workload)
    if annotation:
        return passed(f'annotated {annotation}: "true"')
    if not facts.knows(FactClass.MONITORS):
        return skipped(
            "it has no scrape annotation and the input holds no ServiceMonitors or PodMonitors"
        )
    monitors = monitors_for(workload, facts)
    if monitors:
        return passed(f"scraped by {quoted(f'{m.kind} {m.name}' for m in monitors)}")
    return failed(
        "no ServiceMonitor or PodMonitor covers its pods and no template carries "
        f'{_SCRAPE_ANNOTATION}: "true"; add a PodMonitor selecting its pods or the annotation'
    )


@check(
    "endpoint-ready",
    reads=("readiness",),
    title="The target reports Ready",
    category=Category.ENDPOINTS,
    severity=Severity.HIGH,
    rationale=(
        "The serving platform's own Ready condition aggregates what kaico cannot see from the "
        "spec: the model downloaded and loaded, the runtime resolved, routes programmed. A target "
        "that is not Ready is not serving, whatever its spec says."
    ),
    remediation=(
        "Read the reason and message of the target's Ready condition (kubectl describe), and the "
        "events and logs of its pods, and fix what they name."
    ),
)
def endpoint_ready(workload: ServingWorkload, facts: ClusterFacts, params: Parameters) -> Outcome:
    readiness = workload.readiness
    if readiness is None:
        return skipped("the target reports no readiness in its status")
    if readiness.ready:
        return passed("the target reports Ready")
    detail = ": ".join(part for part in (readiness.reason, readiness.message) if part)
    return failed(f"the target reports not Ready ({detail or 'no reason given'})")
