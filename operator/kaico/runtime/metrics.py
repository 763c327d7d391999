"""Prometheus metrics and the operator's HTTP endpoints (/metrics, /healthz, /readyz).

Gauges are not set and forgotten: a collector computes them from ``Results`` at every scrape,
so a deleted target's series disappear with it (no stale series, no cleanup code). By default
only aggregates are exported (no namespace or name labels, whose cardinality grows with the
cluster: kyverno#4959); per-target series need ``--per-target-metrics``. The evaluation-duration
histogram carries no labels at all.

With ``MetricsAuth`` (``--metrics-auth``, the chart's default) /metrics answers only a bearer
token the API server authenticates whose user may ``get`` the non-resource URL ``/metrics``, as
controller-runtime's secure metrics filter does; ``tls_context`` serves it over HTTPS. /healthz
and /readyz stay open: the kubelet's probes carry no token.
"""

from __future__ import annotations

import hashlib
import json
import logging
import ssl
import time
from collections import Counter as Tally
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from kaico.state import Results

logger = logging.getLogger("kaico.runtime.metrics")

DURATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class _ResultsCollector(Collector):
    def __init__(self, results: Results, per_target: bool, profiles_ready: Callable[[], dict[str, bool]]):
        self._results = results
        self._per_target = per_target
        self._profiles_ready = profiles_ready

    def collect(self) -> Iterator[Metric]:
        targets = GaugeMetricFamily(
            "kaico_targets", "Evaluated targets by profile, kind and conformance.",
            labels=["profile", "kind", "conformant"],
        )
        checks = GaugeMetricFamily(
            "kaico_check_results", "Targets by the result of each check (profile, check, severity, result).",
            labels=["profile", "check", "severity", "result"],
        )
        target_counts: Tally[tuple[str, str, str]] = Tally()
        check_counts: Tally[tuple[str, str, str, str]] = Tally()
        per_target = GaugeMetricFamily(
            "kaico_target_conformant", "1 when the target is conformant under the profile, else 0.",
            labels=["profile", "kind", "namespace", "name"],
        )
        per_target_results = GaugeMetricFamily(
            "kaico_target_results", "Results of one target by outcome.",
            labels=["profile", "kind", "namespace", "name", "result"],
        )
        for result in self._results:
            target_counts[(result.profile, result.kind, str(result.conformant).lower())] += 1
            outcomes: Tally[str] = Tally()
            for check, severity, outcome in result.outcomes:
                check_counts[(result.profile, check, severity, outcome)] += 1
                outcomes[outcome] += 1
            if self._per_target:
                identity = [result.profile, result.kind, result.namespace, result.name]
                per_target.add_metric(identity, 1.0 if result.conformant else 0.0)
                for outcome, count in sorted(outcomes.items()):
                    per_target_results.add_metric([*identity, outcome], count)
        for labels, count in sorted(target_counts.items()):
            targets.add_metric(list(labels), count)
        for labels, count in sorted(check_counts.items()):
            checks.add_metric(list(labels), count)
        ready = GaugeMetricFamily(
            "kaico_profile_ready", "1 when the ConformanceProfile is valid, 0 when it is not.",
            labels=["profile"],
        )
        for profile, is_ready in sorted(self._profiles_ready().items()):
            ready.add_metric([profile], 1.0 if is_ready else 0.0)
        yield targets
        yield checks
        yield ready
        if self._per_target:
            yield per_target
            yield per_target_results


ClusterSamples = Callable[[], list[tuple[str, str, str, str]]]


class _ClusterCollector(Collector):
    """kaico_cluster_requirements, from the latest cluster evaluation of each profile (1 per
    requirement at its current status): a deleted profile's series go with its evaluation."""

    def __init__(self, samples: Callable[[], ClusterSamples]):
        self._samples = samples

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "kaico_cluster_requirements",
            "CNCF AI Conformance requirements by profile, requirement, level and current status "
            "(1 for the current status).",
            labels=["profile", "requirement", "level", "status"],
        )
        for labels in self._samples()():
            gauge.add_metric(list(labels), 1.0)
        yield gauge


