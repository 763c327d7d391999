"""``kaico run``: assemble the operator (client, writer, controller, metrics, handlers) and run
kopf programmatically, so users never type ``kopf run``.

Credentials come from ``kaico.kube.config`` (kubeconfig with exec plugins, else the pod's
ServiceAccount) through kaico's login handler, so the same credentials serve kopf's watches,
kaico's writes and reads, and the active probes; a re-login switches the client to the fresh
credentials and closes its old session.

With ``--leader-elect`` several replicas may run: each waits for the leader Lease
(``kaico.kube.lease``) before it starts kopf, so only the holder watches and writes. A standby
serves /healthz, /readyz (ready: it is ready to take over) and /metrics (``kaico_leader`` 0).
A leader that cannot renew its Lease stops kopf and exits, and its restart rejoins as a standby.
"""

from __future__ import annotations

import argparse
import asyncio
import asyncio.sslproto
import contextlib
import logging
import os
import socket
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import kopf
from aiohttp import web

from conformance.cluster import ClusterInventory, ProbeResult
from kaico.admission.review import Judgement
from kaico.admission.server import PATH as ADMISSION_PATH
from kaico.admission.server import CannotJudge, admission_app, reload_certificates
from kaico.cluster.controller import ClusterReports
from kaico.cluster.policyreports import ClusterPolicyReports
from kaico.cluster.probes import LoopProbeApi, ProbeOptions, run_probes
from kaico.cluster.reader import ClientReader, GatherOptions
from kaico.kube import config
from kaico.kube.client import KubeClient
from kaico.kube.config import Credentials
from kaico.kube.discovery import ServedResources
from kaico.kube.lease import ElectionConfig, LeaderElector
from kaico.kube.resources import FACTS as FACT_RESOURCES
from kaico.kube.resources import PROFILES as PROFILE_RESOURCE
from kaico.kube.resources import REPORTS as REPORT_RESOURCE
from kaico.kube.resources import TARGETS
from kaico.kube.resources import WAIVERS as WAIVER_RESOURCE
from kaico.runtime import kopf_memory, kopf_relist, kopf_toggles
from kaico.runtime.handlers import RECOVERY_AUDIT_DELAY, register
from kaico.runtime.health import WatchHealth
from kaico.runtime.metrics import Metrics, MetricsAuth, http_app, start_http_server, tls_context
from kaico.runtime.policy_handlers import register_policy_reports
from kaico.state import Results, Scope
from kaico.workloads.controller import Controller
from kaico.workloads.policyreports import PolicyReports
from kaico.workloads.writer import ReportWriter

logger = logging.getLogger("kaico.runtime.runner")

# kopf lists each watched kind in pages of this many objects, reduced (kaico.runtime.kopf_memory)
# page by page: a restart with 5,000 reports stored decoded them all in one response.
LIST_CHUNK = 500

# asyncio's read buffer per TLS connection (asyncio.sslproto.SSLProtocol.max_size, 256 KiB in
# Python 3.11): one per watch stream and pooled connection, filled as far as the largest read.
SSL_READ_BUFFER = 64 * 1024

# How long kopf keeps an object's idle worker (and the last body it handled); kopf's default is 5 s.
WORKER_IDLE_SECONDS = 0.5


def _clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AdmissionServing:
    """Where and with which certificate the admission webhook listens (``--admission``)."""

    address: str
    port: int
    cert_file: str
    key_file: str


