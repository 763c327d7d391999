"""ClusterConformanceReports: the facts that trigger a pass, the status written, the Conformant
condition, Events on transitions, writes only on change (also across a restart), the metric, and
when the active probes run (one background run, cached, only for the profiles that ask)."""

import asyncio
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from kaico.api.conventions import digest
from kaico.cluster.controller import ClusterReports
from kaico.cluster.reader import ReadError
from kaico.cluster.status import (
    ProbeRun,
    cluster_status,
    evaluation_from_status,
    probe_warnings,
    report_body,
    transition_events,
    unevaluated_status,
    workload_tallies,
)
from kaico.cluster.watch import CLUSTER_WATCHES, fact_of
from kaico.kube.client import Response
from kaico.runtime.handlers import profile_entry
from kaico.runtime.metrics import Metrics
from kaico.state import Results, TargetResult

from conformance.cluster import (
    ClusterInventory,
    InventoryClass,
    ProbeOutcome,
    ProbeResult,
    RequirementStatus,
    evaluate_cluster,
)
from conformance.cluster.inventory import CustomResourceDefinitionFact, GatewayClassFact

NOW = datetime(2026, 6, 1, tzinfo=UTC)
WATCH = {w.resource.plural: w for w in CLUSTER_WATCHES}
ALL_KNOWN = frozenset(c.value for c in InventoryClass)


def gateway_inventory(accepted: bool) -> ClusterInventory:
    crds = tuple(
        CustomResourceDefinitionFact(f"{p}.gateway.networking.k8s.io", "gateway.networking.k8s.io", k,
                                     ("v1",), True, True)
        for p, k in (("gatewayclasses", "GatewayClass"), ("gateways", "Gateway"), ("httproutes", "HTTPRoute"))
    )
    return ClusterInventory(
        known=ALL_KNOWN, server_version="v1.35.4",
        api_resources={"gateway.networking.k8s.io/v1": frozenset({"gatewayclasses", "gateways", "httproutes"})},
        crds=crds, gateway_classes=(GatewayClassFact("example", "example.com/gw", accepted),),
    )


def status_of(evaluation, requirement: str) -> RequirementStatus:
    return evaluation.result(requirement).status


# --- facts -------------------------------------------------------------------------------------


def node(heartbeat: str, ready: str = "True", gpus: str = "8") -> dict[str, Any]:
    return {"kind": "Node", "metadata": {"name": "gpu-0", "labels": {"kubernetes.io/os": "linux"}},
            "status": {"allocatable": {"cpu": "64", "nvidia.com/gpu": gpus},
                       "conditions": [{"type": "Ready", "status": ready, "lastHeartbeatTime": heartbeat}]}}


def test_a_node_heartbeat_is_no_change_but_readiness_and_accelerators_are():
    watch = WATCH["nodes"]
    base = fact_of(watch, node("t1"))
    assert fact_of(watch, node("t2")) == base
    assert fact_of(watch, node("t2", ready="False")) != base
    assert fact_of(watch, node("t2", gpus="4")) != base
    hash(base)  # facts are kept in a dict and compared: they must be hashable


def deployment(name: str, image: str, ready: int) -> dict[str, Any]:
    return {"kind": "Deployment", "metadata": {"name": name, "namespace": "kueue-system"},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "m", "image": image}]}}},
            "status": {"readyReplicas": ready, "observedGeneration": 7}}


def test_only_workloads_and_services_a_requirement_reads_are_facts():
    watch = WATCH["deployments"]
    assert fact_of(watch, deployment("llama", "vllm/vllm-openai:v0.11.0", 1)) is None
    kueue = fact_of(watch, deployment("kueue-controller-manager",
                                      "registry.k8s.io/kueue/kueue:v0.14.0", 0))
    assert kueue is not None
    assert fact_of(watch, deployment("kueue-controller-manager",
                                     "registry.k8s.io/kueue/kueue:v0.14.0", 1)) != kueue
    services = WATCH["services"]
    exporter = {"kind": "Service", "metadata": {"name": "nvidia-dcgm-exporter", "namespace": "gpu-operator",
                                                "labels": {"app": "nvidia-dcgm-exporter"}},
                "spec": {"ports": [{"name": "gpu-metrics", "port": 9400}]}}
    assert fact_of(services, exporter) is not None
    assert fact_of(services, {"kind": "Service", "metadata": {"name": "web", "namespace": "a"},
                              "spec": {"ports": [{"port": 80}]}}) is None


