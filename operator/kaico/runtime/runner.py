"""``kaico run``: assemble the operator (client, writer, controller, metrics, handlers) and run
kopf programmatically, so users never type ``kopf run``.

Credentials come from kaico's own login handler (service account in a pod, else the kubeconfig),
and the same ``ConnectionInfo`` serves kopf's watches, kaico's writes and the active probes.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import threading
from datetime import UTC, datetime
from typing import Any

import kopf

from conformance.cluster import ClusterInventory, ProbeResult
from kaico.cluster.controller import ClusterReports
from kaico.cluster.probes import LoopProbeApi, ProbeOptions, run_probes
from kaico.cluster.reader import SessionReader
from kaico.kube.client import KubeClient
from kaico.kube.discovery import ServedResources
from kaico.runtime.handlers import register
from kaico.runtime.metrics import Metrics, http_app, start_http_server
from kaico.state import Results
from kaico.workloads.controller import Controller
from kaico.workloads.writer import ReportWriter

logger = logging.getLogger("kaico.runtime.runner")


def _clock() -> datetime:
    return datetime.now(UTC)


class Operator:
    """The assembled operator; ``run`` blocks until a signal or ``stop_flag``."""

    def __init__(self, per_target_metrics: bool = False, probe_options: ProbeOptions | None = None):
        self.results = Results()
        self.connection: kopf.ConnectionInfo | None = None
        self._client: KubeClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.probe_options = probe_options or ProbeOptions()
        self.ready = asyncio.Event()
        self.metrics = Metrics(self.results, per_target_metrics)
        self.writer = ReportWriter(self.client, _clock, self.metrics.count_write)
        self.controller = Controller(
            self.writer, self.results, self.metrics, ServedResources(self.client), _clock
        )
        self.metrics.profiles_ready = self.controller.profile_readiness
        self.cluster = ClusterReports(
            self.client, self._cluster_reader, self.results, self.controller.current_profiles,
            _clock, self.metrics.count_write, probe_runner=self._run_probes,
        )
        self.metrics.cluster_samples = self.cluster.requirement_samples
        self.registry = kopf.OperatorRegistry()
        register(self.registry, self.controller, self.cluster)
        kopf.on.login(registry=self.registry)(self._login)

    def client(self) -> KubeClient:
        if self._client is None:
            if self.connection is None:
                raise RuntimeError("no API credentials yet (the login handler has not run)")
            self._client = KubeClient(self.connection, self.metrics.count_request)
        return self._client

    def _cluster_reader(self) -> SessionReader:
        # The writer's authenticated session, so the cluster reads use kopf's credentials too.
        client = self.client()
        assert self.connection is not None  # client() raised otherwise
        return SessionReader(client.session, self.connection.server)

    def _run_probes(self, inventory: ClusterInventory, stopping: threading.Event) -> tuple[ProbeResult, ...]:
        """In a worker thread: the probes' requests go back to the event loop, over the
        writer's session, so they carry kopf's credentials like every other call."""
        assert self._loop is not None  # passes, and so probe runs, happen only inside run()
        api = LoopProbeApi(self._loop, self._probe_request, stopping)
        return run_probes(api, inventory, self.probe_options, log=lambda line: logger.info("%s", line))

    async def _probe_request(self, method: str, path: str, body: dict[str, Any] | None,
                             accept: str) -> tuple[int, str]:
        return await self.client().send(method, path, body, accept=accept)

    def _login(self, **kwargs: Any) -> kopf.ConnectionInfo | None:
        info = kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)
        if info is not None:
            self.connection = info
            self._client = None  # rebuilt with the fresh credentials on next use
        return info

    async def run(
        self,
        namespaces: list[str],
        metrics_address: str,
        metrics_port: int,
        peering: bool,
        stop_flag: asyncio.Event | None = None,
    ) -> None:
        settings = kopf.OperatorSettings()
        # Handler logs stay logs: Events are kaico's deliberate output (transitions only).
        settings.posting.enabled = False
        settings.watching.server_timeout = 300
        self._loop = asyncio.get_running_loop()
        runner = None
        if metrics_port:
            runner = await start_http_server(
                http_app(self.metrics, self.ready.is_set), metrics_address, metrics_port
            )
        try:
            await kopf.operator(
                registry=self.registry,
                settings=settings,
                standalone=not peering,
                clusterwide=not namespaces,
                namespaces=namespaces,
                ready_flag=self.ready,
                stop_flag=stop_flag,
            )
        finally:
            # Normally done by kopf's cleanup already; when kopf was cancelled instead, a probe
            # run still deletes its namespaces through the client, so it closes after.
            await self.cluster.stop()
            if runner is not None:
                await runner.cleanup()
            if self._client is not None:
                await self._client.close()


def run(args: argparse.Namespace) -> int:
    """Entry point of ``kaico run``."""
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # kopf's own logger is chatty at INFO about every watch stream; keep it at warning unless asked.
    if args.log_level != "debug":
        logging.getLogger("kopf").setLevel(logging.WARNING)
    operator = Operator(per_target_metrics=args.per_target_metrics,
                        probe_options=ProbeOptions.from_args(args))
    namespaces = [] if args.all_namespaces else list(args.namespace)
    try:
        asyncio.run(operator.run(namespaces, args.metrics_address, args.metrics_port, args.peering))
    except KeyboardInterrupt:
        pass
    return 0
