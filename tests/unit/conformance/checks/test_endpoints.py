"""Inference endpoint checks, as specifications: probes on the serving container, Service,
Gateway route, metrics scraping and the target's own readiness."""

from conformance.checks.endpoints import is_model_aware_path, serving_container_of
from conformance.facts import FactClass, RouteFacts, ServingRuntimeFacts
from conformance.findings import Result
from conformance.parameters import Parameters
from conformance.workload import Container, Port, Probe, Readiness, ServingRuntimeRef
from tests.unit.conformance.checks.builders import (
    container,
    facts,
    http_probe,
    run,
    selecting,
    template,
    workload,
)

GIE = "inference.networking.k8s.io"


VLLM_RUNTIME = ServingRuntimeRef("vllm-runtime")


def kserve(*templates, runtime=VLLM_RUNTIME):
    bare = container(
        "kserve-container", readiness_probe=None, liveness_probe=None, startup_probe=None, ports=()
    )
    return workload(
        *(templates or (template(bare, path="spec.predictor.model"),)),
        api_version="serving.kserve.io/v1beta1",
        kind="InferenceService",
        serving_runtime=runtime,
    )


def runtime_facts(**container_fields):
    supplied = Container(name="kserve-container", **container_fields)
    runtime = ServingRuntimeFacts(
        name="vllm-runtime",
        namespace="ml",
        model_formats=("huggingface",),
        auto_select_formats=("huggingface",),
        containers=(supplied,),
    )
    return facts(serving_runtimes=(runtime,))


# --- which container serves --------------------------------------------------------------------


def test_the_serving_container_is_the_named_one_else_the_first_with_ports():
    sidecar, server = Container("proxy"), Container("server", ports=(Port(8000),))
    assert serving_container_of(template(sidecar, server)).name == "server"
    assert (
        serving_container_of(template(sidecar, server, serving_container="proxy")).name == "proxy"
    )
    assert serving_container_of(template(Container("a"), Container("b"))).name == "a"
    assert serving_container_of(template(containers=())) is None


def test_model_aware_paths_include_paths_below_a_listed_path_and_prefixes():
    params = Parameters(model_aware_paths=("/v1/models", "/ready/"))
    assert is_model_aware_path("/v1/models", params)
    assert is_model_aware_path("/v1/models/llama?x=1", params)
    assert is_model_aware_path("/ready/now", params)
    assert not is_model_aware_path("/v1/modelsx", params)
    assert not is_model_aware_path("/health", params)
    assert not is_model_aware_path(None, params)


# --- endpoint-readiness-probe ------------------------------------------------------------------


def test_readiness_pass_on_a_model_aware_path():
    outcome = run("endpoint-readiness-probe", workload())
    assert outcome.result is Result.PASS and "'vllm'" in outcome.message


def test_readiness_fail_when_absent_names_the_container():
    outcome = run("endpoint-readiness-probe", workload(template(container(readiness_probe=None))))
    assert outcome.result is Result.FAIL
    assert "'vllm'" in outcome.message and "no readinessProbe" in outcome.message


def test_readiness_warn_on_health_path_and_on_tcp_socket():
    health = run(
        "endpoint-readiness-probe",
        workload(template(container(readiness_probe=http_probe("/health")))),
    )
    assert health.result is Result.WARN and "/health" in health.message
    tcp = run(
        "endpoint-readiness-probe",
        workload(template(container(readiness_probe=Probe("tcpSocket", port=8000)))),
    )
    assert tcp.result is Result.WARN and "tcpSocket" in tcp.message


def test_readiness_ignore_templates_that_serve_no_traffic():
    worker = template(
        container("ray-worker", readiness_probe=None), role="worker", serves_traffic=False
    )
    assert run("endpoint-readiness-probe", workload(template(), worker)).result is Result.PASS
    assert run("endpoint-readiness-probe", workload(worker)).result is Result.SKIP


def test_readiness_come_from_the_serving_runtime_when_the_workload_sets_none():
    known = runtime_facts(readiness_probe=http_probe("/v1/models/llm"))
    outcome = run("endpoint-readiness-probe", kserve(), known)
    assert outcome.result is Result.PASS and "ServingRuntime 'vllm-runtime'" in outcome.message


def test_readiness_from_a_runtime_picked_by_model_format():
    known = runtime_facts(readiness_probe=http_probe("/health"))
    w = kserve(runtime=ServingRuntimeRef(None, model_format="HuggingFace"))
    assert run("endpoint-readiness-probe", w, known).result is Result.WARN


