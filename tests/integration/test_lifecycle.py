"""No orphans: the control plane goes away when its owner stops, is interrupted or is killed, and
the background mode (`python -m kaico_dev.localcluster up/down`) works end to end.

Each case starts its own second cluster in a child Python process, so it never disturbs the
session's cluster (ports are picked free, work directories are separate)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from kaico_dev.localcluster import tool_versions

OPERATOR_DIR = Path(__file__).resolve().parents[2] / "operator"
HACK_DIR = Path(__file__).resolve().parents[2] / "hack"

# Starts a cluster with one node, prints its state as JSON, then sleeps until killed.
CHILD = textwrap.dedent("""
    import json, sys, time
    from kaico_dev.localcluster import GpuNodeSpec, LocalCluster
    c = LocalCluster(sys.argv[1], nodes=[GpuNodeSpec("kwok-gpu-0")], keep_work_dir=False)
    c.start()
    print(json.dumps(c.state()), flush=True)
    while True:
        time.sleep(1)
""")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(OPERATOR_DIR), str(HACK_DIR), env.get("PYTHONPATH")) if p)
    return env


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # Zombies count as gone: they hold no port and no memory; only their parent can reap them.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _wait_gone(pids: list[int], timeout: float = 30) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [p for p in pids if _alive(p)]
        if not alive:
            return []
        time.sleep(0.2)
    return [p for p in pids if _alive(p)]


def _start_child(work: Path) -> tuple[subprocess.Popen[str], dict[str, object]]:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(work)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env())
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait(timeout=30)
        pytest.fail(f"child cluster did not start:\n{proc.stderr.read() if proc.stderr else ''}")
    return proc, json.loads(line)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL],
                         ids=["SIGTERM", "SIGINT", "SIGKILL"])
def test_no_orphans_when_owner_is_signalled(tmp_path: Path, sig: int) -> None:
    work = tmp_path / "cluster"
    proc, state = _start_child(work)
    pids = [int(p) for p in dict(state["pids"]).values()]  # type: ignore[call-overload]
    assert len(pids) == 5 and all(_alive(p) for p in pids)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    assert _wait_gone(pids) == [], "control-plane processes outlived their owner"
    if sig != signal.SIGKILL:
        # A graceful stop also removes the throwaway work directory (etcd data, keys).
        assert not work.exists()


def test_background_mode_up_status_down(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    base = [sys.executable, "-m", "kaico_dev.localcluster", "--state-dir", str(state_dir)]
    up = subprocess.run([*base, "up", "--gpu-nodes", "1", "--cpu-nodes", "0"], capture_output=True,
                        text=True, env=_env(), timeout=240)
    assert up.returncode == 0, up.stderr
    assert up.stdout.strip() == f"export KUBECONFIG={state_dir / 'work' / 'kubeconfig'}"
    state = json.loads((state_dir / "state.json").read_text())
    try:
        status = subprocess.run([*base, "status"], capture_output=True, text=True, env=_env(),
                                timeout=60)
        assert status.returncode == 0
        assert f"Kubernetes {tool_versions()['k8s']}" in status.stdout
        assert "kwok-gpu-0" in status.stdout and "NVIDIA-H100-80GB-HBM3" in status.stdout
        again = subprocess.run([*base, "up"], capture_output=True, text=True, env=_env(), timeout=60)
        assert again.returncode == 0 and "already running" in again.stderr
    finally:
        down = subprocess.run([*base, "down"], capture_output=True, text=True, env=_env(),
                              timeout=90)
    assert down.returncode == 0, down.stderr
    pids = [int(p) for p in state["pids"].values()] + [int(state["supervisor_pid"])]
    assert _wait_gone(pids) == []
    assert not (state_dir / "state.json").exists()
    gone = subprocess.run([*base, "status"], capture_output=True, text=True, env=_env(), timeout=60)
    assert gone.returncode == 1 and "not running" in gone.stdout
