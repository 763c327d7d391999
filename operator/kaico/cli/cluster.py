"""``kaico cluster``: judge the current kube context against the AI Conformance requirements.

Reads the cluster (``kaico.cluster.reader``), optionally runs the active probes
(``kaico.cluster.probes``, off unless asked), evaluates with the pure engine and prints the
table, JSON or YAML; ``--product-yaml`` writes the PRODUCT.yaml-shaped submission with one
evidence file per requirement beside it. Exit codes match ``kaico check``: 0 every MUST met,
1 a MUST not met, 2 unusable input or no reachable cluster.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from conformance.cluster.catalogue import CatalogueError, Level, load_catalogue, supported_versions
from conformance.cluster.evaluation import ClusterEvaluation, RequirementStatus, evaluate_cluster
from conformance.cluster.product import evidence_markdown, product_document, validate_product
from kaico.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNUSABLE,
    Streams,
    UsageError,
    add_probe_arguments,
    load_profile,
)
from kaico.cluster.probes import LoopProbeApi, ProbeOptions, run_probes

DESCRIPTION = (
    "Judge the cluster of the current kube context against the CNCF Kubernetes AI Conformance "
    "requirements of its Kubernetes version, and optionally write a PRODUCT.yaml."
)
EVIDENCE_DIR = "kaico-evidence"

# (flag, PRODUCT.yaml metadata key, alias flags)
METADATA_FLAGS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("--platform-name", "platformName", ("--product-name",)),
    ("--platform-version", "platformVersion", ("--version",)),
    ("--vendor-name", "vendorName", ("--vendor",)),
    ("--website-url", "websiteUrl", ()),
    ("--repo-url", "repoUrl", ()),
    ("--documentation-url", "documentationUrl", ()),
    ("--product-logo-url", "productLogoUrl", ()),
    ("--description", "description", ()),
    ("--contact-email", "contactEmailAddress", ("--contact-email-address",)),
    ("--k8s-conformance-url", "k8sConformanceUrl", ()),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kubeconfig", metavar="PATH",
                        help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the pod's ServiceAccount)")
    parser.add_argument("--context", help="kubeconfig context (default: the current one)")
    parser.add_argument("--kubernetes-version", metavar="1.NN",
                        help="checklist to judge against (default: the cluster's minor; "
                        f"known: {', '.join(supported_versions())})")
    parser.add_argument("--profile", metavar="NAME|FILE",
                        help="take spec.kubernetesVersion and spec.activeProbes from a "
                        "ConformanceProfile (flags win)")
    parser.add_argument("-o", "--output", choices=("table", "json", "yaml"), default="table")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="table: notes and evidence of every requirement")
    parser.add_argument("--metrics-endpoint", action="append", default=[], metavar="URL",
                        help="accelerator exporter /metrics URL to scrape; repeatable")
    parser.add_argument("--metrics-service", action="append", default=[], metavar="NS/NAME:PORT",
                        help="exporter Service scraped through the API server proxy; repeatable")
    parser.add_argument("--no-scrape-discovered", action="store_true",
                        help="do not scrape Services labelled kaico.dev/accelerator-exporter=true "
                        "(or with the GPU Operator's dcgm-exporter app label) found in the cluster")
    probes = parser.add_argument_group("active probes (create pods and Jobs; off by default)")
    probes.add_argument("--active-probes", action="store_true", default=None,
                        help="run the secure-accelerator-access and gang-scheduling probes")
    add_probe_arguments(probes)
    product = parser.add_argument_group("PRODUCT.yaml")
    product.add_argument("--product-yaml", metavar="FILE|-",
                         help="write the PRODUCT.yaml-shaped document (- for stdout, then the "
                         "table is not printed); evidence files go to kaico-evidence/ beside FILE")
    product.add_argument("--evidence", action="append", default=[], metavar="ID=URL",
                         help="extra evidence URL or file for a requirement; repeatable")
    for flag, key, aliases in METADATA_FLAGS:
        product.add_argument(flag, *aliases, dest=f"meta_{key}", metavar="TEXT",
                             help=f"metadata.{key}")


def _profile_defaults(reference: str | None) -> tuple[str | None, bool]:
    if not reference:
        return None, False

    spec = load_profile(reference).spec
    return spec.kubernetes_version, spec.active_probes


def _extra_evidence(items: list[str], known_ids: tuple[str, ...]) -> dict[str, list[str]]:
    evidence: dict[str, list[str]] = {}
    for item in items:
        requirement, _, target = item.partition("=")
        if not target or requirement not in known_ids:
            raise ValueError(f"--evidence {item!r}: expected ID=URL with ID one of {', '.join(known_ids)}")
        evidence.setdefault(requirement, []).append(target)
    return evidence


def _known_ids(version: str | None) -> tuple[str, ...]:
    versions = (version,) if version else supported_versions()
    return tuple(sorted({i for v in versions for i in load_catalogue(v).ids}))


def _write_product(args: argparse.Namespace, evaluation: ClusterEvaluation,
                   stdout: TextIO, stderr: TextIO) -> None:
    from kaico.cli.render.cluster import render_product_yaml

    catalogue = load_catalogue(evaluation.kubernetes_version)
    metadata = {key: getattr(args, f"meta_{key}") for _, key, _ in METADATA_FLAGS}
    evidence = _extra_evidence(args.evidence, catalogue.ids)
    to_stdout = args.product_yaml == "-"
    product_dir = None if to_stdout else Path(args.product_yaml).resolve().parent
    if product_dir is not None:
        (product_dir / EVIDENCE_DIR).mkdir(parents=True, exist_ok=True)
        for result in evaluation.results:
            # A blank SHOULD must stay evidence-free, or the validator demands a status.
            if result.status is RequirementStatus.UNKNOWN and result.level is Level.SHOULD:
                continue
            relative = f"{EVIDENCE_DIR}/{result.id}.md"
            (product_dir / relative).write_text(evidence_markdown(result, evaluation))
            evidence.setdefault(result.id, []).insert(0, relative)
    document = product_document(evaluation, catalogue, metadata, evidence=evidence)
    text = render_product_yaml(document, evaluation)
    if to_stdout:
        stdout.write(text)
    else:
        Path(args.product_yaml).write_text(text)
    validation = validate_product(document, catalogue, product_dir)
    for problem in validation.errors:
        stderr.write(f"kaico: PRODUCT.yaml: {problem}\n")
    for problem in validation.unmet:
        stderr.write(f"kaico: PRODUCT.yaml (the cluster falls short): {problem}\n")


def run(args: argparse.Namespace, streams: Streams) -> int:
    from kaico.cli.render.cluster import render_json, render_table, render_yaml
    from kaico.cluster.reader import ClientReader, GatherOptions, ReadError, gather_inventory
    from kaico.kube import config
    from kaico.kube.blocking import BlockingClient

    stdout, stderr = streams.stdout, streams.stderr
    try:
        profile_version, profile_probes = _profile_defaults(args.profile)
        version = args.kubernetes_version or profile_version
        if version is not None:
            load_catalogue(version)
        active = profile_probes if args.active_probes is None else args.active_probes
        if args.evidence:  # refuse a typo before spending time on the cluster
            _extra_evidence(args.evidence, _known_ids(version))
        options = GatherOptions(
            metrics_endpoints=tuple(args.metrics_endpoint),
            metrics_services=tuple(args.metrics_service),
            scrape_discovered=not args.no_scrape_discovered,
        )
        probe_options = ProbeOptions.from_args(args) if active else None
        with BlockingClient(config.load(args.kubeconfig, args.context)) as kube:
            inventory = kube.run(gather_inventory(ClientReader(kube.client), options))
            probes = ()
            if probe_options is not None:
                probes = run_probes(LoopProbeApi(kube.loop, kube.probe_request), inventory, probe_options,
                                    log=lambda line: stderr.write(f"kaico: {line}\n"))
        evaluation = evaluate_cluster(inventory, version, probes=probes)
        if args.product_yaml != "-":
            renderers = {"table": lambda: render_table(evaluation, args.verbose),
                         "json": lambda: render_json(evaluation),
                         "yaml": lambda: render_yaml(evaluation)}
            stdout.write(renderers[args.output]())
        if args.product_yaml:
            _write_product(args, evaluation, stdout, stderr)
    except (CatalogueError, ValueError, UsageError) as error:
        stderr.write(f"kaico: {error}\n")
        return EXIT_UNUSABLE
    except ReadError as error:
        stderr.write(f"kaico: cannot read the cluster: {error}\n")
        return EXIT_UNUSABLE
    except config.ConfigError as error:
        stderr.write(f"kaico: cannot reach the cluster: {error}\n")
        return EXIT_UNUSABLE
    except OSError as error:
        stderr.write(f"kaico: {error}\n")
        return EXIT_UNUSABLE
    return EXIT_OK if evaluation.musts_met else EXIT_FAILED
