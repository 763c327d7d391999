"""``kaico run`` against the real control plane: reports, writes only on change, never a write to
a watched workload, garbage collection, Events, profile status, metrics, namespace scoping."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kaico_dev.localcluster import LocalCluster
from operator_harness import Api, deployment_versions, free_port, wait_for, wait_steady
from operator_manifests import (
    POD_MONITOR_CRD,
    inference_service,
    pod_monitor,
    profile,
    vllm_companions,
    vllm_deployment,
)
from prometheus_client.parser import text_string_to_metric_families

from tests.dependencies import require_tool

pytestmark = pytest.mark.usefixtures("kaico_crds", "shared_crds")


@pytest.fixture
def profile_name(api: Api, namespace: str, start_operator: Any) -> Iterator[str]:
    """A profile scoped to the test's namespace. Torn down before the operator stops (it depends
    on ``start_operator``); the finalizer kopf's profile timer adds is removed first, so deletion
    never waits for an operator that is gone."""
    name = f"p-{namespace}"
    yield name
    api.cluster.kubectl("patch", "conformanceprofile", name, "--type=merge",
                        "-p", '{"metadata":{"finalizers":null}}', check=False)
    api.delete("conformanceprofile", name, "--wait=false")


def reports(api: Api, namespace: str) -> dict[str, dict[str, Any]]:
    listing = api.get("conformancereports", "-n", namespace) or {"items": []}
    return {item["spec"]["targetRef"]["name"]: item for item in listing["items"] if item.get("status")}


def wait_reports(api: Api, namespace: str, targets: set[str], timeout: float = 30) -> dict[str, dict]:
    return wait_for(lambda: (found := reports(api, namespace)) and targets <= set(found) and found,
                    timeout=timeout, message=f"reports for {sorted(targets)}")


def results(report: dict[str, Any]) -> dict[str, str]:
    return {r["check"]: r["result"] for r in report["status"]["results"]}


def condition(body: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in body["status"]["conditions"] if c["type"] == type_)


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text) for s in family.samples
    }


def total(text: str, name: str) -> float:
    return sum(v for (n, _), v in samples(text).items() if n == name)


def events(api: Api, namespace: str, target: str) -> list[dict[str, Any]]:
    listing = api.get("events", "-n", namespace, "--field-selector", f"involvedObject.name={target}")
    return [e for e in (listing or {"items": []})["items"] if e.get("source", {}).get("component") == "kaico"]


def cluster_report_content(api: Api, profile_name: str) -> Any:
    """The ClusterConformanceReport's requirement statuses and evidence (no timestamps)."""
    body = api.get("clusterconformancereport", profile_name) or {}
    status = body.get("status") or {}
    return [(r.get("id"), r.get("status"), r.get("evidence"), r.get("notes"))
            for r in status.get("requirements") or []], status.get("warnings")


def apply_workloads(api: Api, namespace: str, profile_name: str) -> None:
    api.apply(profile(profile_name, namespace), vllm_deployment(namespace), *vllm_companions(namespace),
              inference_service(namespace))