def test_top_level_fields_of_a_kopf_body_are_read():
    import kopf

    body = kopf.Body({"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass",
                      "metadata": {"name": "gvisor"}, "handler": "runsc"})
    assert "runsc" in json.dumps(fact_of(WATCH["runtimeclasses"], body))


def test_webhook_configurations_without_a_kind_in_the_body_still_give_facts():
    body = {"metadata": {"name": "kaico"}, "webhooks": [{"name": "v.kaico.dev", "rules": [{}],
                                                          "clientConfig": {"caBundle": "Zm9v"}}]}
    fact = fact_of(WATCH["validatingwebhookconfigurations"], body)
    assert fact and "ValidatingWebhookConfiguration" in json.dumps(fact)


# --- status and condition -------------------------------------------------------------------------


def test_status_has_the_engine_shape_summary_strings_and_a_conformant_condition():
    evaluation = evaluate_cluster(gateway_inventory(True), "1.35")
    status = cluster_status(evaluation, None, NOW)
    assert status["kubernetesVersion"] == "1.35" and status["clusterVersion"] == "v1.35.4"
    summary = status["summary"]
    assert summary["must"] == f"{summary['mustMet']}/{summary['mustTotal']}"
    assert summary["should"] == f"{summary['shouldMet']}/{summary['shouldTotal']}"
    assert {r["id"] for r in status["requirements"]} >= {"ai_inference", "dra_support"}
    assert set(status["requirements"][0]) == {"id", "category", "level", "status", "evidence", "notes"}
    (condition,) = status["conditions"]
    assert condition["type"] == "Conformant"
    assert condition["status"] == ("True" if evaluation.musts_met else "False")
    assert "MUST requirements not met" in condition["message"]


def test_the_condition_keeps_its_transition_time_until_the_status_flips():
    evaluation = evaluate_cluster(gateway_inventory(True), "1.35")
    first = cluster_status(evaluation, None, NOW)
    later = cluster_status(evaluation, first, NOW + timedelta(hours=1))
    assert later == first and digest(later) == digest(first)  # same content: no write
    unknown = unevaluated_status("1.20", "no requirements for 1.20", first, NOW + timedelta(hours=2))
    (condition,) = unknown["conditions"]
    assert (condition["status"], condition["reason"]) == ("Unknown", "NotEvaluated")
    assert condition["lastTransitionTime"] == "2026-06-01T02:00:00Z"
    assert unknown["requirements"] is None  # the merge patch removes a stale evaluation


def test_a_report_is_named_after_and_owned_by_its_profile():
    body = report_body("default", "uid-p", "1.35")
    assert body["metadata"]["name"] == "default"
    assert body["metadata"]["ownerReferences"][0]["uid"] == "uid-p"
    assert body["spec"] == {"profile": "default", "kubernetesVersion": "1.35"}
    assert "kubernetesVersion" not in report_body("default", "uid-p", None)["spec"]


# --- events -----------------------------------------------------------------------------------------


def test_events_first_only_for_unmet_requirements_then_one_per_transition():
    before = evaluate_cluster(gateway_inventory(False), "1.35")
    after = evaluate_cluster(gateway_inventory(True), "1.35")
    first = transition_events(None, before)
    assert first and all(kind == "Warning" for kind, _, _ in first)
    assert len(first) == sum(1 for r in before.results if not r.met)
    assert transition_events(before, before) == []
    (flip,) = transition_events(before, after)
    assert flip[:2] == ("Normal", "RequirementMet") and flip[2].startswith("ai_inference (MUST)")
    (back,) = transition_events(after, before)
    assert back[:2] == ("Warning", "RequirementNotMet")


def test_a_stored_status_reads_back_as_the_evaluation_it_came_from():
    evaluation = evaluate_cluster(gateway_inventory(True), "1.35")
    stored = json.loads(json.dumps(cluster_status(evaluation, None, NOW)))
    assert transition_events(evaluation_from_status(stored), evaluation) == []
    assert evaluation_from_status(None) is None


# --- workload tallies -------------------------------------------------------------------------------


