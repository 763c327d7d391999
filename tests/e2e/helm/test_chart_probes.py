"""The chart's opt-in rights for the active probes (`activeProbes.rbac`) and their image: exactly
the rules the probes need, confined by a ValidatingAdmissionPolicy and Pod Security `restricted`
to the namespaces kaico creates, proven as the chart's own ServiceAccount (`kubectl auth can-i`
and server-side dry runs); and an operator running with the chart's own token probes with them
(and, without them, says plainly that it was refused)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from chartlib import find, run_helm
from kaico.cluster.probes import (
    PROBE_NAMESPACE_LABELS,
    ProbeOptions,
    _claim_template,
    _gang_job,
    _probe_container,
    _probe_pod,
)
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

# Cluster-wide: only namespaces (the policy confines them to kaico-probe-*), RoleBindings (the
# policy: only of the role below, to kaico, in such namespaces) and `bind` on that one role.
PROBE_RULES = [
    {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["create", "delete"]},
    {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"], "verbs": ["create"]},
    {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"],
     "resourceNames": ["kaico-probe-namespace"], "verbs": ["bind"]},
]
# What kaico/cluster/probes.py creates and reads inside a probe namespace, and nothing more:
# pods are deleted with their namespace, Job pods by the garbage collector, claim templates
# with their namespace. Bound by kaico itself, per namespace, never by the chart.
NAMESPACE_RULES = [
    {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["get"]},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "get", "list"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "get", "delete"]},
    {"apiGroups": ["resource.k8s.io"], "resources": ["resourceclaimtemplates"], "verbs": ["create"]},
]


def probe_args(objects) -> list[str]:
    (container,) = find(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    return [a for a in container["args"] if a.startswith("--probe-")]


# --- rendering ------------------------------------------------------------------------------------


@pytest.mark.helm
def test_the_probes_roles_and_policy_are_rendered_only_when_asked_for(render, render_error):
    default = render()
    assert not [o for o in default if "-probe" in o["metadata"]["name"]]
    assert probe_args(default) == ["--probe-image=busybox:1.36"]
    objects = render("activeProbes.rbac=true")
    assert find(objects, "ClusterRole", "kaico-probes")["rules"] == PROBE_RULES
    assert find(objects, "ClusterRole", "kaico-probe-namespace")["rules"] == NAMESPACE_RULES
    binding = find(objects, "ClusterRoleBinding", "kaico-probes")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                  "name": "kaico-probes"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "kaico",
                                    "namespace": "kaico-system"}]
    # The namespace role is bound by kaico in each probe namespace, never by the chart.
    assert not [o for o in objects if o["kind"] in ("RoleBinding", "ClusterRoleBinding")
                and o["roleRef"]["name"] == "kaico-probe-namespace"]
    assert "--probe-role=kaico-probe-namespace" in probe_args(objects)
    policy = find(objects, "ValidatingAdmissionPolicy", "kaico-probes")
    assert policy["spec"]["failurePolicy"] == "Fail"
    (condition,) = policy["spec"]["matchConditions"]
    assert condition["expression"] == "request.userInfo.username == 'system:serviceaccount:kaico-system:kaico'"
    policy_binding = find(objects, "ValidatingAdmissionPolicyBinding", "kaico-probes")
    assert policy_binding["spec"] == {"policyName": "kaico-probes", "validationActions": ["Deny"]}
    # Every run uses fresh namespaces: bound cluster-wide even when only some are watched.
    scoped = render("activeProbes.rbac=true", "operator.watchNamespaces={serving}")
    assert find(scoped, "ClusterRoleBinding", "kaico-probes")["roleRef"]["name"] == "kaico-probes"
    # No RBAC from the chart at all: none for the probes either, and no role to bind.
    bare = render("activeProbes.rbac=true", "rbac.create=false")
    assert not [o for o in bare if o["kind"] in ("ClusterRole", "ClusterRoleBinding",
                                                 "ValidatingAdmissionPolicy")]
    assert probe_args(bare) == ["--probe-image=busybox:1.36"]


@pytest.mark.helm
def test_the_probes_rights_are_refused_where_no_admission_policy_can_confine_them(helm, chart_dir):
    done = run_helm(helm, "template", "kaico", str(chart_dir), "--kube-version", "1.29.0",
                    "--set", "activeProbes.rbac=true", check=False)
    assert done.returncode != 0 and "ValidatingAdmissionPolicy" in done.stderr, done.stderr


@pytest.mark.helm
def test_the_probe_image_is_a_flag_of_the_operator(render, render_error):
    mirrored = render("activeProbes.image=registry.internal/mirror/busybox:1.36")
    assert probe_args(mirrored) == ["--probe-image=registry.internal/mirror/busybox:1.36"]
    assert "activeProbes" in render_error("activeProbes.enabled=true")  # unknown key
    assert "activeProbes" in render_error("activeProbes.image=")


# --- on the API server ----------------------------------------------------------------------------

PROBES_USER = "system:serviceaccount:kaico-probes:probes-kaico"
PLAIN_USER = "system:serviceaccount:kaico-noprobes:noprobes-kaico"
NAMESPACE_ROLE = "probes-kaico-probe-namespace"


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


def dry_run_as(cluster, user: str, obj: dict[str, Any], verb: str = "create"):
    """`kubectl create|delete --dry-run=server --as=USER`: what admission and RBAC say."""
    if verb == "create":
        return cluster.kubectl("create", "--dry-run=server", f"--as={user}", "-f", "-",
                               input=json.dumps(obj), check=False)
    where = ["-n", obj["metadata"]["namespace"]] if obj["metadata"].get("namespace") else []
    return cluster.kubectl("delete", obj["kind"].lower(), obj["metadata"]["name"], *where,
                           "--dry-run=server", f"--as={user}", check=False)


def denied(done) -> str:
    assert done.returncode != 0 and "forbidden" in done.stderr.lower(), (done.stdout, done.stderr)
    return done.stderr


def allowed(done) -> str:
    assert done.returncode == 0 and "(server dry run)" in done.stdout, done.stderr
    return done.stdout


def namespace(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, **({"labels": labels} if labels else {})}}


def host_pod(namespace_name: str) -> dict[str, Any]:
    """The pod an attacker steering kaico would want: privileged, on the host, with / mounted."""
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "host", "namespace": namespace_name},
            "spec": {"hostNetwork": True, "hostPID": True,
                     "containers": [{"name": "c", "image": "busybox:1.36",
                                     "securityContext": {"privileged": True},
                                     "volumeMounts": [{"name": "root", "mountPath": "/host"}]}],
                     "volumes": [{"name": "root", "hostPath": {"path": "/"}}]}}


def role_binding(namespace_name: str, role: str, account: str = "probes-kaico",
                 account_namespace: str = "kaico-probes") -> dict[str, Any]:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "kaico-probe", "namespace": namespace_name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": account_namespace}]}


@pytest.fixture(scope="module")
def probe_namespace(e2e_cluster, probe_releases) -> Iterator[str]:
    """A namespace as kaico's probes make it (labels and RoleBinding created as kaico, for real)."""
    name = "kaico-probe-rbac"
    # The policy is enforced once the API server has loaded it: wait for its first denial.
    wait_for(lambda: "ValidatingAdmissionPolicy" in dry_run_as(
        e2e_cluster, PROBES_USER, namespace("not-a-probe")).stderr, 60, "the probes policy")
    allowed(dry_run_as(e2e_cluster, PROBES_USER, namespace(name, PROBE_NAMESPACE_LABELS)))
    e2e_cluster.kubectl("create", f"--as={PROBES_USER}", "-f", "-",
                        input=json.dumps(namespace(name, PROBE_NAMESPACE_LABELS)))
    e2e_cluster.kubectl("create", f"--as={PROBES_USER}", "-f", "-",
                        input=json.dumps(role_binding(name, NAMESPACE_ROLE)))
    wait_for(lambda: can_i(e2e_cluster, PROBES_USER, "create", "pods", "-n", name), 30,
             "the RoleBinding to take effect")
    yield name
    e2e_cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.mark.cluster
