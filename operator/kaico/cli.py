"""The ``kaico`` command: ``check`` manifests offline, list ``checks``, ``run`` the operator.

Exit codes (stable, for CI):
  0  nothing at or above ``--fail-on`` failed
  1  something did (a failing or erroring check, or an orphan autoscaler)
  2  unusable input: unreadable file, YAML error, unknown or invalid profile, bad flag
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

import yaml

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_UNUSABLE = 2

OUTPUT_FORMATS = ("table", "json", "junit", "policyreport")

# Kinds without a namespace: the CLI leaves them alone when defaulting namespaces.
CLUSTER_SCOPED_KINDS = frozenset({
    "Node", "Namespace", "RuntimeClass", "DeviceClass", "ResourceSlice", "ClusterServingRuntime",
    "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "PriorityClass",
    "StorageClass", "PersistentVolume", "GatewayClass", "APIService", "ConformanceProfile",
    "ClusterConformanceReport", "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration", "ClusterQueue", "ResourceFlavor", "ClusterPolicyReport",
})


class UsageError(Exception):
    """Unusable input; the CLI prints the message and exits 2."""


def load_profile(reference: str):
    """A built-in profile by name, or a ConformanceProfile YAML file."""
    from conformance.profile import BUILTIN_PROFILES, ProfileError, builtin_profile, parse_profile

    try:
        if reference in BUILTIN_PROFILES:
            return builtin_profile(reference)
        path = Path(reference)
        if not path.exists():
            raise UsageError(
                f"profile {reference!r}: neither a built-in profile "
                f"({', '.join(BUILTIN_PROFILES)}) nor a file"
            )
        try:
            documents = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        except yaml.YAMLError as error:
            raise UsageError(f"{reference}: YAML error: {error}") from None
        profiles = [d for d in documents if isinstance(d, dict) and d.get("kind") == "ConformanceProfile"]
        if len(profiles) != 1:
            raise UsageError(f"{reference}: expected one ConformanceProfile, found {len(profiles)}")
        return parse_profile(profiles[0], source=reference)
    except ProfileError as error:
        raise UsageError(
            f"invalid profile {error.source}:\n" + "\n".join(f"  {p}" for p in error.problems)
        ) from None


def _with_default_namespace(body: dict, namespace: str) -> dict:
    metadata = body.get("metadata")
    if body.get("kind") in CLUSTER_SCOPED_KINDS or not isinstance(metadata, dict):
        return body
    if metadata.get("namespace"):
        return body
    return {**body, "metadata": {**metadata, "namespace": namespace}}


def command_check(args: argparse.Namespace, stdout: TextIO, stdin: TextIO | None) -> int:
    from conformance.engine import evaluate_objects
    from conformance.findings import Severity
    from conformance.profile import now_utc
    from kaico import output
    from kaico.manifests import ManifestError, load

    profile = load_profile(args.profile)
    try:
        loaded = load(args.filename, stdin=stdin)
        facts_loaded = load(args.cluster_facts, stdin=stdin) if args.cluster_facts else []
    except ManifestError as error:
        raise UsageError(str(error)) from None
    objects = [(_with_default_namespace(o.body, args.namespace), o.source) for o in loaded]
    facts_objects = [_with_default_namespace(o.body, args.namespace) for o in facts_loaded]
    evaluation = evaluate_objects(objects, profile, now_utc(), facts_objects)

    renderers = {
        "table": lambda: output.render_table(evaluation, verbose=args.verbose),
        "json": lambda: output.render_json(evaluation),
        "junit": lambda: output.render_junit(evaluation),
        "policyreport": lambda: output.render_policyreport(evaluation),
    }
    stdout.write(renderers[args.output]())

    threshold = Severity(args.fail_on)
    failing = any(report.failing_at(threshold) for report in evaluation.reports)
    orphan_severity = profile.severities.get("scaling-target-resolves")
    if evaluation.orphans and orphan_severity and orphan_severity.rank >= threshold.rank:
        failing = True
    return EXIT_FAILED if failing else EXIT_OK


def command_checks(args: argparse.Namespace, stdout: TextIO) -> int:
    from conformance.registry import catalogue
    from kaico import output

    specs = list(catalogue().values())
    renderers = {
        "table": output.render_catalogue_table,
        "markdown": output.render_catalogue_markdown,
        "json": output.render_catalogue_json,
    }
    stdout.write(renderers[args.output](specs))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kaico",
        description="Kubernetes AI Conformance: check model-serving workloads and clusters.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    check = commands.add_parser(
        "check", help="check manifests offline (files, directories, or - for stdin)",
        description="Evaluate model-serving manifests against a conformance profile. Other "
        "objects in the input (Nodes, HPAs, Services, PDBs, ...) are the cluster facts.",
    )
    check.add_argument("-f", "--filename", action="append", required=True, metavar="PATH",
                       help="manifest file, directory (recursive) or - for stdin; repeatable")
    check.add_argument("--profile", default="default", metavar="NAME|FILE",
                       help="built-in profile name or ConformanceProfile file (default: default)")
    check.add_argument("--cluster-facts", action="append", default=[], metavar="PATH",
                       help="extra objects (Nodes, RuntimeClasses, ...) used only as facts")
    check.add_argument("-o", "--output", choices=OUTPUT_FORMATS, default="table")
    check.add_argument("--fail-on", choices=("critical", "high", "medium", "low", "info"),
                       default="low",
                       help="exit 1 when a check at or above this severity fails (default: low)")
    check.add_argument("-n", "--namespace", default="default",
                       help="namespace for objects that name none (default: default)")
    check.add_argument("-v", "--verbose", action="store_true",
                       help="table output: show passing and skipped checks too")

    checks = commands.add_parser("checks", help="list the check catalogue")
    checks.add_argument("-o", "--output", choices=("table", "markdown", "json"), default="table")

    from kaico import cluster_command

    cluster_command.add_arguments(commands.add_parser(
        "cluster", help="judge the current cluster against the CNCF AI Conformance requirements",
        description=cluster_command.DESCRIPTION,
    ))

    from kaico import cleanup

    cleanup.add_arguments(commands.add_parser(
        "cleanup", help="delete the reports kaico wrote (after stopping the operator)",
        description=cleanup.DESCRIPTION,
    ))

    run = commands.add_parser(
        "run", help="run the operator against the current kube context",
        description="Watch model-serving workloads, write ConformanceReports, serve /metrics.",
    )
    from kaico.run_options import add_arguments

    add_arguments(run)

    return parser


def main(argv: list[str] | None = None, stdout: TextIO | None = None,
         stdin: TextIO | None = None, stderr: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_UNUSABLE if exit_.code else EXIT_OK
    try:
        if args.command == "check":
            return command_check(args, stdout, stdin)
        if args.command == "checks":
            return command_checks(args, stdout)
        if args.command == "cluster":
            from kaico import cluster_command

            return cluster_command.run(args, stdout, stderr)
        if args.command == "cleanup":
            from kaico import cleanup

            return cleanup.run(args, stdout, stderr)
        if args.command == "run":
            from kaico.runner import run

            return run(args)
    except UsageError as error:
        stderr.write(f"kaico: {error}\n")
        return EXIT_UNUSABLE
    parser.error(f"unknown command {args.command}")
    return EXIT_UNUSABLE


if __name__ == "__main__":
    sys.exit(main())
