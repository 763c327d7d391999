"""kaico's Grafana dashboard (charts/kaico/dashboards/kaico.json), generated from the panel list below.

The panels are data (title, kind, PromQL), so the layout, the datasource wiring and the `profile`
filter are written once. ``--write`` updates the JSON the chart ships (``make chart``);
tests/e2e/helm/test_dashboard.py fails when it is stale, checks every expression with promtool and
checks that every metric it names is exported by a real ``kaico run``.

Grafana variables in the expressions: ``$profile`` (a regex over the profiles) and
``$__rate_interval``; nothing else.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DASHBOARD = REPO / "charts" / "kaico" / "dashboards" / "kaico.json"

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
PROFILE = 'profile=~"$profile"'
# A requirement is met when it is implemented, or does not apply to this cluster.
MET = 'status=~"Implemented|NotApplicable"'
FAILING = 'result=~"fail|error"'


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""
    # Tables show the current value of each series, not a range.
    instant: bool = False


@dataclass(frozen=True)
class Panel:
    title: str
    kind: str  # Grafana panel type: stat, timeseries, table, bargauge
    queries: tuple[Query, ...]
    description: str
    unit: str = "short"
    width: int = 12
    height: int = 8
    # Extra fieldConfig.defaults (thresholds, min/max).
    defaults: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


RATIO = {"min": 0, "max": 1, "thresholds": {"mode": "absolute", "steps": [
    {"color": "red", "value": None}, {"color": "orange", "value": 0.8}, {"color": "green", "value": 1}]}}
ZERO_IS_GOOD = {"thresholds": {"mode": "absolute", "steps": [
    {"color": "green", "value": None}, {"color": "red", "value": 1}]}}

ROWS: tuple[Row, ...] = (
    Row("Workloads", (
        Panel("Conformant targets", "stat", (
            Query(f'sum(kaico_targets{{{PROFILE}, conformant="true"}}) / sum(kaico_targets{{{PROFILE}}})'),),
            "Share of evaluated targets (workload x profile) that conform.", unit="percentunit",
            width=6, height=6, defaults=RATIO),
        Panel("Non-conformant targets", "stat", (
            Query(f'sum(kaico_targets{{{PROFILE}, conformant="false"}}) or vector(0)'),),
            "Targets with at least one failing check at or above the profile's threshold.",
            width=6, height=6, defaults=ZERO_IS_GOOD),
        Panel("Failing checks", "stat", (
            Query(f'count(sum by (profile, check) (kaico_check_results{{{PROFILE}, {FAILING}}}) > 0) '
                  'or vector(0)'),),
            "Distinct (profile, check) pairs failing or erroring on at least one target.",
            width=6, height=6, defaults=ZERO_IS_GOOD),
        Panel("Profiles not ready", "stat", (
            Query(f'count(kaico_profile_ready{{{PROFILE}}} == 0) or vector(0)'),),
            "ConformanceProfiles kaico rejected (see the profile's status conditions).",
            width=6, height=6, defaults=ZERO_IS_GOOD),
        Panel("Conformance by profile and kind", "timeseries", (
            Query(f'sum by (profile, kind) (kaico_targets{{{PROFILE}, conformant="true"}}) '
                  f'/ sum by (profile, kind) (kaico_targets{{{PROFILE}}})', "{{profile}} / {{kind}}"),),
            "Share of conformant targets per profile and workload kind over time.",
            unit="percentunit", defaults={"min": 0, "max": 1}),
        Panel("Non-conformant targets by profile and kind", "timeseries", (
            Query(f'sum by (profile, kind) (kaico_targets{{{PROFILE}, conformant="false"}})',
                  "{{profile}} / {{kind}}"),),
            "How many targets of each profile and kind do not conform."),
        Panel("Failing checks now", "table", (
            Query(f'sort_desc(sum by (profile, check, severity) (kaico_check_results{{{PROFILE}, {FAILING}}}) > 0)',
                  instant=True),),
            "Each failing check with the number of targets it fails on. "
            "`kubectl get conformancereports -A` lists the targets.", width=12, height=10),
        Panel("Failing results by severity", "timeseries", (
            Query(f'sum by (severity) (kaico_check_results{{{PROFILE}, {FAILING}}})', "{{severity}}"),),
            "Failing or erroring (target, check) results by the check's severity.", height=10),
    )),
    Row("Cluster requirements (CNCF AI Conformance)", (
        Panel("Requirements met by level", "bargauge", (
            Query(f'sum by (profile, level) (kaico_cluster_requirements{{{PROFILE}, {MET}}}) '
                  f'/ sum by (profile, level) (kaico_cluster_requirements{{{PROFILE}}})',
                  "{{profile}} {{level}}"),),
            "Share of MUST and SHOULD requirements implemented (or not applicable), per profile.",
            unit="percentunit", width=8, defaults=RATIO),
        Panel("Requirements not met", "table", (
            Query(f'kaico_cluster_requirements{{{PROFILE}, status!~"Implemented|NotApplicable"}} == 1',
                  instant=True),),
            "Every requirement whose current status is NotImplemented, PartiallyImplemented or "
            "Unknown. `kubectl get clusterconformancereports` shows the evidence.", width=16),
        Panel("Requirements by level and status", "timeseries", (
            Query(f'sum by (level, status) (kaico_cluster_requirements{{{PROFILE}}})', "{{level}} {{status}}"),),
            "How the requirements' statuses changed over time.", width=24),
    )),
    Row("Operator", (
        Panel("Evaluation latency", "timeseries", tuple(
            Query(f'histogram_quantile({q}, sum by (le) (rate(kaico_evaluation_duration_seconds_bucket'
                  '[$__rate_interval])))', f"p{round(q * 100)}") for q in (0.5, 0.95, 0.99)),
            "Time to evaluate one target under one profile (all profiles).", unit="s", width=8),
        Panel("Evaluations and errors", "timeseries", (
            Query(f'sum by (profile) (rate(kaico_evaluations_total{{{PROFILE}}}[$__rate_interval]))',
                  "{{profile}} evaluations"),
            Query(f'sum by (profile) (rate(kaico_evaluation_errors_total{{{PROFILE}}}[$__rate_interval]))',
                  "{{profile}} errors")),
            "Evaluations per second, and those that could not complete (engine or report-write "
            "failure; the KaicoOperatorErrors alert watches these).", unit="ops", width=8),
        Panel("Writes by operation", "timeseries", (
            Query('sum by (operation) (rate(kaico_writes_total[$__rate_interval]))', "{{operation}}"),),
            "Writes kaico made to the API (reports, events, profile status). kaico writes only on "
            "change, so this stays near zero in a quiet cluster.", unit="wps", width=8),
        Panel("API requests by response code", "timeseries", (
            Query('sum by (method, code) (rate(kaico_api_requests_total[$__rate_interval]))',
                  "{{method}} {{code}}"),),
            "Requests sent by kaico's writer and discovery (watches excluded); 403s mean missing "
            "RBAC, 409s conflicting writers.", unit="reqps", width=24),
    )),
    Row("Admission (admission.enabled)", (
        Panel("Admission reviews by outcome", "timeseries", (
            Query('sum by (outcome) (rate(kaico_admission_reviews_total[$__rate_interval]))',
                  "{{outcome}}"),),
            "AdmissionReviews kaico's webhook answered: allowed, warned (findings shown by kubectl "
            "apply), denied (a profile with enforcement Deny), unjudged (admitted because kaico "
            "could not judge: starting, a standby replica, or judging took too long).",
            unit="reqps", width=12),
        Panel("Admission latency", "timeseries", tuple(
            Query(f'histogram_quantile({q}, sum by (le) (rate(kaico_admission_duration_seconds_bucket'
                  '[$__rate_interval])))', f"p{round(q * 100)}") for q in (0.5, 0.99)),
            "Time kaico takes to answer one AdmissionReview (the API server's call adds TLS and "
            "serialisation; the webhook's timeout is 3 s, failurePolicy Ignore).", unit="s", width=12),
    )),
)


def _panel(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    targets = []
    for index, query in enumerate(panel.queries):
        target: dict[str, Any] = {"datasource": DATASOURCE, "expr": query.expr, "refId": chr(ord("A") + index)}
        if query.legend:
            target["legendFormat"] = query.legend
        if query.instant:
            target |= {"instant": True, "range": False, "format": "table"}
        targets.append(target)
    body: dict[str, Any] = {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": panel.height, "w": panel.width, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": panel.unit, **panel.defaults}, "overrides": []},
        "targets": targets,
    }
    if panel.kind == "table":
        # The table's series are labels plus one value; Grafana's own timestamp column is noise.
        body["transformations"] = [{"id": "organize", "options": {"excludeByName": {"Time": True}}}]
    if panel.kind == "bargauge":
        body["options"] = {"orientation": "horizontal", "displayMode": "gradient"}
    return body


def dashboard() -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    panel_id, y = 1, 0
    for row in ROWS:
        panels.append({"id": panel_id, "type": "row", "title": row.title, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        panel_id, y, x, row_height = panel_id + 1, y + 1, 0, 0
        for panel in row.panels:
            if x + panel.width > 24:
                x, y, row_height = 0, y + row_height, 0
            panels.append(_panel(panel, panel_id, x, y))
            panel_id, x, row_height = panel_id + 1, x + panel.width, max(row_height, panel.height)
        y += row_height
    return {
        "title": "kaico: Kubernetes AI conformance",
        "uid": "kaico-conformance",
        "description": "Conformance of model-serving workloads and of the cluster, from kaico's metrics.",
        "tags": ["kaico", "conformance", "kubernetes"],
        "editable": True,
        "graphTooltip": 1,
        "refresh": "1m",
        "schemaVersion": 39,
        "time": {"from": "now-24h", "to": "now"},
        "timezone": "",
        "templating": {"list": [
            {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
             "current": {}, "hide": 0, "refresh": 1},
            {"name": "profile", "label": "Profile", "type": "query", "datasource": DATASOURCE,
             "query": {"query": "label_values(kaico_targets, profile)", "refId": "profiles"},
             "definition": "label_values(kaico_targets, profile)",
             "includeAll": True, "multi": True, "allValue": ".*", "current": {}, "refresh": 2, "sort": 1},
        ]},
        "annotations": {"list": []},
        "panels": panels,
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"update {DASHBOARD.relative_to(REPO)}")
    parser.add_argument("--check", action="store_true", help="exit 1 with a diff when it is stale")
    args = parser.parse_args()
    if args.check:
        current = DASHBOARD.read_text() if DASHBOARD.exists() else ""
        if current != render():
            sys.stdout.writelines(difflib.unified_diff(
                current.splitlines(keepends=True), render().splitlines(keepends=True),
                str(DASHBOARD.relative_to(REPO)), "generated"))
            sys.exit(1)
        return
    if not args.write:
        print(render(), end="")
        return
    DASHBOARD.parent.mkdir(parents=True, exist_ok=True)
    DASHBOARD.write_text(render())
    print(f"updated {DASHBOARD.relative_to(REPO)}")


if __name__ == "__main__":
    main()
