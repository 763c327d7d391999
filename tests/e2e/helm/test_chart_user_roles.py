"""App teams read their own reports, and editors manage their own ConformanceWaivers, through
Kubernetes' built-in `view` and `edit` roles: the chart's aggregated ClusterRoles, rendered and
then checked on the local control plane (whose kube-controller-manager aggregates them) with
`kubectl auth can-i --as` a namespace user and real `kubectl create --as`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from chartlib import find
from test_chart_install import can_i, helm_run, install, kubectl, wait_for

REPORTS = "conformancereports.kaico.dev"
CLUSTER_REPORTS = "clusterconformancereports.kaico.dev"
WAIVERS = "conformancewaivers.kaico.dev"


# --- rendering ------------------------------------------------------------------------------------


@pytest.mark.helm
def test_the_user_roles_carry_the_aggregation_labels_and_only_report_rules(render):
    objects = render()
    view = find(objects, "ClusterRole", "kaico-view")
    edit = find(objects, "ClusterRole", "kaico-edit")
    assert view["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-view"] == "true"
    assert edit["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-edit"] == "true"
    assert view["rules"] == [{"apiGroups": ["kaico.dev"],
                              "resources": ["conformancereports", "clusterconformancereports",
                                            "conformancewaivers"],
                              "verbs": ["get", "list", "watch"]}]
    # Users never create or change a report: it is what kaico observed. Waivers are theirs.
    assert edit["rules"] == [
        {"apiGroups": ["kaico.dev"], "resources": ["conformancereports"],
         "verbs": ["delete", "deletecollection"]},
        {"apiGroups": ["kaico.dev"], "resources": ["conformancewaivers"],
         "verbs": ["create", "update", "patch", "delete", "deletecollection"]},
    ]
    # Nothing binds them: the built-in roles' bindings do.
    assert not [o for o in objects if o["kind"].endswith("Binding")
                and o["roleRef"]["name"] in ("kaico-view", "kaico-edit")]


@pytest.mark.helm
@pytest.mark.parametrize("off", ["rbac.aggregateToDefaultRoles=false", "rbac.create=false"])
def test_the_user_roles_can_be_left_out(render, off):
    names = {o["metadata"]["name"] for o in render(off) if o["kind"] == "ClusterRole"}
    assert not names & {"kaico-view", "kaico-edit"}


# --- on the control plane -------------------------------------------------------------------------

TEAM = "team-reports"
OTHER = "team-other"
VIEWER, EDITOR, CLUSTER_VIEWER, NOBODY = "alice", "bob", "carol", "dave"


@pytest.fixture(scope="module")
def user_roles_release(e2e_cluster, helm) -> Iterator[str]:
    """The chart installed; alice bound to `view` and bob to `edit` in TEAM, carol to `view`
    cluster-wide, dave to nothing."""
    for namespace in (TEAM, OTHER):
        e2e_cluster.create_namespace(namespace)
    install(helm, e2e_cluster, "userroles", "kaico-userroles", "defaultProfile.enabled=false")
    kubectl(e2e_cluster, "-n", TEAM, "create", "rolebinding", "alice-view", "--clusterrole=view",
            f"--user={VIEWER}")
    kubectl(e2e_cluster, "-n", TEAM, "create", "rolebinding", "bob-edit", "--clusterrole=edit",
            f"--user={EDITOR}")
    kubectl(e2e_cluster, "create", "clusterrolebinding", "carol-view", "--clusterrole=view",
            f"--user={CLUSTER_VIEWER}")
    # The aggregation controller copies the rules into the built-in roles asynchronously.
    wait_for(lambda: can_i(e2e_cluster, EDITOR, "delete", REPORTS, "-n", TEAM), 60,
             "the built-in edit role to aggregate kaico's rules")
    try:
        yield "userroles"
    finally:
        kubectl(e2e_cluster, "delete", "clusterrolebinding", "carol-view", check=False)


@pytest.mark.cluster
@pytest.mark.helm
def test_a_namespace_viewer_reads_the_reports_of_that_namespace_only(e2e_cluster, user_roles_release):
    for verb in ("get", "list", "watch"):
        assert can_i(e2e_cluster, VIEWER, verb, REPORTS, "-n", TEAM), verb
    for verb in ("create", "update", "patch", "delete"):
        assert not can_i(e2e_cluster, VIEWER, verb, REPORTS, "-n", TEAM), verb
    assert not can_i(e2e_cluster, VIEWER, "list", REPORTS, "-n", OTHER)
    # A RoleBinding never reaches the cluster-scoped report.
    assert not can_i(e2e_cluster, VIEWER, "list", CLUSTER_REPORTS)
    assert not can_i(e2e_cluster, NOBODY, "list", REPORTS, "-n", TEAM)


@pytest.mark.cluster
@pytest.mark.helm
def test_a_namespace_editor_may_delete_but_never_write_a_report(e2e_cluster, user_roles_release):
    assert can_i(e2e_cluster, EDITOR, "list", REPORTS, "-n", TEAM)
    assert can_i(e2e_cluster, EDITOR, "delete", REPORTS, "-n", TEAM)
    assert can_i(e2e_cluster, EDITOR, "deletecollection", REPORTS, "-n", TEAM)
    for verb in ("create", "update", "patch"):
        assert not can_i(e2e_cluster, EDITOR, verb, REPORTS, "-n", TEAM), verb
    assert not can_i(e2e_cluster, EDITOR, "patch", REPORTS, "--subresource=status", "-n", TEAM)
    assert not can_i(e2e_cluster, EDITOR, "delete", REPORTS, "-n", OTHER)


@pytest.mark.cluster
@pytest.mark.helm
def test_a_cluster_wide_viewer_reads_the_cluster_report_too(e2e_cluster, user_roles_release):
    assert can_i(e2e_cluster, CLUSTER_VIEWER, "list", REPORTS, "-A")
    assert can_i(e2e_cluster, CLUSTER_VIEWER, "get", CLUSTER_REPORTS)
    assert not can_i(e2e_cluster, CLUSTER_VIEWER, "delete", CLUSTER_REPORTS)


@pytest.mark.cluster
@pytest.mark.helm
def test_a_viewer_really_lists_the_reports(e2e_cluster, user_roles_release):
    """Not only can-i: the API server serves alice the list in her namespace and refuses it in
    another."""
    listed = e2e_cluster.kubectl("-n", TEAM, "get", REPORTS, f"--as={VIEWER}", check=False)
    assert listed.returncode == 0, listed.stderr
    refused = e2e_cluster.kubectl("-n", OTHER, "get", REPORTS, f"--as={VIEWER}", check=False)
    assert refused.returncode != 0 and "Forbidden" in refused.stderr, refused.stderr


def waiver(name: str) -> str:
    return f"""
