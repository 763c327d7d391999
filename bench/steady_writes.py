"""Steady-state writes: N GPU Deployments under one profile that re-evaluates every 10 s, kaico
running; after start-up settles, count kaico's writes (its own counter) and the reports'
resourceVersions over a window. Both must not move: a steady cluster costs zero writes.

    PYTHONPATH=hack:tests/integration/operator .venv/bin/python bench/steady_writes.py -n 500 --window 120

Run under the shared lock (flock /work/.heavy.lock ...) on a shared machine.
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
from operator_harness import REPO, Api, OperatorProcess, wait_for
from operator_manifests import profile, vllm_deployment
from prometheus_client.parser import text_string_to_metric_families


def total(operator: OperatorProcess, name: str) -> float:
    return sum(s.value for f in text_string_to_metric_families(operator.metrics())
               for s in f.samples if s.name == name)


def versions(api: Api, namespace: str) -> dict[str, str]:
    listing = api.get("conformancereports", "-n", namespace) or {"items": []}
    return {r["metadata"]["name"]: r["metadata"]["resourceVersion"] for r in listing["items"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--targets", type=int, default=500)
    parser.add_argument("--window", type=float, default=120.0)
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
        started = time.monotonic()
        wait_for(lambda: len(versions(api, namespace)) == args.targets, timeout=600, interval=2,
                 message=f"{args.targets} reports")
        print(f"{args.targets} reports in {time.monotonic() - started:.1f}s", flush=True)
        # Settle: until no write for 15 s.
        last, quiet_since = total(operator, "kaico_writes_total"), time.monotonic()
        while time.monotonic() - quiet_since < 15:
            time.sleep(1)
            now = total(operator, "kaico_writes_total")
            if now != last:
                last, quiet_since = now, time.monotonic()
        before = versions(api, namespace)
        writes = total(operator, "kaico_writes_total")
        evaluations = total(operator, "kaico_evaluations_total")
        requests = total(operator, "kaico_api_requests_total")
        time.sleep(args.window)
        after = versions(api, namespace)
        result = {
            "targets": args.targets,
            "window_seconds": args.window,
            "writes": total(operator, "kaico_writes_total") - writes,
            "reports_changed": sum(1 for k, v in after.items() if before.get(k) != v),
            "evaluations": total(operator, "kaico_evaluations_total") - evaluations,
            "api_requests": total(operator, "kaico_api_requests_total") - requests,
        }
        operator.stop()
        print(json.dumps(result), flush=True)
        return 0 if result["writes"] == 0 and result["reports_changed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
