"""``kaico cleanup``: delete the reports kaico wrote, for an uninstall.

Reports are owned by their target *and* their profile, and garbage collection keeps a dependent
while any owner remains, so deleting kaico (or only its profiles once the operator is gone) leaves
every report of a still-running workload behind. The chart runs this command as a ``post-delete``
hook: after Helm has deleted the operator, so nothing writes a report back. It deletes only objects
labelled ``app.kubernetes.io/managed-by=kaico`` (what the operator stamps on every report), never a
profile (the chart's own profile is deleted by Helm; profiles users created are theirs) and never a
CRD.

It deletes, then looks again after ``--settle`` seconds, and repeats until a look finds nothing: an
operator pod still shutting down may write one last report.
"""

from __future__ import annotations

import argparse
import fnmatch
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from kaico.cli.common import EXIT_FAILED, EXIT_OK, EXIT_UNUSABLE, Streams

REPORTS = "conformancereports"
CLUSTER_REPORTS = "clusterconformancereports"

DESCRIPTION = (
    "Delete the ConformanceReports and ClusterConformanceReports kaico wrote (label "
    "app.kubernetes.io/managed-by=kaico). Run it after stopping the operator; the Helm chart runs it as a post-delete "
    "hook. Profiles and CRDs are left alone."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-n", "--namespace", action="append", default=[], metavar="NS",
                        help="only reports in namespaces matching NS (repeatable; globs and "
                        "!negation as `kaico run --namespace`); default: every namespace")
    parser.add_argument("--kubeconfig", metavar="PATH", help="kubeconfig file (default: "
                        "$KUBECONFIG, ~/.kube/config, or the pod's ServiceAccount)")
    parser.add_argument("--context", metavar="NAME", help="kubeconfig context")
    parser.add_argument("--settle", type=float, default=5.0, metavar="SECONDS",
                        help="look again this long after deleting (default: 5)")
    parser.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS",
                        help="give up when reports still reappear after this long (default: 120)")


def namespace_filter(patterns: list[str]) -> Callable[[str], bool]:
    """kopf's namespace syntax: a namespace is selected when it matches a plain pattern (or there
    are none) and no ``!pattern``."""
    include = [p for p in patterns if not p.startswith("!")]
    exclude = [p[1:] for p in patterns if p.startswith("!")]

    def selected(namespace: str) -> bool:
        if include and not any(fnmatch.fnmatchcase(namespace, p) for p in include):
            return False
        return not any(fnmatch.fnmatchcase(namespace, p) for p in exclude)

    return selected


@dataclass
class Deleted:
    reports: Counter[str]
    cluster_reports: int

    @property
    def total(self) -> int:
        return sum(self.reports.values()) + self.cluster_reports


class CleanupError(Exception):
    pass


class Cleaner:
    """One look-and-delete pass over kaico's reports, through kaico's ``KubeClient`` (blocking:
    ``kaico.kube.blocking.BlockingClient``)."""

    def __init__(self, kube: Any, selected: Callable[[str], bool]):
        from kaico.api.conventions import MANAGED_BY

        self._kube = kube
        self._selected = selected
        self._selector = urllib.parse.quote(",".join(f"{key}={value}" for key, value in MANAGED_BY.items()))

    def _call(self, what: str, method: str, plural: str, namespace: str | None = None) -> Any:
        from kaico.api import GROUP, VERSION
        from kaico.kube.client import ApiError, collection_path

        path = f"{collection_path(GROUP, VERSION, plural, namespace)}?labelSelector={self._selector}"
        try:
            response = self._kube.run(self._kube.client.request(method, path, allowed=(404,)))
        except ApiError as error:
            detail = f"{error.status} {HTTPStatus(error.status).phrase}: {error.message}" \
                if error.status else error.message
            raise CleanupError(f"{what}: {detail}".rstrip()) from None
        # 404: the CRD is not installed, nothing of that kind to delete.
        return None if response.status == 404 else response.body

    def sweep(self) -> Deleted:
        listed = self._call(f"listing {REPORTS}", "GET", REPORTS)
        by_namespace = Counter(
            item["metadata"]["namespace"]
            for item in (listed or {}).get("items") or []
            if self._selected(item["metadata"].get("namespace", ""))
        )
        for namespace in sorted(by_namespace):
            self._call(f"deleting {REPORTS} in {namespace}", "DELETE", REPORTS, namespace)
        # Cluster reports are per profile, not per namespace: a scoped release wrote them too.
        listed = self._call(f"listing {CLUSTER_REPORTS}", "GET", CLUSTER_REPORTS)
        cluster_count = len((listed or {}).get("items") or [])
        if cluster_count:
            self._call(f"deleting {CLUSTER_REPORTS}", "DELETE", CLUSTER_REPORTS)
        return Deleted(by_namespace, cluster_count)


def clean(cleaner: Cleaner, settle: float, timeout: float,
          sleep: Callable[[float], None] = time.sleep,
          clock: Callable[[], float] = time.monotonic) -> Deleted:
    """Sweep until a sweep finds nothing; raise ``CleanupError`` past ``timeout``."""
    deadline = clock() + timeout
    total = Deleted(Counter(), 0)
    while True:
        deleted = cleaner.sweep()
        if not deleted.total:
            return total
        total.reports.update(deleted.reports)
        total.cluster_reports += deleted.cluster_reports
        if clock() + settle > deadline:
            raise CleanupError(
                f"reports still reappear after {timeout:.0f}s (deleted {total.total} so far): "
                "is a kaico operator still running?"
            )
        sleep(settle)


def run(args: argparse.Namespace, streams: Streams) -> int:
    stdout, stderr = streams.stdout, streams.stderr
    from kaico.kube import config
    from kaico.kube.blocking import BlockingClient

    try:
        credentials = config.load(args.kubeconfig, args.context)
        kube = BlockingClient(credentials)
    except config.ConfigError as error:
        stderr.write(f"kaico: cannot reach the cluster: {error}\n")
        return EXIT_UNUSABLE
    cleaner = Cleaner(kube, namespace_filter(args.namespace))
    try:
        deleted = clean(cleaner, args.settle, args.timeout)
    except CleanupError as error:
        stderr.write(f"kaico: cleanup: {error}\n")
        return EXIT_FAILED
    finally:
        kube.close()
    namespaces = len(deleted.reports)
    stdout.write(
        f"kaico: deleted {sum(deleted.reports.values())} ConformanceReport(s) in {namespaces} "
        f"namespace(s) and {deleted.cluster_reports} ClusterConformanceReport(s)\n"
    )
    return EXIT_OK
