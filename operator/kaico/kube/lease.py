"""Leader election over a ``coordination.k8s.io/v1`` Lease: of the replicas of ``kaico run``,
exactly one is active.

The rules are client-go's leader election, reduced to what kaico needs:

* **Acquire.** A candidate reads the Lease. It takes it when the Lease does not exist (create),
  has no holder (released), or has not changed for ``lease_duration`` *as this candidate
  observed it* (its own monotonic clock: clocks of different nodes are never compared). Taking
  it is a ``PUT`` with the ``resourceVersion`` that was read, so of two candidates only one
  wins; the other gets 409 and stays standby.
* **Renew.** The holder writes ``renewTime`` every ``retry_period``. When it could not renew
  for ``renew_deadline`` (shorter than the lease duration) it must stop acting: a standby may
  take over ``lease_duration`` after the last renewal it saw.
* **Release.** On a clean shutdown the holder clears ``holderIdentity`` so a standby takes over
  at its next poll instead of waiting out the lease.

The Lease is named, and kaico's RBAC grants ``get``/``update`` on that one name only (the chart
creates it, so ``create`` is not needed there).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kaico.kube.client import NO_RETRY, ApiError, KubeClient, collection_path

logger = logging.getLogger("kaico.kube.lease")


@dataclass(frozen=True)
class ElectionConfig:
    namespace: str
    name: str = "kaico"
    identity: str = ""
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.retry_period < self.renew_deadline < self.lease_duration:
            raise ValueError("leader election needs 0 < retry period < renew deadline < lease duration "
                             f"(got {self.retry_period:g}, {self.renew_deadline:g}, {self.lease_duration:g})")


def _timestamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    """``acquire`` waits until this candidate holds the Lease; ``hold`` renews it until it is
    lost (then it returns) or cancelled; ``release`` gives it up."""

    def __init__(self, client: Callable[[], KubeClient], config: ElectionConfig, *,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self._client = client
        self.config = config
        self._sleep, self._clock, self._now = sleep, clock, now
        # The record last read, and when (own clock) it last changed: the expiry is judged by it.
        self._observed: tuple[Any, ...] | None = None
        self._observed_at = 0.0
        self._lease: dict[str, Any] | None = None
        self.leading = False
        self.transitions = 0

    @property
    def path(self) -> str:
        return f"{collection_path('coordination.k8s.io', 'v1', 'leases', self.config.namespace)}/{self.config.name}"

    def _spec(self, renewing: bool) -> dict[str, Any]:
        old = (self._lease or {}).get("spec") or {}
        now = _timestamp(self._now())
        transitions = int(old.get("leaseTransitions") or 0)
        spec = {
            "holderIdentity": self.config.identity,
            "leaseDurationSeconds": max(1, round(self.config.lease_duration)),
            "acquireTime": old.get("acquireTime") if renewing else now,
            "renewTime": now,
            "leaseTransitions": transitions if renewing or not old.get("holderIdentity")
            else transitions + 1,
        }
        return spec

    async def _write(self, renewing: bool) -> bool:
        """PUT (or create) the Lease with this candidate as holder; False when another won."""
        client = self._client()
        body: dict[str, Any] = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                                "metadata": {"name": self.config.name, "namespace": self.config.namespace},
                                "spec": self._spec(renewing)}
        if self._lease is None:
            response = await client.request("POST", self.path.rpartition("/")[0], body,
                                            allowed=(409,), retry=NO_RETRY)
        else:
            body["metadata"]["resourceVersion"] = self._lease["metadata"]["resourceVersion"]
            response = await client.request("PUT", self.path, body, allowed=(409,), retry=NO_RETRY)
        if response.status == 409:
            self._lease = None  # someone else wrote it: read it again before the next try
            return False
        self._lease = response.body
        self._observe(self._lease)
        return True

    def _observe(self, lease: dict[str, Any] | None) -> None:
        spec = (lease or {}).get("spec") or {}
        record = (spec.get("holderIdentity"), spec.get("renewTime"), spec.get("leaseDurationSeconds"),
                  spec.get("leaseTransitions"))
        if record != self._observed:
            self._observed = record
            self._observed_at = self._clock()

    async def try_acquire_or_renew(self) -> bool:
        """One attempt: True when this candidate holds the Lease afterwards."""
        # No retries inside an attempt: the election's own polling is the retry, and a renewal
        # must never outlast the renew deadline while waiting out a backoff.
        response = await self._client().request("GET", self.path, allowed=(404,), retry=NO_RETRY)
        self._lease = None if response.status == 404 else response.body
        if self._lease is None:
            return await self._write(renewing=False)
        self._observe(self._lease)
        spec = self._lease.get("spec") or {}
        holder = spec.get("holderIdentity")
        if holder == self.config.identity:
            return await self._write(renewing=True)
        duration = float(spec.get("leaseDurationSeconds") or self.config.lease_duration)
        if holder and self._clock() - self._observed_at < duration:
            return False  # held, and renewed within its duration as far as we have seen
        return await self._write(renewing=False)

    async def acquire(self) -> None:
        """Wait until this candidate is the leader (a standby polls every ``retry_period``)."""
        announced = False
        while True:
            try:
                if await self.try_acquire_or_renew():
                    self.leading = True
                    self.transitions += 1
                    logger.info("leader election: %s now holds Lease %s/%s", self.config.identity,
                                self.config.namespace, self.config.name)
                    return
                if not announced:
                    holder = ((self._lease or {}).get("spec") or {}).get("holderIdentity")
                    logger.info("leader election: standby; Lease %s/%s is held by %s",
                                self.config.namespace, self.config.name, holder)
                    announced = True
            except ApiError as error:
                logger.warning("leader election: %s", error)
            await self._sleep(self.config.retry_period)

    async def hold(self) -> None:
        """Renew every ``retry_period``; return when renewing failed for ``renew_deadline``
        (or another holder took the Lease): the caller must stop acting as the leader."""
        last_renewal = self._clock()
        while True:
            await self._sleep(self.config.retry_period)
            left = self.config.renew_deadline - (self._clock() - last_renewal)
            try:
                if await asyncio.wait_for(self.try_acquire_or_renew(), timeout=max(0.1, left)):
                    last_renewal = self._clock()
                    continue
                holder = ((self._lease or {}).get("spec") or {}).get("holderIdentity")
                if holder and holder != self.config.identity:
                    logger.error("leader election: Lease taken over by %s", holder)
                    break
            except (ApiError, TimeoutError) as error:
                logger.warning("leader election: renewing: %s", error or "no answer in time")
            if self._clock() - last_renewal >= self.config.renew_deadline:
                logger.error("leader election: could not renew the Lease for %.0fs", self.config.renew_deadline)
                break
        self.leading = False

    async def release(self) -> None:
        """Give the Lease up (a clean shutdown), so a standby takes over at once."""
        if not self.leading or self._lease is None:
            return
        self.leading = False
        body = {**self._lease, "spec": {**(self._lease.get("spec") or {}), "holderIdentity": None,
                                        "leaseDurationSeconds": 1}}
        try:
            await self._client().request("PUT", self.path, body, allowed=(409, 404), retry=NO_RETRY)
        except ApiError as error:
            logger.warning("leader election: releasing: %s", error)
