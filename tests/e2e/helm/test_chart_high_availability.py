"""The chart's high-availability shape: 2+ replicas elect a leader through one Lease, with a
PodDisruptionBudget and a Role limited to that Lease by name."""

from __future__ import annotations

import pytest

from tests.e2e.helm.test_chart_render import find, operator_container


@pytest.mark.helm
def test_one_replica_has_no_lease_no_budget_and_no_election(render):
    objects = render()
    kinds = {o["kind"] for o in objects}
    assert not kinds & {"Lease", "PodDisruptionBudget", "Role"}
    assert not any(a.startswith("--leader") for a in operator_container(objects)["args"])


@pytest.mark.helm
def test_two_replicas_elect_a_leader_roll_and_keep_one_pod_through_disruptions(render):
    objects = render("replicaCount=2", "leaderElection.leaseDuration=20")
    deployment = find(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"] == {"type": "RollingUpdate",
                                              "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    container = operator_container(objects)
    lease = find(objects, "Lease")
    assert lease["metadata"] == {**lease["metadata"], "name": "kaico-leader", "namespace": "kaico-system"}
    assert "spec" not in lease  # the operator fills it; an upgrade never resets the holder
    args = container["args"]
    assert "--standalone" in args and "--leader-elect" in args
    assert "--leader-election-namespace=kaico-system" in args
    assert "--leader-election-name=kaico-leader" in args
    assert "--lease-duration=20" in args
    env = {e["name"]: e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") for e in container["env"]}
    assert env["POD_NAME"] == "metadata.name"
    budget = find(objects, "PodDisruptionBudget")
    assert budget["spec"]["minAvailable"] == 1
    assert budget["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]


@pytest.mark.helm
def test_the_lease_role_names_only_kaicos_lease_and_cannot_create(render):
    objects = render("replicaCount=3")
    role = find(objects, "Role", "kaico-leader-election")
    assert role["metadata"]["namespace"] == "kaico-system"
    assert role["rules"] == [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                              "resourceNames": ["kaico-leader"], "verbs": ["get", "update"]}]
    binding = find(objects, "RoleBinding", "kaico-leader-election")
    assert binding["roleRef"]["name"] == "kaico-leader-election"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "kaico", "namespace": "kaico-system"}]
    # No ClusterRole mentions Leases: the election's rights stop at the release namespace.
    for cluster_role in (o for o in objects if o["kind"] == "ClusterRole"):
        assert not any("leases" in r.get("resources", []) for r in cluster_role["rules"])


@pytest.mark.helm
def test_a_single_replica_may_still_elect(render):
    objects = render("leaderElection.enabled=true")
    assert "--leader-elect" in operator_container(objects)["args"]
    assert find(objects, "Lease") and not [o for o in objects if o["kind"] == "PodDisruptionBudget"]


@pytest.mark.helm
def test_bad_replica_values_are_refused(render_error):
    assert "replicaCount" in render_error("replicaCount=0")
    assert "leaseDuration" in render_error("leaderElection.leaseDuration=1")