def test_readiness_skip_names_a_serving_runtime_that_is_not_in_the_input():
    outcome = run("endpoint-readiness-probe", kserve())
    assert outcome.result is Result.SKIP
    assert "ServingRuntime 'vllm-runtime', which is not in the input" in outcome.message
    other = run(
        "endpoint-readiness-probe", kserve(runtime=ServingRuntimeRef("tgi")), runtime_facts()
    )
    assert other.result is Result.SKIP and "'tgi'" in other.message


# --- endpoint-startup-probe --------------------------------------------------------------------


def test_startup_pass_when_the_budget_covers_model_load():
    assert run("endpoint-startup-probe", workload()).result is Result.PASS


def test_startup_fail_when_the_budget_is_short_and_say_what_threshold_is_needed():
    short = http_probe(failure_threshold=30, period_seconds=10)
    outcome = run("endpoint-startup-probe", workload(template(container(startup_probe=short))))
    assert outcome.result is Result.FAIL
    assert "300s" in outcome.message and "failureThreshold to 60" in outcome.message


def test_startup_fail_when_absent():
    outcome = run("endpoint-startup-probe", workload(template(container(startup_probe=None))))
    assert outcome.result is Result.FAIL and "no startupProbe" in outcome.message


def test_startup_respects_the_profile_budget():
    params = Parameters(startup_budget_seconds=1200)
    assert run("endpoint-startup-probe", workload(), params=params).result is Result.FAIL


def test_startup_skip_when_probes_come_from_an_unknown_runtime():
    assert run("endpoint-startup-probe", kserve()).result is Result.SKIP


# --- endpoint-liveness-probe -------------------------------------------------------------------


def test_liveness_pass_when_guarded_by_a_startup_probe():
    assert run("endpoint-liveness-probe", workload()).result is Result.PASS


def test_liveness_pass_when_guarded_by_a_long_initial_delay():
    c = container(
        startup_probe=None, liveness_probe=http_probe("/health", initial_delay_seconds=120)
    )
    assert run("endpoint-liveness-probe", workload(template(c))).result is Result.PASS


def test_liveness_fail_when_nothing_guards_model_load():
    c = container(
        startup_probe=None, liveness_probe=http_probe("/health", initial_delay_seconds=10)
    )
    outcome = run("endpoint-liveness-probe", workload(template(c)))
    assert outcome.result is Result.FAIL
    assert "'vllm'" in outcome.message and "initialDelaySeconds to at least 120" in outcome.message


def test_liveness_warn_on_the_model_aware_path():
    c = container(liveness_probe=http_probe("/v1/models"))
    outcome = run("endpoint-liveness-probe", workload(template(c)))
    assert outcome.result is Result.WARN and "/v1/models" in outcome.message


def test_liveness_fail_when_absent():
    outcome = run("endpoint-liveness-probe", workload(template(container(liveness_probe=None))))
    assert outcome.result is Result.FAIL and "no livenessProbe" in outcome.message


def test_liveness_guarded_by_a_startup_probe_from_the_serving_runtime():
    known = runtime_facts(liveness_probe=http_probe("/health"), startup_probe=http_probe())
    assert run("endpoint-liveness-probe", kserve(), known).result is Result.PASS


# --- endpoint-service --------------------------------------------------------------------------


def test_service_pass_when_a_service_selects_the_pods_on_a_named_port():
    svc = selecting("Service", "llm", ports=("http",))
    outcome = run("endpoint-service", workload(), facts(services=(svc,)))
    assert outcome.result is Result.PASS and "'llm'" in outcome.message


def test_service_warn_for_an_unnamed_port_or_a_port_the_container_does_not_declare():
    unnamed = selecting("Service", "llm", ports=(8000,))
    outcome = run("endpoint-service", workload(), facts(services=(unnamed,)))
    assert outcome.result is Result.WARN and "no named port" in outcome.message
    wrong = selecting("Service", "llm", ports=(9000,), named_ports=True)
    outcome = run("endpoint-service", workload(), facts(services=(wrong,)))
    assert outcome.result is Result.WARN and "'9000'" in outcome.message


def test_service_fail_when_no_service_selects_the_pods():
    services = (selecting("Service", "other", {"app": "other"}), selecting("Service", "all", {}))
    outcome = run("endpoint-service", workload(), facts(services=services))
    assert outcome.result is Result.FAIL and "'app': 'llm'" in outcome.message