apiVersion: kaico.dev/v1alpha1
kind: ConformanceWaiver
metadata: {{name: {name}}}
spec:
  checks: [gpu-limits]
  target: {{kind: Deployment, name: llm}}
  reason: vendor image sets no GPU limit, TEAM-7
  expiresAt: "2099-01-01T00:00:00Z"
"""


@pytest.mark.cluster
@pytest.mark.helm
def test_a_namespace_editor_writes_waivers_in_that_namespace_only(e2e_cluster, user_roles_release):
    """bob (`edit` in TEAM, as a member of a group too) really creates, edits and deletes a
    ConformanceWaiver there; the API server refuses it in another namespace, and refuses alice
    (`view`) and a user without a binding."""
    as_bob = (f"--as={EDITOR}", "--as-group=team-reports-devs", "--as-group=system:authenticated")
    created = e2e_cluster.kubectl("-n", TEAM, "create", "-f", "-", *as_bob,
                                  input=waiver("vendor-image"), check=False)
    assert created.returncode == 0, created.stderr
    patched = e2e_cluster.kubectl("-n", TEAM, "patch", WAIVERS, "vendor-image", "--type=merge",
                                  "-p", '{"spec":{"reason":"vendor image, TEAM-8"}}', *as_bob,
                                  check=False)
    assert patched.returncode == 0, patched.stderr
    refused = e2e_cluster.kubectl("-n", OTHER, "create", "-f", "-", *as_bob,
                                  input=waiver("vendor-image"), check=False)
    assert refused.returncode != 0 and "Forbidden" in refused.stderr, refused.stderr
    for user in (VIEWER, NOBODY):
        denied = e2e_cluster.kubectl("-n", TEAM, "create", "-f", "-", f"--as={user}",
                                     input=waiver(f"by-{user}"), check=False)
        assert denied.returncode != 0 and "Forbidden" in denied.stderr, (user, denied.stderr)
    assert can_i(e2e_cluster, VIEWER, "list", WAIVERS, "-n", TEAM)
    # The editor still cannot write a report, although he waives its checks.
    assert not can_i(e2e_cluster, EDITOR, "create", REPORTS, "-n", TEAM)
    assert not can_i(e2e_cluster, EDITOR, "patch", REPORTS, "--subresource=status", "-n", TEAM)
    deleted = e2e_cluster.kubectl("-n", TEAM, "delete", WAIVERS, "vendor-image", *as_bob,
                                  check=False)
    assert deleted.returncode == 0, deleted.stderr


@pytest.mark.cluster
@pytest.mark.helm
def test_uninstalling_takes_the_access_away(e2e_cluster, helm, user_roles_release):
    helm_run(helm, e2e_cluster, "uninstall", user_roles_release, "-n", "kaico-userroles",
             "--no-hooks")
    for role in ("userroles-kaico-view", "userroles-kaico-edit"):
        assert kubectl(e2e_cluster, "get", "clusterrole", role, check=False).returncode, role
    # Other releases of this session's tests may still extend `view`; only without them is the
    # access gone altogether.
    others = kubectl(e2e_cluster, "get", "clusterroles", "-o", "name", "-l",
                     "app.kubernetes.io/name=kaico,rbac.authorization.k8s.io/aggregate-to-view=true"
                     ).stdout.split()
    if not others:
        wait_for(lambda: not can_i(e2e_cluster, VIEWER, "list", REPORTS, "-n", TEAM), 60,
                 "the built-in view role to drop kaico's rules")
        assert not can_i(e2e_cluster, EDITOR, "delete", REPORTS, "-n", TEAM)
