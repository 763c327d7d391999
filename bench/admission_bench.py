"""Admission latency: what the webhook adds to ``kubectl apply`` with the operator watching N targets.

``make bench-admission N=5000`` (under the shared heavy lock). One run:

1. starts the local control plane with GPU kwok nodes, installs kaico's CRDs and the default
   profile, creates N paused GPU Deployments (``operator_bench``'s set-up);
2. starts ``kaico run --admission`` and waits until every one of the N has its ConformanceReport
   (the operator's start-up is over: its indexes hold the N targets and their facts);
3. registers a ValidatingWebhookConfiguration (the chart's settings, pointed at 127.0.0.1) for
   one namespace, ``admission``, and not for another, ``baseline``;
4. sends ``--applies`` server-side dry-run applies of a GPU Deployment to each namespace,
   alternating (baseline, webhook, baseline, ...) so that both see the same load, one request at
   a time, and reports p50/p99 of each and their ratio; the webhook's own answer time comes from
   ``kaico_admission_duration_seconds``.

Every apply of the ``admission`` namespace must come back with kaico's warnings (checked), so
the figure is of a judged request, not of an ignored one. No figure is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kaico.workloads.status import report_name
from kaico_dev.localcluster import GpuNodeSpec, LocalCluster
from operator_bench import (
    REPO,
    Api,
    ReportWatch,
    create_workloads,
    deployment,
    free_port,
    operator_metric,
    percentile,
)

CHART_WEBHOOK = {
    "admissionReviewVersions": ["v1"], "sideEffects": "None", "failurePolicy": "Ignore",
    "timeoutSeconds": 3, "matchPolicy": "Equivalent",
    "rules": [{"apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["deployments", "statefulsets"],
               "operations": ["CREATE", "UPDATE"], "scope": "Namespaced"}],
}


def certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "webhook.crt", directory / "webhook.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


async def dry_run_apply(api: Api, namespace: str, name: str) -> tuple[float, list[str]]:
    """One server-side apply with dryRun=All; its wall time and the warnings it came back with."""
    body = deployment(name, namespace)
    path = (f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}"
            "?dryRun=All&fieldManager=kaico-bench&force=true")
    started = time.perf_counter()
    async with api.session.patch(api.server + path, data=json.dumps(body),
                                 headers={"Content-Type": "application/apply-patch+yaml"}) as response:
        await response.read()
        took = time.perf_counter() - started
        if response.status not in (200, 201):
            raise SystemExit(f"dry-run apply {namespace}/{name}: {response.status}")
        return took, response.headers.getall("Warning", [])


def histogram_mean(port: int, name: str) -> float | None:
    total = operator_metric(port, f"{name}_sum")
    count = operator_metric(port, f"{name}_count")
    if not total or not count:
        return None
    n = sum(count.values())
    return sum(total.values()) / n if n else None


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(args.work_dir)
    nodes = [GpuNodeSpec(f"kwok-gpu-{i:03d}") for i in range(args.nodes)]
    cluster = LocalCluster(tempfile.mkdtemp(prefix="cluster-", dir=work), nodes=nodes, startup_timeout=600)
    cluster.start()
    api = Api(cluster, 16)
    process: subprocess.Popen[bytes] | None = None
    results: dict[str, Any] = {"targets": args.workloads, "applies": args.applies}
    try:
        setup = await create_workloads(api, cluster, args.workloads, args.namespaces, settle_status=5)
        for space in ("baseline", "admission"):
            await api.call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                          "metadata": {"name": space}}, ok=(201, 409))
        cert, key = certificate(work)
        port, metrics_port = free_port(), free_port()
        watch = ReportWatch(api)
        await watch.start()
        env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig)}
        started = time.monotonic()
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "kaico"), "run", "--metrics-address", "127.0.0.1",
             "--metrics-port", str(metrics_port), "--log-level", "warning", "--admission",
             "--admission-port", str(port), "--admission-cert", str(cert), "--admission-key", str(key)],
            stdout=(work / "kaico-run.log").open("ab"), stderr=subprocess.STDOUT, env=env, cwd=REPO)
        expected = {(n, report_name("Deployment", d, "default", "apps")) for n, d in setup.names}
        if not await watch.until(lambda: expected <= watch.with_status.keys(), args.timeout):
            raise SystemExit(f"not every report after {args.timeout} s (log: {work / 'kaico-run.log'})")
        watch.stop()
        results["operator_start_to_all_reports"] = time.monotonic() - started
        print(f"kaico run: all {args.workloads} reports {results['operator_start_to_all_reports']:.1f} s "
              "after start", flush=True)
        if args.stop_controllers:
            # No more Deployment status updates reach the operator while it answers reviews.
            cluster.stop_component("kube-controller-manager")
            results["controllers_stopped"] = True
        await asyncio.sleep(args.settle)
        webhook = dict(CHART_WEBHOOK, name="admission.kaico.dev",
                       clientConfig={"url": f"https://127.0.0.1:{port}/validate",
                                     "caBundle": base64.b64encode(cert.read_bytes()).decode()},
                       namespaceSelector={"matchLabels": {"kubernetes.io/metadata.name": "admission"}})
        await api.call("POST", "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
                       {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
                        "metadata": {"name": "kaico-bench"}, "webhooks": [webhook]}, ok=(201,))
        # The API server picks the configuration up from its own watch: wait for the first warning.
        deadline = time.monotonic() + 30
        while not (await dry_run_apply(api, "admission", "warm-up"))[1]:
            if time.monotonic() > deadline:
                raise SystemExit("the webhook never answered with warnings")
            await asyncio.sleep(0.2)
        for i in range(args.warm_up):
            await dry_run_apply(api, "baseline", f"llm-warm-{i}")
            await dry_run_apply(api, "admission", f"llm-warm-{i}")
        baseline: list[float] = []
        judged: list[float] = []
        for i in range(args.applies):
            took, warnings = await dry_run_apply(api, "baseline", f"llm-{i:03d}")
            assert not warnings, warnings
            baseline.append(took)
            took, warnings = await dry_run_apply(api, "admission", f"llm-{i:03d}")
            if not any("kaico/default: " in w for w in warnings):
                raise SystemExit(f"apply {i} in 'admission' came back without kaico's warnings: {warnings}")
            judged.append(took)
        for label, values in (("baseline", baseline), ("webhook", judged)):
            results[f"{label}_p50_ms"] = percentile(values, 0.5) * 1000
            results[f"{label}_p99_ms"] = percentile(values, 0.99) * 1000
        results["p50_ratio"] = results["webhook_p50_ms"] / results["baseline_p50_ms"]
        results["p99_ratio"] = results["webhook_p99_ms"] / results["baseline_p99_ms"]
        results["added_p50_ms"] = results["webhook_p50_ms"] - results["baseline_p50_ms"]
        mean = histogram_mean(metrics_port, "kaico_admission_duration_seconds")
        results["kaico_answer_mean_ms"] = mean * 1000 if mean is not None else None
        print(f"{args.applies} server-side dry-run applies each, alternating, with {args.workloads} targets "
              f"watched:\n  no webhook: p50 {results['baseline_p50_ms']:.1f} ms, p99 {results['baseline_p99_ms']:.1f} ms"
              f"\n  webhook:    p50 {results['webhook_p50_ms']:.1f} ms, p99 {results['webhook_p99_ms']:.1f} ms"
              f"\n  ratio p50 {results['p50_ratio']:.2f}x, p99 {results['p99_ratio']:.2f}x; kaico's own answer "
              f"(mean of kaico_admission_duration_seconds) {results['kaico_answer_mean_ms']:.1f} ms", flush=True)
        return results
    finally:
        if process is not None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        await api.close()
        cluster.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--workloads", type=int, default=5000, help="GPU Deployments watched (default 5000)")
    parser.add_argument("--nodes", type=int, default=50, help="8-GPU kwok nodes (default 50)")
    parser.add_argument("--namespaces", type=int, default=20, help="namespaces of the targets (default 20)")
    parser.add_argument("--applies", type=int, default=200, help="dry-run applies per side (default 200)")
    parser.add_argument("--warm-up", type=int, default=10, help="untimed applies per side first (default 10)")
    parser.add_argument("--settle", type=float, default=5, help="pause after the last report (default 5 s)")
    parser.add_argument("--stop-controllers", action="store_true",
                        help="stop kube-controller-manager before measuring: the deployment controller "
                        "otherwise keeps writing the paused Deployments' status (slowly) throughout")
    parser.add_argument("--timeout", type=float, default=900, help="give up waiting for reports after this")
    parser.add_argument("--work-dir", default=None, help="keep logs here (default: a fresh temporary directory)")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    args.work_dir = args.work_dir or tempfile.mkdtemp(prefix="kaico-admission-bench-")
    Path(args.work_dir).mkdir(parents=True, exist_ok=True)
    print(f"work dir {args.work_dir}", flush=True)
    results = asyncio.run(main_async(args))
    print(json.dumps(results, indent=1), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
