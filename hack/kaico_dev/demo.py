"""``make demo``: kaico end to end on the local control plane, with the examples.

Starts the local control plane with fake GPU nodes (``kaico_dev.localcluster up``), installs
kaico's CRDs, the third-party CRDs the examples need and the built-in profile, applies
``examples/workloads``, runs the operator (``kaico run``) until every example has its
ConformanceReport, prints ``kubectl get conformancereports -A`` and a metrics summary, and
leaves the cluster up (``--down`` tears it down). Everything runs on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from kaico_dev.localcluster.tools import find_binary, repo_root

REPO = repo_root() or Path.cwd()
# Third-party CRDs the examples use, from $KAICO_SHARED (never copied into the repo).
SHARED_CRDS = (
    "serving.kserve.io_inferenceservices.yaml",
    "serving.kserve.io_servingruntimes.yaml",
    "serving.kserve.io_clusterservingruntimes.yaml",
    "leaderworkerset.x-k8s.io_leaderworkersets.yaml",
)
EXAMPLE_NAMESPACE = "serving"


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(*command: str, capture: bool = False, check: bool = True, **kwargs) -> str:
    result = subprocess.run(command, check=False, text=True,
                            stdout=subprocess.PIPE if capture else None, **kwargs)
    if check and result.returncode != 0:
        raise SystemExit(f"kaico demo: {' '.join(command)} failed ({result.returncode})")
    return result.stdout or ""


def kubectl(*args: str, capture: bool = True, check: bool = True) -> str:
    return run(str(find_binary("kubectl")), *args, capture=capture, check=check)


def wait_for(what: str, condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"kaico demo: timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.5)


def crd_names(path: Path) -> list[str]:
    import yaml

    return [d["metadata"]["name"] for d in yaml.safe_load_all(path.read_text())
            if isinstance(d, dict) and d.get("kind") == "CustomResourceDefinition"]


def established(names: list[str]) -> bool:
    out = kubectl("get", "crd", *names, "-o", "json", check=False)
    try:
        items = json.loads(out).get("items", [])
    except ValueError:
        return False
    ready = {
        item["metadata"]["name"] for item in items
        if any(c.get("type") == "Established" and c.get("status") == "True"
               for c in item.get("status", {}).get("conditions", []))
    }
    return ready >= set(names)


def shared_dir() -> Path:
    return Path(os.environ.get("KAICO_SHARED") or REPO.parent / "shared")


def install_crds() -> None:
    files = sorted((REPO / "crds").glob("*.yaml")) + [REPO / "examples/crds/stand-ins.yaml"]
    missing = [name for name in SHARED_CRDS if not (shared_dir() / "crds" / name).is_file()]
    if missing:
        raise SystemExit(f"kaico demo: third-party CRDs not found in {shared_dir() / 'crds'}: "
                         f"{', '.join(missing)} (set KAICO_SHARED)")
    files += [shared_dir() / "crds" / name for name in SHARED_CRDS]
    for file in files:
        kubectl("apply", "--server-side", "-f", str(file))
    names = [name for file in files for name in crd_names(file)]
    wait_for("the CRDs to be Established", lambda: established(names), timeout=180)


def report_count() -> int:
    out = kubectl("get", "conformancereports", "-A", "-o", "json", check=False)
    try:
        items = json.loads(out).get("items", [])
    except ValueError:
        return 0
    return sum(1 for item in items if "conformant" in (item.get("status") or {}))


def expected_targets() -> int:
    """How many example objects are serving targets (the engine decides, as the CLI would)."""
    from kaico.cli.manifests import load

    from conformance.adapters import adapt_object
    from conformance.profile import builtin_profile

    params = builtin_profile().parameters
    objects = load([str(REPO / "examples/workloads")])
    return sum(1 for o in objects if adapt_object(o.body, params) is not None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def metrics_summary(port: int) -> list[str]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    wanted = ("kaico_targets{", "kaico_evaluations_total", "kaico_evaluation_errors_total")
    return [line for line in text.splitlines() if line.startswith(wanted) and not line.endswith(" 0.0")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kaico_dev.demo", description=__doc__)
    parser.add_argument("--down", action="store_true",
                        help="tear the local control plane down at the end")
    parser.add_argument("--timeout", type=float, default=180,
                        help="seconds to wait for the reports (default 180)")
    args = parser.parse_args(argv)
    python = sys.executable

    say("starting the local control plane (etcd, kube-apiserver, controller-manager, scheduler, "
        "kwok with 2 fake 8-GPU nodes) on 127.0.0.1")
    out = run(python, "-m", "kaico_dev.localcluster", "up", capture=True)
    kubeconfig = out.strip().splitlines()[-1].split("=", 1)[1]
    os.environ["KUBECONFIG"] = kubeconfig
    print(kubectl("get", "nodes", "-L", "nvidia.com/gpu.product", "-L", "nvidia.com/gpu.count"))

    say("installing kaico's CRDs and the third-party CRDs the examples use")
    install_crds()
    say("applying the built-in ConformanceProfile and examples/workloads")
    kubectl("apply", "-f", str(REPO / "conformance/profiles/default.yaml"))
    kubectl("create", "namespace", EXAMPLE_NAMESPACE, check=False)
    kubectl("apply", "-f", str(REPO / "examples/workloads"))

    port = free_port()
    log = Path(kubeconfig).parent.parent / "operator.log"
    say(f"running the operator: kaico run --all-namespaces --metrics-port {port} (log: {log})")
    started = time.monotonic()
    with log.open("ab") as handle:
        operator = subprocess.Popen(
            [python, "-m", "kaico", "run", "--all-namespaces", "--metrics-address",
             "127.0.0.1", "--metrics-port", str(port)],
            stdout=handle, stderr=subprocess.STDOUT,
        )
    try:
        expected = expected_targets()
        wait_for(f"{expected} ConformanceReports", lambda: report_count() >= expected,
                 timeout=args.timeout)
        elapsed = time.monotonic() - started
        say(f"all {expected} reports written {elapsed:.1f}s after the operator started")
        print(kubectl("get", "conformancereports", "-A"))
        say("metrics (non-zero aggregate series)")
        for line in metrics_summary(port):
            print("  " + line)
    finally:
        operator.terminate()
        try:
            operator.wait(timeout=30)
        except subprocess.TimeoutExpired:
            operator.kill()

    if args.down:
        run(python, "-m", "kaico_dev.localcluster", "down")
        say("local control plane stopped")
    else:
        say("the cluster is still up; the reports stay:")
        print(f"  export KUBECONFIG={kubeconfig}")
        print("  kubectl get conformancereports -A")
        print("  kubectl describe conformancereport -n serving")
        print("  kaico run --all-namespaces      # run the operator again")
        print("  make cluster-down               # stop the control plane")
    return 0


if __name__ == "__main__":
    sys.exit(main())
