"""A real Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and kwok, as child processes of the caller (the way controller-runtime's envtest
runs etcd and kube-apiserver), plus fake GPU nodes.

Concerns of this module: start the processes on free 127.0.0.1 ports with throwaway state, wait
until each is really usable, keep every component's log in the work directory, and never leave a
process behind. Three layers guard against orphans:

* each component runs in its own process group and ``stop()`` signals the whole group
  (TERM, then KILL), components first, etcd last;
* ``atexit`` stops every cluster still running, and SIGTERM/SIGHUP (when nobody else handles them)
  become KeyboardInterrupt so ``finally`` blocks and pytest fixture teardown run;
* on Linux each child gets ``PR_SET_PDEATHSIG=SIGKILL``, so even a ``kill -9`` of the Python
  process takes the control plane down with it.

For fault tests one component can be stopped and started again while the others keep running
(``stop_component``/``start_component``: same ports, same etcd data, same certificates), and
etcd's history can be compacted (``compact_etcd``) so a watch resuming from an old
resourceVersion gets 410 Gone.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import ctypes
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
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml

from . import kwokstages, pki
from .gpunodes import MANAGED_LABEL, GpuNodeSpec, default_nodes, node_manifest
from .tools import Toolset, find_toolset, tool_versions

LOOPBACK = "127.0.0.1"
SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"
# kwok reports this as every fake node's InternalIP; nothing connects to it.
FAKE_NODE_IP = "10.250.0.1"
CONTEXT = "kaico-local"


class ClusterError(RuntimeError):
    """The control plane failed to start or a component died; the message carries log tails."""


@dataclass
class Component:
    name: str
    argv: list[str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    log_file: IO[bytes] | None = None
    # Stopped on purpose (stop_component): not a crash, and start_component brings it back.
    stopped: bool = False

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def _b64(p: Path) -> str:
    return base64.b64encode(p.read_bytes()).decode()


# --- process plumbing --------------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1
try:
    _libc: ctypes.CDLL | None = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None
except OSError:  # pragma: no cover - exotic libc
    _libc = None


def _child_setup(parent_pid: int, tie_to_parent: bool) -> Callable[[], None]:
    def setup() -> None:
        if tie_to_parent and _libc is not None:
            _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            # The parent may have died between fork and prctl; then nobody would ever kill us.
            if os.getppid() != parent_pid:
                os._exit(1)

    return setup


def _free_ports(n: int) -> list[int]:
    """n distinct free loopback ports (all sockets held open until every port is picked)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((LOOPBACK, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


_LIVE: set[LocalCluster] = set()
_LIVE_LOCK = threading.Lock()


def _stop_all_live() -> None:
    with _LIVE_LOCK:
        live = list(_LIVE)
    for cluster in live:
        with contextlib.suppress(Exception):
            cluster.stop()


atexit.register(_stop_all_live)


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def install_signal_handlers() -> None:
    """Turn SIGTERM/SIGHUP into KeyboardInterrupt (main thread only, only where no handler is set),
    so a CI timeout or a closed terminal unwinds through teardown instead of killing Python cold."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) in (signal.SIG_DFL, None):
            signal.signal(sig, _interrupt)


# --- the cluster -------------------------------------------------------------------------------

@dataclass
class Timings:
    """Seconds spent in each start-up phase, for the README's measurements and slow-start triage."""

    phases: dict[str, float] = field(default_factory=dict)

    def mark(self, name: str, since: float) -> float:
        now = time.monotonic()
        self.phases[name] = round(now - since, 3)
        return now


class LocalCluster:
    """One control plane. Use as a context manager, or call ``start()`` and ``stop()``."""

    def __init__(
        self,
        work_dir: Path | str | None = None,
        *,
        nodes: Sequence[GpuNodeSpec] | None = None,
        tools: Toolset | None = None,
        startup_timeout: float = 180.0,
        keep_work_dir: bool | None = None,
        extra_args: Mapping[str, Sequence[str]] | None = None,
        tie_to_parent: bool = True,
    ) -> None:
        self._own_work_dir = work_dir is None
        self.work_dir = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="kaico-cluster-"))
        # Keep logs of a caller-chosen dir, or when asked (KAICO_KEEP_CLUSTER=1) for post-mortems.
        if keep_work_dir is None:
            keep_work_dir = not self._own_work_dir or os.environ.get("KAICO_KEEP_CLUSTER") == "1"
        self.keep_work_dir = keep_work_dir
        self.node_specs = list(default_nodes() if nodes is None else nodes)
        self.tools = tools
        self.startup_timeout = startup_timeout
        self.extra_args = {k: list(v) for k, v in (extra_args or {}).items()}
        self.tie_to_parent = tie_to_parent
        self.kube_version = tool_versions()["k8s"]
        self.components: dict[str, Component] = {}
        self.timings = Timings()
        self.ports: dict[str, int] = {}
        self._ssl: ssl.SSLContext | None = None
        self._started = False
        self.pki: pki.Pki | None = None

    # paths -------------------------------------------------------------------------------------
    @property
    def kubeconfig(self) -> Path:
        return self.work_dir / "kubeconfig"

    @property
    def log_dir(self) -> Path:
        return self.work_dir / "logs"

    @property
    def server(self) -> str:
        return f"https://{LOOPBACK}:{self.ports['apiserver']}"

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # start -------------------------------------------------------------------------------------
    def start(self) -> LocalCluster:
        if self._started:
            return self
        t0 = time.monotonic()
        t = t0
        self.tools = self.tools or find_toolset()
        install_signal_handlers()
        with _LIVE_LOCK:
            _LIVE.add(self)
        self._started = True
        try:
            self.work_dir.mkdir(parents=True, exist_ok=True)
            self.log_dir.mkdir(exist_ok=True)
            names = ["etcd", "etcd-peer", "apiserver", "controller-manager", "scheduler", "kwok"]
            self.ports = dict(zip(names, _free_ports(len(names)), strict=True))
            self.pki = pki.generate(self.work_dir / "pki")
            t = self.timings.mark("pki", t)
            self._write_kubeconfig()
            self._ssl = self._client_ssl()

            self._launch("etcd", self._etcd_argv())
            self._wait_usable("etcd")
            t = self.timings.mark("etcd", t)

            self._launch("kube-apiserver", self._apiserver_argv())
            self._wait_usable("kube-apiserver")
            t = self.timings.mark("kube-apiserver", t)

            # These three only need the API; start them together and wait for all.
            self._launch("kube-controller-manager", self._controller_manager_argv())
            self._launch("kube-scheduler", self._scheduler_argv())
            stages = self.work_dir / "kwok-stages.yaml"
            stages.write_text(kwokstages.stages_yaml(self.kube_version))
            self._launch("kwok", self._kwok_argv(stages))
            for spec in self.node_specs:
                self.create_node(spec)
            self._wait("kube-controller-manager /healthz", lambda: self._http_ok(
                f"https://{LOOPBACK}:{self.ports['controller-manager']}/healthz", verify=False),
                ["kube-controller-manager"])
            self._wait("kube-scheduler /healthz", lambda: self._http_ok(
                f"https://{LOOPBACK}:{self.ports['scheduler']}/healthz", verify=False),
                ["kube-scheduler"])
            # The default ServiceAccount proves the controllers run; pods need it to be admitted.
            self._wait("default ServiceAccount", lambda: self._status(
                "/api/v1/namespaces/default/serviceaccounts/default") == 200,
                ["kube-controller-manager"])
            self.wait_nodes_ready([s.name for s in self.node_specs])
            t = self.timings.mark("controllers+nodes", t)
            self.timings.phases["total"] = round(t - t0, 3)
        except BaseException:
            self.stop()
            raise
        return self

    def _etcd_argv(self) -> list[str]:
        assert self.tools
        c, p = self.ports["etcd"], self.ports["etcd-peer"]
        return [
            str(self.tools.etcd), "--name=kaico", f"--data-dir={self.work_dir / 'etcd'}",
            f"--listen-client-urls=http://{LOOPBACK}:{c}", f"--advertise-client-urls=http://{LOOPBACK}:{c}",
            f"--listen-peer-urls=http://{LOOPBACK}:{p}",
            f"--initial-advertise-peer-urls=http://{LOOPBACK}:{p}",
            f"--initial-cluster=kaico=http://{LOOPBACK}:{p}",
            # Test data is throwaway: skipping fsync makes etcd writes (and so every API write) fast.
            "--unsafe-no-fsync", "--log-level=warn",
            *self.extra_args.get("etcd", []),
        ]

    def _apiserver_argv(self) -> list[str]:
        assert self.tools and self.pki
        k = self.pki
        return [
            str(self.tools.kube_apiserver),
            f"--etcd-servers=http://{LOOPBACK}:{self.ports['etcd']}",
            f"--bind-address={LOOPBACK}", f"--advertise-address={LOOPBACK}",
            f"--secure-port={self.ports['apiserver']}", f"--cert-dir={self.work_dir / 'pki'}",
            f"--tls-cert-file={k.serving_cert}", f"--tls-private-key-file={k.serving_key}",
            f"--client-ca-file={k.ca_cert}", f"--token-auth-file={k.token_file}",
            # RBAC like a real cluster, so missing Roles in kaico's chart fail here too.
            "--authorization-mode=RBAC",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={k.sa_pub}",
            f"--service-account-signing-key-file={k.sa_key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}", "--allow-privileged=true",
            # The aggregation layer (APIService, e.g. a metrics adapter) and delegated authn of
            # the other components both rely on request-header authentication being configured.
            f"--requestheader-client-ca-file={k.ca_cert}",
            f"--requestheader-allowed-names={pki.FRONT_PROXY_USER}",
            "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={k.front_proxy_cert}",
            f"--proxy-client-key-file={k.front_proxy_key}",
            # A loopback advertise address is not a valid Endpoints IP; nothing in-cluster needs
            # to reach the API through the `kubernetes` Service here (there is no pod network).
            "--endpoint-reconciler-type=none",
            "--profiling=false",
            # The default admission plugins stay on: no --enable/--disable-admission-plugins.
            *self.extra_args.get("kube-apiserver", []),
        ]

    def _component_common(self, name: str, port_key: str) -> list[str]:
        kc = str(self.kubeconfig)
        return [
            f"--kubeconfig={kc}", f"--authentication-kubeconfig={kc}",
            f"--authorization-kubeconfig={kc}", f"--bind-address={LOOPBACK}",
            f"--secure-port={self.ports[port_key]}", f"--cert-dir={self.work_dir / name}",
            # One instance per cluster: a lease election would only delay start-up by seconds.
            "--leader-elect=false",
        ]

    def _controller_manager_argv(self) -> list[str]:
        assert self.tools and self.pki
        return [
            str(self.tools.kube_controller_manager),
            *self._component_common("kube-controller-manager", "controller-manager"),
            # The default controller set: deployment, replicaset, garbagecollector, namespace,
            # serviceaccount, serviceaccount-token (enabled by the key below), horizontalpodautoscaling, ...
            "--controllers=*",
            f"--service-account-private-key-file={self.pki.sa_key}",
            f"--root-ca-file={self.pki.ca_cert}",
            "--use-service-account-credentials=false",
            # A node is declared lost after 2 min without a Lease renewal (50 s by default). kwok
            # renews the Leases, late under CPU load and not at all while the API server is down
            # (the fault suite stops it for 60 s): with the default, the node lifecycle
            # controller would mark the fake nodes and every pod on them not ready, churn that
            # comes from the harness, not from what a test does.
            "--node-monitor-grace-period=120s",
            *self.extra_args.get("kube-controller-manager", []),
        ]

    def _scheduler_argv(self) -> list[str]:
        assert self.tools
        return [
            str(self.tools.kube_scheduler),
            *self._component_common("kube-scheduler", "scheduler"),
            *self.extra_args.get("kube-scheduler", []),
        ]

    def _kwok_argv(self, stages: Path) -> list[str]:
        assert self.tools
        return [
            str(self.tools.kwok), f"--kubeconfig={self.kubeconfig}", f"--config={stages}",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            f"--cidr={POD_CIDR}", f"--node-ip={FAKE_NODE_IP}",
            f"--server-address={LOOPBACK}:{self.ports['kwok']}",
            # kwok renews each node's Lease, so the node lifecycle controller keeps them Ready.
            "--node-lease-duration-seconds=40",
            # INFO logs every lease renewal; warnings and stage errors are what a failure needs.
            "--v=WARN",
            *self.extra_args.get("kwok", []),
        ]

    def _launch(self, name: str, argv: list[str]) -> None:
        log_path = self.log_dir / f"{name}.log"
        log_file = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        log_file.write(f"# {' '.join(argv)}\n".encode())
        log_file.flush()
        env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT, env=env,
            cwd=self.work_dir, start_new_session=True,
            preexec_fn=_child_setup(os.getpid(), self.tie_to_parent and
                                    threading.current_thread() is threading.main_thread()),
        )
        self.components[name] = Component(name, argv, log_path, proc, log_file)

    def _wait(self, what: str, ready: Callable[[], bool], watch: Iterable[str],
              timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or self.startup_timeout)
        watch = list(watch)
        delay = 0.05
        while True:
            for name in watch:
                comp = self.components.get(name)
                if comp is not None and not comp.running():
                    code = comp.proc.returncode if comp.proc else None
                    raise ClusterError(f"{name} exited with {code} while waiting for {what}\n"
                                       + self.tail_logs(40, [name]))
            with contextlib.suppress(Exception):
                if ready():
                    return
            if time.monotonic() > deadline:
                raise ClusterError(f"timed out waiting for {what}\n" + self.tail_logs(30))
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)

    # one component at a time (fault tests) ---------------------------------------------------
    def stop_component(self, name: str, kill: bool = False) -> None:
        """Stop one component (SIGTERM, or SIGKILL with ``kill``) and leave the others running.
        ``start_component`` starts it again on the same port with the same data."""
        comp = self.components[name]
        comp.stopped = True
        self._terminate(comp, signal.SIGKILL if kill else signal.SIGTERM)

    def start_component(self, name: str, timeout: float | None = None) -> None:
        """Start a component stopped by ``stop_component`` (or one that died) again, with the
        argv it first ran with, and wait until it is usable."""
        comp = self.components[name]
        if comp.running():
            return
        if comp.log_file and not comp.log_file.closed:
            comp.log_file.close()
        self._launch(name, comp.argv)
        self._wait_usable(name, timeout)

    def _wait_usable(self, name: str, timeout: float | None = None) -> None:
        if name == "etcd":
            self._wait("etcd /health", lambda: self._http_ok(f"{self.etcd_url}/health", verify=False),
                       ["etcd"], timeout)
        elif name == "kube-apiserver":
            self._wait("kube-apiserver /readyz", lambda: self._status("/readyz") == 200,
                       ["kube-apiserver", "etcd"], timeout)
        else:
            self._wait(f"{name} running", lambda: True, [name], timeout)

    @property
    def etcd_url(self) -> str:
        return f"http://{LOOPBACK}:{self.ports['etcd']}"

    def _etcd_call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        """One call to etcd's v3 JSON gateway (``/v3/...``, served on the client port)."""
        req = urllib.request.Request(f"{self.etcd_url}/v3/{method}", data=json.dumps(body).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return dict(json.loads(r.read() or b"{}"))

    def etcd_revision(self) -> int:
        """etcd's current revision (what kube-apiserver hands out as resourceVersions)."""
        header = self._etcd_call("kv/range", {"key": base64.b64encode(b"/").decode()})["header"]
        return int(header["revision"])

    def etcd_delete(self, key: str) -> int:
        """Delete one key in etcd behind kube-apiserver's back (as a lost write or a watch gap
        would look to a client); how many keys were deleted. A custom object's key is
        ``/registry/<group>/<plural>/<namespace>/<name>``."""
        answer = self._etcd_call("kv/deleterange", {"key": base64.b64encode(key.encode()).decode()})
        return int(answer.get("deleted", 0))

    def etcd_get(self, key: str) -> bytes | None:
        """One key's stored value in etcd (kube-apiserver's encoding: protobuf for built-in
        kinds, JSON for custom objects), or None."""
        answer = self._etcd_call("kv/range", {"key": base64.b64encode(key.encode()).decode()})
        kvs = answer.get("kvs") or []
        return base64.b64decode(kvs[0]["value"]) if kvs else None

    def etcd_put(self, key: str, value: bytes) -> None:
        """Store a value under one key in etcd behind kube-apiserver's back."""
        self._etcd_call("kv/put", {"key": base64.b64encode(key.encode()).decode(),
                                   "value": base64.b64encode(value).decode()})

    def compact_etcd(self) -> int:
        """Compact etcd's history up to its current revision (physically): every older
        resourceVersion is gone, so a watch that resumes from one gets 410 Gone. Returns the
        revision compacted to. (kube-apiserver's watch cache can still serve a short window of
        recent versions; a watch from before it, or across an apiserver restart, gets 410.)"""
        revision = self.etcd_revision()
        self._etcd_call("kv/compaction", {"revision": str(revision), "physical": True})
        return revision

    # stop --------------------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop every component (idempotent); clients first, so nothing logs errors about a
        vanished API server, and etcd last."""
        order = [["kwok", "kube-scheduler", "kube-controller-manager"], ["kube-apiserver"], ["etcd"]]
        for group in order:
            comps = [self.components[n] for n in group if n in self.components]
            for c in comps:
                self._signal(c, signal.SIGTERM)
            deadline = time.monotonic() + 10
            for c in comps:
                self._reap(c, deadline)
        with _LIVE_LOCK:
            _LIVE.discard(self)
        self._started = False
        if not self.keep_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def _terminate(self, c: Component, sig: int) -> None:
        self._signal(c, sig)
        self._reap(c, time.monotonic() + 10)

    def _reap(self, c: Component, deadline: float) -> None:
        """Wait for a signalled component until ``deadline``, then kill it; close its log."""
        if c.proc is not None:
            try:
                c.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._signal(c, signal.SIGKILL)
                c.proc.wait(timeout=10)
            # Anything the component forked lives in its group; make sure it goes too.
            self._signal(c, signal.SIGKILL)
        if c.log_file and not c.log_file.closed:
            c.log_file.close()

    @staticmethod
    def _signal(c: Component, sig: int) -> None:
        if c.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(c.proc.pid, sig)

    # credentials and HTTP --------------------------------------------------------------------
    def _write_kubeconfig(self) -> None:
        assert self.pki
        self.write_kubeconfig(self.kubeconfig, user=pki.ADMIN_USER, credentials={
            "client-certificate-data": _b64(self.pki.admin_cert),
            "client-key-data": _b64(self.pki.admin_key)})

    def write_kubeconfig(self, path: Path, *, token: str | None = None, user: str = "token-user",
                         credentials: Mapping[str, str] | None = None) -> Path:
        """A kubeconfig for this cluster; with ``token``, one that authenticates as whoever the
        token belongs to (e.g. a ServiceAccount, to test the operator's RBAC)."""
        assert self.pki
        creds = dict(credentials or {})
        if token is not None:
            creds["token"] = token
        cfg = {
            "apiVersion": "v1", "kind": "Config", "current-context": CONTEXT,
            "clusters": [{"name": CONTEXT, "cluster": {
                "server": self.server, "certificate-authority-data": _b64(self.pki.ca_cert)}}],
            "users": [{"name": user, "user": creds}],
            "contexts": [{"name": CONTEXT, "context": {
                "cluster": CONTEXT, "user": user, "namespace": "default"}}],
        }
        path.write_text(yaml.safe_dump(cfg, sort_keys=False))
        path.chmod(0o600)
        return path

    def _client_ssl(self) -> ssl.SSLContext:
        assert self.pki
        ctx = ssl.create_default_context(cafile=str(self.pki.ca_cert))
        ctx.load_cert_chain(str(self.pki.admin_cert), str(self.pki.admin_key))
        return ctx

    @property
    def admin_token(self) -> str:
        """A bearer token for the admin identity, for clients that prefer tokens to certificates."""
        assert self.pki
        return self.pki.admin_token

    @property
    def ca_cert(self) -> Path:
        assert self.pki
        return self.pki.ca_cert

    @staticmethod
    def _http_ok(url: str, verify: bool) -> bool:
        ctx = ssl.create_default_context()
        if not verify:
            # Only for our own components' loopback health endpoints (self-signed certificates).
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        with urllib.request.urlopen(url, timeout=2, context=ctx if url.startswith("https") else None) as r:
            return bool(r.status == 200)

    def request(self, method: str, path: str, body: Any = None, *,
                content_type: str = "application/json", timeout: float = 10) -> tuple[int, Any]:
        """One API call as the admin; returns (status, decoded JSON or text). Never raises on
        HTTP errors, so callers can treat 404/409 as answers."""
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        req = urllib.request.Request(self.server + path, data=data, method=method,
                                     headers={"Content-Type": content_type,
                                              "Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=self._ssl) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def _status(self, path: str) -> int:
        return self.request("GET", path, timeout=3)[0]

    def server_version(self) -> dict[str, Any]:
        status, body = self.request("GET", "/version")
        if status != 200:
            raise ClusterError(f"/version answered {status}: {body}")
        return dict(body)

    # kubectl -----------------------------------------------------------------------------------
    def kubectl(self, *args: str, input: str | None = None, check: bool = True,
                timeout: float = 120, kubeconfig: Path | None = None
                ) -> subprocess.CompletedProcess[str]:
        assert self.tools
        kc = kubeconfig or self.kubeconfig
        res = subprocess.run([str(self.tools.kubectl), f"--kubeconfig={kc}", *args],
                             input=input, capture_output=True, text=True, timeout=timeout)
        if check and res.returncode != 0:
            raise ClusterError(f"kubectl {' '.join(args)} failed ({res.returncode}):\n{res.stderr}")
        return res

    def apply(self, objects: Sequence[Mapping[str, Any]] | str, *extra: str) -> str:
        text = objects if isinstance(objects, str) else yaml.safe_dump_all(list(objects))
        return self.kubectl("apply", "-f", "-", *extra, input=text).stdout

    def wait_crds_established(self, names: Sequence[str], timeout: float = 120) -> None:
        """Poll instead of `kubectl wait`, which errors out (rather than waits) while a fresh CRD
        has no status conditions yet."""
        def established(name: str) -> bool:
            status, body = self.request(
                "GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
            conds = (body or {}).get("status", {}).get("conditions") or [] if status == 200 else []
            return any(c["type"] == "Established" and c["status"] == "True" for c in conds)

        pending = list(names)

        def all_established() -> bool:
            pending[:] = [n for n in pending if not established(n)]
            return not pending

        self._wait(f"CRDs Established ({len(names)})", all_established, ["kube-apiserver"], timeout)

    # namespaces and nodes --------------------------------------------------------------------
    def create_namespace(self, name: str, labels: Mapping[str, str] | None = None,
                         timeout: float = 30) -> None:
        """Create a namespace and wait for its default ServiceAccount (pods are refused before)."""
        meta: dict[str, Any] = {"name": name}
        if labels:
            meta["labels"] = dict(labels)
        status, body = self.request("POST", "/api/v1/namespaces",
                                    {"apiVersion": "v1", "kind": "Namespace", "metadata": meta})
        if status not in (201, 409):
            raise ClusterError(f"creating namespace {name}: {status} {body}")
        self._wait(f"ServiceAccount {name}/default", lambda: self._status(
            f"/api/v1/namespaces/{name}/serviceaccounts/default") == 200,
            ["kube-controller-manager"], timeout)

    def delete_namespace(self, name: str) -> None:
        """Delete without waiting: the namespace controller finishes it in the background."""
        self.request("DELETE", f"/api/v1/namespaces/{name}")

    def create_node(self, spec: GpuNodeSpec) -> None:
        status, body = self.request("POST", "/api/v1/nodes", node_manifest(spec))
        if status != 201:
            raise ClusterError(f"creating node {spec.name}: {status} {body}")

    def add_nodes(self, specs: Sequence[GpuNodeSpec], timeout: float = 60) -> None:
        for spec in specs:
            self.create_node(spec)
        self.node_specs.extend(specs)
        self.wait_nodes_ready([s.name for s in specs], timeout)

    def wait_nodes_ready(self, names: Sequence[str], timeout: float | None = None) -> None:
        def all_ready() -> bool:
            status, body = self.request("GET", f"/api/v1/nodes?labelSelector={MANAGED_LABEL}%3Dtrue")
            if status != 200:
                return False
            ready = {
                n["metadata"]["name"] for n in body["items"]
                if any(c["type"] == "Ready" and c["status"] == "True"
                       for c in n.get("status", {}).get("conditions", []))
            }
            return set(names) <= ready

        self._wait(f"nodes {', '.join(names)} Ready", all_ready, ["kwok"], timeout)

    # logs --------------------------------------------------------------------------------------
    def tail_logs(self, lines: int = 30, components: Iterable[str] | None = None) -> str:
        """The last lines of each component's log, for failure messages and pytest reports."""
        out = []
        for name in components or self.components:
            comp = self.components.get(name)
            if comp is None or not comp.log_path.exists():
                continue
            text = comp.log_path.read_text(errors="replace").splitlines()
            out.append(f"----- {name} ({comp.log_path}), last {min(lines, len(text))} lines -----")
            out.extend(text[-lines:])
        return "\n".join(out)

    def state(self) -> dict[str, Any]:
        """What `python -m kaico_dev.localcluster status` and tools outside Python need to know."""
        return {
            "server": self.server if self.ports else None,
            "kubeconfig": str(self.kubeconfig),
            "work_dir": str(self.work_dir),
            "kube_version": self.kube_version,
            "ports": self.ports,
            "pids": {n: c.proc.pid for n, c in self.components.items() if c.proc},
            "timings": self.timings.phases,
        }