def test_reports_appear_with_their_content_printer_columns_events_and_profile_status(
    api: Api, namespace: str, start_operator, profile_name: str
) -> None:
    apply_workloads(api, namespace, profile_name)
    start_operator("--namespace", namespace)
    found = wait_reports(api, namespace, {"llama", "qwen"})

    llama, qwen = found["llama"], found["qwen"]
    deployment = api.get("deployment", "llama", "-n", namespace)
    assert llama["spec"]["targetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "llama",
                                          "uid": deployment["metadata"]["uid"]}
    assert llama["spec"]["profile"] == profile_name
    assert llama["metadata"]["ownerReferences"][0]["uid"] == deployment["metadata"]["uid"]
    assert llama["status"]["conformant"] is True, results(llama)
    assert results(llama)["gpu-limits"] == "pass" and results(llama)["scaling-autoscaler"] == "pass"
    assert llama["status"]["observedTargetGeneration"] == deployment["metadata"]["generation"]
    assert condition(llama, "Conformant")["reason"] == "ChecksPassed"

    assert qwen["status"]["conformant"] is False
    assert results(qwen)["scaling-disruption-budget"] == "fail"
    assert qwen["status"]["summary"]["fail"] >= 1
    assert condition(qwen, "Conformant")["status"] == "False"
    isvc = api.get("inferenceservice", "qwen", "-n", namespace)
    warning = wait_for(lambda: events(api, namespace, "qwen"), message="an Event on the InferenceService")
    assert warning[0]["reason"] == "NonConformant" and warning[0]["type"] == "Warning"
    assert warning[0]["involvedObject"]["uid"] == isvc["metadata"]["uid"]
    assert events(api, namespace, "llama") == []  # conformant from the start: nothing to announce

    table = api.kubectl("get", "conformancereports", "-n", namespace)
    header = table.splitlines()[0].split()
    assert header == ["NAME", "TARGET", "PROFILE", "CONFORMANT", "PASS", "FAIL", "WARN", "AGE"]
    rows = {line.split()[1]: line.split() for line in table.splitlines()[1:]}
    assert rows["llama"][2:4] == [profile_name, "true"] and rows["qwen"][3] == "false"
    assert "qwen" in api.kubectl("get", "kaico", "-n", namespace)  # the category lists them
    described = api.kubectl("describe", "conformancereport", "-n", namespace, qwen["metadata"]["name"])
    assert "scaling-disruption-budget" in described and "ChecksFailed" in described

    status = wait_for(lambda: (p := api.get("conformanceprofile", profile_name)) and p.get("status", {}).get(
        "nonConformant") == 1 and p["status"], message="profile counts")
    assert (status["conformant"], status["nonConformant"], status["observedGeneration"]) == (1, 1, 1)
    assert condition({"status": status}, "Ready")["status"] == "True"


# Besides llama and qwen, a steady namespace holds this many more GPU Deployments, scaled to zero:
# no pods, so the control plane's 16 GPUs stay free for the tests that follow (pending pods of a
# namespace being deleted would take them). bench/steady_writes.py measures 500 with their pods.
STEADY_EXTRA_TARGETS = 100


def scaled_to_zero(deployment: dict[str, Any]) -> dict[str, Any]:
    deployment["spec"]["replicas"] = 0
    return deployment