@pytest.mark.helm
def test_the_probes_identity_cannot_touch_what_it_did_not_create(e2e_cluster, probe_namespace):
    user = PROBES_USER
    e2e_cluster.create_namespace("probes-victim")
    # The attack of issue 11: a privileged host pod in kube-system, deleting any namespace.
    assert "pods" in denied(dry_run_as(e2e_cluster, user, host_pod("kube-system")))
    assert not can_i(e2e_cluster, user, "create", "pods", "-n", "kube-system")
    assert not can_i(e2e_cluster, user, "create", "jobs.batch", "-n", "kube-system")
    assert not can_i(e2e_cluster, user, "get", "pods", "-n", "kube-system", "--subresource=log")
    assert not can_i(e2e_cluster, user, "list", "pods", "-A")
    stderr = denied(dry_run_as(e2e_cluster, user, namespace("probes-victim"), verb="delete"))
    assert "kaico may delete only namespaces labelled kaico.dev/probe=true" in stderr
    denied(dry_run_as(e2e_cluster, user, namespace("kube-system"), verb="delete"))
    # Namespaces it may create: kaico-probe-*, labelled, Pod Security restricted; nothing else.
    denied(dry_run_as(e2e_cluster, user, namespace("team-b")))
    denied(dry_run_as(e2e_cluster, user, namespace("team-b", PROBE_NAMESPACE_LABELS)))
    denied(dry_run_as(e2e_cluster, user, namespace("kaico-probe-x", {"kaico.dev/probe": "true"})))
    # RoleBindings: only the probe role, only to itself, only in probe namespaces.
    assert "labelled kaico.dev/probe=true" in denied(
        dry_run_as(e2e_cluster, user, role_binding("kube-system", NAMESPACE_ROLE)))
    assert "attempting to grant RBAC permissions" in denied(
        dry_run_as(e2e_cluster, user, role_binding(probe_namespace, "admin")))
    assert "only to itself" in denied(dry_run_as(
        e2e_cluster, user, role_binding(probe_namespace, NAMESPACE_ROLE, "intruder", "team-b")))
    # Inside its namespace: Pod Security restricted refuses the host pod too.
    assert "PodSecurity" in denied(dry_run_as(e2e_cluster, user, host_pod(probe_namespace)))
    # Nothing beyond what the probes do, even there; and nothing at all for the plain release.
    ns = ("-n", probe_namespace)
    for verb, resource, *where in (
        ("delete", "pods", *ns),
        ("create", "pods", *ns, "--subresource=exec"),
        ("update", "jobs.batch", *ns),
        ("patch", "namespaces"),
        ("get", "secrets", *ns),
        ("list", "secrets", "-A"),
        ("create", "serviceaccounts", *ns),
        ("create", "deployments.apps", *ns),
        ("patch", "deployments.apps", "-n", "probes-victim"),
        ("create", "resourceclaims.resource.k8s.io", *ns),
        ("create", "roles.rbac.authorization.k8s.io", *ns),
        ("bind", "clusterroles.rbac.authorization.k8s.io/admin"),
        ("escalate", "clusterroles.rbac.authorization.k8s.io"),
    ):
        assert not can_i(e2e_cluster, user, verb, resource, *where), (verb, resource)
    for verb, resource, *where in (("create", "namespaces"), ("create", "pods", *ns),
                                   ("create", "rolebindings.rbac.authorization.k8s.io", *ns)):
        assert not can_i(e2e_cluster, PLAIN_USER, verb, resource, *where), (verb, resource)