def test_workload_tallies_count_targets_per_requirement_for_one_profile():
    from conformance.catalogue import catalogue

    check, spec = next((i, c) for i, c in catalogue().items() if c.requirement == "secure_accelerator_access")
    unrelated = next(i for i, c in catalogue().items() if c.requirement is None)
    results = [
        TargetResult("Deployment", "a", "one", "p", True, False, ((check, "high", "pass"), (unrelated, "high", "fail"))),
        TargetResult("Deployment", "a", "two", "p", False, False, ((check, "high", "fail"),)),
        TargetResult("Deployment", "a", "three", "other", False, False, ((check, "high", "fail"),)),
    ]
    tallies = workload_tallies(results, "p")
    assert set(tallies) == {spec.requirement}
    tally = tallies[spec.requirement]
    assert (tally.passing, tally.failing, tally.failing_checks) == (1, 1, (check,))


# --- the I/O half, with a fake API ------------------------------------------------------------------


class FakeApi:
    """A cluster with nothing but a version, and a store for kaico's reports."""

    def __init__(self, store: dict[str, dict[str, Any]] | None = None):
        self.store = store if store is not None else {}
        self.writes: list[str] = []
        self.reads = 0

    # ApiReader
    async def get_json(self, path: str, *, accept: str | None = None) -> dict[str, Any]:
        if path == "/version":
            return {"gitVersion": "v1.35.4"}
        if "/configmaps/" in path:
            raise ReadError(path, 404, "not found")
        return {"items": []}

    async def get_text(self, path: str) -> str:
        raise ReadError(path, 404, "not found")

    # KubeClient
    async def create(self, path: str, body: dict[str, Any], allowed=()) -> Response:
        if body["kind"] == "Event":
            self.writes.append(f"event {body['reason']}")
            return Response(201, body)
        key = f"{path}/{body['metadata']['name']}"
        if key in self.store:
            return Response(409, {})
        self.store[key] = {**body, "metadata": {**body["metadata"], "uid": "report-uid"}}
        self.writes.append("create")
        return Response(201, self.store[key])

    async def get(self, path: str, allowed=()) -> Response:
        self.reads += 1
        if path not in self.store:
            return Response(404, {})
        return Response(200, json.loads(json.dumps(self.store[path])))

    async def merge_patch(self, path: str, body: dict[str, Any], allowed=()) -> Response:
        if path.removesuffix("/status") not in self.store:
            return Response(404, {})
        if path.endswith("/status"):
            stored = self.store[path.removesuffix("/status")]
            stored["status"] = {k: v for k, v in body["status"].items() if v is not None}
            self.writes.append("status")
        else:
            stored = self.store[path]
            stored["spec"] = {k: v for k, v in body["spec"].items() if v is not None}
            self.writes.append("spec")
        return Response(200, json.loads(json.dumps(stored)))


def profile(version: str | None = None) -> Any:
    spec: dict[str, Any] = {"intervalSeconds": 10}
    if version:
        spec["kubernetesVersion"] = version
    return profile_entry({"apiVersion": "kaico.dev/v1alpha1", "kind": "ConformanceProfile",
                          "metadata": {"name": "default", "uid": "uid-p", "generation": 1}, "spec": spec})


def reports(api: FakeApi, results: Results | None = None, repairs: list[str] | None = None) -> ClusterReports:
    return ClusterReports(lambda: api, lambda: api, results or Results(), lambda: [profile()],
                          lambda: NOW, debounce_seconds=0.01,
                          on_repair=repairs.append if repairs is not None else None)


REPORT_PATH = "/apis/kaico.dev/v1alpha1/clusterconformancereports/default"


def test_a_hand_edited_cluster_report_is_judged_again_soon_and_written_back():
    api = FakeApi()
    repairs: list[str] = []
    cluster = reports(api, repairs=repairs)

    async def scenario():
        await cluster.run([profile()])
        right = json.loads(json.dumps(api.store[REPORT_PATH]))
        cluster.report_seen("default", right)  # our own write, back through the watch
        assert cluster._pending is None  # nothing to repair
        api.store[REPORT_PATH]["status"]["summary"]["mustMet"] = 99
        cluster.report_seen("default", json.loads(json.dumps(api.store[REPORT_PATH])))
        await cluster._pending  # a repair pass, scheduled by the edit
        return right

    right = asyncio.run(scenario())
    assert api.store[REPORT_PATH]["status"] == right["status"]
    assert repairs == ["edited"]


