"""``kaico run``: the operator's flags. Building them imports no kopf, so ``kaico check`` and
``kaico --help`` start fast; the operator itself is ``kaico.runtime.runner``."""

from __future__ import annotations

import argparse

from kaico.cli.common import Streams, UsageError, add_probe_arguments

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
    parser.add_argument("--policy-reports", action="store_true",
                        help="also write each ConformanceReport's results as a PolicyReport "
                        "(openreports.io Report when served, else wgpolicyk8s.io PolicyReport)")
    parser.add_argument("--metrics-auth", action="store_true",
                        help="serve /metrics only to a bearer token the API server authenticates "
                        "(TokenReview) whose user may get the URL /metrics (SubjectAccessReview); "
                        "/healthz and /readyz stay open")
    parser.add_argument("--metrics-cert", metavar="FILE",
                        help="serve over HTTPS with this PEM certificate (needs --metrics-key)")
    parser.add_argument("--metrics-key", metavar="FILE", help="the certificate's PEM private key")
    admission = parser.add_argument_group(
        "admission webhook (validating only: warnings at kubectl apply, denials for profiles with "
        "spec.admission.enforcement Deny; docs/admission.md)")
    admission.add_argument("--admission", action="store_true",
                           help="serve the validating admission webhook at POST /validate over HTTPS "
                           "(needs --admission-cert and --admission-key)")
    admission.add_argument("--admission-address", default="127.0.0.1", metavar="ADDR",
                           help="address of the webhook (default: 127.0.0.1; use 0.0.0.0 in a pod)")
    admission.add_argument("--admission-port", type=int, default=9443, metavar="PORT",
                           help="port of the webhook (default: 9443)")
    admission.add_argument("--admission-cert", metavar="FILE",
                           help="the webhook's PEM serving certificate (reloaded when the file changes)")
    admission.add_argument("--admission-key", metavar="FILE", help="the certificate's PEM private key")
    exporters = parser.add_argument_group(
        "accelerator exporters (read through the API server's service proxy for the cluster report)")
    exporters.add_argument("--metrics-service", action="append", default=[], metavar="NS/NAME:PORT",
                           help="exporter Service to scrape; repeatable (the chart grants proxy "
                           "rights to exactly these)")
    exporters.add_argument("--discover-exporters", action="store_true",
                           help="also scrape Services labelled kaico.dev/accelerator-exporter=true "
                           "or with the GPU Operator's dcgm-exporter app label (needs "
                           "services/proxy in every namespace)")
    parser.add_argument("--per-target-metrics", action="store_true",
                        help="also export per-target series (namespace and name labels)")
    peering = parser.add_mutually_exclusive_group()
    peering.add_argument("--standalone", dest="peering", action="store_false",
                         help="run without kopf peering (default; run one replica)")
    peering.add_argument("--peering", dest="peering", action="store_true",
                         help="coordinate replicas through kopf's ClusterKopfPeering/KopfPeering")
    parser.set_defaults(peering=False)
    election = parser.add_argument_group(
        "high availability (several replicas, one active: docs/operator.md)")
    election.add_argument("--leader-elect", action="store_true",
                          help="wait for the leader Lease before watching and writing")
    election.add_argument("--leader-election-namespace", metavar="NS",
                          help="namespace of the Lease (default: $POD_NAMESPACE, else default)")
    election.add_argument("--leader-election-name", default="kaico", metavar="NAME",
                          help="name of the Lease (default: kaico)")
    election.add_argument("--lease-duration", type=float, default=15.0, metavar="SECONDS",
                          help="a standby takes over this long after the leader's last renewal "
                          "(default: 15; the leader renews every duration/7.5 and stops after "
                          "failing to renew for 2/3 of it)")
    parser.add_argument("--log-level", default="info",
                        choices=("debug", "info", "warning", "error"), help="default: info")
    probes = parser.add_argument_group(
        "active probes (run for profiles with spec.activeProbes: true; they create namespaces, "
        "pods and Jobs)")
    add_probe_arguments(probes)


def run(args: argparse.Namespace, streams: Streams) -> int:
    from kaico.cluster.reader import service_proxy_path

    for reference in args.metrics_service:
        try:
            service_proxy_path(reference)
        except ValueError as error:
            raise UsageError(f"--metrics-service {error}") from None
    if bool(args.metrics_cert) != bool(args.metrics_key):
        raise UsageError("--metrics-cert and --metrics-key go together")
    if args.metrics_cert:
        _check_pair("--metrics-cert", args.metrics_cert, "--metrics-key", args.metrics_key)
    if args.admission:
        if not (args.admission_cert and args.admission_key):
            raise UsageError("--admission needs --admission-cert and --admission-key (the API "
                             "server calls webhooks over HTTPS only)")
        if not 0 < args.admission_port < 65536:
            raise UsageError(f"--admission-port {args.admission_port}: not a port (1-65535)")
        _check_pair("--admission-cert", args.admission_cert, "--admission-key", args.admission_key)
    elif args.admission_cert or args.admission_key:
        raise UsageError("--admission-cert and --admission-key need --admission")
    from kaico.runtime.runner import run as run_operator

    return run_operator(args)


def _check_pair(cert_flag: str, cert: str, key_flag: str, key: str) -> None:
    """A certificate pair that does not load is a usage error now, not a traceback once the
    operator starts."""
    import ssl

    from kaico.runtime.metrics import tls_context

    try:
        tls_context(cert, key)
    except (OSError, ssl.SSLError) as error:
        raise UsageError(f"{cert_flag} {cert} / {key_flag} {key}: {error.strerror or error}") from None
