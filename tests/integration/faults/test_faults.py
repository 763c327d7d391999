"""Faults on the real control plane, and reports that come back to the truth after each.

One namespace, one profile (interval 300 s: no periodic pass during the suite), one ``kaico
run``, shared by the tests in this order. Each test injects a fault, then waits until every
target has exactly one report saying what it said before (or what the change makes it say) and
no report outlives its target, within ``CONVERGE_SECONDS``. The whole module takes about three
minutes, most of it the 60 s API server outage.
"""

from __future__ import annotations

import json
import time
import uuid

from fault_fleet import CONVERGE_SECONDS, TIMINGS, Fleet
from kaico.runtime.health import WATCH_DOWN_SECONDS
from operator_harness import wait_for, wait_steady
from operator_manifests import vllm_companions, vllm_deployment

OUTAGE_SECONDS = 60
KILL_BATCH = 240


def test_a_hand_edited_report_is_written_back_within_seconds(fleet: Fleet) -> None:
    repairs = fleet.metric("kaico_report_repairs_total", reason="edited")
    updates = fleet.metric("kaico_writes_total", operation="update")
    report = fleet.report("model-0")
    forged = not report["status"]["conformant"]
    started = time.monotonic()
    fleet.cluster.kubectl("patch", "conformancereport", report["metadata"]["name"], "-n", fleet.namespace,
                          "--subresource=status", "--type=merge", "-p",
                          json.dumps({"status": {"conformant": forged}}))
    took = fleet.converge("hand edit", started)
    assert took < 10
    assert fleet.metric("kaico_report_repairs_total", reason="edited") == repairs + 1
    assert fleet.metric("kaico_writes_total", operation="update") == updates + 1  # the repair only


def test_a_hand_deleted_report_is_created_again_within_seconds(fleet: Fleet) -> None:
    repairs = fleet.metric("kaico_report_repairs_total", reason="deleted")
    started = time.monotonic()
    fleet.api.delete("conformancereport", fleet.report("model-1")["metadata"]["name"], "-n", fleet.namespace)
    assert fleet.converge("hand delete", started) < 10
    assert fleet.metric("kaico_report_repairs_total", reason="deleted") == repairs + 1


def test_a_deleted_target_loses_its_report_within_seconds_with_a_300s_interval(fleet: Fleet) -> None:
    deletes = fleet.metric("kaico_writes_total", operation="delete")
    started = time.monotonic()
    fleet.api.delete("deployment", "model-7", "-n", fleet.namespace, "--wait=false")
    assert fleet.converge("target deleted", started) < 10
    # kaico deleted it (garbage collection may have been first: then kaico's DELETE found none).
    assert fleet.metric("kaico_writes_total", operation="delete") <= deletes + 1


def test_an_etcd_compaction_forces_a_410_and_a_report_lost_meanwhile_comes_back(fleet: Fleet) -> None:
    restarts = fleet.metric("kaico_watch_restarts_total", reason="expired")
    missing = fleet.metric("kaico_report_repairs_total", reason="missing")
    key = fleet.report_key("model-2")
    fleet.cluster.stop_component("kube-apiserver")
    # Behind the API server's back: no watch event will ever say this report is gone.
    assert fleet.cluster.etcd_delete(key) == 1
    fleet.cluster.compact_etcd()  # every resourceVersion kaico's watches hold is gone
    fleet.cluster.start_component("kube-apiserver")
    started = time.monotonic()
    fleet.converge("etcd compaction (410)", started)
    assert fleet.metric("kaico_watch_restarts_total", reason="expired") > restarts
    assert fleet.metric("kaico_report_repairs_total", reason="missing") == missing + 1