def test_a_steady_cluster_causes_zero_writes_and_watched_workloads_are_never_written(
    api: Api, namespace: str, start_operator, profile_name: str, local_cluster: LocalCluster
) -> None:
    apply_workloads(api, namespace, profile_name)
    local_cluster.kubectl("rollout", "status", "deployment/llama", "-n", namespace, "--timeout=60s")
    extra = [f"model-{i}" for i in range(STEADY_EXTRA_TARGETS)]
    api.apply(*[scaled_to_zero(vllm_deployment(namespace, name)) for name in extra])
    operator = start_operator("--namespace", namespace)
    wait_reports(api, namespace, {"llama", "qwen", *extra}, timeout=120)
    wait_for(lambda: (api.get("conformanceprofile", profile_name) or {}).get("status", {}).get("conformant") == 1,
             message="profile status")
    # Until kube-controller-manager has answered every new Deployment (its status changes its
    # report: endpoint-ready) and kaico's start-up burst is over.
    wait_steady(api, namespace, operator, quiet=3, timeout=120)

    def snapshot() -> dict[str, Any]:
        deployment = api.get("deployment", "llama", "-n", namespace)["metadata"]
        isvc = api.get("inferenceservice", "qwen", "-n", namespace)["metadata"]
        return {
            "reports": {n: r["metadata"]["resourceVersion"] for n, r in reports(api, namespace).items()},
            "profile": api.get("conformanceprofile", profile_name)["metadata"]["resourceVersion"],
            "deployments": deployment_versions(api, namespace),
            "targets": {
                name: (meta.get("annotations"), meta.get("labels"), meta.get("finalizers"),
                       meta["resourceVersion"], sorted(f["manager"] for f in meta.get("managedFields", [])))
                for name, meta in (("llama", deployment), ("qwen", isvc))
            },
        }

    before = snapshot()
    writes_before, repairs_before = operator.counter("kaico_writes_total", "operation"), operator.counter(
        "kaico_report_repairs_total", "reason")
    evaluations_before = operator.total("kaico_evaluations_total")
    # Several evaluations: a related object that changes nothing (a Service selecting other pods)
    # re-evaluates the namespace's workloads now, and the 10 s profile interval does it again.
    api.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "other", "namespace": namespace},
               "spec": {"selector": {"app": "other"}, "ports": [{"port": 80}]}})
    time.sleep(23)
    after = snapshot()

    targets = len(extra) + 2
    evaluations = operator.total("kaico_evaluations_total") - evaluations_before
    assert evaluations >= 2 * targets, f"expected every target evaluated twice or more, got {evaluations}"
    assert after == before
    assert operator.counter("kaico_writes_total", "operation") == writes_before
    assert operator.counter("kaico_report_repairs_total", "reason") == repairs_before
    for target_annotations, _, finalizers, _, managers in after["targets"].values():
        assert not any(k.startswith(("kopf.", "kaico")) for k in (target_annotations or {}))
        assert not finalizers and "kaico" not in managers


def test_editing_a_workload_flips_its_report_and_posts_events(
    api: Api, namespace: str, start_operator, profile_name: str
) -> None:
    apply_workloads(api, namespace, profile_name)
    start_operator("--namespace", namespace)
    passing = wait_reports(api, namespace, {"llama"})["llama"]
    assert passing["status"]["conformant"] is True
    since = condition(passing, "Conformant")["lastTransitionTime"]

    api.apply(vllm_deployment(namespace, readiness=False))
    failing = wait_for(lambda: (r := reports(api, namespace)["llama"])["status"]["conformant"] is False and r,
                       message="the report to turn non-conformant")
    assert results(failing)["endpoint-readiness-probe"] == "fail"
    assert condition(failing, "Conformant")["reason"] == "ChecksFailed"
    assert failing["status"]["observedTargetGeneration"] == 2
    assert wait_for(lambda: [e for e in events(api, namespace, "llama") if e["reason"] == "NonConformant"],
                    message="a NonConformant Event")

    api.apply(vllm_deployment(namespace, readiness=True))
    fixed = wait_for(lambda: (r := reports(api, namespace)["llama"])["status"]["conformant"] is True and r,
                     message="the report to turn conformant again")
    assert condition(fixed, "Conformant")["lastTransitionTime"] >= since
    assert wait_for(lambda: [e for e in events(api, namespace, "llama") if e["reason"] == "Conformant"],
                    message="a Conformant Event")

    api.delete("hpa", "llama", "-n", namespace)
    no_hpa = wait_for(lambda: (r := reports(api, namespace)["llama"]) and
                      results(r)["scaling-autoscaler"] != "pass" and r, message="the HPA removal to show")
    assert results(no_hpa)["scaling-autoscaler"] == "fail"


def test_deleting_the_target_deletes_its_report_within_seconds_whatever_the_interval(
    api: Api, namespace: str, start_operator, profile_name: str
) -> None:
    # A 300 s interval: the periodic pass cannot be what removes the report.
    api.apply(profile(profile_name, namespace, intervalSeconds=300), vllm_deployment(namespace),
              *vllm_companions(namespace), inference_service(namespace))
    start_operator("--namespace", namespace)
    wait_reports(api, namespace, {"llama", "qwen"})
    api.delete("deployment", "llama", "-n", namespace, "--wait=false")
    wait_for(lambda: "llama" not in reports(api, namespace), timeout=10,
             message="the deleted target's report to be deleted")
    assert "qwen" in reports(api, namespace)


