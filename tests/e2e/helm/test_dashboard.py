"""The Grafana dashboard the chart ships: opt-in, labelled for Grafana's sidecar, generated from
hack/grafana_dashboard.py, every panel's PromQL accepted by promtool, and every metric it names
exported by a real `kaico run` (installed by the chart, running with the chart's token and flags).
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from chartlib import find
from test_chart_install import (
    GPU_DEPLOYMENT,
    deployment_args,
    fetch,
    helm_run,
    install,
    kubectl,
    operator_as,
    reports_for,
    service_account_kubeconfig,
    wait_for,
)

REPO = Path(__file__).resolve().parents[3]
# Grafana's variables in the expressions, and what promtool sees in their place.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$profile": ".*"}
METRIC = re.compile(r"\bkaico_[a-z_]+\b")


def generator():
    spec = importlib.util.spec_from_file_location("grafana_dashboard", REPO / "hack" / "grafana_dashboard.py")
    module = importlib.util.module_from_spec(spec)
    # Registered first: its dataclasses look their module up while being defined.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def dashboard_of(objects) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the ConfigMap, its parsed dashboard)."""
    config_map = find(objects, "ConfigMap", "kaico-dashboard")
    (key,) = config_map["data"]
    assert key.endswith(".json")
    return config_map, json.loads(config_map["data"][key])


