"""Leader election (``kaico.kube.lease``) against a Lease endpoint served over HTTP on 127.0.0.1
that keeps resourceVersions like the API server (a stale PUT gets 409). Time is injected: the
candidates' monotonic clock and sleeps are fakes, so expiry is tested without waiting."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from kaico.kube.client import KubeClient
from kaico.kube.config import Credentials
from kaico.kube.lease import ElectionConfig, LeaderElector

PATH = "/apis/coordination.k8s.io/v1/namespaces/kaico-system/leases"


class LeaseServer:
    def __init__(self):
        self.lease: dict[str, Any] | None = None
        self.version = 0
        self.writes: list[tuple[str, str | None]] = []
        self.fail = False

    def _stored(self, body: dict[str, Any]) -> web.Response:
        self.version += 1
        self.lease = {**body, "metadata": {**body["metadata"], "resourceVersion": str(self.version)}}
        self.writes.append((body["metadata"]["name"], (body.get("spec") or {}).get("holderIdentity")))
        return web.json_response(self.lease)

    async def get(self, request: web.Request) -> web.Response:
        if self.fail:
            return web.json_response({"message": "down"}, status=503)
        if self.lease is None:
            return web.json_response({"reason": "NotFound"}, status=404)
        return web.json_response(copy.deepcopy(self.lease))

    async def create(self, request: web.Request) -> web.Response:
        if self.lease is not None:
            return web.json_response({"reason": "AlreadyExists"}, status=409)
        return self._stored(await request.json())

    async def put(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.lease is None or body["metadata"].get("resourceVersion") != self.lease["metadata"]["resourceVersion"]:
            return web.json_response({"reason": "Conflict"}, status=409)
        return self._stored(body)


class Clock:
    def __init__(self):
        self.now = 0.0

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


def run(scenario: Callable[..., Awaitable[Any]]) -> Any:
    async def main():
        server = LeaseServer()
        app = web.Application()
        app.router.add_get(f"{PATH}/kaico", server.get)
        app.router.add_post(PATH, server.create)
        app.router.add_put(f"{PATH}/kaico", server.put)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        clients = []

        def candidate(identity: str, clock: Clock) -> LeaderElector:
            client = KubeClient(Credentials(server=f"http://127.0.0.1:{port}"), sleep=clock.sleep)
            clients.append(client)
            config = ElectionConfig(namespace="kaico-system", identity=identity, lease_duration=15,
                                    renew_deadline=10, retry_period=2)
            return LeaderElector(lambda: client, config, sleep=clock.sleep, clock=lambda: clock.now)

        try:
            return await scenario(server, candidate)
        finally:
            for client in clients:
                await client.close()
            await runner.cleanup()

    return asyncio.run(main())


def test_the_first_candidate_creates_the_lease_and_the_second_stands_by():
    async def scenario(server, candidate):
        clock = Clock()
        a, b = candidate("a", clock), candidate("b", clock)
        await a.acquire()
        assert not await b.try_acquire_or_renew()
        assert await a.try_acquire_or_renew()  # renewing
        return server

    server = run(scenario)
    assert server.lease["spec"]["holderIdentity"] == "a"
    assert server.lease["spec"]["leaseDurationSeconds"] == 15
    assert server.writes == [("kaico", "a"), ("kaico", "a")]


def test_a_standby_takes_over_only_after_the_lease_went_unrenewed_for_its_duration():
    async def scenario(server, candidate):
        clock = Clock()
        a, b = candidate("a", clock), candidate("b", clock)
        await a.acquire()
        assert not await b.try_acquire_or_renew()  # b first sees the record at t=0
        clock.now = 14.0
        assert not await b.try_acquire_or_renew()
        clock.now = 15.5  # unchanged for longer than the duration, on b's own clock
        assert await b.try_acquire_or_renew()
        return server

    server = run(scenario)
    assert server.lease["spec"]["holderIdentity"] == "b"
    assert server.lease["spec"]["leaseTransitions"] == 1


def test_a_renewal_seen_by_the_standby_restarts_its_wait():
    async def scenario(server, candidate):
        clock = Clock()
        a, b = candidate("a", clock), candidate("b", clock)
        await a.acquire()
        assert not await b.try_acquire_or_renew()
        clock.now = 10.0
        assert await a.try_acquire_or_renew()  # renewTime changes
        clock.now = 12.0
        assert not await b.try_acquire_or_renew()  # b sees the change at 12
        clock.now = 26.0
        assert not await b.try_acquire_or_renew()  # 14 s after it saw it: still held
        clock.now = 27.5
        return await b.try_acquire_or_renew()

    assert run(scenario) is True


def test_of_two_candidates_writing_the_same_version_only_one_wins():
    async def scenario(server, candidate):
        clock = Clock()
        a, b = candidate("a", clock), candidate("b", clock)
        await a.acquire()
        await a.release()
        # Both read the released Lease, then both write with the version they read.
        for elector in (a, b):
            response = await elector._client().get(elector.path)
            elector._lease = response.body
        won = [await a._write(renewing=False), await b._write(renewing=False)]
        return won, server

    won, server = run(scenario)
    assert won == [True, False]
    assert server.lease["spec"]["holderIdentity"] == "a"


def test_release_lets_a_standby_take_over_at_its_next_poll():
    async def scenario(server, candidate):
        clock = Clock()
        a, b = candidate("a", clock), candidate("b", clock)
        await a.acquire()
        assert not await b.try_acquire_or_renew()
        await a.release()
        assert not a.leading
        return await b.try_acquire_or_renew(), server

    taken, server = run(scenario)
    assert taken and server.lease["spec"]["holderIdentity"] == "b"


def test_hold_returns_once_renewing_failed_for_the_renew_deadline():
    async def scenario(server, candidate):
        clock = Clock()
        a = candidate("a", clock)
        await a.acquire()
        server.fail = True  # every GET answers 503, and the election does not retry inside an attempt
        started = clock.now
        await a.hold()
        return clock.now - started, a.leading

    held_for, leading = run(scenario)
    assert not leading
    # Gave up at the first poll past the renew deadline (10 s; polls every 2 s), well before the
    # 15 s a standby waits.
    assert 10 <= held_for <= 12


def test_hold_returns_when_another_holder_took_the_lease():
    async def scenario(server, candidate):
        clock = Clock()
        a = candidate("a", clock)
        await a.acquire()
        server.lease["spec"]["holderIdentity"] = "intruder"
        await a.hold()
        return a.leading

    assert run(scenario) is False


def test_timings_must_nest():
    with pytest.raises(ValueError, match="retry period < renew deadline < lease duration"):
        ElectionConfig(namespace="n", lease_duration=10, renew_deadline=10, retry_period=2)