def test_a_cluster_report_lost_without_a_watch_event_is_created_again_after_a_resync():
    api = FakeApi()
    repairs: list[str] = []
    cluster = reports(api, repairs=repairs)

    async def scenario():
        await cluster.run([profile()])
        api.store.clear()  # its CRD deleted and created again; the watch said nothing
        api.writes.clear()
        cluster.resync()
        await cluster._pending

    asyncio.run(scenario())
    assert api.writes[:2] == ["create", "status"]
    assert not any(w.startswith("event") for w in api.writes)  # no requirement changed
    assert repairs == ["missing"]


def test_a_pass_creates_writes_once_and_a_restart_rewrites_nothing():
    api = FakeApi()
    first = reports(api)
    asyncio.run(first.run([profile()]))
    assert api.writes[:2] == ["create", "status"]
    assert all(w.startswith("event RequirementNotMet") for w in api.writes[2:]) and len(api.writes) > 2
    written = len(api.writes)
    asyncio.run(first.run([profile()]))
    assert len(api.writes) == written  # same cluster, same content: zero writes
    stored = api.store["/apis/kaico.dev/v1alpha1/clusterconformancereports/default"]
    assert stored["status"]["kubernetesVersion"] == "1.35"
    assert set(first.requirement_samples()) == {
        ("default", r["id"], r["level"], r["status"]) for r in stored["status"]["requirements"]
    }

    restarted = reports(api)  # a new process: nothing in memory, the report is stored
    reads = api.reads
    asyncio.run(restarted.run([profile()]))
    assert len(api.writes) == written
    assert api.reads == reads + 1  # one GET of the report, then nothing


def test_an_unknown_version_makes_the_profile_invalid_and_the_spec_follows_the_profile():
    unknown = profile("1.20")
    assert unknown.profile is None  # never judged: the profile is Ready=False instead
    assert any("kubernetesVersion" in p and "1.35" in p for p in unknown.error.problems)
    api = FakeApi()
    cluster = reports(api)
    asyncio.run(cluster.run([profile("1.36")]))
    stored = api.store["/apis/kaico.dev/v1alpha1/clusterconformancereports/default"]
    assert stored["spec"]["kubernetesVersion"] == stored["status"]["kubernetesVersion"] == "1.36"
    asyncio.run(cluster.run([profile()]))  # back to following the cluster
    assert "kubernetesVersion" not in stored["spec"]
    assert stored["status"]["conditions"][0]["status"] in ("True", "False")


def test_only_a_changed_fact_schedules_a_pass_and_listings_only_record():
    api = FakeApi()

    async def scenario() -> list[bool]:
        cluster = reports(api)
        key = ("", "nodes", "uid-1")
        fact = fact_of(WATCH["nodes"], node("t1"))
        outcomes = [
            cluster.object_changed(key, fact, listing=True),  # start-up listing
            cluster.object_changed(key, fact_of(WATCH["nodes"], node("t2")), listing=False),  # heartbeat
            cluster.object_changed(key, fact_of(WATCH["nodes"], node("t3", ready="False")), listing=False),
        ]
        await asyncio.sleep(0.2)  # the debounced pass runs
        return outcomes

    assert asyncio.run(scenario()) == [False, False, True]
    assert api.writes[:2] == ["create", "status"]


def test_the_metric_has_one_series_per_requirement_at_its_current_status():
    api = FakeApi()
    cluster = reports(api)
    asyncio.run(cluster.run([profile()]))
    metrics = Metrics(Results())
    metrics.cluster_samples = cluster.requirement_samples
    text = metrics.exposition().decode()
    lines = [line for line in text.splitlines() if line.startswith("kaico_cluster_requirements{")]
    evaluation = cluster.evaluations["default"]
    assert len(lines) == len(evaluation.results)
    assert f'requirement="ai_inference",status="{status_of(evaluation, "ai_inference").value}"' in text
    cluster.profile_deleted("default")
    assert "kaico_cluster_requirements{" not in metrics.exposition().decode()


# --- active probes: one background run, cached, shared by the profiles that ask ---------------------


GANG_PASSED = tuple(ProbeResult("gang_scheduling", f"gang-scheduling/{name}", ProbeOutcome.PASSED,
                                "scripted") for name in ("positive", "negative"))
