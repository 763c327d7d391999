"""What the cluster stores of kaico's ConformanceReports, as the watch shows it: one
``StoredReport`` per (namespace, name), never a body.

kopf lists and watches the reports (its retries, 410 relists and namespace streams), but hands
every report to this mirror as it receives it and keeps none of them (``kaico.runtime.kopf_memory``):
no per-object worker, queue or index entry, and at a restart no report body waits for the
start-up gate (docs/benchmarks.md). The mirror is keyed by name, so a report created again under
its name replaces the earlier one whatever its uid, and a listing replaces the whole set of its
namespace (or of the cluster): a report the listing does not hold was deleted while the watch was
not looking (a watch gap, an etcd compaction, its CRD deleted) and is reported as gone.

Only this module writes the mirror; the controller and the writer read it through ``Indexes``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from kaico.kube.inflight import newer_or_same
from kaico.workloads.indexes import StoredReport

ReportKey = tuple[str, str]  # (namespace, name)
# (event type: None for a listing, "ADDED", "MODIFIED" or "DELETED"; the report as stored)
Seen = Callable[[str | None, StoredReport], None]


def _ignore(*_: Any) -> None:
    return None


class ReportMirror(Mapping[ReportKey, StoredReport]):
    """(namespace, name) -> StoredReport. ``on_seen`` is told of every listed or watched report,
    ``on_gone`` of the reports a listing no longer holds (all of them at once)."""

    def __init__(self, on_seen: Seen = _ignore, on_gone: Callable[[list[StoredReport]], None] = _ignore):
        self._reports: dict[ReportKey, StoredReport] = {}
        # Listings under way, per namespace (None: cluster-wide): the keys listed so far.
        self._listing: dict[str | None, set[ReportKey]] = {}
        self.on_seen = on_seen
        self.on_gone = on_gone

    # --- the read-only view ------------------------------------------------------------------

    def __getitem__(self, key: ReportKey) -> StoredReport:
        return self._reports[key]

    def __iter__(self) -> Iterator[ReportKey]:
        return iter(self._reports)

    def __len__(self) -> int:
        return len(self._reports)

    # --- what kopf's listing and watch receive (kopf_memory.Mirror) ------------------------------

    def listing_started(self, namespace: str | None) -> None:
        self._listing[namespace] = set()

    def listed(self, namespace: str | None, body: dict[str, Any]) -> None:
        stored = StoredReport.from_body(body)
        self._listing.setdefault(namespace, set()).add(stored.key)
        self._reports[stored.key] = stored
        self.on_seen(None, stored)

    def listing_done(self, namespace: str | None, version: str | None) -> None:
        """The listing (at resourceVersion ``version``) is complete: what it does not hold, of its
        namespace, is gone (unless newer than the listing: created after it was served)."""
        listed = self._listing.pop(namespace, set())
        gone = [stored for key, stored in self._reports.items()
                if (namespace is None or key[0] == namespace) and key not in listed
                and (version is None or newer_or_same(version, stored.resource_version))]
        for stored in gone:
            del self._reports[stored.key]
        if gone:
            self.on_gone(gone)

    def listing_abandoned(self, namespace: str | None) -> None:
        """The listing failed half-way: what it held is kept, nothing is taken for gone."""
        self._listing.pop(namespace, None)

    def event(self, event_type: str, body: dict[str, Any]) -> None:
        stored = StoredReport.from_body(body)
        if event_type == "DELETED":
            current = self._reports.get(stored.key)
            if current is not None and newer_or_same(stored.resource_version, current.resource_version):
                del self._reports[stored.key]
        else:
            self._reports[stored.key] = stored
        self.on_seen(event_type, stored)