def test_deleting_the_profile_deletes_its_reports(
    api: Api, namespace: str, start_operator, profile_name: str
) -> None:
    apply_workloads(api, namespace, profile_name)
    start_operator("--namespace", namespace)
    wait_reports(api, namespace, {"llama", "qwen"})
    assert api.delete("conformanceprofile", profile_name).returncode == 0
    # The target still owns each report, so garbage collection alone would keep them.
    wait_for(lambda: reports(api, namespace) == {}, timeout=60,
             message="the deleted profile's reports to be deleted")


def test_profiles_carry_no_finalizer_so_deleting_one_never_waits_for_kaico(
    api: Api, namespace: str, start_operator, profile_name: str
) -> None:
    apply_workloads(api, namespace, profile_name)
    operator = start_operator("--namespace", namespace)
    wait_reports(api, namespace, {"llama", "qwen"})
    time.sleep(12)  # past one periodic tick
    assert not api.get("conformanceprofile", profile_name)["metadata"].get("finalizers")
    operator.stop()
    result = api.delete("conformanceprofile", profile_name, "--timeout=20s")
    assert result.returncode == 0, result.stderr


def test_deleting_a_target_while_the_operator_is_stopped_completes_at_once(
    api: Api, namespace: str, start_operator, profile_name: str
) -> None:
    apply_workloads(api, namespace, profile_name)
    operator = start_operator("--namespace", namespace)
    wait_reports(api, namespace, {"llama", "qwen"})
    operator.stop()
    started = time.monotonic()
    for kind, name in (("deployment", "llama"), ("inferenceservice", "qwen")):
        result = api.cluster.kubectl("delete", kind, name, "-n", namespace, "--timeout=15s", check=False)
        assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 15
    assert api.get("inferenceservice", "qwen", "-n", namespace) is None


def test_restarting_the_operator_rewrites_nothing_that_was_already_right(
    api: Api, namespace: str, start_operator, profile_name: str
) -> None:
    apply_workloads(api, namespace, profile_name)
    first = start_operator("--namespace", namespace)
    wait_reports(api, namespace, {"llama", "qwen"})
    wait_for(lambda: (api.get("conformanceprofile", profile_name) or {}).get("status", {}).get("conformant") == 1,
             message="profile status")
    time.sleep(2)
    first.stop()
    before = {n: r["metadata"]["resourceVersion"] for n, r in reports(api, namespace).items()}
    cluster_before = cluster_report_content(api, profile_name)
    second = start_operator("--namespace", namespace)
    wait_for(lambda: total(second.metrics(), "kaico_evaluations_total") >= 2, message="evaluations")
    time.sleep(3)
    assert {n: r["metadata"]["resourceVersion"] for n, r in reports(api, namespace).items()} == before
    writes = {dict(labels)["operation"]: value for (name, labels), value in samples(second.metrics()).items()
              if name == "kaico_writes_total" and value}
    # The cluster report is about the whole cluster, which other tests' namespaces (still being
    # deleted in the background) can change meanwhile: a write there is right only when its
    # content changed. Everything about this test's workloads and profile must be untouched.
    cluster_writes = {op for op in writes if op.startswith("cluster-")}
    assert set(writes) == cluster_writes, writes
    if cluster_writes:
        assert cluster_report_content(api, profile_name) != cluster_before, writes