class Operator:
    """The assembled operator; ``run`` blocks until a signal or ``stop_flag``."""

    def __init__(self, per_target_metrics: bool = False, probe_options: ProbeOptions | None = None,
                 policy_reports: bool = False, gather_options: GatherOptions | None = None):
        self.results = Results()
        self.credentials: Credentials | None = None
        self._client: KubeClient | None = None
        self.lost_leadership = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self.probe_options = probe_options or ProbeOptions()
        self.ready = asyncio.Event()
        self.metrics = Metrics(self.results, per_target_metrics)
        self.writer = ReportWriter(self.client, _clock, self.metrics.count_write, self.metrics.count_repair)
        served = ServedResources(self.client)
        self.controller = Controller(
            self.writer, self.results, self.metrics, served, _clock,
            PolicyReports(self.client, served, self.metrics.count_write) if policy_reports else None,
        )
        cluster_policy_reports = ClusterPolicyReports(
            self.client, served, self._stored_policy_reports, self.metrics.count_write,
        ) if policy_reports else None
        self.metrics.profiles_ready = self.controller.profile_readiness
        self.cluster = ClusterReports(
            self.client, self._cluster_reader, self.results, self.controller.current_profiles,
            _clock, self.metrics.count_write, probe_runner=self._run_probes,
            on_repair=self.metrics.count_repair,
            policy_reports=cluster_policy_reports,
            gather_options=gather_options,
        )
        self.metrics.cluster_samples = self.cluster.requirement_samples
        self.registry = kopf.OperatorRegistry()
        self.handlers = register(self.registry, self.controller, self.cluster)
        if policy_reports:
            register_policy_reports(self.registry, self.controller, self.cluster)
        self.health = WatchHealth(self.metrics.count_watch_restart, self._watch_recovered)
        self.metrics.watch_outage = self.health.longest_outage
        kopf.on.login(registry=self.registry)(self._login)

    def _stored_policy_reports(self) -> Mapping[Any, Any]:
        indexes = self.controller.live_indexes()
        return indexes.policy_reports if indexes is not None else {}

    def client(self) -> KubeClient:
        if self._client is None:
            if self.credentials is None:
                raise RuntimeError("no API credentials yet (the login handler has not run)")
            self._client = KubeClient(self.credentials, self.metrics.count_request)
        return self._client

    def _cluster_reader(self) -> ClientReader:
        return ClientReader(self.client())

    def _run_probes(self, inventory: ClusterInventory, stopping: threading.Event) -> tuple[ProbeResult, ...]:
        """In a worker thread: the probes' requests go back to the event loop, over the
        writer's session, so they carry kopf's credentials like every other call."""
        assert self._loop is not None  # passes, and so probe runs, happen only inside run()
        api = LoopProbeApi(self._loop, self._probe_request, stopping)
        return run_probes(api, inventory, self.probe_options, log=lambda line: logger.info("%s", line))

    async def _probe_request(self, method: str, path: str, body: dict[str, Any] | None,
                             accept: str) -> tuple[int, str]:
        return await self.client().send(method, path, body, accept=accept)

    def _watch_recovered(self) -> None:
        # A relist after a gap reports no deletion: audit the reports once it is done.
        self.handlers.request_audit(RECOVERY_AUDIT_DELAY)

    async def _lists(self, path: str) -> bool:
        """The health probe: whether a one-item list of a watched resource works."""
        status, _ = await self.client().send("GET", f"{path}?limit=1")
        return status == 200

    async def _use(self, credentials: Credentials) -> None:
        self.credentials = credentials
        if self._client is not None:
            await self._client.use(credentials)  # closes the old session

    async def _login(self, **_: Any) -> kopf.ConnectionInfo:
        # At start and whenever kopf finds its credentials rejected or expired: load afresh
        # (an exec plugin runs again) and give the client the same credentials.
        credentials = await asyncio.to_thread(config.load)
        await self._use(credentials)
        return connection_info(credentials)

    async def _judge(self, body: dict[str, Any]) -> list[Judgement] | None:
        """The admission webhook's judge: the workload controller's evaluation of an incoming
        object with the live indexes (none before kopf has handled anything, or on a standby)."""
        indexes = self.controller.live_indexes()
        if indexes is None:
            raise CannotJudge("the operator holds no indexes yet (starting, or a standby)")
        judged = await self.controller.judge(body, indexes)
        if judged is None:
            return None
        return [Judgement(entry.name, entry.profile.spec.admission, report)
                for entry, report in judged if entry.profile is not None]

    async def _serve_admission(self, admission: AdmissionServing) -> tuple[web.AppRunner, asyncio.Task[None]]:
        context = tls_context(admission.cert_file, admission.key_file)
        runner = await start_http_server(admission_app(self._judge, self.metrics), admission.address,
                                         admission.port, context, ADMISSION_PATH)
        reloading = asyncio.create_task(
            reload_certificates(context, admission.cert_file, admission.key_file),
            name="kaico-admission-certificates")
        return runner, reloading

    async def _review(self, path: str, body: dict[str, Any]) -> tuple[int, str]:
        return await self.client().send("POST", path, body)

    async def run(
        self,
        namespaces: list[str],
        metrics_address: str,
        metrics_port: int,
        peering: bool,
        stop_flag: asyncio.Event | None = None,
        election: ElectionConfig | None = None,
        metrics_auth: bool = False,
        metrics_tls: tuple[str, str] | None = None,
        admission: AdmissionServing | None = None,
    ) -> None:
        settings = kopf.OperatorSettings()
        # Handler logs stay logs: Events are kaico's deliberate output (transitions only).
        settings.posting.enabled = False
        settings.watching.server_timeout = 300
        settings.watching.chunk_size = LIST_CHUNK
        # kopf keeps one worker per object alive for idle_timeout after its last event, and the
        # worker holds that event's whole body: at start-up that is every listed object at once.
        settings.queueing.idle_timeout = WORKER_IDLE_SECONDS
        self._loop = asyncio.get_running_loop()
        # kopf wakes every listed object at every index change at start-up (O(N^2)).
        kopf_toggles.install()
        # kopf holds each watched body until handled: without managedFields (never read by
        # kaico); the reports go to kaico's mirror as kopf receives them and stay out of kopf.
        settings.watching.initial_streaming = False  # the mirror takes a listing for a relist
        if not kopf_memory.install({(REPORT_RESOURCE.group, REPORT_RESOURCE.plural): self.handlers.reports}):
            raise ValueError("this kopf version's listing and watching are not the ones kaico's report "
                               "mirror hooks into (kaico.runtime.kopf_memory); install the kopf version "
                               "of operator/requirements.txt")
        # A relist after a watch gap reports the deletions it implies (kopf's own reports none;
        # the reports' mirror sees them itself).
        kopf_relist.install((r.group, r.plural) for r in (*TARGETS, *FACT_RESOURCES, PROFILE_RESOURCE,
                                                          WAIVER_RESOURCE))
        await self._use(await asyncio.to_thread(config.load))
        stop_flag = stop_flag or asyncio.Event()
        elector = LeaderElector(self.client, election) if election is not None else None
        standby = elector is not None
        self.handlers.clusterwide = not namespaces
        scope = Scope(namespaces)
        self.handlers.controller.scope = scope
        if self.handlers.cluster is not None:
            self.handlers.cluster.scope = scope
        self.health.install()
        probe = asyncio.create_task(self.health.probe(self._lists), name="kaico-watch-probe")
        runner = None
        if metrics_port:
            # A standby is ready: ready to take over (a rollout of 2+ replicas must not stall).
            auth = MetricsAuth(self._review) if metrics_auth else None
            runner = await start_http_server(
                http_app(self.metrics, lambda: standby or self.ready.is_set(),
                         lambda: standby or self.health.watches_ok(), auth),
                metrics_address, metrics_port, tls_context(*metrics_tls) if metrics_tls else None,
            )
        webhook: tuple[web.AppRunner, asyncio.Task[None]] | None = None
        holding: asyncio.Task[None] | None = None
        try:
            if admission is not None:
                try:
                    webhook = await self._serve_admission(admission)
                except OSError as error:  # the port is taken, the address is not local, ...
                    raise ValueError(f"--admission-address {admission.address} --admission-port "
                                     f"{admission.port}: {error.strerror or error}") from None
            if elector is not None:
                self.metrics.leader.set(0)
                if not await _first(elector.acquire(), stop_flag.wait()):
                    return  # stopped while standby
                standby = False
                holding = asyncio.create_task(self._hold(elector, stop_flag))
            self.metrics.leader.set(1)
            await kopf.operator(
                registry=self.registry,
                settings=settings,
                standalone=not peering,
                clusterwide=not namespaces,
                namespaces=namespaces,
                ready_flag=self.ready,
                stop_flag=stop_flag,
                # No per-object memory kept between events: kaico has no change handlers,
                # daemons, timers or memos (kaico.runtime.kopf_memory).
                memories=kopf_memory.memories(),
            )
        finally:
            probe.cancel()
            # Normally done by kopf's cleanup already; when kopf was cancelled instead, a probe
            # run still deletes its namespaces through the client, so it closes after.
            await self.cluster.stop()
            if holding is not None:
                holding.cancel()
            if elector is not None and not self.lost_leadership:
                await elector.release()
            if runner is not None:
                await runner.cleanup()
            if webhook is not None:
                webhook[1].cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await webhook[1]
                await webhook[0].cleanup()
            if self._client is not None:
                await self._client.close()

    async def _hold(self, elector: LeaderElector, stop_flag: asyncio.Event) -> None:
        await elector.hold()
        # Renewing failed: another replica may take over, so stop writing now.
        self.lost_leadership = True
        self.metrics.leader.set(0)
        stop_flag.set()


