"""Two ``kaico run`` replicas with ``--leader-elect`` on the real control plane: one Lease, one
active replica; the standby writes nothing; kill -9 of the leader hands the Lease over within
the lease duration, and the new leader converges (a report deleted meanwhile comes back) without
duplicate reports and without rewriting what was already right; a clean stop releases the Lease."""

from __future__ import annotations

import json
import signal
import socket
import time
from typing import Any

import pytest
from operator_harness import Api, OperatorProcess, wait_for
from operator_manifests import inference_service, profile, vllm_companions, vllm_deployment
from test_operator import (
    apply_workloads,
    profile_name,  # noqa: F401 - the fixture
    reports,
    results,
    samples,
    total,
    wait_reports,
)

pytestmark = pytest.mark.usefixtures("kaico_crds", "shared_crds")

LEASE_DURATION = 6.0
RETRY_PERIOD = LEASE_DURATION / 7.5


def holder(api: Api, namespace: str) -> str | None:
    lease = api.get("lease", "kaico-ha", "-n", namespace) or {}
    return (lease.get("spec") or {}).get("holderIdentity")


def identity(operator: OperatorProcess) -> str:
    assert operator.process is not None
    return f"{socket.gethostname()}_{operator.process.pid}"


def writes(operator: OperatorProcess) -> dict[str, float]:
    return {dict(labels)["operation"]: value for (name, labels), value in samples(operator.metrics()).items()
            if name == "kaico_writes_total" and value}


def leader_gauge(operator: OperatorProcess) -> float:
    return total(operator.metrics(), "kaico_leader")


def test_the_standby_takes_over_within_the_lease_and_converges_without_duplicates(
    api: Api, namespace: str, start_operator: Any, profile_name: str  # noqa: F811
) -> None:
    args = ("--namespace", namespace, "--leader-elect", "--leader-election-namespace", namespace,
            "--leader-election-name", "kaico-ha", "--lease-duration", str(LEASE_DURATION))
    apply_workloads(api, namespace, profile_name)
    first = start_operator(*args)
    wait_for(lambda: holder(api, namespace) == identity(first), message="the first replica to lead")
    wait_reports(api, namespace, {"llama", "qwen"})
    # The results to compare after the takeover are those of a settled cluster: llama's pods
    # turn ready a while after its report first appears (a slow machine shows it).
    api.cluster.kubectl("wait", "--for=condition=Available", "deployment/llama", "-n", namespace,
                        "--timeout=60s")
    wait_for(lambda: (before := reports(api, namespace)) and time.sleep(2) is None
             and reports(api, namespace) == before, timeout=60, message="the reports to settle")
    second = start_operator(*args)  # ready (/readyz 200) as a standby
    assert leader_gauge(first) == 1 and leader_gauge(second) == 0
    expected = {name: results(report) for name, report in reports(api, namespace).items()}
    time.sleep(2 * RETRY_PERIOD + 1)
    # The standby watches nothing and writes nothing; the leader keeps its Lease.
    assert holder(api, namespace) == identity(first)
    assert writes(second) == {}
    assert total(second.metrics(), "kaico_evaluations_total") == 0

    kept = reports(api, namespace)["llama"]["metadata"]["resourceVersion"]
    assert first.process is not None
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(timeout=10)
    killed = time.monotonic()
    # No replica is active now: a report deleted meanwhile must come back from the new leader.
    api.delete("conformancereport", "-n", namespace, reports(api, namespace)["qwen"]["metadata"]["name"])
    wait_for(lambda: holder(api, namespace) == identity(second), timeout=LEASE_DURATION * 3,
             interval=0.2, message="the standby to take the Lease")
    takeover = time.monotonic() - killed
    print(f"takeover after kill -9: {takeover:.1f}s (lease duration {LEASE_DURATION:g}s)")
    # The standby judges expiry by its own clock from the last renewal it saw: at most the
    # lease duration after the leader's last renewal, plus one poll (and this test's polling).
    assert takeover <= LEASE_DURATION + 2 * RETRY_PERIOD + 2, takeover

    found = wait_reports(api, namespace, {"llama", "qwen"}, timeout=60)
    assert {name: results(report) for name, report in found.items()} == expected
    listing = api.get("conformancereports", "-n", namespace) or {"items": []}
    targets = [(i["spec"]["targetRef"]["name"], i["spec"]["profile"]) for i in listing["items"]]
    assert sorted(targets) == sorted(set(targets)) and len(targets) == 2  # no duplicates
    wait_for(lambda: leader_gauge(second) == 1, message="the new leader's gauge")
    time.sleep(3)
    # What the takeover needs and nothing more: the deleted report recreated, the other untouched.
    assert reports(api, namespace)["llama"]["metadata"]["resourceVersion"] == kept
    # Recreating one report is a create, its status, and the Event of its (new) verdict; the
    # cluster report may change with other tests' namespaces, so it is left out.
    made = {op: n for op, n in writes(second).items() if not op.startswith("cluster-")}
    assert made.get("create") == 1, made
    assert set(made) <= {"create", "update", "event"} and max(made.values()) == 1, made
    lease = api.get("lease", "kaico-ha", "-n", namespace)
    assert lease["spec"]["leaseTransitions"] >= 1

    # A clean stop gives the Lease up at once instead of letting it run out.
    second.stop()
    assert not holder(api, namespace)