def test_an_invalid_profile_is_not_ready_and_says_why_without_crashing(
    api: Api, namespace: str, start_operator, profile_name: str
) -> None:
    api.apply(profile(profile_name, namespace, checks=[{"id": "gpu-limit"}]), vllm_deployment(namespace))
    operator = start_operator("--namespace", namespace)
    ready = wait_for(
        lambda: (p := api.get("conformanceprofile", profile_name)) and p.get("status") and condition(p, "Ready"),
        message="the Ready condition")
    assert (ready["status"], ready["reason"]) == ("False", "Invalid")
    assert "spec.checks[0].id: unknown check 'gpu-limit'" in ready["message"]
    operator.assert_alive()
    assert samples(operator.metrics())[("kaico_profile_ready", (("profile", profile_name),))] == 0
    assert reports(api, namespace) == {}

    api.apply(profile(profile_name, namespace))  # fixed: becomes ready and evaluates
    wait_for(lambda: condition(api.get("conformanceprofile", profile_name), "Ready")["status"] == "True",
             message="Ready=True after the fix")
    wait_reports(api, namespace, {"llama"})


def test_a_malformed_custom_resource_gives_an_error_result_and_no_crash(
    api: Api, namespace: str, start_operator, profile_name: str
) -> None:
    api.apply(profile(profile_name, namespace), inference_service(namespace, "broken", predictor={"minReplicas": 1}))
    operator = start_operator("--namespace", namespace)
    broken = wait_reports(api, namespace, {"broken"})["broken"]
    assert results(broken)["input-valid"] == "error"
    assert broken["status"]["summary"]["error"] >= 1 and broken["status"]["conformant"] is False
    operator.assert_alive()


def test_metrics_are_aggregates_by_default_lint_clean_and_per_target_on_request(
    api: Api, namespace: str, start_operator, profile_name: str
) -> None:
    apply_workloads(api, namespace, profile_name)
    operator = start_operator("--namespace", namespace)
    wait_reports(api, namespace, {"llama", "qwen"})
    text = wait_for(lambda: (t := operator.metrics()) and "kaico_targets{" in t and t, message="metrics")
    found = samples(text)
    key = ("kaico_targets", (("conformant", "true"), ("kind", "Deployment"), ("profile", profile_name)))
    assert found[key] == 1
    assert found[("kaico_check_results", (("check", "scaling-disruption-budget"), ("profile", profile_name),
                                          ("result", "fail"), ("severity", "medium")))] == 1
    assert total(text, "kaico_evaluation_duration_seconds_count") >= 2
    assert not any("namespace" in dict(labels) for _, labels in found)
    assert operator.get("/healthz")[0] == 200 and operator.get("/readyz")[0] == 200
    promtool = shutil.which("promtool")
    if promtool:
        lint = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
        assert lint.returncode == 0, lint.stdout + lint.stderr
    operator.stop()

    detailed = start_operator("--namespace", namespace, "--per-target-metrics")
    text = wait_for(lambda: (t := detailed.metrics()) and "kaico_target_conformant{" in t and t,
                    message="per-target metrics")
    assert samples(text)[("kaico_target_conformant", (("kind", "Deployment"), ("name", "llama"),
                                                      ("namespace", namespace), ("profile", profile_name)))] == 1
    # A deleted target's series disappear (gauges are rebuilt from the results in memory).
    api.delete("deployment", "llama", "-n", namespace)
    wait_for(lambda: 'name="llama"' not in detailed.metrics(), message="the series of the deleted target to go")


def test_namespace_scoping_one_or_several_namespaces(
    api: Api, namespace: str, start_operator, profile_name: str, local_cluster: LocalCluster
) -> None:
    other = f"{namespace[:50]}-b"
    local_cluster.create_namespace(other)
    try:
        api.apply(profile(profile_name, namespace, targets={"namespaces": [namespace, other]}),
                  vllm_deployment(namespace), vllm_deployment(other))
        only = start_operator("--namespace", namespace)
        wait_reports(api, namespace, {"llama"})
        time.sleep(2)
        assert reports(api, other) == {}
        only.stop()
        start_operator("--namespace", namespace, "--namespace", other)
        wait_reports(api, other, {"llama"})
    finally:
        local_cluster.delete_namespace(other)


