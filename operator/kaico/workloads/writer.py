"""The writer: the only code that writes results to the API (reports, profile status, Events).

The cluster is the truth. Whether to write is decided by comparing what kaico would write with
the report **as stored**: the watched copy (the ``kaico_reports`` index), or, where that copy is
known to be unreliable (the audit found it gone, a write answered 404), the report read from the
API. kaico's own memory is used only for the moment between a write and the watch event that
carries it (``kaico.kube.inflight``). So a report edited or deleted by hand, or lost with its CRD,
is written again as soon as kaico evaluates its target, and a steady cluster causes zero writes.
A rewrite of a report that differs from what kaico last wanted stored counts as a repair
(``on_repair``: edited, deleted, missing).

It never writes to a watched workload: the report is our own object that *references* the
target (ownerReference), and an Event only names the target as its involvedObject, which does
not modify the target.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from conformance.report import Report
from conformance.workload import ServingWorkload
from kaico.api import GROUP, VERSION
from kaico.api.conventions import MANAGED_BY, digest, timestamp
from kaico.kube.client import ApiError, KubeClient, collection_path
from kaico.kube.events import event_body, post_event
from kaico.kube.inflight import InFlight, newer_or_same
from kaico.kube.resources import TARGET_PLURALS
from kaico.state import ProfileEntry
from kaico.workloads.indexes import StoredReport
from kaico.workloads.status import report_body, report_name, report_status

logger = logging.getLogger("kaico.workloads.writer")

WriteObserver = Callable[[str], None]
ReportKey = tuple[str, str]  # (namespace, name)

# Why a report was written again although kaico's own result had not changed.
EDITED = "edited"  # its status was changed by someone else
DELETED = "deleted"  # it was deleted (the watch said so)
MISSING = "missing"  # it was gone without the watch saying so (a watch gap, its CRD re-created)


MANAGED_BY_SELECTOR = ",".join(f"{k}={v}" for k, v in MANAGED_BY.items())
# Only the metadata of each listed object (names and resourceVersions), not the reports' statuses.
METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"


def _reports_path(namespace: str, name: str | None = None) -> str:
    path = collection_path(GROUP, VERSION, "conformancereports", namespace)
    return f"{path}/{name}" if name else path


@dataclass(frozen=True, slots=True)
class _Wanted:
    """What kaico last wanted stored for a report: its status digest and conformance. Not used to
    decide a write (the stored report decides), only to tell a repair from an update and to post
    Events on kaico's own transitions, not on someone's edit."""

    digest: str
    conformant: bool


# The report audit lists the reports' metadata in pages of this many.
AUDIT_PAGE = 500


class ReportWriter:
    def __init__(
        self,
        client: Callable[[], KubeClient],
        clock: Callable[[], datetime],
        on_write: WriteObserver | None = None,
        on_repair: WriteObserver | None = None,
    ):
        self._client = client
        self._clock = clock
        self._on_write = on_write or (lambda operation: None)
        self._on_repair = on_repair or (lambda reason: None)
        self._in_flight: InFlight[StoredReport | None] = InFlight()
        self._wanted: dict[ReportKey, _Wanted] = {}
        # Reports whose watched copy cannot be trusted: read from the API before deciding.
        self._suspect: set[ReportKey] = set()
        # Per report name, the resourceVersion at which the watch last showed it deleted: an
        # index copy at or below it is of a deleted object.
        self._buried: dict[ReportKey, str] = {}
        self._vanished: set[str | None] = set()  # uids of targets found gone by a read
        self._profile_in_flight: InFlight[dict[str, Any]] = InFlight()
        # Reports being written, each with what its end sets: one write per report at a time,
        # and nothing kept per report between writes (a lock per report was 5,000 locks).
        self._writing: dict[ReportKey, asyncio.Event] = {}
        self._instance = socket.gethostname()

    # --- what the watch shows -----------------------------------------------------------------

    def observed(self, stored: StoredReport) -> bool:
        """The watch showed a report (added, modified, or listed). True when it differs from
        what kaico last wanted stored there, i.e. its target must be evaluated again to repair
        it (an event older than kaico's own write in flight is not a difference)."""
        self._suspect.discard(stored.key)
        buried = self._buried.get(stored.key)
        if buried is not None and not newer_or_same(buried, stored.resource_version):
            del self._buried[stored.key]  # a report created after the deletion: the index's newest
        if not self._in_flight.settle(stored.key, stored.resource_version):
            return False
        wanted = self._wanted.get(stored.key)
        return wanted is not None and wanted.digest != stored.digest

    def observed_deleted(self, namespace: str, name: str, resource_version: str | None = None) -> bool:
        """The watch showed a report deleted (at ``resource_version``). True when kaico wanted
        it stored (its target, if it still exists and is selected, gets it back). Any copy of an
        earlier report under the name that kopf's index still holds (one lost in a watch gap) is
        as gone: it is not taken for the stored report (``_stored``)."""
        key = (namespace, name)
        self._in_flight.forget(key)
        self._suspect.discard(key)
        wanted = key in self._wanted
        if wanted and resource_version is not None and newer_or_same(resource_version, self._buried.get(key)):
            self._buried[key] = resource_version
        return wanted

    def suspect(self, namespace: str, name: str) -> None:
        """The watched copy of this report may be wrong (the audit did not find it): the next
        write decision reads the report from the API."""
        self._suspect.add((namespace, name))

    def forget(self, namespace: str, name: str) -> None:
        """kaico no longer wants this report (its target or profile went)."""
        key = (namespace, name)
        self._in_flight.forget(key)
        self._wanted.pop(key, None)
        self._suspect.discard(key)
        self._buried.pop(key, None)

    async def list_reports(self, namespaces: list[str] | None) -> tuple[dict[ReportKey, str | None], str | None]:
        """The reports stored in the cluster (all namespaces, or these), as (namespace, name) ->
        resourceVersion, and the listing's resourceVersion (of the last listing, for several).
        Metadata only, in pages of AUDIT_PAGE: at 5,000 reports one response was about 45 MiB
        decoded (their managedFields included). An expired continue token fails the audit, which
        is retried with a fresh listing."""
        found: dict[ReportKey, str | None] = {}
        version: str | None = None
        for namespace in namespaces if namespaces is not None else [None]:
            first = (collection_path(GROUP, VERSION, "conformancereports", namespace)
                     + f"?labelSelector={quote(MANAGED_BY_SELECTOR)}&limit={AUDIT_PAGE}")
            path: str | None = first
            while path is not None:
                status, text = await self._client().send("GET", path, accept=METADATA_LIST)
                if status != 200:
                    raise ApiError("GET", path, status, text[:300])
                listing = json.loads(text)
                del text
                meta = listing.get("metadata") or {}
                # Every page of a listing carries the resourceVersion of its first.
                version = meta.get("resourceVersion") or version
                for item in listing.get("items") or ():
                    metadata = item.get("metadata") or {}
                    found[(metadata.get("namespace") or "", metadata.get("name") or "")] = metadata.get(
                        "resourceVersion")
                token = meta.get("continue")
                path = f"{first}&continue={quote(token)}" if token else None
        return found, version

    # --- reports ------------------------------------------------------------------------------

    async def _stored(self, key: ReportKey, watched: StoredReport | None) -> tuple[StoredReport | None, bool]:
        """The report as stored, and whether it was read from the API (the watched copy was
        suspect)."""
        if key in self._suspect:
            self._suspect.discard(key)
            self._in_flight.forget(key)
            response = await self._client().get(_reports_path(*key), allowed=(404,))
            return (StoredReport.from_body(response.body) if response.status == 200 else None), True
        buried = self._buried.get(key)
        if watched is not None and buried is not None and newer_or_same(buried, watched.resource_version):
            watched = None  # a copy of a report the watch has since shown deleted
        version = watched.resource_version if watched is not None else None
        return self._in_flight.current(key, watched, version), False

    async def write(
        self,
        workload: ServingWorkload,
        profile: ProfileEntry,
        report: Report,
        stored: StoredReport | None,
    ) -> bool:
        """Create or update the report of ``workload`` under ``profile``; True when it wrote.

        ``stored`` is the report as the watch shows it (None: the watch shows none).
        """
        namespace = workload.namespace or "default"
        name = report_name(workload.kind, workload.name, profile.name, workload.api_group)
        key = (namespace, name)
        async with self._alone(key):
            current, read = await self._stored(key, stored)
            if current is not None and current.target_uid != workload.uid:
                current = None  # a report about an earlier object of the same name
            wanted = self._wanted.get(key)
            repair: str | None = None
            if current is None:
                if wanted is not None:
                    repair = MISSING if read else DELETED
                    if not await self._target_exists(workload):
                        return False
                # Create first: the status is a subresource. A report found under the name is
                # adopted (None when the report is fresh).
                current = await self._create(name, namespace, workload, profile)
            last = current.conformant_condition if current is not None else None
            status = report_status(report, {"conditions": [last]} if last else None, self._clock())
            new_digest = digest(status)
            if current is not None and current.digest == new_digest:
                self._wanted[key] = _Wanted(new_digest, report.conformant)
                return False
            if repair is None and current is not None and wanted is not None and wanted.digest == new_digest:
                repair = EDITED
            path = f"{_reports_path(namespace, name)}/status"
            response = await self._client().merge_patch(path, {"status": status}, allowed=(404,))
            if response.status == 404:
                # Gone although the watch still shows it (deleted in a watch gap, or its CRD
                # was re-created): create it again.
                repair = repair or (MISSING if wanted is not None else None)
                await self._create(name, namespace, workload, profile)
                response = await self._client().merge_patch(path, {"status": status})
            self._on_write("update")
            written = StoredReport.from_body(response.body)
            self._in_flight.wrote(key, written.resource_version, written)
            self._wanted[key] = _Wanted(new_digest, report.conformant)
        if repair is not None:
            logger.info("repaired report %s/%s (%s)", namespace, name, repair)
            self._on_repair(repair)
        # Events announce kaico's own transitions: compared with what kaico wanted before (after
        # a restart, with what is stored), so undoing someone's edit announces nothing.
        was = wanted.conformant if wanted is not None else (current.conformant if current else None)
        if was is not report.conformant and (was is not None or not report.conformant):
            await self._post_event(workload, report, name)
        return True

    @contextlib.asynccontextmanager
    async def _alone(self, key: ReportKey) -> AsyncIterator[None]:
        """While no other write of the same report runs."""
        while (busy := self._writing.get(key)) is not None:
            await busy.wait()
        done = self._writing[key] = asyncio.Event()
        try:
            yield
        finally:
            del self._writing[key]
            done.set()

    async def _target_exists(self, workload: ServingWorkload) -> bool:
        """Before writing back a lost report: whether its target still exists. A target deleted
        while a watch was down stays in kopf's index until the relist's made-up deletion
        (``kaico.runtime.kopf_relist``) or for good if kopf's internals changed; its report would
        be garbage-collected again and again. Such a target is remembered as gone (a uid
        never comes back) and gets no report."""
        if workload.uid in self._vanished:
            return False
        group, _, version = workload.api_version.rpartition("/")
        plural = TARGET_PLURALS.get((group, workload.kind))
        if plural is None:
            return True
        path = f"{collection_path(group, version, plural, workload.namespace or 'default')}/{workload.name}"
        response = await self._client().get(path, allowed=(404, 403))
        if response.status == 404 or (
            response.status == 200 and (response.body.get("metadata") or {}).get("uid") != workload.uid
        ):
            logger.warning("%s is gone although the watch still shows it: no report", workload.ref)
            self._vanished.add(workload.uid)
            return False
        return True

    async def _create(
        self, name: str, namespace: str, workload: ServingWorkload, profile: ProfileEntry
    ) -> StoredReport | None:
        """Create the report; on a name conflict adopt it when it is about the same object,
        else replace it. Returns what was stored before (None for a fresh report)."""
        client = self._client()
        body = report_body(name, workload, profile.name)
        response = await client.create(_reports_path(namespace), body, allowed=(409,))
        if response.status != 409:
            self._on_write("create")
            return None
        existing = await client.get(_reports_path(namespace, name), allowed=(404,))
        if existing.status == 200:
            stored = StoredReport.from_body(existing.body)
            if stored.target_uid == workload.uid:
                return stored
            # Left behind by a deleted object of the same name that garbage collection has not
            # removed yet: replace it, or it would be collected together with our new content.
            await client.delete(
                _reports_path(namespace, name),
                {"preconditions": {"uid": existing.body["metadata"]["uid"]}},
            )
            self._on_write("delete")
        await client.create(_reports_path(namespace), body)
        self._on_write("create")
        return None

    async def delete(self, namespace: str, name: str) -> None:
        """Delete a report whose target is gone, no longer selected or no longer a serving
        workload."""
        self.forget(namespace, name)
        response = await self._client().delete(_reports_path(namespace, name))
        if response.status != 404:
            self._on_write("delete")

    async def _post_event(self, workload: ServingWorkload, report: Report, report_name_: str) -> None:
        """A Kubernetes Event about the target: it turned non-conformant, or conformant again."""
        now = timestamp(self._clock())
        if report.conformant:
            reason, kind, message = "Conformant", "Normal", (
                f"conformant again under profile {report.profile} (ConformanceReport {report_name_})"
            )
        else:
            blocking = ", ".join(f.check for f in report.blocking[:8])
            reason, kind, message = "NonConformant", "Warning", (
                f"not conformant under profile {report.profile}: {blocking} "
                f"(kubectl describe conformancereport {report_name_})"
            )
        namespace = workload.namespace or "default"
        involved = {
            "apiVersion": workload.api_version,
            "kind": workload.kind,
            "name": workload.name,
            "namespace": namespace,
            "uid": workload.uid,
        }
        event = event_body(involved, namespace, reason, message, kind, self._instance, now)
        if await post_event(self._client(), event):
            self._on_write("event")

    # --- profiles ---------------------------------------------------------------------------------

    def stored_profile_status(self, name: str, watched: dict[str, Any] | None,
                              watched_version: str | None) -> dict[str, Any] | None:
        """The profile's status as stored: our patch's answer while the watch has not shown it
        yet, else the watched copy (``watched`` at ``watched_version``). The next status is
        computed from this one (a condition keeps its lastTransitionTime) and compared with it:
        computing it from an older copy than the one compared with made two writes with
        different transition times answer each other without end."""
        return self._profile_in_flight.current(name, watched, watched_version)

    async def write_profile_status(self, name: str, status: dict[str, Any],
                                   stored: dict[str, Any] | None) -> bool:
        """Patch the profile's status unless ``stored`` (``stored_profile_status``) already
        holds it. Only the fields kaico writes are compared: without the counts (an install
        that does not cover the profile) the counts another install keeps are not ours."""
        if stored is not None and digest(_fields(stored, status)) == digest(status):
            return False
        path = collection_path(GROUP, VERSION, "conformanceprofiles", None) + f"/{name}/status"
        response = await self._client().merge_patch(path, {"status": status}, allowed=(404,))
        if response.status == 404:
            return False
        self._on_write("profile-status")
        self._profile_in_flight.wrote(name, (response.body.get("metadata") or {}).get("resourceVersion"),
                                      response.body.get("status") or status)
        return True

    def profile_observed(self, name: str, resource_version: str | None) -> None:
        self._profile_in_flight.settle(name, resource_version)

    def forget_profile(self, name: str) -> None:
        self._profile_in_flight.forget(name)


def _fields(stored: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """The stored status restricted to the fields of the status kaico would write."""
    return {key: stored[key] for key in wanted if key in stored}
