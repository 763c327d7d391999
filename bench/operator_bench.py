"""The operator at scale: ``kaico run`` against N GPU Deployments on the local control plane.

``make bench-operator N=5000`` (run under ``flock /work/.heavy.lock``). One run:

1. starts the local control plane (``kaico_dev.localcluster``) with 200 8-GPU kwok nodes,
   installs kaico's CRDs and the default profile, and creates N GPU Deployments spread over 20
   namespaces (paused, so no ReplicaSet or pod is created: the API server holds only what kaico
   reads);
2. measures the **raw floor** against the same API server: a plain aiohttp client, as parallel
   as the operator's writer, creates N ConformanceReports with the status kaico would write
   (create, then status patch), then patches every status once more (the floor of re-reporting
   N workloads), then deletes them;
3. starts ``kaico run`` as users do and watches ConformanceReports from this process (the cluster
   is the truth): start -> first report, start -> all N reports with status, RSS peak and
   settled (``/proc``), report writes during a quiet window, change -> report latency while the
   N are steady (a Deployment's readiness probe removed or put back), and a node change (a
   taint added to every GPU node) until every report was rewritten.

Every figure is printed as a whole-run number and, where the issue asks, as a ratio to the
floor measured in the same run. No figure is asserted: this is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from kaico.api.conventions import MANAGED_BY
from kaico.workloads.status import report_body, report_name, report_status
from kaico_dev.localcluster import GpuNodeSpec, LocalCluster, node_manifest

from conformance.adapters import adapt_object
from conformance.engine import evaluate
from conformance.facts_builder import facts_from_objects
from conformance.parameters import Parameters
from conformance.profile import parse_profile

REPO = Path(__file__).resolve().parents[1]
PROFILE_FILE = REPO / "conformance" / "profiles" / "default.yaml"
REPORTS = "/apis/kaico.dev/v1alpha1/conformancereports"
GPU_TAINT = {"key": "nvidia.com/gpu", "effect": "NoSchedule"}
BENCH_TAINT = {"key": "kaico-bench/maintenance", "value": "true", "effect": "NoSchedule"}
FLOOR_LABEL = "kaico-bench/floor"
MANAGED_SELECTOR = ",".join(f"{k}={v}" for k, v in MANAGED_BY.items())


def deployment(name: str, namespace: str) -> dict[str, Any]:
    """A GPU vLLM Deployment as examples/workloads/vllm-deployment.yaml has it, paused."""
    labels = {"app.kubernetes.io/name": name}
    probe = {"httpGet": {"path": "/v1/models", "port": "http"}, "periodSeconds": 5}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": 1,
            "paused": True,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "nodeSelector": {"nvidia.com/gpu.present": "true"},
                    "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                    "containers": [{
                        "name": "vllm",
                        "image": "vllm/vllm-openai:v0.11.0",
                        "args": ["--model", "meta-llama/Llama-3.1-8B-Instruct", "--port", "8000"],
                        "ports": [{"name": "http", "containerPort": 8000}],
                        "resources": {
                            "limits": {"nvidia.com/gpu": "1", "memory": "48Gi"},
                            "requests": {"nvidia.com/gpu": "1", "cpu": "4", "memory": "48Gi"},
                        },
                        "startupProbe": {**probe, "periodSeconds": 10, "failureThreshold": 90},
                        "readinessProbe": probe,
                    }],
                },
            },
        },
    }


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


class Api:
    """A plain async client for the local control plane (admin certificate)."""

    def __init__(self, cluster: LocalCluster, parallel: int):
        context = ssl.create_default_context(cafile=str(cluster.ca_cert))
        assert cluster.pki is not None
        context.load_cert_chain(str(cluster.pki.admin_cert), str(cluster.pki.admin_key))
        self.server = cluster.server
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=context, limit=parallel * 2),
            timeout=aiohttp.ClientTimeout(total=None, sock_read=None),
        )
        self.parallel = parallel

    async def close(self) -> None:
        await self.session.close()

    async def call(self, method: str, path: str, body: Any = None,
                   content_type: str = "application/json", ok: Iterable[int] = (200, 201)) -> Any:
        for attempt in range(20):
            async with self.session.request(method, self.server + path, data=None if body is None else json.dumps(body),
                                            headers={"Content-Type": content_type}) as response:
                text = await response.text()
                if response.status in ok:
                    return json.loads(text) if text else None
                if response.status in (429, 500, 503, 504) and attempt < 19:
                    await asyncio.sleep(0.2 * (attempt + 1))
                    continue
                raise RuntimeError(f"{method} {path}: {response.status} {text[:300]}")
        raise AssertionError("unreachable")

    async def each(self, items: Iterable[Any], work: Callable[[Any], Awaitable[Any]]) -> float:
        """Run ``work`` over ``items`` with ``parallel`` in flight; the wall time."""
        limit = asyncio.Semaphore(self.parallel)

        async def one(item: Any) -> None:
            async with limit:
                await work(item)

        started = time.monotonic()
        await asyncio.gather(*(one(i) for i in items))
        return time.monotonic() - started


@dataclass
class ReportWatch:
    """Every write to kaico's reports as the API server streams it (the cluster is the truth)."""

    api: Api
    path: str = REPORTS
    selector: str = MANAGED_SELECTOR
    with_status: dict[tuple[str, str], float] = field(default_factory=dict)
    writes: list[tuple[float, tuple[str, str]]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    alive: Callable[[], None] | None = None  # raises when the operator has exited

    async def start(self) -> None:
        listing = await self.api.call("GET", f"{self.path}?labelSelector={self.selector}&limit=1")
        version = listing["metadata"]["resourceVersion"]
        self.task = asyncio.create_task(self._watch(version))

    async def _watch(self, version: str) -> None:
        path = (f"{self.path}?watch=1&labelSelector={self.selector}&resourceVersion={version}"
                "&timeoutSeconds=7200&allowWatchBookmarks=false")
        async with self.api.session.get(self.api.server + path) as response:
            async for line in response.content:
                now = time.monotonic()
                event = json.loads(line)
                if event["type"] not in ("ADDED", "MODIFIED"):
                    continue
                obj = event["object"]
                key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
                self.writes.append((now, key))
                if obj.get("status"):
                    self.with_status.setdefault(key, now)
                self.changed.set()

    async def until(self, condition: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.alive is not None:
                self.alive()
            self.changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self.changed.wait(), min(remaining, 1.0))
            except TimeoutError:
                pass
        return True

    def written_since(self, since: float) -> set[tuple[str, str]]:
        return {key for at, key in self.writes if at >= since}

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()


class Memory(threading.Thread):
    """RSS of a process, sampled from /proc every 0.2 s (the peak also from VmHWM)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, int]] = []
        self.stopping = threading.Event()

    def read(self, field_name: str) -> int:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith(field_name + ":"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def run(self) -> None:
        while not self.stopping.wait(0.2):
            self.samples.append((time.monotonic(), self.read("VmRSS")))

    def peak(self) -> int:
        return max([self.read("VmHWM")] + [rss for _, rss in self.samples])


def mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB"


@dataclass
class Setup:
    cluster: LocalCluster
    names: list[tuple[str, str]]  # (namespace, deployment name)
    uids: dict[tuple[str, str], str]
    profile_uid: str


async def create_workloads(api: Api, cluster: LocalCluster, count: int, namespaces: int,
                           settle_status: float) -> Setup:
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(REPO / "crds"))
    crds = [yaml.safe_load(f.read_text())["metadata"]["name"] for f in sorted((REPO / "crds").glob("*.yaml"))]
    cluster.wait_crds_established(crds)
    cluster.kubectl("apply", "-f", str(PROFILE_FILE))
    profile = await api.call("GET", "/apis/kaico.dev/v1alpha1/conformanceprofiles/default")
    spaces = [f"bench-{i:02d}" for i in range(namespaces)]
    for space in spaces:
        await api.call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                      "metadata": {"name": space}}, ok=(201, 409))
    names = [(spaces[i % namespaces], f"llm-{i:05d}") for i in range(count)]
    uids: dict[tuple[str, str], str] = {}

    async def create(item: tuple[str, str]) -> None:
        body = deployment(item[1], item[0])
        created = await api.call("POST", f"/apis/apps/v1/namespaces/{item[0]}/deployments", body, ok=(201,))
        uids[item] = created["metadata"]["uid"]

    took = await api.each(names, create)
    print(f"created {count} Deployments in {namespaces} namespaces in {took:.1f} s", flush=True)
    # Give the deployment controller a bounded time to write each one's status (it writes
    # paused Deployments' status slowly at this scale); whatever it writes later arrives while
    # the operator runs, as it would on a live cluster.
    deadline = time.monotonic() + settle_status
    settling = time.monotonic()
    pending: list[Any] = []
    while time.monotonic() < deadline:
        listing = await api.call("GET", "/apis/apps/v1/deployments")
        pending = [d for d in listing["items"]
                   if (d.get("status") or {}).get("observedGeneration") != d["metadata"].get("generation")]
        if not pending:
            break
        await asyncio.sleep(2)
    print(f"after {time.monotonic() - settling:.0f} s, {count - len(pending)} of {count} Deployments "
          "have a status from the deployment controller", flush=True)
    return Setup(cluster, names, uids, profile["metadata"]["uid"])


def expected_status(setup: Setup) -> dict[str, Any]:
    """The status kaico writes for these Deployments, computed offline (same size as the real one)."""
    namespace, name = setup.names[0]
    body = deployment(name, namespace)
    body["metadata"]["uid"] = setup.uids[(namespace, name)]
    workload = adapt_object(body, Parameters())
    assert workload is not None
    nodes = [node_manifest(spec) for spec in setup.cluster.node_specs]
    facts = facts_from_objects(nodes)
    profile = parse_profile(yaml.safe_load(PROFILE_FILE.read_text()))
    report = evaluate(workload, facts, profile, datetime.now(UTC))
    return report_status(report, None, datetime.now(UTC))


@dataclass
class Floor:
    create: float  # N creates with status
    repatch: float  # N status patches


async def raw_floor(api: Api, setup: Setup) -> Floor:
    status = expected_status(setup)
    changed = copy.deepcopy(status)
    changed["conformant"] = not changed["conformant"]
    changed["conditions"][0]["message"] += " (changed)"

    def body_of(item: tuple[str, str]) -> dict[str, Any]:
        namespace, name = item
        body = deployment(name, namespace)
        body["metadata"]["uid"] = setup.uids[item]
        workload = adapt_object(body, Parameters())
        assert workload is not None
        report = report_body(f"floor-{name}", workload, "default")
        report["metadata"]["labels"] = {FLOOR_LABEL: "true"}
        return report

    bodies = {item: body_of(item) for item in setup.names}

    async def create(item: tuple[str, str]) -> None:
        namespace, name = item
        await api.call("POST", f"/apis/kaico.dev/v1alpha1/namespaces/{namespace}/conformancereports",
                       bodies[item], ok=(201,))
        await api.call("PATCH", f"/apis/kaico.dev/v1alpha1/namespaces/{namespace}/conformancereports/floor-{name}/status",
                       {"status": status}, content_type="application/merge-patch+json")

    async def repatch(item: tuple[str, str]) -> None:
        namespace, name = item
        await api.call("PATCH", f"/apis/kaico.dev/v1alpha1/namespaces/{namespace}/conformancereports/floor-{name}/status",
                       {"status": changed}, content_type="application/merge-patch+json")

    floor = Floor(await api.each(setup.names, create), await api.each(setup.names, repatch))
    for namespace in sorted({n for n, _ in setup.names}):
        await api.call("DELETE", f"/apis/kaico.dev/v1alpha1/namespaces/{namespace}/conformancereports"
                                 f"?labelSelector={FLOOR_LABEL}%3Dtrue")
    while (await api.call("GET", f"{REPORTS}?labelSelector={FLOOR_LABEL}%3Dtrue&limit=1"))["items"]:
        await asyncio.sleep(1)
    return floor


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def operator_metric(port: int, name: str) -> dict[str, float]:
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(name):
            labels, _, value = line.rpartition(" ")
            values[labels] = float(value)
    return values


async def restarted(port: int, count: int, started: float, memory: Memory, alive: Callable[[], None],
                    args: argparse.Namespace) -> dict[str, Any]:
    """A restart: every report is stored already, so the start-up ends when the operator has
    evaluated every target (its ``kaico_evaluations_total``)."""
    deadline = started + args.timeout
    evaluated = 0.0
    while evaluated < count:
        alive()
        if time.monotonic() > deadline:
            raise SystemExit(f"only {evaluated:.0f} of {count} evaluations after {args.timeout} s")
        await asyncio.sleep(0.5)
        try:
            evaluated = sum(operator_metric(port, "kaico_evaluations_total").values())
        except OSError:
            continue
    took = time.monotonic() - started
    await asyncio.sleep(args.settle)
    results = {"workloads": count, "restart_evaluated": took, "rss_peak_startup": memory.peak(),
               "rss_settled": memory.read("VmRSS")}
    print(f"restart with {count} reports stored: every target evaluated {took:.1f} s after start; "
          f"RSS peak {mib(memory.peak())}, settled {mib(memory.read('VmRSS'))}", flush=True)
    return results


def unexplained_writes(reports: list[tuple[float, tuple[str, str]]],
                       deployments: list[tuple[float, tuple[str, str]]], since: float) -> int:
    """Report writes after ``since`` that no update of their own Deployment (after ``since``,
    before the write) explains: a Deployment whose status the deployment controller writes late
    is rightly re-reported (endpoint-ready follows it); anything else is a write too many."""
    updated: dict[tuple[str, str], float] = {}
    for at, (namespace, name) in deployments:
        if at >= since:
            key = (namespace, report_name("Deployment", name, "default", "apps"))
            updated.setdefault(key, at)
    return sum(1 for at, key in reports if at >= since and not updated.get(key, at + 1) <= at)


async def bench_operator(api: Api, setup: Setup, floor: Floor, args: argparse.Namespace,
                         source: Path | None = None, run_name: str = "", restart: bool = False) -> dict[str, Any]:
    """One ``kaico run`` (from ``source``, a source tree, when given) measured as the module says;
    ``restart``: with every report already stored, start -> every target evaluated and the RSS."""
    count = len(setup.names)
    expected = {(n, report_name("Deployment", d, "default", "apps")) for n, d in setup.names}
    watch = ReportWatch(api)
    await watch.start()
    # The Deployments too: the deployment controller may still be writing their status (it is
    # slow with thousands of paused Deployments), and a changed workload is rightly re-reported.
    workloads = ReportWatch(api, "/apis/apps/v1/deployments", "")
    await workloads.start()
    port = free_port()
    suffix = f"-{run_name}" if run_name else ""
    log = Path(args.work_dir) / f"kaico-run{suffix}.log"
    env = {**os.environ, "KUBECONFIG": str(setup.cluster.kubeconfig),
           **dict(item.split("=", 1) for item in args.env)}
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(source / "operator"), str(source)])
    command = [str(Path(sys.executable).parent / "kaico"), "run", "--metrics-address", "127.0.0.1",
               "--metrics-port", str(port), "--log-level", "warning"]
    traced = Path(args.work_dir) / f"tracemalloc{suffix}.txt"
    if args.tracemalloc:
        env["KAICO_TRACEMALLOC_FILE"] = str(traced)
    if args.tracemalloc or args.trim:
        command[:1] = [sys.executable, str(REPO / "bench" / "traced_kaico.py")]
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=log.open("ab"), stderr=subprocess.STDOUT, env=env, cwd=REPO)

    def alive() -> None:
        if process.poll() is not None:
            raise SystemExit(f"kaico run exited with {process.returncode}: {log.read_text()[-2000:]}")

    watch.alive = alive
    memory = Memory(process.pid)
    memory.start()
    profiler = None
    if args.py_spy:
        py_spy = shutil.which("py-spy", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        if py_spy is None:
            raise SystemExit("--py-spy: py-spy is not installed (pip install py-spy)")
        time.sleep(0.5)  # py-spy cannot attach before the interpreter is up
        profiler = subprocess.Popen([py_spy, "record", "--pid", str(process.pid), "--rate", "50",
                                     "--format", "speedscope", "-o", str(Path(args.work_dir) / "startup.speedscope.json"),
                                     "--duration", str(args.py_spy)],
                                    stdout=subprocess.DEVNULL, stderr=(Path(args.work_dir) / "py-spy.log").open("ab"))
    results: dict[str, Any] = {"workloads": count}
    try:
        if restart:
            return await restarted(port, count, started, memory, alive, args)
        done = await watch.until(lambda: expected <= watch.with_status.keys(), args.timeout)
        if not done:
            missing = len(expected - watch.with_status.keys())
            raise SystemExit(f"only {count - missing} of {count} reports after {args.timeout} s (log: {log})")
        first = min(watch.with_status.values()) - started
        last = max(watch.with_status[k] for k in expected) - started
        results.update(first_report=first, all_reports=last, all_vs_floor=last / floor.create,
                       rss_peak_startup=memory.peak())
        print(f"start -> first report {first:.1f} s; start -> all {count} reports {last:.1f} s "
              f"({last / floor.create:.2f} x the floor); RSS peak {mib(memory.peak())}", flush=True)

        await asyncio.sleep(args.settle)
        if args.tracemalloc:
            process.send_signal(signal.SIGUSR1)
            while not traced.exists():
                await asyncio.sleep(0.5)
            print(f"tracemalloc after the start-up: {traced} (RSS {mib(memory.read('VmRSS'))})", flush=True)
        if args.trim:
            before = memory.read("VmRSS")
            process.send_signal(signal.SIGUSR2)
            await asyncio.sleep(3)
            results.update(rss_before_trim=before, rss_after_trim=memory.read("VmRSS"))
            print(f"malloc_trim: RSS {mib(before)} -> {mib(memory.read('VmRSS'))}", flush=True)
        if args.startup_only:
            results.update(rss_settled=memory.read("VmRSS"))
            print(f"RSS settled {mib(memory.read('VmRSS'))}", flush=True)
            return results
        # Quiet: nothing changes, so nothing may be written.
        quiet_start = time.monotonic()
        await asyncio.sleep(args.quiet)
        quiet_writes = len([1 for at, _ in watch.writes if at >= quiet_start])
        workload_writes = len([1 for at, _ in workloads.writes if at >= quiet_start])
        unexplained = unexplained_writes(watch.writes, workloads.writes, quiet_start)
        rss_settled = memory.read("VmRSS")
        results.update(quiet_seconds=args.quiet, quiet_writes=quiet_writes, rss_settled=rss_settled,
                       quiet_workload_updates=workload_writes, quiet_unexplained_writes=unexplained)
        print(f"report writes over a quiet {args.quiet:.0f} s: {quiet_writes} (Deployment updates by others in "
              f"that window: {workload_writes}; writes not after an update of their own Deployment: "
              f"{unexplained}); RSS settled {mib(rss_settled)}", flush=True)

        # Change -> report, one Deployment at a time, while the N are steady.
        latencies: list[float] = []
        step = max(1, count // args.changes)
        for i in range(args.changes):
            namespace, name = setup.names[(i * step) % count]
            key = (namespace, report_name("Deployment", name, "default", "apps"))
            patch = [{"op": "remove", "path": "/spec/template/spec/containers/0/readinessProbe"}]
            sent = time.monotonic()
            await api.call("PATCH", f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}", patch,
                           content_type="application/json-patch+json")
            if not await watch.until(lambda key=key, sent=sent: key in watch.written_since(sent), 30):
                raise SystemExit(f"no report write within 30 s after changing {namespace}/{name} (log: {log})")
            latencies.append(next(at for at, k in reversed(watch.writes) if k == key) - sent)
            await asyncio.sleep(0.2)
        results.update(change_p50=percentile(latencies, 0.5), change_p99=percentile(latencies, 0.99),
                       change_max=max(latencies), changes=len(latencies))
        print(f"change -> report over {len(latencies)} changes: p50 {results['change_p50'] * 1000:.0f} ms, "
              f"p99 {results['change_p99'] * 1000:.0f} ms, max {results['change_max'] * 1000:.0f} ms", flush=True)

        # A taint on every GPU node: every report must be rewritten.
        await asyncio.sleep(2)
        gpu_nodes = [s for s in setup.cluster.node_specs if s.is_gpu]
        sent = time.monotonic()

        async def taint(spec: GpuNodeSpec) -> None:
            await api.call("PATCH", f"/api/v1/nodes/{spec.name}", {"spec": {"taints": [GPU_TAINT, BENCH_TAINT]}},
                           content_type="application/merge-patch+json")

        await api.each(gpu_nodes, taint)
        if not await watch.until(lambda: expected <= watch.written_since(sent), args.timeout):
            missing = len(expected - watch.written_since(sent))
            raise SystemExit(f"{missing} of {count} reports not rewritten {args.timeout} s after the node change")
        rewritten = {k: at for at, k in watch.writes if at >= sent}
        node_change = max(rewritten[k] for k in expected) - sent
        results.update(node_change=node_change, node_change_vs_floor=node_change / floor.repatch,
                       rss_peak=memory.peak(), rss_end=memory.read("VmRSS"))
        print(f"taint on {len(gpu_nodes)} GPU nodes -> all {count} reports rewritten in {node_change:.1f} s "
              f"({node_change / floor.repatch:.2f} x the floor); RSS peak {mib(memory.peak())}", flush=True)
        try:
            results["operator_metrics"] = operator_metric(port, "kaico_evaluations_total")
        except OSError:
            pass
    finally:
        watch.stop()
        workloads.stop()
        memory.stopping.set()
        if profiler is not None and profiler.poll() is None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=60)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    return results


async def delete_reports(api: Api, setup: Setup) -> None:
    """Delete every report kaico wrote, and wait until the API server holds none."""
    selector = urllib.parse.quote(MANAGED_SELECTOR)
    for namespace in sorted({n for n, _ in setup.names}):
        await api.call("DELETE", f"/apis/kaico.dev/v1alpha1/namespaces/{namespace}/conformancereports"
                                 f"?labelSelector={selector}")
    while (await api.call("GET", f"{REPORTS}?labelSelector={selector}&limit=1"))["items"]:
        await asyncio.sleep(1)


async def compare_variants(api: Api, setup: Setup, floor: Floor, args: argparse.Namespace) -> dict[str, Any]:
    """``--variant NAME=DIR``: the start-up of each source tree, ``--rounds`` times, against the
    same cluster and floor, the order reversed every other round, every report deleted between."""
    variants = [(name, Path(path).resolve()) for name, _, path in (v.partition("=") for v in args.variant)]
    args.startup_only = True
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in variants}
    for round_ in range(args.rounds):
        for name, source in variants if round_ % 2 == 0 else variants[::-1]:
            print(f"--- round {round_ + 1}: {name} ({source})", flush=True)
            fresh = await bench_operator(api, setup, floor, args, source, f"{name}-{round_ + 1}")
            if args.restart:
                again = await bench_operator(api, setup, floor, args, source, f"{name}-{round_ + 1}-restart",
                                             restart=True)
                fresh.update(restart_evaluated=again["restart_evaluated"],
                             rss_peak_restart=again["rss_peak_startup"], rss_settled_restart=again["rss_settled"])
            runs[name].append(fresh)
            await delete_reports(api, setup)
    print(f"{'variant':<16} {'first report':>12} {'all reports':>18} {'RSS peak':>9} {'settled':>8}"
          + (f" {'restart: evaluated':>18} {'RSS peak':>9} {'settled':>8}" if args.restart else ""), flush=True)
    for name, measured in runs.items():
        for r in measured:
            print(f"{name:<16} {r['first_report']:>10.1f} s {r['all_reports']:>8.1f} s ({r['all_vs_floor']:.2f}x) "
                  f"{mib(r['rss_peak_startup']):>9} {mib(r['rss_settled']):>8}"
                  + (f" {r['restart_evaluated']:>16.1f} s {mib(r['rss_peak_restart']):>9} "
                     f"{mib(r['rss_settled_restart']):>8}" if args.restart else ""), flush=True)
    return {"variants": runs}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    nodes = [GpuNodeSpec(f"kwok-gpu-{i:03d}") for i in range(args.nodes)]
    cluster = LocalCluster(tempfile.mkdtemp(prefix="cluster-", dir=args.work_dir), nodes=nodes, startup_timeout=600)
    started = time.monotonic()
    cluster.start()
    print(f"control plane with {args.nodes} GPU nodes up in {time.monotonic() - started:.1f} s", flush=True)
    api = Api(cluster, args.parallel)
    try:
        setup = await create_workloads(api, cluster, args.workloads, args.namespaces, args.settle_status)
        floor = await raw_floor(api, setup)
        print(f"raw floor (plain client, {args.parallel} in flight): {args.workloads} reports created with "
              f"status in {floor.create:.1f} s; {args.workloads} statuses patched in {floor.repatch:.1f} s",
              flush=True)
        if args.variant:
            results = await compare_variants(api, setup, floor, args)
        else:
            results = await bench_operator(api, setup, floor, args)
        results.update(floor_create=floor.create, floor_repatch=floor.repatch)
        return results
    finally:
        await api.close()
        cluster.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--workloads", type=int, default=5000, help="GPU Deployments (default 5000)")
    parser.add_argument("--nodes", type=int, default=200, help="8-GPU kwok nodes (default 200)")
    parser.add_argument("--namespaces", type=int, default=20, help="namespaces to spread them over (default 20)")
    parser.add_argument("--parallel", type=int, default=16,
                        help="requests in flight for the raw floor and the set-up (default 16, as kaico's writer)")
    parser.add_argument("--quiet", type=float, default=120, help="the quiet window, seconds (default 120)")
    parser.add_argument("--settle", type=float, default=5, help="wait before the quiet window (default 5 s)")
    parser.add_argument("--settle-status", type=float, default=60,
                        help="wait at most this long for the Deployments' status before measuring (default 60 s)")
    parser.add_argument("--changes", type=int, default=50, help="single-Deployment changes timed (default 50)")
    parser.add_argument("--timeout", type=float, default=1800, help="give up waiting for reports after this")
    parser.add_argument("--py-spy", type=float, default=0, metavar="SECONDS",
                        help="record the operator with py-spy for this long from its start (speedscope JSON in the work dir)")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="run the operator under tracemalloc (bench/traced_kaico.py) and dump its top "
                             "allocations to tracemalloc.txt in the work dir once every report is written")
    parser.add_argument("--trim", action="store_true",
                        help="after the start-up, ask the operator (bench/traced_kaico.py) to malloc_trim "
                             "and print RSS before and after")
    parser.add_argument("--startup-only", action="store_true",
                        help="stop after the start-up (all reports, RSS settled): no quiet window, changes, taint")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="environment for the operator (e.g. MALLOC_ARENA_MAX=2); repeatable")
    parser.add_argument("--work-dir", default=None, help="keep logs here (default: a fresh temporary directory)")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=DIR",
                        help="compare the start-up of source trees (e.g. one from `git archive`): "
                             "implies --startup-only")
    parser.add_argument("--restart", action="store_true",
                        help="with --variant: after each start-up, start the variant again with every report "
                             "stored (start -> every target evaluated, RSS)")
    parser.add_argument("--rounds", type=int, default=2, help="start-ups per --variant (default 2)")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    args.work_dir = args.work_dir or tempfile.mkdtemp(prefix="kaico-operator-bench-")
    Path(args.work_dir).mkdir(parents=True, exist_ok=True)
    print(f"work dir {args.work_dir}", flush=True)
    results = asyncio.run(main_async(args))
    summary = {k: v for k, v in results.items() if not isinstance(v, dict)}
    print(json.dumps(summary, indent=1), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