def test_service_pass_for_a_declared_url_or_managed_service_without_facts():
    assert run("endpoint-service", workload(declared_urls=("http://llm.ml",))).result is Result.PASS
    assert (
        run("endpoint-service", workload(managed_services=("llm-serve-svc",))).result is Result.PASS
    )


def test_service_skip_when_services_are_unknown():
    assert run("endpoint-service", workload()).result is Result.SKIP


# --- endpoint-gateway-route --------------------------------------------------------------------


def test_route_pass_for_an_http_route_to_a_selecting_service():
    known = facts(
        services=(selecting("Service", "llm-svc"),),
        http_routes=(RouteFacts("chat", "ml", (("", "Service", "llm-svc"),)),),
    )
    outcome = run("endpoint-gateway-route", workload(), known)
    assert outcome.result is Result.PASS and "'chat'" in outcome.message


def test_route_pass_for_an_http_route_to_a_selecting_inference_pool():
    known = facts(
        FactClass.SERVICES,
        inference_pools=(selecting("InferencePool", "pool"),),
        http_routes=(RouteFacts("chat", "ml", ((GIE, "InferencePool", "pool"),)),),
    )
    assert run("endpoint-gateway-route", workload(), known).result is Result.PASS


def test_route_warn_for_an_inference_pool_no_route_reaches():
    known = facts(FactClass.SERVICES, inference_pools=(selecting("InferencePool", "pool"),))
    outcome = run("endpoint-gateway-route", workload(), known)
    assert outcome.result is Result.WARN and "'pool'" in outcome.message


def test_route_fail_when_nothing_routes_to_it():
    known = facts(
        FactClass.SERVICES, http_routes=(RouteFacts("chat", "ml", (("", "Service", "other"),)),)
    )
    assert run("endpoint-gateway-route", workload(), known).result is Result.FAIL


def test_route_pass_when_declared_and_skip_when_routes_are_unknown():
    assert (
        run("endpoint-gateway-route", workload(declares_gateway_route=True)).result is Result.PASS
    )
    assert run("endpoint-gateway-route", workload()).result is Result.SKIP


# --- endpoint-metrics --------------------------------------------------------------------------


def test_metrics_pass_for_a_pod_monitor_selecting_the_pods():
    known = facts(monitors=(selecting("PodMonitor", "vllm"),))
    outcome = run("endpoint-metrics", workload(), known)
    assert outcome.result is Result.PASS and "PodMonitor vllm" in outcome.message


def test_metrics_pass_for_a_service_monitor_selecting_a_service_of_the_pods():
    svc = selecting("Service", "llm", ports=("http",), labels={"team": "ml"})
    monitor = selecting("ServiceMonitor", "llm", {"team": "ml"}, selects_services=True)
    known = facts(services=(svc,), monitors=(monitor,))
    assert run("endpoint-metrics", workload(), known).result is Result.PASS


def test_metrics_pass_on_scrape_annotations_without_monitor_facts():
    t = template(annotations={"prometheus.io/scrape": "true"})
    assert run("endpoint-metrics", workload(t)).result is Result.PASS
    kserve = workload(annotations={"serving.kserve.io/enable-prometheus-scraping": "true"})
    assert run("endpoint-metrics", kserve).result is Result.PASS


def test_metrics_fail_when_no_monitor_covers_the_pods():
    elsewhere = selecting("PodMonitor", "vllm", namespace="monitoring")
    outcome = run("endpoint-metrics", workload(), facts(monitors=(elsewhere,)))
    assert outcome.result is Result.FAIL and "prometheus.io/scrape" in outcome.message


def test_metrics_count_a_monitor_watching_other_namespaces():
    anywhere = selecting("PodMonitor", "vllm", namespace="monitoring", namespaces=("*",))
    assert run("endpoint-metrics", workload(), facts(monitors=(anywhere,))).result is Result.PASS


def test_metrics_skip_when_monitors_are_unknown():
    assert run("endpoint-metrics", workload()).result is Result.SKIP


# --- endpoint-ready ----------------------------------------------------------------------------


def test_ready_pass_fail_and_skip_follow_the_targets_status():
    assert run("endpoint-ready", workload(readiness=Readiness(True))).result is Result.PASS
    outcome = run("endpoint-ready", workload(readiness=Readiness(False, "ModelLoadFailed", "OOM")))
    assert outcome.result is Result.FAIL and "ModelLoadFailed: OOM" in outcome.message
    assert run("endpoint-ready", workload()).result is Result.SKIP
