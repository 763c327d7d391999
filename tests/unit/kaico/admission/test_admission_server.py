"""The webhook end to end in one process: an AdmissionReview over HTTP, judged by the workload
controller's own evaluation path with its live indexes (nothing written, nothing recorded)."""

import asyncio
import json
from datetime import UTC, datetime

from aiohttp.test_utils import TestClient, TestServer
from kaico.admission.review import Judgement
from kaico.admission.server import CannotJudge, admission_app
from kaico.kube.resources import FACTS
from kaico.runtime.handlers import profile_entry
from kaico.state import Results
from kaico.workloads.controller import Controller
from kaico.workloads.indexes import Indexes
from kaico.workloads.object_facts import facts_of

DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "llm", "namespace": "team-a", "labels": {"app": "llm"}},
    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "llm"}}, "template": {
        "metadata": {"labels": {"app": "llm"}},
        "spec": {"containers": [{"name": "vllm", "image": "vllm/vllm-openai:v0.11.0",
                                 "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}}},
}
NODE = {"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "gpu-0", "uid": "node-0", "labels": {"nvidia.com/gpu.present": "true"}},
        "spec": {"taints": [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}]},
        "status": {"allocatable": {"nvidia.com/gpu": "8"}, "capacity": {"nvidia.com/gpu": "8"}}}


def profile(name: str, spec: dict) -> list:
    return [profile_entry({"apiVersion": "kaico.dev/v1alpha1", "kind": "ConformanceProfile",
                           "metadata": {"name": name, "uid": name, "generation": 1}, "spec": spec})]


class Served:
    resources = {r.key for r in FACTS}

    async def ensure_discovered(self) -> None:
        pass


class Untouchable:
    """The writer and the metrics: admission must use neither."""

    def __getattr__(self, name):
        raise AssertionError(f"admission used {name}")


class Observer:
    def __init__(self):
        self.outcomes = []

    def reviewed(self, outcome, seconds):
        self.outcomes.append(outcome)


def controller_and_indexes(profiles: dict) -> tuple[Controller, Indexes]:
    results = Results()
    controller = Controller(Untouchable(), results, Untouchable(), Served(), lambda: datetime.now(UTC))
    facts, _ = facts_of(NODE)
    indexes = Indexes({}, {"node-0": [facts]}, profiles, {"team-a": [{}]}, {}, {})
    return controller, indexes


def review_of(body: dict, uid: str = "r1") -> dict:
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": uid, "operation": "CREATE", "object": body}}


async def post(controller: Controller, indexes: Indexes, review: object, observer=None):
    async def judge(body):
        judged = await controller.judge(body, indexes)
        return None if judged is None else [Judgement(e.name, e.profile.spec.admission, r) for e, r in judged]

    async with TestClient(TestServer(admission_app(judge, observer))) as client:
        answer = await client.post("/validate", data=json.dumps(review),
                                   headers={"Content-Type": "application/json"})
        return answer.status, (await answer.json() if answer.status == 200 else await answer.text())


def test_a_gpu_deployment_without_the_toleration_is_admitted_with_the_live_facts_findings_as_warnings():
    controller, indexes = controller_and_indexes({"default": profile("default", {})})
    observer = Observer()
    status, answer = asyncio.run(post(controller, indexes, review_of(DEPLOYMENT), observer))
    assert status == 200
    response = answer["response"]
    assert response["uid"] == "r1" and response["allowed"] is True and "patch" not in response
    assert any(w.startswith("kaico/default: gpu-toleration: ") for w in response["warnings"]), response
    assert observer.outcomes == ["warned"]
    # Nothing recorded for the metrics: the object may never be stored.
    assert list(controller.results) == []


def test_a_deny_profile_rejects_with_its_reasons_and_only_profiles_that_select_the_object_judge():
    strict = {"targets": {"kinds": ["Deployment"]}, "includeAllChecks": False,
              "checks": [{"id": "gpu-node-match"}, {"id": "scaling-autoscaler", "severity": "low"}],
              "admission": {"enforcement": "Deny", "denyAtSeverity": "medium"}}
    elsewhere = {"targets": {"namespaces": ["other"]}, "admission": {"enforcement": "Deny",
                                                                     "denyAtSeverity": "info"}}
    controller, indexes = controller_and_indexes({"strict": profile("strict", strict),
                                                  "elsewhere": profile("elsewhere", elsewhere)})
    pinned = json.loads(json.dumps(DEPLOYMENT))
    pinned["spec"]["template"]["spec"]["nodeSelector"] = {"gpu-type": "h100"}
    status, answer = asyncio.run(post(controller, indexes, review_of(pinned)))
    response = answer["response"]
    assert status == 200 and response["allowed"] is False
    message = response["status"]["message"]
    assert message.startswith("kaico denies Deployment team-a/llm: strict: ")
    assert message.startswith("kaico denies Deployment team-a/llm: strict: gpu-node-match (high): "), message
    # The low failure is no reason to deny, but still a warning; the other profile selects nothing.
    assert "scaling-autoscaler" not in message and "elsewhere" not in message
    assert [w.split(":")[:2] for w in response["warnings"]] == [
        ["kaico/strict", " gpu-node-match"], ["kaico/strict", " scaling-autoscaler"]]


def test_an_object_that_is_no_serving_target_is_admitted_silently():
    controller, indexes = controller_and_indexes({"default": profile("default", {})})
    plain = json.loads(json.dumps(DEPLOYMENT))
    plain["spec"]["template"]["spec"]["containers"] = [{"name": "web", "image": "nginx"}]
    _, answer = asyncio.run(post(controller, indexes, review_of(plain)))
    assert answer["response"] == {"uid": "r1", "allowed": True}


def test_a_failing_judge_or_one_with_nothing_to_judge_with_admits_unjudged_and_a_bad_request_is_a_400():
    async def broken(body):
        raise RuntimeError("boom")

    async def starting(body):
        raise CannotJudge("no indexes yet")

    async def scenario(judge):
        observer = Observer()
        async with TestClient(TestServer(admission_app(judge, observer))) as client:
            ok = await client.post("/validate", json=review_of(DEPLOYMENT))
            bad = await client.post("/validate", data="not json")
            wrong = await client.post("/validate", json={"kind": "Pod"})
            return (ok.status, await ok.json(), bad.status, wrong.status, observer.outcomes)

    for judge in (broken, starting):
        status, answer, bad, wrong, outcomes = asyncio.run(scenario(judge))
        assert status == 200 and answer["response"] == {"uid": "r1", "allowed": True}
        assert (bad, wrong) == (400, 400)
        assert outcomes == ["unjudged"]