REFUSED = (ProbeResult("gang_scheduling", "gang-scheduling/positive", ProbeOutcome.INCONCLUSIVE,
                       'creating Namespace kaico-probe-gang-1a2b3c: 403 namespaces is forbidden: '
                       'User "system:serviceaccount:kaico-system:kaico" cannot create resource'),)
REPORTS = "/apis/kaico.dev/v1alpha1/clusterconformancereports"


class ScriptedProbes:
    """A probe runner that counts its runs and returns scripted results. While ``hold`` is set a
    run stays in flight (until released, or until the operator's stop event ends it)."""

    def __init__(self, results: tuple[ProbeResult, ...] = GANG_PASSED):
        self.results = results
        self.runs = 0
        self.hold = threading.Event()
        self.stopped = False

    def __call__(self, inventory: ClusterInventory, stopping: threading.Event) -> tuple[ProbeResult, ...]:
        assert isinstance(inventory, ClusterInventory)
        self.runs += 1
        while self.hold.is_set():
            if stopping.wait(0.01):
                self.stopped = True
                return ()
        return self.results


def probe_profile(name: str, active: bool, interval: int = 60) -> Any:
    return profile_entry({"apiVersion": "kaico.dev/v1alpha1", "kind": "ConformanceProfile",
                          "metadata": {"name": name, "uid": f"uid-{name}", "generation": 1},
                          "spec": {"intervalSeconds": interval, "activeProbes": active}})


class ProbedCluster:
    """ClusterReports over the fake API with two profiles, one asking for probes, and a clock
    the test moves."""

    def __init__(self, runner: ScriptedProbes, interval: int = 60):
        self.api = FakeApi()
        self.now = NOW
        self.runner = runner
        self.entries = [probe_profile("probed", True, interval), probe_profile("plain", False)]
        self.reports = ClusterReports(lambda: self.api, lambda: self.api, Results(), lambda: self.entries,
                                      lambda: self.now, debounce_seconds=0.01, probe_runner=runner)

    def status(self, name: str) -> dict[str, Any]:
        return self.api.store[f"{REPORTS}/{name}"]["status"]

    def gang(self, name: str) -> dict[str, Any]:
        return next(r for r in self.status(name)["requirements"] if r["id"] == "gang_scheduling")

    async def settle(self) -> None:
        """Until the probe run and the pass it brings are over."""
        for _ in range(500):
            if not self.reports.probing:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the probe run did not end")


def test_a_probe_run_starts_in_the_background_and_its_end_judges_only_the_asking_profile():
    cluster = ProbedCluster(ScriptedProbes())

    async def scenario() -> None:
        await cluster.reports.run(cluster.entries)
        assert cluster.runner.runs <= 1 and cluster.reports.probing  # started, not awaited by the pass
        assert any("first active probe run is in progress" in w for w in cluster.status("probed")["warnings"])
        assert cluster.gang("probed")["status"] == "NotImplemented"  # passive: no gang scheduler
        await cluster.settle()

    asyncio.run(scenario())
    assert cluster.runner.runs == 1
    probed = cluster.gang("probed")
    assert probed["status"] == "Implemented"
    assert "Probe gang-scheduling/negative passed: scripted." in probed["notes"]
    assert "probe gang-scheduling/negative (passed)" in probed["evidence"]
    assert any(w.startswith("activeProbes: probe results of the run that ended at 2026-06-01T00:00:00Z")
               for w in cluster.status("probed")["warnings"])
    # The profile without activeProbes is judged passively, and says nothing of probes.
    plain = cluster.gang("plain")
    assert plain["status"] == "NotImplemented" and "Probe" not in plain["notes"]
    assert not any("activeProbes" in w for w in cluster.status("plain")["warnings"])


def test_cached_results_serve_every_pass_until_the_interval_then_one_refresh():
    cluster = ProbedCluster(ScriptedProbes(), interval=60)

    async def runs_after(*passes: Any) -> int:
        for one in passes:
            await one
        await cluster.settle()
        return cluster.runner.runs

    async def scenario() -> list[int]:
        runs = [await runs_after(cluster.reports.run(cluster.entries))]
        cluster.now = NOW + timedelta(seconds=59)
        runs.append(await runs_after(
            cluster.reports.run(cluster.entries),  # a watched change, within the interval
            cluster.reports.profile_changed(probe_profile("probed", True, 60)),
        ))
        cluster.now = NOW + timedelta(seconds=60)
        runs.append(await runs_after(cluster.reports.run([cluster.entries[1]])))  # plain only
        runs.append(await runs_after(cluster.reports.run(cluster.entries)))
        return runs

    assert asyncio.run(scenario()) == [1, 1, 1, 2]
    assert cluster.gang("probed")["status"] == "Implemented"  # cached results kept meanwhile
    assert any("ended at 2026-06-01T00:01:00Z" in w for w in cluster.status("probed")["warnings"])


