"""``kaico check``: evaluate manifests offline against a profile."""

from __future__ import annotations

import argparse
import gc
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from kaico.cli.common import EXIT_FAILED, EXIT_OK, Streams, UsageError, load_profile

if TYPE_CHECKING:
    from kaico.cli.manifests import Loading

DESCRIPTION = (
    "Evaluate model-serving manifests against a conformance profile. Other objects in the input "
    "(Nodes, HPAs, Services, PDBs, ...) are the cluster facts; ConformanceWaivers in it are "
    "namespace waivers, honoured when the profile allows them."
)

OUTPUT_FORMATS = ("table", "json", "junit", "policyreport", "sarif")

# Kinds without a namespace: the CLI leaves them alone when defaulting namespaces.
CLUSTER_SCOPED_KINDS = frozenset({
    "Node", "Namespace", "RuntimeClass", "DeviceClass", "ResourceSlice", "ClusterServingRuntime",
    "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "PriorityClass",
    "StorageClass", "PersistentVolume", "GatewayClass", "APIService", "ConformanceProfile",
    "ClusterConformanceReport", "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration", "ClusterQueue", "ResourceFlavor", "ClusterPolicyReport",
})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--filename", action="append", required=True, metavar="PATH",
                        help="manifest file, directory (recursive) or - for stdin; repeatable")
    parser.add_argument("--profile", default="default", metavar="NAME|FILE",
                        help="built-in profile name or ConformanceProfile file (default: default)")
    parser.add_argument("--cluster-facts", action="append", default=[], metavar="PATH",
                        help="extra objects (Nodes, RuntimeClasses, ...) used only as facts")
    parser.add_argument("-o", "--output", choices=OUTPUT_FORMATS, default="table")
    parser.add_argument("--fail-on", choices=("critical", "high", "medium", "low", "info"),
                        default="low",
                        help="exit 1 when a check at or above this severity fails (default: low)")
    parser.add_argument("-n", "--namespace", default="default",
                        help="namespace for objects that name none (default: default)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="table output: show passing and skipped checks too")
    parser.add_argument("--partial", action="store_true",
                        help="the input is a fragment, not the whole application: a check that "
                        "looks for an autoscaler, PDB, Service or route the input lacks skips "
                        "instead of failing")
    cluster = parser.add_argument_group(
        "against a live cluster",
        "judge the input as it would be after kubectl apply: the cluster's Nodes, HPAs, PDBs, "
        "Services, routes, ... (read-only) are the facts, and an input object replaces its live "
        "counterpart (same kind, namespace and name)",
    )
    cluster.add_argument("--cluster", action="store_true",
                         help="read the facts of the kubeconfig's cluster")
    cluster.add_argument("--context", metavar="NAME",
                         help="kubeconfig context (implies --cluster; default: the current one)")
    cluster.add_argument("--kubeconfig", metavar="PATH",
                         help="kubeconfig file (implies --cluster; default: $KUBECONFIG, "
                         "~/.kube/config)")


def _with_default_namespace(body: dict, namespace: str) -> dict:
    metadata = body.get("metadata")
    if body.get("kind") in CLUSTER_SCOPED_KINDS or not isinstance(metadata, dict):
        return body
    if metadata.get("namespace"):
        return body
    return {**body, "metadata": {**metadata, "namespace": namespace}}


def _locations(loaded) -> dict[str, tuple[str, int | None]]:
    # The loader records each object's "path#document" source and, where known, its line.
    return {o.source: (o.source.partition("#")[0], o.line) for o in loaded}


def _sarif(evaluation, locations: dict[str, tuple[str, int | None]]) -> str:
    from kaico.cli.render.sarif import render_sarif

    return render_sarif(evaluation, locations)


def _key(body: dict) -> tuple[str, str, str]:
    from kaico.cli.live_facts import object_key

    return object_key(body)


def _live_facts(args: argparse.Namespace):
    """The cluster's fact objects; no usable kubeconfig or no answer is exit 2."""
    from kaico.cli.live_facts import read_live_facts
    from kaico.cluster.reader import ClientReader, ReadError
    from kaico.kube import config
    from kaico.kube.blocking import BlockingClient

    try:
        with BlockingClient(config.load(args.kubeconfig, args.context)) as kube:
            return kube.run(read_live_facts(ClientReader(kube.client)))
    except config.ConfigError as error:
        raise UsageError(f"--cluster: no usable kubeconfig: {error}") from None
    except (ReadError, OSError) as error:
        raise UsageError(f"--cluster: cannot read the cluster: {error}") from None


def run(args: argparse.Namespace, streams: Streams) -> int:
    # A batch run: the loaded bodies and the reports live until the process ends, and loading
    # and evaluating leave no cyclic garbage worth collecting (peak RSS is the same without the
    # collector), while the collector's rescans of everything loaded were about a sixth of a
    # run at 10,000 objects even after gc.freeze() (docs/benchmarks.md). So it stays off; and
    # what is left is frozen, or the interpreter's collection at exit walks every object of
    # the imported modules (20 ms of a one-file run).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _run(args, streams)
    finally:
        gc.freeze()
        if collecting:
            gc.enable()


# Objects adapted and evaluated by two processes (``kaico.cli.forked``) from this many on.
PARALLEL_MIN_OBJECTS = 100


# Files a forked child parses ahead of this process while it imports the engine and reads the
# profile (about 40 ms with bytecode since the profile needs no pydantic: about 250 small
# files). 1,000 files, same run under the lock: 250 -> 0.22 s wall, 1,000 -> 0.27 s.
HEAD_START_FILES = 250


def _run(args: argparse.Namespace, streams: Streams) -> int:
    from kaico.cli.manifests import Loading, ManifestError

    try:
        with Loading(args.filename, streams.stdin, head_start=HEAD_START_FILES) as loading:
            return _run_loading(args, streams, loading)
    except ManifestError as error:
        raise UsageError(str(error)) from None


def _run_loading(args: argparse.Namespace, streams: Streams, loading: Loading) -> int:
    from conformance.engine import Evaluation, prepare_facts
    from conformance.facts import InputMode
    from conformance.findings import Severity
    from conformance.profile import now_utc
    from conformance.waivers import WaiverError
    from kaico.cli.forked import Forked, halves
    from kaico.cli.manifests import load
    from kaico.cli.render import evaluation as render

    profile = load_profile(args.profile)
    loaded = loading.result()
    facts_loaded = load(args.cluster_facts, stdin=streams.stdin) if args.cluster_facts else []
    objects = [(_with_default_namespace(o.body, args.namespace), o.source) for o in loaded]
    facts_objects = [_with_default_namespace(o.body, args.namespace) for o in facts_loaded]
    mode, known, live_warnings = (InputMode.PARTIAL if args.partial else InputMode.APPLICATION), (), ()
    try:
        if args.cluster or args.context or args.kubeconfig:
            if args.partial:
                raise UsageError("--partial and --cluster exclude each other: with --cluster the "
                                 "live cluster supplies what the input lacks")
            live = _live_facts(args)
            replaced = {_key(body) for body, _ in objects} | {_key(body) for body in facts_objects}
            facts_objects += [body for body in live.objects if _key(body) not in replaced]
            mode, known, live_warnings = InputMode.CLUSTER, live.known, live.warnings
        prepared, objects = prepare_facts(objects, profile, facts_objects, mode, known)
    except WaiverError as error:
        raise UsageError(str(error)) from None
    locations = _locations(loaded) if args.output == "sarif" else {}
    del loaded, facts_loaded, facts_objects

    now = now_utc()
    threshold = Severity(args.fail_on)
    warnings = (*live_warnings, *prepared.warnings)
    # With many objects and a second core, a forked child adapts and evaluates the second half
    # (adapting was the longest part done by one process: 0.29 of 0.36 s at 10,000 files).
    first, second = halves(objects, PARALLEL_MIN_OBJECTS)
    del objects
    if args.output == "json":
        failing, orphans = _write_json(prepared, first, second, now, threshold, warnings, mode,
                                       streams.stdout)
    else:
        def work(part):  # in the child, or here when there is none
            targets = prepared.adapt(part)
            return tuple(prepared.evaluate(targets, now)), prepared.orphan_positions(targets)

        with Forked(work, second) as child:
            targets = prepared.adapt(first)
            del first  # the bodies, once adapted: about a third of the peak at 10,000 files
            reports = tuple(prepared.evaluate(targets, now))
            theirs, their_orphans = child.result()
        orphans = prepared.orphans_of(prepared.orphan_positions(targets), their_orphans)
        evaluation = Evaluation((*reports, *theirs), orphans, warnings, mode)
        renderers = {
            "table": lambda: render.render_table(evaluation, verbose=args.verbose),
            "junit": lambda: render.render_junit(evaluation),
            "sarif": lambda: _sarif(evaluation, locations),
        }
        if args.output == "policyreport":  # written document by document
            render.write_policyreport(evaluation, streams.stdout.write)
        else:
            streams.stdout.write(renderers[args.output]())
        failing = any(report.failing_at(threshold) for report in evaluation.reports)

    orphan_severity = profile.severities.get("scaling-target-resolves")
    if orphans and orphan_severity and orphan_severity.rank >= threshold.rank:
        failing = True
    return EXIT_FAILED if failing else EXIT_OK


def _write_json(prepared, first, second, now, threshold, warnings, mode, out):
    """Write the JSON document to the stream ``out`` report by report (10,000 objects make 60
    MB of it); whether a report fails at ``threshold``, and the orphan autoscalers. A forked
    child adapts and evaluates the objects ``second`` and writes its entries to a temporary
    file, copied out after this process's own (so neither holds them all); the orphans,
    written after the reports, join both processes'."""
    from conformance.engine import Evaluation
    from kaico.cli.forked import Forked
    from kaico.cli.render import evaluation as render

    failing = False
    try:
        spool = _temporary_file() if second else None
    except OSError:  # no writable temporary directory: one process does it all
        spool, first, second = None, (*first, *second), ()

    def encoded(part):  # in the child (here, when the child died: what it wrote is dropped)
        targets = prepared.adapt(part)
        fails = False
        os.ftruncate(spool.fileno(), 0)
        os.lseek(spool.fileno(), 0, os.SEEK_SET)
        with open(spool.fileno(), "w", encoding="utf-8", closefd=False) as entries:
            for report in prepared.evaluate(targets, now):
                entries.write(render.encode_report(report, following=True))
                fails = fails or bool(report.failing_at(threshold))
        return fails, prepared.orphan_positions(targets)

    positions: list[frozenset[int]] = []

    def reports(child: Forked) -> Iterator[object]:
        nonlocal failing, first
        targets = prepared.adapt(first)
        first = ()  # the bodies, once adapted: about a third of the peak at 10,000 files
        positions.append(prepared.orphan_positions(targets))
        for report in prepared.evaluate(targets, now):
            failing = failing or bool(report.failing_at(threshold))
            yield report
        if spool is not None:
            their_failing, their_positions = child.result()
            failing = failing or their_failing
            positions.append(their_positions)
            yield from _spooled(spool.fileno(), out)

    def orphans():  # after the reports
        return prepared.orphans_of(*positions)

    try:
        with Forked(encoded, second) as child:
            render.write_json(Evaluation((), (), warnings, mode), out.write, reports(child), orphans)
    finally:
        if spool is not None:
            spool.close()
    return failing, orphans()


def _spooled(spool: int, out: object) -> Iterator[object]:
    """The entries the child wrote to the file ``spool``: copied by the kernel (``sendfile``)
    to the file under ``out`` when it has one (about 50 ms for the 30 MB of 10,000 files
    through Python), else, and from wherever that stopped, read and yielded as text. The JSON
    is ASCII (``ensure_ascii``), the same bytes in any encoding ``out`` has."""
    import codecs

    from kaico.cli.render import jsonout

    size = os.fstat(spool).st_size
    offset = 0
    try:
        target = out.fileno()  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation: no file under it
        target = None
    if target is not None and size:
        out.flush()  # type: ignore[attr-defined]
        try:
            while offset < size:
                sent = os.sendfile(target, spool, offset, size - offset)
                if not sent:
                    break
                offset += sent
        except BrokenPipeError:
            raise
        except OSError:  # sendfile refused this kind of file: the rest by read and write
            pass
    decoder = codecs.getincrementaldecoder("utf-8")()
    while chunk := os.pread(spool, 1 << 20, offset):
        offset += len(chunk)
        yield jsonout.Verbatim(decoder.decode(chunk))


def _temporary_file():
    import tempfile  # only with two processes: about 5 ms of imports

    return tempfile.TemporaryFile("w+", encoding="utf-8")