def expressions(dashboard: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


def promql(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


@pytest.fixture(scope="module")
def dashboard(render) -> dict[str, Any]:
    return dashboard_of(render("grafana.enabled=true"))[1]


# --- rendering -------------------------------------------------------------------------------------


@pytest.mark.helm
def test_no_dashboard_unless_asked_for(render):
    assert not [o for o in render() if o["kind"] == "ConfigMap"]


@pytest.mark.helm
def test_the_configmap_carries_the_sidecar_label_and_folder_annotation(render):
    config_map, _ = dashboard_of(render("grafana.enabled=true"))
    assert config_map["metadata"]["namespace"] == "kaico-system"
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert config_map["metadata"]["annotations"] == {"grafana_folder": "kaico"}

    moved, _ = dashboard_of(render(
        "grafana.enabled=true", "grafana.namespace=monitoring", "grafana.folder=Platform",
        "grafana.folderAnnotation=k8s-sidecar-target-directory", "grafana.labels.team=ml",
        "grafana.annotations.owner=platform"))
    assert moved["metadata"]["namespace"] == "monitoring"
    assert moved["metadata"]["labels"]["team"] == "ml"
    assert moved["metadata"]["annotations"] == {
        "k8s-sidecar-target-directory": "Platform", "owner": "platform"}

    unfiled, _ = dashboard_of(render("grafana.enabled=true", "grafana.folder="))
    assert "annotations" not in unfiled["metadata"]


@pytest.mark.helm
def test_the_shipped_json_is_the_generated_dashboard(chart_dir, dashboard):
    module = generator()
    assert (chart_dir / "dashboards" / "kaico.json").read_text() == module.render(), (
        "charts/kaico/dashboards/kaico.json is stale: run `make chart`")
    assert dashboard == module.dashboard()


@pytest.mark.helm
def test_the_dashboard_has_the_panels_platform_teams_look_for(dashboard):
    titles = {p["title"] for p in dashboard["panels"]}
    assert {"Conformance by profile and kind", "Failing checks now", "Requirements met by level",
            "Evaluation latency", "Evaluations and errors", "Writes by operation",
            "Admission reviews by outcome", "Admission latency"} <= titles
    exprs = "\n".join(expressions(dashboard))
    assert 'level' in exprs and "kaico_evaluation_errors_total" in exprs
    # Every panel queries the datasource variable, so the dashboard works with any Prometheus.
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            assert panel["targets"], panel["title"]
    # Panels never overlap on Grafana's 24-column grid.
    cells: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        g = panel["gridPos"]
        assert g["x"] + g["w"] <= 24, panel["title"]
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not cells & mine, f"{panel['title']} overlaps another panel"
        cells |= mine


@pytest.mark.helm
def test_expressions_use_only_the_dashboards_variables(dashboard):
    defined = {f"${v['name']}" for v in dashboard["templating"]["list"]} | {"$__rate_interval"}
    assert set(GRAFANA_VARIABLES) <= defined
    for expr in expressions(dashboard):
        assert "$" not in promql(expr), expr


@pytest.mark.helm
def test_promtool_parses_every_panel_expression(promtool, dashboard, tmp_path):
    exprs = expressions(dashboard)
    # promtool parses PromQL in rule files: one recording rule per expression.
    rules = [{"record": f"kaico:dashboard:{i}", "expr": promql(e)} for i, e in enumerate(exprs)]
    (tmp_path / "dashboard-rules.yaml").write_text(
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    done = subprocess.run([promtool, "check", "rules", "dashboard-rules.yaml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in done.stdout


@pytest.mark.helm
def test_promtool_rejects_a_broken_expression(promtool, tmp_path):
    """The check above can fail: promtool does parse the expressions."""
    rules = [{"record": "kaico:dashboard:0", "expr": "sum by (profile (kaico_targets)"}]
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({"groups": [{"name": "d", "rules": rules}]}))
    done = subprocess.run([promtool, "check", "rules", "bad.yaml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode != 0


# --- against a real scrape -------------------------------------------------------------------------


def exported_names(exposition: str) -> tuple[set[str], set[str]]:
    """(series names with samples, series names declared) in a Prometheus text exposition. A
    labelled counter nothing has incremented yet is declared (`# TYPE x_total counter`) without
    samples; a histogram declares its _bucket, _sum and _count series."""
    sampled: set[str] = set()
    declared: set[str] = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            declared.add(name)
            if kind == "histogram":
                declared |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
        elif line and not line.startswith("#"):
            sampled.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return sampled, declared | sampled


@pytest.mark.cluster
@pytest.mark.helm
def test_every_metric_the_dashboard_names_is_exported_by_kaico_run(e2e_cluster, helm, dashboard, tmp_path):
    release, namespace, workloads = "dashboard", "kaico-dashboard", "dashboard-workloads"
    install(helm, e2e_cluster, release, namespace, "defaultProfile.name=dashboard",
            "grafana.enabled=true")
    e2e_cluster.create_namespace(workloads)
    try:
        e2e_cluster.apply([GPU_DEPLOYMENT], "-n", workloads)
        # The ConfigMap the sidecar would load is accepted and stored as rendered.
        stored = json.loads(kubectl(e2e_cluster, "-n", namespace, "get", "configmap",
                                    f"{release}-kaico-dashboard", "-o", "json").stdout)
        assert json.loads(stored["data"]["kaico.json"]) == dashboard
        kubeconfig = service_account_kubeconfig(e2e_cluster, namespace, f"{release}-kaico",
                                                tmp_path / "sa.kubeconfig")
        args = deployment_args(e2e_cluster, namespace, f"{release}-kaico")
        with operator_as(kubeconfig, args, tmp_path / "operator.log") as base:
            wait_for(lambda: reports_for(e2e_cluster, workloads, "llm", "dashboard"), 60, "the report")

            def scrape() -> str | None:
                status, text = fetch(f"{base}/metrics", e2e_cluster.admin_token)
                assert status == 200, text
                # The cluster evaluation runs after the workloads': wait for its series too.
                return text if "kaico_cluster_requirements{" in text else None

            exposition = wait_for(scrape, 90, "the cluster requirements' series")
    finally:
        kubectl(e2e_cluster, "delete", "namespace", workloads, "--wait=false", check=False)
        helm_run(helm, e2e_cluster, "uninstall", release, "-n", namespace, "--no-hooks", check=False)

    named = set(METRIC.findall("\n".join(expressions(dashboard))))
    named |= set(METRIC.findall(json.dumps(dashboard["templating"])))
    sampled, declared = exported_names(exposition)
    assert named - declared == set(), f"the dashboard names series kaico does not export:\n{exposition}"
    # A healthy run has data for every panel except the error rate and the admission reviews
    # (this install serves no webhook; the latency histogram has its empty buckets).
    assert named - sampled == {"kaico_evaluation_errors_total", "kaico_admission_reviews_total"}, exposition
