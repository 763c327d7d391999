"""Which of the watched APIs the cluster serves: the source of ``ClusterFacts.known``.

A fact class is known once its API is served, even with zero objects; a class whose API is
absent stays unknown and the checks that need it skip. Built-in APIs are discovered once (the
first evaluation waits for it); CRD-backed ones are then followed from CustomResourceDefinition
watch events, which is also how a CRD installed after the operator becomes known (kopf's own
cluster discovery starts the matching watch at the same time).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from kaico.kube.client import ApiError, KubeClient
from kaico.kube.resources import WATCHED

logger = logging.getLogger("kaico.kube.discovery")

ResourceKey = tuple[str, str, str]  # (group, version, plural)

# How long after a CRD becomes served its kind counts as known (kopf's new watch lists first).
WATCH_GRACE_SECONDS = 3.0


def crd_serves(body: dict[str, Any]) -> dict[ResourceKey, bool]:
    """For a CRD body: each (group, version, plural) it defines, and whether that version is
    served now (the CRD Established, the version served, the CRD not being deleted)."""
    spec = body.get("spec") or {}
    group = str(spec.get("group") or "")
    plural = str((spec.get("names") or {}).get("plural") or "")
    conditions = (body.get("status") or {}).get("conditions") or []
    established = any(
        c.get("type") == "Established" and c.get("status") == "True" for c in conditions if isinstance(c, dict)
    )
    deleting = bool((body.get("metadata") or {}).get("deletionTimestamp"))
    return {
        (group, str(v.get("name")), plural): bool(established and v.get("served") and not deleting)
        for v in spec.get("versions") or [] if isinstance(v, dict)
    }


class ServedResources:
    """The (group, version, plural) of watched kinds that the API server serves."""

    def __init__(self, client: Callable[[], KubeClient]):
        self._client = client
        self.resources: set[ResourceKey] = set()
        self._discovered = False
        self._lock = asyncio.Lock()

    async def ensure_discovered(self) -> None:
        if self._discovered:
            return
        async with self._lock:
            if self._discovered:
                return
            self.resources |= await self._discover()
            self._discovered = True
            logger.info("served APIs among the watched kinds: %s",
                        ", ".join(sorted(f"{p}.{v}.{g}" if g else f"{p}.{v}" for g, v, p in self.resources)))

    async def _discover(self) -> set[ResourceKey]:
        client = self._client()
        found: set[ResourceKey] = set()
        core = await client.get("/api/v1")
        found |= {("", "v1", r.get("name")) for r in core.body.get("resources", [])}
        groups = await client.get("/apis")
        offered = {
            (group.get("name"), version.get("version"))
            for group in groups.body.get("groups", [])
            for version in group.get("versions", [])
        }

        async def resources_of(group: str, version: str) -> set[ResourceKey]:
            try:
                listing = await client.get(f"/apis/{group}/{version}")
            except ApiError as error:  # an unavailable aggregated API: treat as not served
                logger.warning("discovery of %s/%s failed: %s", group, version, error)
                return set()
            return {(group, version, r.get("name")) for r in listing.body.get("resources", [])}

        # Concurrently: the first evaluation waits for this.
        listings = await asyncio.gather(*(
            resources_of(group, version)
            for group, version in sorted({(g, v) for g, v, _ in WATCHED if g} & offered)
        ))
        for listing in listings:
            found |= listing
        return found & WATCHED

    async def update_from_crd(self, body: dict[str, Any], deleted: bool = False) -> bool:
        """Follow a CRD event; True when the served set changed after the first discovery.

        A newly served API is counted as known only after ``WATCH_GRACE_SECONDS``: kopf starts
        its watch on the same CRD event, and until that watch has listed the objects, "known
        with zero objects" would be a false fact (e.g. no monitors yet, so a failing check and a
        NonConformant Event, undone a second later).
        """
        served, gone = [], []
        for key, serves in crd_serves(body).items():
            if key not in WATCHED:
                continue
            serves = serves and not deleted
            if serves != (key in self.resources):
                (served if serves else gone).append(key)
        if served and self._discovered:
            await asyncio.sleep(WATCH_GRACE_SECONDS)
        self.resources.update(served)
        self.resources.difference_update(gone)
        for key in served + gone:
            logger.info("%s.%s.%s is %s", key[2], key[1], key[0],
                        "now served" if key in served else "no longer served")
        # Before the first discovery nothing was evaluated yet, so nothing needs redoing.
        return bool(served or gone) and self._discovered