class Metrics:
    """kaico's metrics, in a registry of its own (no process-global state)."""

    def __init__(self, results: Results, per_target: bool = False,
                 profiles_ready: Callable[[], dict[str, bool]] = dict):
        self.registry = CollectorRegistry(auto_describe=True)
        # Settable after construction: the controller that knows the profiles needs the metrics.
        self.profiles_ready = profiles_ready
        self.evaluations = Counter(
            "kaico_evaluations", "Evaluations of one target under one profile.", ["profile"],
            registry=self.registry,
        )
        self.evaluation_errors = Counter(
            "kaico_evaluation_errors",
            "Evaluations that could not complete (engine failure or report write failure).",
            ["profile"], registry=self.registry,
        )
        self.evaluation_duration = Histogram(
            "kaico_evaluation_duration_seconds", "Time to evaluate one target under one profile.",
            buckets=DURATION_BUCKETS, registry=self.registry,
        )
        self.writes = Counter(
            "kaico_writes", "Writes kaico made, by operation (create, update, delete, event, "
            "profile-status, cluster-create, cluster-update, cluster-event).", ["operation"], registry=self.registry,
        )
        self.repairs = Counter(
            "kaico_report_repairs", "Reports written again although kaico's result had not "
            "changed, by reason: edited (by someone else), deleted, missing (gone without a watch "
            "event: a watch gap, a re-created CRD).", ["reason"], registry=self.registry,
        )
        self.watch_restarts = Counter(
            "kaico_watch_restarts", "Watch streams restarted, by reason: expired (410 Gone, "
            "listed again) or failed (a list or watch request failed and is retried).", ["reason"],
            registry=self.registry,
        )
        # Settable after construction, like profiles_ready: the watch health comes later.
        self.watch_outage: Callable[[], float] = lambda: 0.0
        Gauge(
            "kaico_watch_down_seconds", "How long the longest-failing watch has been down "
            "(0 while every watch works).", registry=self.registry,
        ).set_function(lambda: self.watch_outage())
        self.api_requests = Counter(
            "kaico_api_requests", "Requests kaico's writer and discovery sent to the API server "
            "(watches excluded).", ["method", "code"], registry=self.registry,
        )
        self.leader = Gauge(
            "kaico_leader", "1 while this replica is the active one (it holds the leader Lease, "
            "or runs without leader election), 0 while it is a standby.", registry=self.registry,
        )
        self.admission_reviews = Counter(
            "kaico_admission_reviews", "AdmissionReviews the webhook answered (--admission), by "
            "outcome: allowed, warned, denied, unjudged (admitted: kaico could not judge).",
            ["outcome"], registry=self.registry,
        )
        self.admission_duration = Histogram(
            "kaico_admission_duration_seconds", "Time to answer one AdmissionReview.",
            buckets=DURATION_BUCKETS, registry=self.registry,
        )
        self.registry.register(_ResultsCollector(results, per_target, lambda: self.profiles_ready()))
        # Settable like profiles_ready: the cluster reports are built after the metrics.
        self.cluster_samples: ClusterSamples = list
        self.registry.register(_ClusterCollector(lambda: self.cluster_samples))

    def evaluated(self, profile: str) -> None:
        self.evaluations.labels(profile).inc()

    def evaluation_failed(self, profile: str) -> None:
        self.evaluation_errors.labels(profile).inc()

    def evaluation_took(self, seconds: float) -> None:
        self.evaluation_duration.observe(seconds)

    def reviewed(self, outcome: str, seconds: float) -> None:
        self.admission_reviews.labels(outcome).inc()
        self.admission_duration.observe(seconds)

    def count_request(self, method: str, status: int) -> None:
        self.api_requests.labels(method, str(status)).inc()

    def count_write(self, operation: str) -> None:
        self.writes.labels(operation).inc()

    def count_repair(self, reason: str) -> None:
        self.repairs.labels(reason).inc()

    def count_watch_restart(self, reason: str) -> None:
        self.watch_restarts.labels(reason).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


# (API path, body) -> (HTTP status, body text): one POST to the API server with kaico's identity.
Review = Callable[[str, dict], Awaitable[tuple[int, str]]]

