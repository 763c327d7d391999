"""``KubeClient`` retries what may succeed later and nothing else, against a real HTTP server on
127.0.0.1 that answers from a script (429 with Retry-After, 503, 422, dropped connections).
Waits go through an injected sleep and clock: the test asserts the waits asked for, never wall
time."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field

import pytest
from kaico.kube.client import ApiError, KubeClient, RetryPolicy, retry_after_seconds
from kaico.kube.config import Credentials

DROP = "drop"


@dataclass
class ScriptedServer:
    """Answers each request with the next scripted step: ``DROP`` closes the connection
    without an answer, ``(status, headers, body)`` answers. Records every request."""

    script: list
    requests: list[tuple[str, str, bytes]] = field(default_factory=list)
    port: int = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        length = next((int(line.split(":", 1)[1]) for line in lines[1:]
                       if line.lower().startswith("content-length:")), 0)
        body = await reader.readexactly(length) if length else b""
        self.requests.append((method, path, body))
        step = self.script.pop(0) if self.script else (200, {}, "{}")
        if step != DROP:
            status, headers, text = step
            data = text.encode()
            extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                         f"Content-Length: {len(data)}\r\nConnection: close\r\n{extra}\r\n".encode() + data)
            await writer.drain()
        writer.close()

    async def __aenter__(self) -> ScriptedServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        self._server.close()
        await self._server.wait_closed()


class FakeTime:
    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


DEFAULT_POLICY = RetryPolicy()


def scenario(script, call, policy=DEFAULT_POLICY, draw=lambda: 0.5):
    """Run ``call(client)`` against a server playing ``script``; (result or error, server,
    time, counted requests)."""
    counted: list[tuple[str, int]] = []
    time = FakeTime()

    async def run():
        async with ScriptedServer(list(script)) as server:
            credentials = Credentials(server=f"http://127.0.0.1:{server.port}", token="t")
            async with KubeClient(credentials, lambda m, s: counted.append((m, s)), policy,
                                  sleep=time.sleep, draw=draw, clock=lambda: time.now) as client:
                try:
                    return await call(client), server
                except ApiError as error:
                    return error, server

    outcome, server = asyncio.run(run())
    return outcome, server, time, counted


def ok(body=None):
    return (200, {}, json.dumps(body or {"kind": "Thing"}))


def test_a_429_waits_what_retry_after_asks_then_succeeds():
    script = [(429, {"Retry-After": "3"}, '{"message": "too many requests"}'), ok({"done": True})]
    response, server, time, counted = scenario(
        script, lambda c: c.merge_patch("/apis/x/v1/things/a", {"status": {}}), draw=lambda: 0.0)
    assert response.status == 200 and response.body == {"done": True}
    assert time.sleeps == [3.0]  # the server's wait, not the (shorter) backoff
    assert [m for m, _, _ in server.requests] == ["PATCH", "PATCH"]
    assert server.requests[0][2] == server.requests[1][2] == b'{"status": {}}'
    assert counted == [("PATCH", 429), ("PATCH", 200)]


def test_5xx_and_dropped_connections_back_off_exponentially_with_jitter():
    # A PATCH: aiohttp itself re-sends an idempotent GET once on a dropped connection.
    script = [(503, {}, "{}"), DROP, (500, {}, "{}"), ok()]
    policy = RetryPolicy(attempts=6, base=0.5, cap=8.0, budget=30.0)
    response, server, time, counted = scenario(script, lambda c: c.merge_patch("/apis/x/v1/t/a", {}),
                                               policy, draw=lambda: 0.5)
    assert response.status == 200
    # full jitter: draw * min(cap, base * 2**(n-1)) with draw 0.5
    assert time.sleeps == [0.25, 0.5, 1.0]
    assert len(server.requests) == 4
    assert counted == [("PATCH", 503), ("PATCH", 0), ("PATCH", 500), ("PATCH", 200)]


def test_jitter_spreads_the_waits_and_the_cap_bounds_them():
    policy = RetryPolicy(attempts=10, base=1.0, cap=4.0, budget=1000)
    assert [policy.delay(n, None, lambda: 1.0) for n in range(1, 6)] == [1.0, 2.0, 4.0, 4.0, 4.0]
    assert policy.delay(3, None, lambda: 0.1) == pytest.approx(0.4)
    assert policy.delay(1, 7.0, lambda: 0.0) == 7.0
    assert 7.0 < policy.delay(1, 7.0, lambda: 0.9) <= 8.0


def test_attempts_are_bounded_and_the_last_answer_is_the_error():
    script = [(503, {}, '{"message": "etcd leader changed"}')] * 10
    error, server, time, counted = scenario(script, lambda c: c.get("/api/v1/nodes"),
                                            RetryPolicy(attempts=3, base=1, cap=8, budget=100))
    assert isinstance(error, ApiError) and error.status == 503
    assert "etcd leader changed" in str(error)
    assert len(server.requests) == 3 and len(time.sleeps) == 2
    assert counted == [("GET", 503)] * 3


def test_the_wait_budget_stops_retrying_before_a_long_retry_after():
    script = [(429, {"Retry-After": "20"}, "{}"), (429, {"Retry-After": "20"}, "{}"), ok()]
    error, server, time, _ = scenario(script, lambda c: c.get("/api/v1/nodes"),
                                      RetryPolicy(attempts=6, budget=30), draw=lambda: 0.0)
    assert isinstance(error, ApiError) and error.status == 429
    assert time.sleeps == [20.0]  # a second 20 s wait would pass the 30 s budget
    assert len(server.requests) == 2


def test_connection_errors_to_the_end_raise_a_no_answer_error():
    error, server, _, counted = scenario([DROP] * 3, lambda c: c.create("/api/v1/namespaces", {"a": 1}),
                                         RetryPolicy(attempts=3, base=0.1, budget=10))
    assert isinstance(error, ApiError) and error.status == 0
    assert "no answer" in str(error)
    assert len(server.requests) == 3 and counted == [("POST", 0)] * 3


def test_a_422_is_not_retried_and_is_logged_as_a_bug(caplog):
    script = [(422, {}, '{"message": "spec.x: Invalid value"}'), ok()]
    with caplog.at_level(logging.ERROR, logger="kaico.kube.client"):
        error, server, time, counted = scenario(script, lambda c: c.create("/apis/x/v1/things", {"a": 1}))
    assert isinstance(error, ApiError) and error.status == 422
    assert len(server.requests) == 1 and time.sleeps == []
    assert counted == [("POST", 422)]
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "bug" in record.getMessage() and "spec.x: Invalid value" in record.getMessage()


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409])
def test_other_4xx_answers_are_final(status):
    response_or_error, server, time, _ = scenario([(status, {}, "{}"), ok()],
                                                  lambda c: c.get("/api/v1/nodes"))
    assert len(server.requests) == 1 and time.sleeps == []
    assert isinstance(response_or_error, ApiError) and response_or_error.status == status


def test_allowed_statuses_come_back_as_responses():
    response, server, _, _ = scenario([(409, {}, '{"reason": "AlreadyExists"}')],
                                      lambda c: c.create("/apis/x/v1/things", {}, allowed=(409,)))
    assert response.status == 409 and response.body == {"reason": "AlreadyExists"}


def test_retry_after_parsing():
    assert retry_after_seconds("5") == 5.0
    assert retry_after_seconds(" 1.5 ") == 1.5
    assert retry_after_seconds("-3") == 0.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") is None
    assert retry_after_seconds(None) is None


def test_new_credentials_close_the_old_session_and_send_the_new_token():
    async def run():
        async with ScriptedServer([ok(), ok()]) as server:
            base = f"http://127.0.0.1:{server.port}"
            async with KubeClient(Credentials(server=base, token="old")) as client:
                await client.get("/version")
                old = client.session
                await client.use(Credentials(server=base, token="new"))
                assert old.closed
                await client.get("/version")
                assert client.session is not old and not client.session.closed
            return server

    server = asyncio.run(run())
    assert len(server.requests) == 2


def test_a_session_replaced_mid_request_closes_when_that_request_ends():
    async def run():
        release = asyncio.Event()

        async def slow(reader, writer):
            await reader.readuntil(b"\r\n\r\n")
            await release.wait()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(slow, "127.0.0.1", 0)
        base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        try:
            async with KubeClient(Credentials(server=base)) as client:
                pending = asyncio.create_task(client.get("/slow"))
                await asyncio.sleep(0.05)
                old = client.session
                await client.use(Credentials(server=base, token="new"))
                still_open = not old.closed  # the request in flight keeps it
                release.set()
                response = await pending
                return still_open, old.closed, response.status
        finally:
            server.close()

    still_open, closed_after, status = asyncio.run(run())
    assert still_open and closed_after and status == 200
