"""The chart's opt-in RBAC for the active probes (`activeProbes.rbac`) and their image: exactly
the rules the probes need, bound only when asked for, and an operator running with the chart's
own token probes with them (and, without them, says plainly that it was refused)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from chartlib import find
from test_chart_install import (
    can_i,
    deployment_args,
    get_json,
    helm_run,
    install,
    operator_as,
    service_account_kubeconfig,
    wait_for,
)

# What kaico/cluster_probes.py creates and reads, and nothing more: pods are deleted with their
# namespace, Job pods by the garbage collector, claim templates with their namespace.
PROBE_RULES = [
    {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["create", "delete"]},
    {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["get"]},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "get", "list"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "get", "delete"]},
    {"apiGroups": ["resource.k8s.io"], "resources": ["resourceclaimtemplates"], "verbs": ["create"]},
]


def probe_image_args(objects) -> list[str]:
    (container,) = find(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    return [a for a in container["args"] if a.startswith("--probe-image")]


# --- rendering ------------------------------------------------------------------------------------


@pytest.mark.helm
def test_the_probes_role_is_rendered_only_when_asked_for_with_exactly_the_probes_rules(render):
    default = render()
    assert not [o for o in default if o["metadata"]["name"].endswith("-probes")]
    objects = render("activeProbes.rbac=true")
    assert find(objects, "ClusterRole", "kaico-probes")["rules"] == PROBE_RULES
    binding = find(objects, "ClusterRoleBinding", "kaico-probes")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                  "name": "kaico-probes"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "kaico",
                                    "namespace": "kaico-system"}]
    # Every run uses fresh namespaces: bound cluster-wide even when only some are watched.
    scoped = render("activeProbes.rbac=true", "operator.watchNamespaces={serving}")
    assert find(scoped, "ClusterRoleBinding", "kaico-probes")["roleRef"]["name"] == "kaico-probes"
    # No RBAC from the chart at all: none for the probes either.
    assert not [o for o in render("activeProbes.rbac=true", "rbac.create=false")
                if o["kind"] in ("ClusterRole", "ClusterRoleBinding")]


@pytest.mark.helm
def test_the_probe_image_is_a_flag_of_the_operator(render, render_error):
    assert probe_image_args(render()) == ["--probe-image=busybox:1.36"]
    mirrored = render("activeProbes.image=registry.internal/mirror/busybox:1.36")
    assert probe_image_args(mirrored) == ["--probe-image=registry.internal/mirror/busybox:1.36"]
    assert "activeProbes" in render_error("activeProbes.enabled=true")  # unknown key
    assert "activeProbes" in render_error("activeProbes.image=")


# --- on the API server ----------------------------------------------------------------------------

PROBES_USER = "system:serviceaccount:kaico-probes:probes-kaico"
PLAIN_USER = "system:serviceaccount:kaico-noprobes:noprobes-kaico"
PROBE_WRITES = [
    ("create", "namespaces"),
    ("delete", "namespaces"),
    ("create", "pods", "-n", "team-a"),
    ("get", "pods", "-n", "team-a", "--subresource=log"),
    ("list", "pods", "-n", "team-a"),
    ("get", "serviceaccounts", "-n", "team-a"),
    ("create", "jobs.batch", "-n", "team-a"),
    ("delete", "jobs.batch", "-n", "team-a"),
    ("create", "resourceclaimtemplates.resource.k8s.io", "-n", "team-a"),
]


@pytest.fixture(scope="module")
def probe_releases(e2e_cluster, helm) -> Iterator[None]:
    """A release with `activeProbes.rbac=true` and one with the default (off)."""
    install(helm, e2e_cluster, "probes", "kaico-probes", "defaultProfile.enabled=false",
            "activeProbes.rbac=true")
    install(helm, e2e_cluster, "noprobes", "kaico-noprobes", "defaultProfile.enabled=false")
    yield
    for release, namespace in (("probes", "kaico-probes"), ("noprobes", "kaico-noprobes")):
        helm_run(helm, e2e_cluster, "uninstall", release, "-n", namespace, "--no-hooks",
                 check=False)


@pytest.mark.cluster
@pytest.mark.helm
def test_only_the_release_that_asks_may_create_the_probes_objects(e2e_cluster, probe_releases):
    for verb, resource, *where in PROBE_WRITES:
        assert can_i(e2e_cluster, PROBES_USER, verb, resource, *where), (verb, resource)
        assert not can_i(e2e_cluster, PLAIN_USER, verb, resource, *where), (verb, resource)
    # Nothing beyond what the probes do, even with the value on.
    for verb, resource, *where in (
        ("delete", "pods", "-n", "team-a"),
        ("create", "pods", "-n", "team-a", "--subresource=exec"),
        ("update", "jobs.batch", "-n", "team-a"),
        ("patch", "namespaces"),
        ("list", "secrets", "-n", "team-a"),
        ("create", "serviceaccounts", "-n", "team-a"),
        ("create", "deployments.apps", "-n", "team-a"),
        ("create", "resourceclaims.resource.k8s.io", "-n", "team-a"),
    ):
        assert not can_i(e2e_cluster, PROBES_USER, verb, resource, *where), (verb, resource)


def probed_profile(name: str) -> dict[str, Any]:
    return {"apiVersion": "kaico.dev/v1alpha1", "kind": "ConformanceProfile",
            "metadata": {"name": name}, "spec": {"activeProbes": True, "intervalSeconds": 600}}


def requirement(report: dict[str, Any], requirement_id: str) -> dict[str, Any]:
    return next(r for r in report["status"]["requirements"] if r["id"] == requirement_id)


def report_with(cluster, name: str, predicate) -> dict[str, Any] | None:
    got = cluster.kubectl("get", "clusterconformancereport", name, "-o", "json", check=False)
    if got.returncode != 0:
        return None
    report = json.loads(got.stdout)
    return report if report.get("status", {}).get("requirements") and predicate(report) else None


def probe_namespaces(cluster) -> list[str]:
    return get_json(cluster, "namespaces", "-l", "kaico.dev/probe=true")["items"]


@pytest.mark.cluster
@pytest.mark.helm
@pytest.mark.timeout(600)
def test_the_operator_probes_with_exactly_the_charts_permissions(
    e2e_cluster, probe_releases, tmp_path
):
    """`kaico run` with each release's token and flags (the pod's identity): refused and saying
    so without `activeProbes.rbac`, probing with no refusal at all with it."""
    name = "chart-probes"
    e2e_cluster.apply([probed_profile(name)])
    fast = ["--probe-timeout=15", "--gang-negative-window=10"]
    try:
        plain_args = deployment_args(e2e_cluster, "kaico-noprobes", "noprobes-kaico")
        kubeconfig = service_account_kubeconfig(
            e2e_cluster, "kaico-noprobes", "noprobes-kaico", tmp_path / "noprobes.kubeconfig"
        )
        with operator_as(kubeconfig, [*plain_args, *fast], tmp_path / "noprobes.log"):
            refused = wait_for(lambda: report_with(e2e_cluster, name, lambda r: any(
                "403 Forbidden" in w for w in r["status"]["warnings"])), 120, "the refusal")
        assert any("activeProbes.rbac=true" in w for w in refused["status"]["warnings"])
        assert "403" in requirement(refused, "gang_scheduling")["notes"]

        args = deployment_args(e2e_cluster, "kaico-probes", "probes-kaico")
        assert "--probe-image=busybox:1.36" in args
        kubeconfig = service_account_kubeconfig(
            e2e_cluster, "kaico-probes", "probes-kaico", tmp_path / "probes.kubeconfig"
        )
        log = tmp_path / "probes.log"
        with operator_as(kubeconfig, [*args, *fast], log):
            report = wait_for(lambda: report_with(e2e_cluster, name, lambda r: "Probe gang-scheduling/"
                                                  "negative" in requirement(r, "gang_scheduling")["notes"]),
                              240, "the probe results")
        text = log.read_text()
        assert "forbidden" not in text.lower() and " 403" not in text, text[-3000:]
        gang = requirement(report, "gang_scheduling")
        assert "Probe gang-scheduling/positive passed" in gang["notes"], gang
        assert "probe gang-scheduling/negative (failed)" in gang["evidence"]
        assert not any("403" in w for w in report["status"]["warnings"])
        wait_for(lambda: probe_namespaces(e2e_cluster) == [], 180, "the probe namespaces to go")
    finally:
        e2e_cluster.kubectl("delete", "conformanceprofile", name, "--wait=false", check=False)
