"""PolicyReports from the operator (``kaico run --policy-reports``): one per target x profile,
in the report API the cluster serves (OpenReports, else wg-policy), written only on change.

What is stored is known from the watch on the kinds written (``StoredPolicyReport`` values in
the ``kaico_policy_reports`` index, label-selected ``app.kubernetes.io/managed-by=kaico``), never
from a memory of past writes (``kaico.kube.objects.create_or_replace``). Each report is owned by
its target (garbage collected with it) and deleted by kaico when the target is no longer
selected or its profile goes, like the ConformanceReport beside it. Nothing here writes to a
watched workload.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from conformance.report import Report
from conformance.workload import ServingWorkload
from kaico.api.conventions import owner_reference
from kaico.api.policyreport import (
    OPENREPORTS,
    PROFILE_LABEL,
    WGPOLICY,
    ReportApi,
    StoredPolicyReport,
    content_digest,
    policy_report,
    served_api,
    stored_report,
)
from kaico.kube.client import KubeClient, collection_path
from kaico.kube.discovery import ServedResources
from kaico.kube.objects import create_or_replace

logger = logging.getLogger("kaico.workloads.policyreports")

APIS = {api.group: api for api in (OPENREPORTS, WGPOLICY)}


def _collection(api: ReportApi, namespace: str) -> str:
    return collection_path(api.group, api.version, api.plural, namespace)


class PolicyReports:
    """Writes and deletes the per-target PolicyReports (or OpenReports Reports)."""

    def __init__(self, client: Callable[[], KubeClient], served: ServedResources,
                 on_write: Callable[[str], None]):
        self._client = client
        self._served = served
        self._on_write = on_write
        self._warned = False

    def api(self) -> ReportApi | None:
        api = served_api(self._served.resources)
        if api is None and not self._warned:
            logger.warning("--policy-reports: neither openreports.io/v1alpha1 Report nor "
                           "wgpolicyk8s.io/v1alpha2 PolicyReport is served; none written")
            self._warned = True
        return api

    async def write(self, workload: ServingWorkload, profile: str, name: str, report: Report,
                    index: Mapping[Any, Any]) -> bool:
        """Create or replace the report of ``workload`` under ``profile`` (named ``name``, like
        its ConformanceReport) when what is stored (``index``) differs; True when it wrote."""
        api = self.api()
        if api is None or not workload.uid:
            return False
        namespace = workload.namespace or "default"
        body = policy_report(name, report, api, owner_references=[
            owner_reference(workload.api_version, workload.kind, workload.name, workload.uid)])
        body["metadata"]["labels"][PROFILE_LABEL] = profile
        stored = stored_report(index, (api.group, namespace, name))
        done = await create_or_replace(
            self._client(), _collection(api, namespace), body,
            (stored.resource_version, stored.digest) if stored else None, content_digest)
        if done is not None:
            self._on_write(f"policyreport-{done}")
        return done is not None

    async def _delete(self, stored: StoredPolicyReport) -> None:
        path = f"{_collection(APIS[stored.group], stored.namespace)}/{stored.name}"
        if (await self._client().delete(path)).status != 404:
            self._on_write("policyreport-delete")

    async def delete(self, namespace: str, name: str, index: Mapping[Any, Any]) -> None:
        """Delete the report named ``name`` in every flavour it is stored in."""
        for group in APIS:
            stored = stored_report(index, (group, namespace, name))
            if stored is not None:
                await self._delete(stored)

    async def delete_stale(self, profile: str, desired: set[tuple[str, str]],
                           index: Mapping[Any, Any]) -> None:
        """Delete this profile's namespaced reports that no desired (namespace, name) keeps, and
        those kept in the flavour not written now (OpenReports installed after wg-policy)."""
        current = self.api()
        for store in list(index.values()):
            for stored in list(store):
                if stored.profile != profile or not stored.namespace:
                    continue
                wanted = (stored.namespace, stored.name) in desired
                if wanted and (current is None or stored.group == current.group):
                    continue
                await self._delete(stored)