def test_only_one_probe_run_is_in_flight_and_passes_meanwhile_do_not_wait_for_it():
    runner = ScriptedProbes()
    runner.hold.set()
    cluster = ProbedCluster(runner)

    async def scenario() -> tuple[int, bool]:
        for _ in range(3):
            await asyncio.wait_for(cluster.reports.run(cluster.entries), timeout=5)
            await asyncio.sleep(0.05)
        cluster.now = NOW + timedelta(hours=1)  # even when overdue
        await cluster.reports.run(cluster.entries)
        in_flight = (runner.runs, cluster.reports.probing)
        runner.hold.clear()
        await cluster.settle()
        return in_flight

    assert asyncio.run(scenario()) == (1, True)
    assert runner.runs == 1 and cluster.gang("probed")["status"] == "Implemented"


def test_a_profile_without_active_probes_never_starts_a_run():
    cluster = ProbedCluster(ScriptedProbes())

    async def scenario() -> None:
        await cluster.reports.run([cluster.entries[1]])
        await cluster.reports.profile_changed(cluster.entries[1])
        await asyncio.sleep(0.05)

    asyncio.run(scenario())
    assert cluster.runner.runs == 0 and not cluster.reports.probing


def test_stopping_ends_a_run_in_flight_and_writes_nothing_after_it():
    runner = ScriptedProbes()
    runner.hold.set()
    cluster = ProbedCluster(runner)

    async def scenario() -> int:
        await cluster.reports.run(cluster.entries)
        for _ in range(100):
            if runner.runs:
                break
            await asyncio.sleep(0.01)
        writes = len(cluster.api.writes)
        await cluster.reports.stop(timeout=5)
        assert not cluster.reports.probing
        await cluster.reports.run(cluster.entries)  # a late pass starts nothing
        return writes

    writes = asyncio.run(scenario())
    assert runner.stopped and runner.runs == 1
    assert len(cluster.api.writes) == writes  # the cut-short run brought no pass
    assert any("in progress" in w for w in cluster.status("probed")["warnings"])


def test_refused_probes_say_plainly_that_the_rbac_is_missing():
    cluster = ProbedCluster(ScriptedProbes(REFUSED))

    async def scenario() -> None:
        await cluster.reports.run(cluster.entries)
        await cluster.settle()

    asyncio.run(scenario())
    warnings = cluster.status("probed")["warnings"]
    assert any("403 Forbidden" in w and "activeProbes.rbac=true" in w for w in warnings), warnings
    # Inconclusive: the requirement keeps its passive status, with the refusal in its notes.
    gang = cluster.gang("probed")
    assert gang["status"] == "NotImplemented" and "403 namespaces is forbidden" in gang["notes"]
    assert probe_warnings(ProbeRun(GANG_PASSED, NOW))[1:] == []


def test_a_broken_probe_run_is_reported_and_retried_after_the_interval():
    runner = ScriptedProbes()
    calls = []

    def broken(inventory: ClusterInventory, stopping: threading.Event) -> tuple[ProbeResult, ...]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("scripted bug")
        return runner(inventory, stopping)

    cluster = ProbedCluster(runner)
    cluster.reports = ClusterReports(lambda: cluster.api, lambda: cluster.api, Results(),
                                     lambda: cluster.entries, lambda: cluster.now, probe_runner=broken)

    async def scenario() -> None:
        await cluster.reports.run(cluster.entries)
        await cluster.settle()
        assert any("failed (scripted bug)" in w for w in cluster.status("probed")["warnings"])
        await cluster.reports.run(cluster.entries)
        assert len(calls) == 1  # not before the interval
        cluster.now = NOW + timedelta(seconds=60)
        await cluster.reports.run(cluster.entries)
        await cluster.settle()

    asyncio.run(scenario())
    assert len(calls) == 2 and cluster.gang("probed")["status"] == "Implemented"
