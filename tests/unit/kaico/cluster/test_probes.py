"""The operator's transport for the active probes: requests made from the probe thread run as
coroutines on the operator's event loop, answer like the CLI's transport, stay bounded in time,
and a stopping operator ends the probes at their next pause."""

import asyncio
import json
import threading
import time

import pytest
from kaico.cli import build_parser
from kaico.cluster import probes as cluster_probes
from kaico.cluster.probes import LoopProbeApi, ProbeError, ProbeOptions, refused

from conformance.cluster import ProbeOutcome, ProbeResult


def on_a_loop(respond, probe):
    """Run ``probe(api)`` in a worker thread while the loop serves ``respond`` coroutines."""

    async def scenario():
        loop_thread = threading.get_ident()
        seen = []

        async def request(method, path, body, accept):
            seen.append((method, path, body, accept, threading.get_ident() == loop_thread))
            return await respond(method, path)

        api = LoopProbeApi(asyncio.get_running_loop(), request)
        return await asyncio.to_thread(probe, api), seen

    return asyncio.run(scenario())


def test_requests_run_on_the_loop_and_answers_are_read_like_the_clients():
    async def respond(method, path):
        if path.endswith("/log?container=probe"):
            return 200, "RESULT: ACCELERATOR_COUNT=1\n"
        if method == "POST":
            return 403, '{"message": "namespaces is forbidden"}'
        return 200, '{"kind": "Pod", "status": {"phase": "Succeeded"}}'

    def probe(api):
        pod = api.get("/api/v1/namespaces/n/pods/granted")
        log = api.call("GET", "/api/v1/namespaces/n/pods/granted/log?container=probe", accept="text/plain")
        with pytest.raises(ProbeError, match="creating Namespace x: 403 namespaces is forbidden"):
            api.create("/api/v1/namespaces", {"kind": "Namespace", "metadata": {"name": "x"}})
        return pod, log

    (pod, log), seen = on_a_loop(respond, probe)
    assert pod == {"kind": "Pod", "status": {"phase": "Succeeded"}}
    assert log == (200, "RESULT: ACCELERATOR_COUNT=1\n")
    assert [s[-1] for s in seen] == [True, True, True]  # every request ran on the loop's thread
    assert seen[1][3] == "text/plain" and seen[2][2] == {"kind": "Namespace", "metadata": {"name": "x"}}


def test_a_failed_or_unanswered_request_ends_the_probe_not_the_operator(monkeypatch):
    monkeypatch.setattr(cluster_probes, "REQUEST_TIMEOUT", 0.2)
    cancelled = []

    async def respond(method, path):
        if path.startswith("/slow"):
            try:
                await asyncio.sleep(5)
            except asyncio.CancelledError:
                cancelled.append(path)
                raise
        raise ConnectionResetError("connection reset by peer")

    def probe(api):
        errors = []
        for path in ("/slow?watch=1", "/api/v1/namespaces/x"):
            try:
                api.call("GET", path)
            except ProbeError as error:
                errors.append(str(error))
        return errors

    errors, _ = on_a_loop(respond, probe)
    assert errors == ["GET /slow: no answer within 0.2s", "GET /api/v1/namespaces/x: connection reset by peer"]
    assert cancelled == ["/slow?watch=1"]  # the abandoned request does not linger on the loop


def test_a_stopping_operator_ends_the_probes_at_their_next_pause():
    stopping = threading.Event()
    api = LoopProbeApi(asyncio.new_event_loop(), None, stopping)
    started = time.monotonic()
    api.pause(0.01)  # not stopping: an ordinary sleep
    stopping.set()
    with pytest.raises(ProbeError, match="shutting down"):
        api.pause(30)
    assert time.monotonic() - started < 5


def test_a_403_on_creating_probe_objects_counts_as_refused():
    forbidden = ProbeResult("gang_scheduling", "gang-scheduling/positive", ProbeOutcome.INCONCLUSIVE,
                            "creating Namespace kaico-probe-gang-1: 403 namespaces is forbidden")
    timeout = ProbeResult("gang_scheduling", "gang-scheduling/positive", ProbeOutcome.INCONCLUSIVE,
                          "the granted pod did not finish within 120s (device-plugin)")
    assert refused((timeout, forbidden)) and not refused((timeout,))


