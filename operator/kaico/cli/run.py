"""``kaico run``: the operator's flags. Building them imports no kopf, so ``kaico check`` and
``kaico --help`` start fast; the operator itself is ``kaico.runtime.runner``."""

from __future__ import annotations

import argparse

from kaico.cli.common import Streams, add_probe_arguments

DESCRIPTION = "Watch model-serving workloads, write ConformanceReports, serve /metrics."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("-n", "--namespace", action="append", default=[], metavar="NS",
                       help="watch this namespace (repeatable; globs allowed); default: all")
    scope.add_argument("-A", "--all-namespaces", action="store_true",
                       help="watch every namespace (the default)")
    parser.add_argument("--metrics-address", default="127.0.0.1", metavar="ADDR",
                        help="address for /metrics, /healthz and /readyz (default: 127.0.0.1; "
                        "use 0.0.0.0 in a pod)")
    parser.add_argument("--metrics-port", type=int, default=8080, metavar="PORT",
                        help="port for /metrics, /healthz and /readyz (default: 8080; 0 disables)")
    parser.add_argument("--per-target-metrics", action="store_true",
                        help="also export per-target series (namespace and name labels)")
    peering = parser.add_mutually_exclusive_group()
    peering.add_argument("--standalone", dest="peering", action="store_false",
                         help="run without kopf peering (default; run one replica)")
    peering.add_argument("--peering", dest="peering", action="store_true",
                         help="coordinate replicas through kopf's ClusterKopfPeering/KopfPeering")
    parser.set_defaults(peering=False)
    parser.add_argument("--log-level", default="info",
                        choices=("debug", "info", "warning", "error"), help="default: info")
    probes = parser.add_argument_group(
        "active probes (run for profiles with spec.activeProbes: true; they create namespaces, "
        "pods and Jobs)")
    add_probe_arguments(probes)


def run(args: argparse.Namespace, streams: Streams) -> int:
    from kaico.runtime.runner import run as run_operator

    return run_operator(args)
