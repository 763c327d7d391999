"""The writer: the only code that writes results to the API (reports, profile status, Events).

It compares what it is about to write with what is stored (its own last write, or after a
restart the report as the watch last saw it) and writes only on a difference, so a steady
cluster causes zero writes. It never writes to a watched workload: the report is our own object
that *references* the target (ownerReference), and an Event only names the target as its
involvedObject, which does not modify the target.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from datetime import datetime
from typing import Any

from conformance.report import Report
from conformance.workload import ServingWorkload
from kaico.api import GROUP, VERSION
from kaico.api.conventions import digest, timestamp
from kaico.kube.client import KubeClient, collection_path
from kaico.kube.events import event_body, post_event
from kaico.state import ProfileEntry
from kaico.workloads.indexes import StoredReport
from kaico.workloads.status import report_body, report_name, report_status

logger = logging.getLogger("kaico.workloads.writer")

WriteObserver = Callable[[str], None]


def _reports_path(namespace: str, name: str | None = None) -> str:
    path = collection_path(GROUP, VERSION, "conformancereports", namespace)
    return f"{path}/{name}" if name else path


class ReportWriter:
    def __init__(
        self,
        client: Callable[[], KubeClient],
        clock: Callable[[], datetime],
        on_write: WriteObserver | None = None,
    ):
        self._client = client
        self._clock = clock
        self._on_write = on_write or (lambda operation: None)
        self._written: dict[tuple[str, str], StoredReport] = {}
        self._profile_digests: dict[str, str] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._instance = socket.gethostname()

    # --- reports ----------------------------------------------------------------------------------

    def forget(self, namespace: str, name: str) -> None:
        """Drop what we remember of a report (it was deleted): the next evaluation recreates it."""
        self._written.pop((namespace, name), None)
        self._locks.pop((namespace, name), None)

    async def write(
        self,
        workload: ServingWorkload,
        profile: ProfileEntry,
        report: Report,
        stored: StoredReport | None,
    ) -> bool:
        """Create or update the report of ``workload`` under ``profile``; True when it wrote.

        ``stored`` is the report as the watch last saw it (after a restart that is all we know).
        """
        namespace = workload.namespace or "default"
        name = report_name(workload.kind, workload.name, profile.name, workload.api_group)
        lock = self._locks.setdefault((namespace, name), asyncio.Lock())
        async with lock:
            previous = self._written.get((namespace, name)) or stored
            if previous is not None and previous.target_uid != workload.uid:
                previous = None  # a report about an earlier object of the same name
            if previous is None:
                # Create first: the status is a subresource. A report found under the name is
                # adopted (None when the report is fresh).
                previous = await self._create(name, namespace, workload, profile)
            last = previous.conformant_condition if previous is not None else None
            status = report_status(report, {"conditions": [last]} if last else None, self._clock())
            new_digest = digest(status)
            if previous is not None and previous.digest == new_digest:
                self._written[(namespace, name)] = previous
                return False
            await self._client().merge_patch(f"{_reports_path(namespace, name)}/status", {"status": status})
            self._on_write("update")
            self._written[(namespace, name)] = StoredReport(
                namespace, name, workload.uid, profile.name, new_digest, report.conformant,
                status["conditions"][0],
            )
        was = previous.conformant if previous is not None else None
        if was is not report.conformant and (was is not None or not report.conformant):
            await self._post_event(workload, report, name)
        return True

    async def _create(
        self, name: str, namespace: str, workload: ServingWorkload, profile: ProfileEntry
    ) -> StoredReport | None:
        """Create the report; on a name conflict adopt it when it is about the same object,
        else replace it. Returns what was stored before (None for a fresh report)."""
        client = self._client()
        body = report_body(name, workload, profile.name, profile.uid)
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
        """Delete a report whose target is no longer selected (or no longer a serving workload)."""
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

    async def write_profile_status(
        self, name: str, status: dict[str, Any], current: dict[str, Any] | None
    ) -> bool:
        """Patch the profile's status unless it already holds ``status``."""
        new_digest = digest(status)
        if self._profile_digests.get(name) == new_digest:
            return False
        if current and digest(current) == new_digest:
            self._profile_digests[name] = new_digest
            return False
        path = collection_path(GROUP, VERSION, "conformanceprofiles", None) + f"/{name}/status"
        response = await self._client().merge_patch(path, {"status": status}, allowed=(404,))
        if response.status == 404:
            return False
        self._on_write("profile-status")
        self._profile_digests[name] = new_digest
        return True

    def forget_profile(self, name: str) -> None:
        self._profile_digests.pop(name, None)
