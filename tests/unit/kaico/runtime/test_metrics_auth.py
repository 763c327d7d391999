"""/metrics behind the API server's reviews: a bearer token is reviewed (TokenReview), its user
must be allowed `get /metrics` (SubjectAccessReview); answers are remembered briefly per token,
failures never; /healthz and /readyz stay open."""

import asyncio
import json

from aiohttp.test_utils import TestClient, TestServer
from kaico.runtime.metrics import Metrics, MetricsAuth, http_app
from kaico.state import Results

USERS = {"good": ("prometheus", ["system:serviceaccounts"]), "nosy": ("nosy", [])}


class FakeApiServer:
    """Answers the two reviews as the API server would for USERS; "good" may read /metrics."""

    def __init__(self, fail=False):
        self.calls = []
        self.fail = fail

    async def review(self, path, body):
        self.calls.append((path, body))
        if self.fail:
            return 503, "etcd is down"
        if body["kind"] == "TokenReview":
            user = USERS.get(body["spec"]["token"])
            status = ({"authenticated": True, "user": {"username": user[0], "groups": user[1], "uid": "u1"}}
                      if user else {"authenticated": False})
        else:
            spec = body["spec"]
            status = {"allowed": spec["user"] == "prometheus"
                      and spec["nonResourceAttributes"] == {"path": "/metrics", "verb": "get"}}
        return 201, json.dumps({**body, "status": status})


def test_tokens_are_reviewed_then_authorised_for_get_metrics():
    api = FakeApiServer()
    auth = MetricsAuth(api.review)
    assert asyncio.run(auth.status(None)) == 401
    assert asyncio.run(auth.status("Basic Z29vZA==")) == 401
    assert asyncio.run(auth.status("Bearer ")) == 401
    assert api.calls == []  # nothing to ask about
    assert asyncio.run(auth.status("Bearer unknown")) == 401
    assert asyncio.run(auth.status("Bearer nosy")) == 403
    assert asyncio.run(auth.status("Bearer good")) == 200
    sar = api.calls[-1][1]
    assert sar["kind"] == "SubjectAccessReview"
    assert sar["spec"] == {"user": "prometheus", "groups": ["system:serviceaccounts"], "uid": "u1",
                           "nonResourceAttributes": {"path": "/metrics", "verb": "get"}}
    # The token itself is never kept, only its digest.
    assert all("good" not in key for key in auth._decisions)


def test_a_decision_is_remembered_for_a_while_and_failures_are_not():
    now = [0.0]
    api = FakeApiServer()
    auth = MetricsAuth(api.review, ttl=60, max_entries=2, clock=lambda: now[0])
    for _ in range(3):
        assert asyncio.run(auth.status("Bearer good")) == 200
    assert len(api.calls) == 2  # one TokenReview and one SubjectAccessReview for three scrapes
    now[0] = 61
    asyncio.run(auth.status("Bearer good"))
    assert len(api.calls) == 4
    # A flood of tokens keeps at most max_entries decisions.
    for token in ("a", "b", "c", "d"):
        asyncio.run(auth.status(f"Bearer {token}"))
    assert len(auth._decisions) == 2
    down = MetricsAuth(FakeApiServer(fail=True).review)
    assert asyncio.run(down.status("Bearer good")) == 500
    assert down._decisions == {}


def test_the_app_guards_metrics_only():
    async def scenario():
        app = http_app(Metrics(Results()), lambda: True, auth=MetricsAuth(FakeApiServer().review))
        async with TestClient(TestServer(app)) as client:
            answers = {}
            for path, token in (("/metrics", None), ("/metrics", "nosy"), ("/metrics", "good"),
                                ("/healthz", None), ("/readyz", None)):
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                response = await client.get(path, headers=headers)
                answers[(path, token)] = (response.status, await response.text(), response.headers)
            return answers

    answers = asyncio.run(scenario())
    status, text, headers = answers[("/metrics", None)]
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    assert answers[("/metrics", "nosy")][0] == 403
    status, text, _ = answers[("/metrics", "good")]
    assert status == 200 and "kaico_evaluation_duration_seconds" in text
    assert answers[("/healthz", None)][:2] == (200, "ok\n")
    assert answers[("/readyz", None)][:2] == (200, "ready\n")
