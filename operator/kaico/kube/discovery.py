"""Which of the watched APIs the cluster serves: the source of ``ClusterFacts.known``.

A fact class is known once its API is served, even with zero objects; a class whose API is
absent stays unknown and the checks that need it skip. Built-in APIs are discovered once (the
first evaluation waits for it); CRD-backed ones are then followed from CustomResourceDefinition
watch events, which is also how a CRD installed after the operator becomes known (kopf's own
cluster discovery starts the matching watch at the same time).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any, Protocol

from conformance.cluster.inventory import served_from_discovery
from kaico.kube.client import ApiError, KubeClient
from kaico.kube.resources import WATCHED

logger = logging.getLogger("kaico.kube.discovery")

AGGREGATED_DISCOVERY = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
)


class JsonReader(Protocol):
    async def get_json(self, path: str, *, accept: str | None = None) -> dict[str, Any]:
        """GET ``path``; raise on an error status."""


async def served_api_resources(
    reader: JsonReader, unavailable: tuple[type[Exception], ...]
) -> dict[str, frozenset[str]]:
    """Every served group/version and its resources: aggregated discovery in two calls, else the
    legacy per-group-version documents (a group/version that raises ``unavailable``, e.g. an
    aggregated API that is down, is simply not served). The one discovery of the project: the
    operator's watched-kind tracking and the cluster inventory both read it."""
    core = await reader.get_json("/api", accept=AGGREGATED_DISCOVERY)
    groups = await reader.get_json("/apis", accept=AGGREGATED_DISCOVERY)
    if core.get("kind") == "APIGroupDiscoveryList" and groups.get("kind") == "APIGroupDiscoveryList":
        return served_from_discovery([core, groups])
    documents = [await reader.get_json("/api/v1")]
    for group in groups.get("groups") or []:
        for version in group.get("versions") or []:
            try:
                documents.append(await reader.get_json(f"/apis/{version.get('groupVersion')}"))
            except unavailable as error:
                logger.warning("discovery of %s failed: %s", version.get("groupVersion"), error)
    return served_from_discovery(documents)


class _ClientJson:
    """``JsonReader`` over the ``KubeClient``."""

    def __init__(self, client: KubeClient):
        self._client = client

    async def get_json(self, path: str, *, accept: str | None = None) -> dict[str, Any]:
        status, text = await self._client.send("GET", path, accept=accept or "application/json")
        if status >= 300:
            raise ApiError("GET", path, status, text[:300])
        parsed = json.loads(text or "{}")
        return parsed if isinstance(parsed, dict) else {}

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
        served = await served_api_resources(_ClientJson(self._client()), (ApiError, ValueError))
        found: set[ResourceKey] = set()
        for group_version, resources in served.items():
            group, _, version = group_version.rpartition("/")
            found |= {(group, version, resource) for resource in resources}
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