@pytest.mark.cluster
@pytest.mark.helm
def test_the_probes_own_pods_and_jobs_are_admitted_in_their_namespace(e2e_cluster, probe_namespace):
    """The pods and Jobs kaico's probes build pass Pod Security `restricted` and the policy."""
    options = ProbeOptions()
    pods = [
        _probe_pod("granted", [_probe_container("probe", options.image, True, "device-plugin")],
                   "device-plugin", None),
        _probe_pod("shared", [_probe_container("authorized", options.image, True, "dra"),
                              _probe_container("unauthorized", options.image, False, "dra")],
                   "dra", None),
    ]
    for obj in (*pods, _gang_job("gang", 2, options), _claim_template()):
        obj["metadata"]["namespace"] = probe_namespace
        allowed(dry_run_as(e2e_cluster, PROBES_USER, obj))
    for verb, resource in (("get", "pods"), ("list", "pods"), ("get", "serviceaccounts"),
                           ("delete", "jobs.batch")):
        assert can_i(e2e_cluster, PROBES_USER, verb, resource, "-n", probe_namespace), (verb, resource)
    assert can_i(e2e_cluster, PROBES_USER, "get", "pods", "-n", probe_namespace, "--subresource=log")


@pytest.mark.cluster
@pytest.mark.helm
def test_a_gang_namespace_the_user_labels_still_admits_no_host_pod(e2e_cluster, probe_namespace):
    """`--gang-namespace` is the user's namespace (no Pod Security label of kaico's): once the
    user labels it and binds the probe role there, the policy alone still refuses host pods."""
    name = "probes-gangs"
    e2e_cluster.create_namespace(name, labels={"kaico.dev/probe": "true"})
    e2e_cluster.apply([role_binding(name, NAMESPACE_ROLE)])
    wait_for(lambda: can_i(e2e_cluster, PROBES_USER, "create", "pods", "-n", name), 30,
             "the RoleBinding to take effect")
    stderr = denied(dry_run_as(e2e_cluster, PROBES_USER, host_pod(name)))
    assert "never privileged" in stderr and "ValidatingAdmissionPolicy" in stderr
    job = _gang_job("gang", 2, ProbeOptions())
    job["metadata"]["namespace"] = name
    allowed(dry_run_as(e2e_cluster, PROBES_USER, job))
    privileged_job = json.loads(json.dumps(job))
    privileged_job["spec"]["template"]["spec"]["hostNetwork"] = True
    assert "never privileged" in denied(dry_run_as(e2e_cluster, PROBES_USER, privileged_job))
    e2e_cluster.kubectl("delete", "namespace", name, "--wait=false")


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
    """The namespaces kaico's probes created (not those the tests here label themselves)."""
    items = get_json(cluster, "namespaces", "-l", "kaico.dev/probe=true")["items"]
    return [n["metadata"]["name"] for n in items
            if n["metadata"]["name"].startswith(("kaico-probe-access-", "kaico-probe-gang-"))]


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
        assert f"--probe-role={NAMESPACE_ROLE}" in args
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
