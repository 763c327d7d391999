"""The cluster requirements as a ClusterPolicyReport (or OpenReports ClusterReport), one per
profile, with ``kaico run --policy-reports``: built from the same evaluation as the profile's
ClusterConformanceReport, owned by the profile (garbage collected with it), written only when
it differs from the report as the watch last saw it (``kaico.kube.objects.create_or_replace``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from conformance.cluster import ClusterEvaluation
from kaico.api import API_VERSION
from kaico.api.conventions import owner_reference
from kaico.api.policyreport import (
    OPENREPORTS,
    WGPOLICY,
    ReportApi,
    cluster_policy_report,
    cluster_report_name,
    content_digest,
    served_api,
    stored_report,
)
from kaico.kube.client import KubeClient, collection_path
from kaico.kube.discovery import ServedResources
from kaico.kube.objects import create_or_replace
from kaico.state import ProfileEntry


class ClusterPolicyReports:
    def __init__(self, client: Callable[[], KubeClient], served: ServedResources,
                 stored: Callable[[], Mapping[Any, Any]], on_write: Callable[[str], None]):
        self._client = client
        self._served = served
        self._stored = stored  # the kaico_policy_reports index, as last handed to a handler
        self._on_write = on_write

    async def write(self, entry: ProfileEntry, evaluation: ClusterEvaluation) -> bool:
        await self._served.ensure_discovered()
        api = served_api(self._served.resources)
        if api is None:
            return False  # the workload pipeline's PolicyReports warn about it once
        owners = ([owner_reference(API_VERSION, "ConformanceProfile", entry.name, entry.uid)]
                  if entry.uid else None)
        body = cluster_policy_report(entry.name, evaluation, api, owners)
        stored = stored_report(self._stored(), (api.group, "", cluster_report_name(entry.name)))
        done = await create_or_replace(
            self._client(), collection_path(api.group, api.version, api.cluster_plural, None), body,
            (stored.resource_version, stored.digest) if stored else None, content_digest)
        if done is not None:
            self._on_write(f"cluster-policyreport-{done}")
        await self._delete_other_flavour(api, cluster_report_name(entry.name))
        return done is not None

    async def _delete_other_flavour(self, current: ReportApi, name: str) -> None:
        """OpenReports installed after wg-policy: the older kind's report of this profile goes."""
        for other in (OPENREPORTS, WGPOLICY):
            if other is not current and stored_report(self._stored(), (other.group, "", name)):
                path = collection_path(other.group, other.version, other.cluster_plural, None)
                if (await self._client().delete(f"{path}/{name}")).status != 404:
                    self._on_write("cluster-policyreport-delete")