METRICS_PATH = "/metrics"


class MetricsAuth:
    """Authenticate and authorise a scrape of /metrics with the API server.

    A bearer token is reviewed (TokenReview); the user it names must be allowed ``get`` on
    the non-resource URL ``/metrics`` (SubjectAccessReview). Answers: 200, 401 (no token or
    not authenticated), 403 (authenticated, not allowed), 500 (the API server could not say).
    A decision is remembered for ``ttl`` seconds per token (by its SHA-256, never the token
    itself), so a scrape every 30 s costs two reviews a minute at most, and ``max_entries``
    bounds the memory a flood of bad tokens can take. Failures to ask are never remembered.
    """

    def __init__(self, review: Review, ttl: float = 60.0, max_entries: int = 256,
                 clock: Callable[[], float] = time.monotonic):
        self._review = review
        self._ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        self._decisions: OrderedDict[str, tuple[float, int]] = OrderedDict()

    async def status(self, authorization: str | None) -> int:
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return 401
        key = hashlib.sha256(token.encode()).hexdigest()
        now = self._clock()
        cached = self._decisions.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            decision = await self._decide(token)
        except Exception as error:  # noqa: BLE001 - an unanswerable review is a 500, not a crash
            logger.warning("could not review a /metrics token: %s", error)
            return 500
        self._decisions[key] = (now + self._ttl, decision)
        self._decisions.move_to_end(key)
        while len(self._decisions) > self._max_entries:
            self._decisions.popitem(last=False)
        return decision

    async def _decide(self, token: str) -> int:
        reviewed = await self._ask("/apis/authentication.k8s.io/v1/tokenreviews", {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}})
        if not reviewed.get("authenticated"):
            return 401
        user = reviewed.get("user") or {}
        spec = {"user": user.get("username", ""), "groups": user.get("groups") or [],
                "nonResourceAttributes": {"path": METRICS_PATH, "verb": "get"}}
        if user.get("uid"):
            spec["uid"] = user["uid"]
        if user.get("extra"):
            spec["extra"] = user["extra"]
        access = await self._ask("/apis/authorization.k8s.io/v1/subjectaccessreviews", {
            "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec})
        return 200 if access.get("allowed") else 403

    async def _ask(self, path: str, body: dict) -> dict:
        status, text = await self._review(path, body)
        if status >= 300:
            raise RuntimeError(f"POST {path}: {status} {text[:200]}")
        answer = json.loads(text)
        return answer.get("status") or {} if isinstance(answer, dict) else {}


def tls_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """A server context for /metrics over HTTPS (TLS 1.2 or later) from PEM files."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context


def http_app(metrics: Metrics, is_ready: Callable[[], bool],
             watches_ok: Callable[[], bool] = lambda: True,
             auth: MetricsAuth | None = None) -> web.Application:
    """/metrics (behind ``auth`` when given); /healthz answers while the event loop runs;
    /readyz once the operator has started watching (kopf's ready flag) and as long as no watch
    has been down for longer than ``kaico.runtime.health.WATCH_DOWN_SECONDS``."""

    async def serve_metrics(request: web.Request) -> web.Response:
        if auth is not None:
            status = await auth.status(request.headers.get("Authorization"))
            if status != 200:
                reason = {401: "Unauthorized", 403: "Forbidden"}.get(status, "Internal Server Error")
                headers = {"WWW-Authenticate": 'Bearer realm="kaico"'} if status == 401 else None
                return web.Response(status=status, text=f"{reason}\n", headers=headers)
        response = web.Response(body=metrics.exposition())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(_: web.Request) -> web.Response:
        if not is_ready():
            return web.Response(status=503, text="starting\n")
        if not watches_ok():
            return web.Response(status=503, text="a watch is down\n")
        return web.Response(text="ready\n")

    app = web.Application()
    app.router.add_get("/metrics", serve_metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


async def start_http_server(app: web.Application, host: str, port: int,
                            tls: ssl.SSLContext | None = None,
                            path: str = "/metrics") -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port, ssl_context=tls).start()
    logger.info("serving %s://%s:%d%s", "https" if tls else "http", host, port, path)
    return runner
