"""Steady-state writes: N GPU Deployments under one profile that re-evaluates every 10 s, kaico
running; once the namespace holds still (kube-controller-manager has answered every Deployment and
neither a Deployment nor kaico's write count moved for 15 s), count kaico's writes (its own
counter, by operation, and its repairs) and the reports' resourceVersions over a window, with the
evaluations made and the Deployments that changed meanwhile. Writes and changed reports must be 0.

    PYTHONPATH=hack:tests/integration/operator .venv/bin/python bench/steady_writes.py -n 500 --window 120

Run under the shared lock (flock /work/.heavy.lock ...) on a shared machine. The reports as they
were before and after the window are left next to the operator's log (printed on stderr), to
diff when a report did change.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml
from kaico_dev.localcluster import LocalCluster
from operator_harness import REPO, Api, OperatorProcess, deployment_versions, wait_for, wait_steady
from operator_manifests import profile, vllm_deployment


def delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v != before.get(k, 0.0)}


def changed(before: dict[str, str] | None, after: dict[str, str] | None) -> int:
    before, after = before or {}, after or {}
    return sum(1 for name in set(before) | set(after) if before.get(name) != after.get(name))


def stored(api: Api, namespace: str) -> dict[str, dict]:
    listing = api.get("conformancereports", "-n", namespace) or {"items": []}
    return {r["metadata"]["name"]: r for r in listing["items"]}


def versions(reports: dict[str, dict]) -> dict[str, str]:
    return {name: r["metadata"]["resourceVersion"] for name, r in reports.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--targets", type=int, default=500)
    parser.add_argument("--window", type=float, default=120.0)
    parser.add_argument("--quiet", type=float, default=15.0,
                        help="seconds without a change before the window starts")
    args = parser.parse_args()
    with LocalCluster() as cluster:
        os.environ["KUBECONFIG"] = str(cluster.kubeconfig)
        api = Api(cluster)
        cluster.kubectl("apply", "--server-side", "-f", str(REPO / "crds"))
        cluster.wait_crds_established([yaml.safe_load(f.read_text())["metadata"]["name"]
                                       for f in sorted((REPO / "crds").glob("*.yaml"))])
        namespace = "steady"
        cluster.create_namespace(namespace)
        api.apply(profile("steady", namespace, intervalSeconds=10))
        names = [f"model-{i}" for i in range(args.targets)]
        for start in range(0, len(names), 100):
            api.apply(*[vllm_deployment(namespace, n) for n in names[start:start + 100]])
        log = Path(tempfile.mkdtemp(prefix="kaico-steady-")) / "kaico.log"
        operator = OperatorProcess(["--namespace", namespace], log).start()
        print(f"operator log and report dumps: {log.parent}", file=sys.stderr, flush=True)
        started = time.monotonic()
        wait_for(lambda: len(stored(api, namespace)) == args.targets, timeout=600, interval=2,
                 message=f"{args.targets} reports")
        print(f"{args.targets} reports in {time.monotonic() - started:.1f}s", flush=True)
        wait_steady(api, namespace, operator, quiet=args.quiet, timeout=900)
        print(f"steady {time.monotonic() - started:.1f}s after start", flush=True)
        before_reports, before_targets = stored(api, namespace), deployment_versions(api, namespace)
        writes = operator.counter("kaico_writes_total", "operation")
        repairs = operator.counter("kaico_report_repairs_total", "reason")
        evaluations = operator.total("kaico_evaluations_total")
        requests = operator.counter("kaico_api_requests_total", "method")
        time.sleep(args.window)
        after_reports, after_targets = stored(api, namespace), deployment_versions(api, namespace)
        (log.parent / "before.json").write_text(json.dumps(before_reports))
        (log.parent / "after.json").write_text(json.dumps(after_reports))
        writes_by_operation = delta(operator.counter("kaico_writes_total", "operation"), writes)
        result = {
            "targets": args.targets,
            "window_seconds": args.window,
            "writes": sum(writes_by_operation.values()),
            "writes_by_operation": writes_by_operation,
            "repairs_by_reason": delta(operator.counter("kaico_report_repairs_total", "reason"), repairs),
            "reports_changed": changed(versions(before_reports), versions(after_reports)),
            "targets_changed": changed(before_targets, after_targets),
            "evaluations": operator.total("kaico_evaluations_total") - evaluations,
            # Reads: the report audit's metadata listings, discovery.
            "api_requests_by_method": delta(operator.counter("kaico_api_requests_total", "method"), requests),
        }
        operator.stop()
        print(json.dumps(result), flush=True)
        return 0 if result["writes"] == 0 and result["reports_changed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