def test_an_install_that_does_not_watch_all_of_a_profiles_namespaces_leaves_its_counts_alone(
    api: Api, namespace: str, start_operator: Any, profile_name: str  # noqa: F811
) -> None:
    """Two releases judging one profile: one watches both of the profile's namespaces, one only
    the (empty) second. The profile's counts and its ClusterConformanceReport are the covering
    install's; the other must not write its own partial count over them (the two would rewrite
    each other's without end)."""
    other = f"{namespace}-b"[:63]
    api.cluster.create_namespace(other, labels={"kaico.dev/test": "true"})
    try:
        api.apply(profile(profile_name, namespace, targets={"namespaces": [namespace, other]}),
                  vllm_deployment(namespace), *vllm_companions(namespace), inference_service(namespace))
        partial = start_operator("--namespace", other)
        covering = start_operator("--namespace", namespace, "--namespace", other)
        wait_reports(api, namespace, {"llama", "qwen"})
        status = wait_for(lambda: ((p := api.get("conformanceprofile", profile_name)) or {}).get("status", {})
                          .get("nonConformant") == 1 and p["status"], message="the profile's counts")
        assert (status["conformant"], status["nonConformant"]) == (1, 1)
        wait_for(lambda: api.get("clusterconformancereport", profile_name), message="the cluster report")
        time.sleep(3)

        def stored() -> tuple[Any, ...]:
            return (api.get("conformanceprofile", profile_name)["metadata"]["resourceVersion"],
                    api.get("clusterconformancereport", profile_name)["metadata"]["resourceVersion"],
                    writes(partial), writes(covering).get("profile-status"))

        before = stored()
        time.sleep(8)
        assert stored() == before
        # The partial install wrote nothing but (at most) the profile's validity, before the
        # covering one had; never a count and never the cluster report.
        assert set(writes(partial)) <= {"profile-status"}, writes(partial)
        assert "kaico_cluster_requirements{" not in partial.metrics()

        # A hand edit of the counts is put back by the covering install, and only by it.
        partial_writes = writes(partial)
        api.kubectl("patch", "conformanceprofile", profile_name, "--subresource=status", "--type=merge",
                    "-p", json.dumps({"status": {"conformant": 99}}))
        wait_for(lambda: api.get("conformanceprofile", profile_name)["status"]["conformant"] == 1,
                 timeout=20, message="the covering install to put the counts back")
        assert writes(partial) == partial_writes
        partial.assert_alive()
        covering.assert_alive()
    finally:
        api.cluster.delete_namespace(other)