def test_a_crd_installed_after_the_operator_started_is_watched(
    api: Api, namespace: str, start_operator, profile_name: str
) -> None:
    if api.get("crd", "podmonitors.monitoring.coreos.com") is not None:
        pytest.skip("the PodMonitor CRD is already installed in this cluster")
    apply_workloads(api, namespace, profile_name)
    start_operator("--namespace", namespace)
    before = wait_reports(api, namespace, {"llama"})["llama"]
    assert results(before)["endpoint-metrics"] == "skip"  # no monitor API: not judged
    try:
        api.apply(POD_MONITOR_CRD)
        api.cluster.kubectl("wait", "--for=condition=Established", "--timeout=30s",
                            "crd/podmonitors.monitoring.coreos.com")
        wait_for(lambda: _applied(api, pod_monitor(namespace)), timeout=30, message="the PodMonitor")
        after = wait_for(lambda: (r := reports(api, namespace)["llama"]) and
                         results(r)["endpoint-metrics"] == "pass" and r, timeout=60,
                         message="endpoint-metrics to pass once PodMonitors are watched")
        assert re.match(r"\d+", after["metadata"]["resourceVersion"])
    finally:
        api.delete("crd", "podmonitors.monitoring.coreos.com", "--wait=false")


def _applied(api: Api, document: dict[str, Any]) -> bool:
    try:
        api.apply(document)
        return True
    except Exception:  # noqa: BLE001 - the API may not serve the new kind for a moment
        return False


def test_a_real_prometheus_scrapes_the_operator(
    api: Api, namespace: str, start_operator, profile_name: str, tmp_path
) -> None:
    import json
    import urllib.parse
    import urllib.request

    binary = require_tool("prometheus", "apt-get install prometheus (Debian's package)")
    apply_workloads(api, namespace, profile_name)
    operator = start_operator("--namespace", namespace)
    wait_reports(api, namespace, {"llama", "qwen"})
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: kaico\n    static_configs: [{{targets: ['127.0.0.1:{operator.port}']}}]\n"
    )
    port = free_port()
    log = (tmp_path / "prometheus.log").open("w")
    prometheus = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    try:
        query = urllib.parse.urlencode({"query": f'kaico_targets{{profile="{profile_name}"}}'})

        def result() -> list[dict[str, Any]]:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/query?{query}", timeout=5) as r:
                    return json.loads(r.read())["data"]["result"]
            except OSError:
                return []

        series = wait_for(result, timeout=60, interval=1, message="Prometheus to scrape kaico_targets")
        kinds = {s["metric"]["kind"] for s in series}
        assert kinds == {"Deployment", "InferenceService"}
    finally:
        prometheus.terminate()
        prometheus.wait(timeout=30)


def test_an_hpa_change_re_evaluates_only_the_workload_it_scales(
    api: Api, namespace: str, start_operator, profile_name: str, local_cluster: LocalCluster
) -> None:
    apply_workloads(api, namespace, profile_name)
    # No periodic pass during the test: only the HPA change may cause evaluations.
    api.apply(profile(profile_name, namespace, intervalSeconds=300),
              vllm_deployment(namespace, "other"), *vllm_companions(namespace, "other"))
    for name in ("llama", "other"):
        local_cluster.kubectl("rollout", "status", f"deployment/{name}", "-n", namespace, "--timeout=60s")
    operator = start_operator("--namespace", namespace)
    wait_reports(api, namespace, {"llama", "other", "qwen"})
    time.sleep(3)  # past the start-up burst
    before = total(operator.metrics(), "kaico_evaluations_total")
    hpa = vllm_companions(namespace)[0]
    hpa["spec"]["maxReplicas"] = 5
    api.apply(hpa)
    wait_for(lambda: total(operator.metrics(), "kaico_evaluations_total") > before, message="an evaluation")
    time.sleep(1.5)  # anything else the change caused would have run by now (coalescing: 0.5 s)
    assert total(operator.metrics(), "kaico_evaluations_total") - before == 1
