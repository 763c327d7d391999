"""kopf handlers for ``kaico run --policy-reports``: the index of the reports kaico wrote (every
report kind it may write, label-selected ``app.kubernetes.io/managed-by=kaico``), and a report
deleted by someone handing its target (or the cluster pass) back, to be written again if due."""

from __future__ import annotations

from typing import Any

import kopf

from kaico.api.conventions import MANAGED_BY
from kaico.api.policyreport import StoredPolicyReport
from kaico.cluster.controller import ClusterReports
from kaico.kube.resources import CLUSTER_POLICY_REPORTS, POLICY_REPORTS
from kaico.workloads.controller import Controller
from kaico.workloads.indexes import POLICY_REPORTS as INDEX
from kaico.workloads.indexes import Indexes


def register_policy_reports(registry: kopf.OperatorRegistry, controller: Controller,
                            cluster: ClusterReports | None) -> None:
    async def index_policy_report(body: kopf.Body, **_: Any) -> dict[Any, Any]:
        stored = StoredPolicyReport.from_body(dict(body))
        return {stored.key: stored}

    async def on_policy_report(event: kopf.RawEvent, body: kopf.Body, **kwargs: Any) -> None:
        indexes = controller.remember(Indexes.from_kwargs(kwargs))
        if event["type"] != "DELETED":
            return
        scope = body.get("scope") or {}
        key = (str(scope.get("kind")), body.metadata.namespace or "default", str(scope.get("name")))
        controller.schedule(indexes, [key])

    async def on_cluster_policy_report(event: kopf.RawEvent, **kwargs: Any) -> None:
        controller.remember(Indexes.from_kwargs(kwargs))
        if event["type"] == "DELETED" and cluster is not None:
            cluster.schedule()

    labels = dict(MANAGED_BY)
    for resource in (*POLICY_REPORTS, *CLUSTER_POLICY_REPORTS):
        kopf.index(**resource.selector(), labels=labels, id=INDEX, registry=registry)(
            index_policy_report)
    for resource in POLICY_REPORTS:
        kopf.on.event(**resource.selector(), labels=labels, id="kaico_policy_report",
                      registry=registry)(on_policy_report)
    for resource in CLUSTER_POLICY_REPORTS:
        kopf.on.event(**resource.selector(), labels=labels, id="kaico_cluster_policy_report",
                      registry=registry)(on_cluster_policy_report)