async def _first(wanted: Any, stop: Any) -> bool:
    """Await ``wanted`` unless ``stop`` finishes first; True when ``wanted`` did."""
    wanted_task, stop_task = asyncio.ensure_future(wanted), asyncio.ensure_future(stop)
    done, pending = await asyncio.wait({wanted_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    return wanted_task in done


def connection_info(credentials: Credentials) -> kopf.ConnectionInfo:
    """kopf's form of the credentials (kopf watches with them)."""
    return kopf.ConnectionInfo(
        server=credentials.server,
        ca_path=None if credentials.ca_data else credentials.ca_file,
        ca_data=credentials.ca_data,
        insecure=credentials.insecure,
        token=credentials.token,
        certificate_path=None if credentials.cert_data else credentials.cert_file,
        certificate_data=credentials.cert_data,
        private_key_path=None if credentials.key_data else credentials.key_file,
        private_key_data=credentials.key_data,
        default_namespace=credentials.namespace,
        expiration=credentials.expiration,
    )


def election_config(args: argparse.Namespace) -> ElectionConfig | None:
    if not getattr(args, "leader_elect", False):
        return None
    namespace = args.leader_election_namespace or os.environ.get("POD_NAMESPACE") or "default"
    identity = os.environ.get("POD_NAME") or f"{socket.gethostname()}_{os.getpid()}"
    duration = args.lease_duration
    return ElectionConfig(namespace=namespace, name=args.leader_election_name, identity=identity,
                          lease_duration=duration, renew_deadline=duration * 2 / 3,
                          retry_period=duration / 7.5)


def run(args: argparse.Namespace) -> int:
    """Entry point of ``kaico run``."""
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # kopf's own logger is chatty at INFO about every watch stream; keep it at warning unless asked.
    if args.log_level != "debug":
        logging.getLogger("kopf").setLevel(logging.WARNING)
    # This process is the operator alone: a smaller read buffer for every TLS connection it opens.
    asyncio.sslproto.SSLProtocol.max_size = SSL_READ_BUFFER
    operator = Operator(per_target_metrics=args.per_target_metrics,
                        policy_reports=args.policy_reports,
                        probe_options=ProbeOptions.from_args(args),
                        gather_options=GatherOptions(metrics_services=tuple(args.metrics_service),
                                                     scrape_discovered=args.discover_exporters))
    namespaces = [] if args.all_namespaces else list(args.namespace)
    tls = (args.metrics_cert, args.metrics_key) if args.metrics_cert else None
    admission = AdmissionServing(args.admission_address, args.admission_port, args.admission_cert,
                                 args.admission_key) if args.admission else None
    try:
        election = election_config(args)
        asyncio.run(operator.run(namespaces, args.metrics_address, args.metrics_port, args.peering,
                                 election=election, metrics_auth=args.metrics_auth, metrics_tls=tls,
                                 admission=admission))
    except (config.ConfigError, ValueError) as error:
        sys.stderr.write(f"kaico: {error}\n")
        return 2
    except KeyboardInterrupt:
        pass
    if operator.lost_leadership:
        logger.error("lost the leader Lease; exiting so that a restart rejoins as a standby")
        return 1
    return 0
