"""``python -m kaico_dev.localcluster up|down|status|logs``: the local cluster as a background service.

``up`` starts a supervisor process (``serve``) in its own session, which owns the control plane and
writes ``state.json`` into the state directory once everything is ready; ``up`` waits for that and
prints ``export KUBECONFIG=…``. ``down`` signals the supervisor, which stops every component (and
the components die with it anyway, see cluster.py). The state directory is fixed, so every shell
finds the same cluster: $KAICO_CLUSTER_DIR, else ``.cluster/`` in the checkout, else
``~/.cache/kaico/cluster``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from .cluster import ClusterError, LocalCluster
from .gpunodes import GpuNodeSpec
from .tools import ToolNotFound, find_binary, repo_root

STATE = "state.json"


def default_state_dir() -> Path:
    env = os.environ.get("KAICO_CLUSTER_DIR")
    if env:
        return Path(env)
    root = repo_root()
    return root / ".cluster" if root else Path.home() / ".cache" / "kaico" / "cluster"


def _read_state(d: Path) -> dict[str, object] | None:
    try:
        return dict(json.loads((d / STATE).read_text()))
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours still "exists"; reap it if it is ours.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def _nodes(args: argparse.Namespace) -> list[GpuNodeSpec]:
    nodes = [GpuNodeSpec(f"kwok-gpu-{i}", gpus=args.gpus, resource=args.gpu_resource,
                         product=args.gpu_product) for i in range(args.gpu_nodes)]
    nodes += [GpuNodeSpec(f"kwok-cpu-{i}", gpus=0, cpu="32", memory="128Gi")
              for i in range(args.cpu_nodes)]
    return nodes


def _write_state(d: Path, cluster: LocalCluster) -> None:
    state = cluster.state() | {"supervisor_pid": os.getpid()}
    tmp = d / (STATE + ".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(d / STATE)  # atomic: `up` never reads half a file


def cmd_serve(args: argparse.Namespace) -> int:
    """The supervisor: run the cluster until SIGTERM/SIGINT, then stop it and remove the state."""
    d: Path = args.state_dir
    stop = False

    def on_signal(_sig: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    work = d / "work"
    shutil.rmtree(work, ignore_errors=True)  # every `up` is a fresh cluster: new etcd, new certs
    cluster = LocalCluster(work, nodes=_nodes(args), keep_work_dir=True)
    try:
        cluster.start()
        _write_state(d, cluster)
        print(f"ready in {cluster.timings.phases.get('total')}s: {cluster.server}", flush=True)
        while not stop:
            for name, comp in list(cluster.components.items()):
                if not comp.running() and not stop:
                    # One component exiting (a crash, or `kill` of its pid to test a fault) does
                    # not take the others down: it is started again on its port, with its data.
                    print(f"{name} exited (code {comp.proc.returncode if comp.proc else None}); "
                          f"starting it again\n{cluster.tail_logs(20, [name])}", flush=True)
                    try:
                        cluster.start_component(name)
                    except ClusterError as error:
                        print(f"{name} did not come back: {error}", flush=True)
                        stop = True
                    _write_state(d, cluster)
            time.sleep(1)
    except (ClusterError, ToolNotFound) as e:
        print(f"start failed: {e}", flush=True)
        return 1
    finally:
        cluster.stop()
        (d / STATE).unlink(missing_ok=True)
        print("stopped", flush=True)
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    d: Path = args.state_dir
    d.mkdir(parents=True, exist_ok=True)
    state = _read_state(d)
    if state and _alive(int(str(state["supervisor_pid"]))):
        print(f"# already running: {state['server']}", file=sys.stderr)
        print(f"export KUBECONFIG={state['kubeconfig']}")
        return 0
    (d / STATE).unlink(missing_ok=True)
    log = open(d / "supervisor.log", "wb")  # noqa: SIM115 - handed to the child
    argv = [sys.executable, "-m", "kaico_dev.localcluster", "--state-dir", str(d), "serve",
            "--gpu-nodes", str(args.gpu_nodes), "--cpu-nodes", str(args.cpu_nodes),
            "--gpus", str(args.gpus), "--gpu-resource", args.gpu_resource,
            "--gpu-product", args.gpu_product]
    env = dict(os.environ)
    # The child must import this very package, also when run from a checkout without install.
    pkg_parent = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (pkg_parent, env.get("PYTHONPATH")) if p)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, env=env, cwd=d)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        state = _read_state(d)
        if state:
            print(f"# local cluster up in {state.get('timings', {}).get('total')}s: "  # type: ignore[union-attr]
                  f"{state['server']} (logs: {d / 'work' / 'logs'})", file=sys.stderr)
            print(f"export KUBECONFIG={state['kubeconfig']}")
            return 0
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    if proc.poll() is None:
        proc.terminate()
    print("local cluster failed to start:\n" + (d / "supervisor.log").read_text(errors="replace"),
          file=sys.stderr)
    return 1


def cmd_down(args: argparse.Namespace) -> int:
    d: Path = args.state_dir
    state = _read_state(d)
    if not state:
        print("# no local cluster running", file=sys.stderr)
        return 0
    pid = int(str(state["supervisor_pid"]))
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 40
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
    # A supervisor that hung or was killed: take the components down by process group.
    pids = state.get("pids") or {}
    for p in [pid, *dict(pids).values()]:  # type: ignore[call-overload]
        try:
            os.killpg(int(p), signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    (d / STATE).unlink(missing_ok=True)
    print("# local cluster stopped", file=sys.stderr)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    state = _read_state(args.state_dir)
    if not state or not _alive(int(str(state["supervisor_pid"]))):
        print("not running")
        return 1
    print(f"running: {state['server']} (Kubernetes {state['kube_version']})")
    print(f"export KUBECONFIG={state['kubeconfig']}")
    try:
        kubectl = find_binary("kubectl")
        subprocess.run([str(kubectl), f"--kubeconfig={state['kubeconfig']}", "get", "nodes",
                        "-L", "nvidia.com/gpu.product", "-L", "nvidia.com/gpu.count"], check=False)
    except ToolNotFound:
        pass
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    logs = args.state_dir / "work" / "logs"
    for f in sorted(logs.glob("*.log")):
        lines = f.read_text(errors="replace").splitlines()
        print(f"----- {f.name} -----")
        print("\n".join(lines[-args.lines:]))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kaico_dev.localcluster", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--state-dir", type=Path, default=default_state_dir())
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("up", "serve"):
        sp = sub.add_parser(name)
        sp.add_argument("--gpu-nodes", type=int, default=2)
        sp.add_argument("--cpu-nodes", type=int, default=1)
        sp.add_argument("--gpus", type=int, default=8, help="GPUs per GPU node")
        sp.add_argument("--gpu-resource", default="nvidia.com/gpu")
        sp.add_argument("--gpu-product", default="NVIDIA-H100-80GB-HBM3")
        sp.add_argument("--timeout", type=float, default=180)
    sub.add_parser("down")
    sub.add_parser("status")
    lp = sub.add_parser("logs")
    lp.add_argument("--lines", type=int, default=40)
    args = p.parse_args(argv)
    args.state_dir = args.state_dir.resolve()
    handlers = {"up": cmd_up, "serve": cmd_serve, "down": cmd_down, "status": cmd_status,
                "logs": cmd_logs}
    return handlers[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