def test_kaico_run_takes_the_probe_flags_kaico_cluster_has():
    args = build_parser().parse_args(["run", "--probe-image", "registry.local/busybox:1.36",
                                      "--probe-timeout", "15", "--gang-namespace", "gangs",
                                      "--gang-job-label", "kueue.x-k8s.io/queue-name=q",
                                      "--gang-negative-window", "10"])
    assert ProbeOptions.from_args(args) == ProbeOptions(
        image="registry.local/busybox:1.36", timeout=15, gang_namespace="gangs",
        gang_job_labels={"kueue.x-k8s.io/queue-name": "q"}, gang_negative_window=10)
    assert ProbeOptions.from_args(build_parser().parse_args(["run"])) == ProbeOptions()
    assert ProbeOptions.from_args(build_parser().parse_args(["cluster"])) == ProbeOptions()


class StopsWhileTheNamespaceIsNew(cluster_probes.ProbeApi):
    """The namespace is created; the operator starts stopping before its ServiceAccount exists."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def send(self, method, path, body, accept):
        self.calls.append((method, path))
        if method == "POST":
            return 201, b"{}"
        if path.endswith("/serviceaccounts/default"):
            self.stopping.set()
            return 404, b"{}"
        return 200, b"{}"


def test_a_namespace_whose_wait_is_cut_short_is_deleted_not_left_behind():
    api = StopsWhileTheNamespaceIsNew()
    (result,) = cluster_probes.gang_probes(api, ProbeOptions(), lambda line: None)
    assert result.outcome is ProbeOutcome.INCONCLUSIVE and "shutting down" in result.detail
    (created,) = [path for method, path in api.calls if method == "POST"]
    assert created == "/api/v1/namespaces"
    deleted = [path for method, path in api.calls if method == "DELETE"]
    assert len(deleted) == 1 and deleted[0].startswith("/api/v1/namespaces/kaico-probe-gang-")
    # No pod or Job was created in it.
    assert not any("/jobs" in path or "/pods" in path for _, path in api.calls)


class RecordsCreations(cluster_probes.ProbeApi):
    """Answers every call; a SelfSubjectReview says kaico is the chart's ServiceAccount."""

    def __init__(self, username="system:serviceaccount:kaico-system:kaico"):
        super().__init__()
        self.created = []
        self.username = username

    def send(self, method, path, body, accept):
        if method == "POST":
            self.created.append((path, body))
            if path.endswith("/selfsubjectreviews"):
                return 201, json.dumps({"status": {"userInfo": {"username": self.username}}}).encode()
            return 201, b"{}"
        return 200, b"{}"


def test_a_probe_namespace_is_labelled_restricted_and_kaico_binds_the_probe_role_to_itself_there():
    api = RecordsCreations()
    name = cluster_probes._namespace(api, "kaico-probe-gang", ProbeOptions(namespace_role="kaico-probe-namespace"))
    (ns_path, namespace), (review_path, _), (binding_path, binding) = api.created
    assert ns_path == "/api/v1/namespaces" and namespace["metadata"]["name"] == name
    assert namespace["metadata"]["labels"] == {"kaico.dev/probe": "true",
                                               "pod-security.kubernetes.io/enforce": "restricted"}
    assert review_path == "/apis/authentication.k8s.io/v1/selfsubjectreviews"
    assert binding_path == f"/apis/rbac.authorization.k8s.io/v1/namespaces/{name}/rolebindings"
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                  "name": "kaico-probe-namespace"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "namespace": "kaico-system", "name": "kaico"}]
    # A person running `kaico cluster --probe-role` binds it to their user; without the flag, nothing.
    person = RecordsCreations("alice@example.com")
    cluster_probes._namespace(person, "kaico-probe-gang", ProbeOptions(namespace_role="r"))
    assert person.created[-1][1]["subjects"] == [
        {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice@example.com"}]
    plain = RecordsCreations()
    cluster_probes._namespace(plain, "kaico-probe-gang", ProbeOptions())
    assert [path for path, _ in plain.created] == ["/api/v1/namespaces"]


def test_every_probe_pod_meets_pod_security_restricted():
    options = ProbeOptions()
    pods = [cluster_probes._probe_pod("p", [cluster_probes._probe_container("c", options.image, granted, mode)],
                                      mode, None)["spec"]
            for granted in (True, False) for mode in ("dra", "device-plugin")]
    pods.append(cluster_probes._gang_job("g", 2, options)["spec"]["template"]["spec"])
    for spec in pods:
        assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] > 0
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in spec["containers"]:
            assert container["securityContext"] == {"allowPrivilegeEscalation": False,
                                                    "capabilities": {"drop": ["ALL"]}}
        assert not {"hostNetwork", "hostPID", "hostIPC", "volumes"} & spec.keys()


def test_the_probe_role_is_a_flag_of_both_commands():
    for command in ("run", "cluster"):
        args = build_parser().parse_args([command, "--probe-role", "kaico-probe-namespace"])
        assert ProbeOptions.from_args(args).namespace_role == "kaico-probe-namespace"