def test_targets_and_facts_deleted_or_created_again_in_a_watch_gap_are_followed(fleet: Fleet) -> None:
    """While kaico's watches are down, behind the API server's back: one target is created again
    under its name (a new uid), another is deleted, and the first one's autoscaler is deleted;
    then a compaction, so the watches must relist. A relist reports no deletion, yet the new
    object gets the report, the deleted one loses its report, and the autoscaler no longer
    counts."""
    namespace = fleet.namespace
    again, gone = vllm_deployment(namespace, "gap-again"), vllm_deployment(namespace, "gap-gone")
    for deployment in (again, gone):
        deployment["spec"]["replicas"] = 0  # no pods: nothing waits for the scarce fake GPUs
    autoscaler = next(c for c in vllm_companions(namespace, "gap-again") if c["kind"] == "HorizontalPodAutoscaler")
    fleet.api.apply(again, gone, autoscaler)
    wait_for(lambda: {"gap-again", "gap-gone"} <= set(fleet.reports()) and not fleet.problems(
        {"gap-again": None, "gap-gone": None}), timeout=CONVERGE_SECONDS, message="the gap targets' reports")
    # The autoscaler's own event may come after the target's first report.
    wait_for(lambda: dict(fleet.content(fleet.report("gap-again"))[2])["scaling-autoscaler"] == "pass",
             timeout=CONVERGE_SECONDS, message="the autoscaler to count")
    old_uid = fleet.uids()["gap-again"]
    new_uid = str(uuid.uuid4())
    fleet.cluster.stop_component("kube-apiserver")
    key = f"/registry/deployments/{namespace}/gap-again"
    stored = fleet.cluster.etcd_get(key)
    assert stored is not None and stored.count(old_uid.encode()) == 1
    fleet.cluster.etcd_put(key, stored.replace(old_uid.encode(), new_uid.encode()))  # same length
    assert fleet.cluster.etcd_delete(f"/registry/deployments/{namespace}/gap-gone") == 1
    assert fleet.cluster.etcd_delete(f"/registry/horizontalpodautoscalers/{namespace}/gap-again") == 1
    fleet.cluster.compact_etcd()
    fleet.cluster.start_component("kube-apiserver")
    started = time.monotonic()
    assert fleet.uids()["gap-again"] == new_uid
    fleet.converge("targets and facts changed in a watch gap", started, expected={"gap-again": None})
    wait_for(lambda: dict(fleet.content(fleet.report("gap-again"))[2])["scaling-autoscaler"] != "pass",
             timeout=CONVERGE_SECONDS, message="the deleted autoscaler to stop counting")
    TIMINGS["watch gap: targets and facts followed"] = round(time.monotonic() - started, 1)
    fleet.record_truth()


def test_reports_converge_after_the_api_server_is_down_for_a_minute(fleet: Fleet) -> None:
    """Down 60 s (kopf's retries give up after 54 s); a report deleted during the gap, and right
    after it a hand edit, a hand delete, a deleted target and a changed target."""
    lost_key = fleet.report_key("model-3")
    edited = fleet.report("model-4")
    deleted = fleet.report("model-5")["metadata"]["name"]
    assert fleet.operator is not None
    fleet.cluster.stop_component("kube-apiserver")
    went_down = time.monotonic()
    assert fleet.cluster.etcd_delete(lost_key) == 1
    readiness = []
    while time.monotonic() - went_down < OUTAGE_SECONDS:
        readiness.append((round(time.monotonic() - went_down), fleet.operator.get("/readyz")[0]))
        time.sleep(2)
    fleet.cluster.start_component("kube-apiserver")
    back, back_wall = time.monotonic(), time.time()
    # /readyz told the truth: ready at first, not ready once the watches were down too long.
    assert readiness[0][1] == 200, readiness
    assert all(code == 503 for seconds, code in readiness if seconds > WATCH_DOWN_SECONDS + 8), readiness

    fleet.cluster.kubectl("patch", "conformancereport", edited["metadata"]["name"], "-n", fleet.namespace,
                          "--subresource=status", "--type=merge", "-p",
                          json.dumps({"status": {"conformant": not edited["status"]["conformant"]}}))
    fleet.api.delete("conformancereport", deleted, "-n", fleet.namespace)
    fleet.api.delete("deployment", "model-6", "-n", fleet.namespace, "--wait=false")
    fleet.api.apply(vllm_deployment(fleet.namespace, "model-0", readiness=False))
    fleet.converge("API server down 60 s", back, expected={"model-0": None})
    wait_for(lambda: fleet.content(fleet.report("model-0"))[0] is False, timeout=CONVERGE_SECONDS,
             message="the changed target's report to turn non-conformant")
    fleet.api.apply(vllm_deployment(fleet.namespace, "model-0", readiness=True))
    fleet.converge("target changed back", time.monotonic())
    wait_for(lambda: fleet.operator.get("/readyz")[0] == 200, timeout=CONVERGE_SECONDS,
             message="/readyz to answer 200 again")
    assert fleet.metric("kaico_watch_down_seconds") == 0
    # The next faults start from a cluster at rest: the outage's effect on the nodes (leases that
    # lapsed, pods marked not ready, then ready again) is over, and every report says the truth.
    fleet.wait_nodes_recovered(back_wall)
    fleet.converge("nodes recovered from the outage", time.monotonic(), follow_readiness=True)
    fleet.record_truth()


def test_kill_9_mid_write_then_a_restart_completes_without_duplicates(fleet: Fleet) -> None:
    fleet.stop()
    fleet.cluster.kubectl("delete", "conformancereports", "--all", "-n", fleet.namespace)
    # Enough new targets that their writes take a few seconds, so the kill below lands in the
    # middle even when a loaded machine answers the test's polling late (30 were all written
    # before one poll saw the first). Scaled to zero: no pods, so no wait for the scarce GPUs.
    new = [f"batch-{i}" for i in range(KILL_BATCH)]
    batch = [vllm_deployment(fleet.namespace, name) for name in new]
    for deployment in batch:
        deployment["spec"]["replicas"] = 0
    fleet.api.apply(*batch)
    # The new Deployments' statuses first settle (kube-controller-manager answers each, kwok runs
    # the few pods that find a GPU): a report follows its target's status (endpoint-ready), so a
    # status that changed after the kill would be one more write the kill did not cause.
    wait_steady(fleet.api, fleet.namespace, None, quiet=3, timeout=60)
    operator = fleet.start(wait_ready=False)
    # Its own counter says the first report was created at once (a listing through kubectl takes
    # long enough for every report to be written meanwhile).
    written = wait_for(lambda: operator.get("/metrics")[0] == 200 and operator.counter(
        "kaico_writes_total", "operation").get("create", 0), timeout=60, interval=0.05,
        message="the first reports to be written")
    operator.kill()
    at_kill = fleet.settled_reports()
    assert len(at_kill) < len(fleet.uids()), f"killed too late: {written} reports written"
    started = time.monotonic()
    fleet.start()
    fleet.converge("kill -9 mid-write", started, expected={name: None for name in new})
    creates = fleet.metric("kaico_writes_total", operation="create")
    updates = fleet.metric("kaico_writes_total", operation="update")
    without_status = sum(1 for found in at_kill.values() for r in found if not r.get("status"))
    missing = len(fleet.uids()) - len(at_kill)
    # Only what the kill left undone: a create and a status per missing report, a status per
    # report created without one. Nothing already right is written again.
    assert creates == missing
    assert updates == missing + without_status
    TIMINGS["kill -9 writes"] = int(creates + updates)
    fleet.record_truth()


def test_reports_come_back_at_once_after_their_crds_are_deleted_and_created_again(fleet: Fleet) -> None:
    from tests.integration.conftest import install_kaico_crds

    for crd in ("conformancereports.kaico.dev", "clusterconformancereports.kaico.dev"):
        fleet.cluster.kubectl("delete", "crd", crd, "--timeout=60s")
    install_kaico_crds(fleet.cluster)
    started = time.monotonic()
    fleet.converge("CRDs deleted and created again", started)
    wait_for(lambda: fleet.api.get("clusterconformancereport", fleet.profile), timeout=CONVERGE_SECONDS,
             message="the ClusterConformanceReport to come back")
    TIMINGS["CRDs: cluster report back"] = round(time.monotonic() - started, 1)
