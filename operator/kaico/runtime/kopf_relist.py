"""A listing after a watch gap reports the deletions it implies.

kopf lists a kind, then watches it from the listing's resourceVersion. When a watch cannot go on
(its resourceVersion expired: 410 Gone after an outage or an etcd compaction), kopf lists again,
and every listed object reaches the handlers as a listing event. An object deleted while the
watch was down is simply absent from that listing: kopf sends no DELETED event for it, so its
entries stay in kopf's indexes (keyed by namespace, name and uid) until the operator restarts.
For kaico that meant a target deleted in the gap kept being judged, a target deleted and created
again under its name was judged as the older object (its report never followed the new one), and
an autoscaler, PDB, Service or Node deleted in the gap kept counting as a fact.

``install()`` wraps kopf's ``continuous_watch`` (one listing followed by its watch, per kind and
namespace): it follows which objects each kind's stream has shown (listed, added, modified;
deleted ones are dropped), and when a later listing is complete, it sends a DELETED event for
every object it had shown that the listing no longer holds, after the listing's own events. kopf
then forgets them from its indexes as for a real deletion, and kaico's handlers run as for one.
The DELETED body holds what the handlers read of a deleted object: apiVersion, kind,
namespace, name, uid and the last resourceVersion seen, and the annotation ``MADE_UP`` (for
whoever reads kopf's debug log: the deletion itself was not seen).
ConformanceReports never reach this wrapper as objects: kaico's report mirror receives them
below it (``kaico.runtime.kopf_memory``) and replaces its set at each listing itself.

Kept per watched object: a short tuple (about 0.3 KiB with its strings). A listing that fails
part-way implies nothing: what it showed is added, nothing is dropped.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from kaico.runtime.kopf_private import patch_once

logger = logging.getLogger("kaico.runtime.kopf_relist")

# What one watched object's DELETED event is made from: namespace, name, resourceVersion.
Shown = tuple[str | None, str | None, str | None]

# The annotation that marks a made-up DELETED event's body (never written to any object).
MADE_UP = "kaico.dev/deleted-while-unwatched"

_INSTALLED: list[bool] = []
_KINDS: set[tuple[str | None, str | None]] = set()


class StreamMemory:
    """The objects one watch stream (a kind in one namespace, or cluster-wide) has shown:
    uid -> ``Shown``, and the apiVersion/kind they came with."""

    def __init__(self) -> None:
        self.shown: dict[str, Shown] = {}
        self.api_version = ""
        self.kind = ""

    def see(self, obj: Any, into: dict[str, Shown] | None = None) -> None:
        if not isinstance(obj, dict):
            return
        metadata = obj.get("metadata")
        if not isinstance(metadata, dict) or not isinstance(metadata.get("uid"), str):
            return
        self.api_version = str(obj.get("apiVersion") or self.api_version)
        self.kind = str(obj.get("kind") or self.kind)
        namespace = metadata.get("namespace")
        (self.shown if into is None else into)[metadata["uid"]] = (
            sys.intern(namespace) if isinstance(namespace, str) else None, metadata.get("name"),
            metadata.get("resourceVersion"))

    def forget(self, obj: Any) -> None:
        metadata = obj.get("metadata") if isinstance(obj, dict) else None
        if isinstance(metadata, dict):
            self.shown.pop(metadata.get("uid"), None)  # type: ignore[arg-type]

    def listed(self, listing: dict[str, Shown]) -> list[dict[str, Any]]:
        """A complete listing replaces what was shown; the DELETED events it implies."""
        gone = [(uid, self.shown[uid]) for uid in self.shown.keys() - listing.keys()]
        self.shown = listing
        return [self.deleted_event(uid, shown) for uid, shown in sorted(gone, key=_order)]

    def deleted_event(self, uid: str, shown: Shown) -> dict[str, Any]:
        namespace, name, version = shown
        metadata: dict[str, Any] = {"name": name, "uid": uid, "annotations": {MADE_UP: "true"}}
        if namespace is not None:
            metadata["namespace"] = namespace
        if version is not None:
            metadata["resourceVersion"] = version
        return {"type": "DELETED",
                "object": {"apiVersion": self.api_version, "kind": self.kind, "metadata": metadata}}


def _order(item: tuple[str, Shown]) -> tuple[str, str]:
    return (item[1][0] or "", item[1][1] or "")


def _reporting_deletions(continuous_watch: Callable[..., AsyncIterator[Any]], listed_marker: Any,
                         follows: Callable[[Any], bool] = lambda resource: True
                         ) -> Callable[..., AsyncIterator[Any]]:
    streams: dict[Any, StreamMemory] = {}

    async def watch(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        if not follows(kwargs.get("resource")):
            async for item in continuous_watch(*args, **kwargs):
                yield item
            return
        memory = streams.setdefault((kwargs.get("resource"), kwargs.get("namespace")), StreamMemory())
        listing: dict[str, Shown] | None = {}
        try:
            async for item in continuous_watch(*args, **kwargs):
                if not isinstance(item, dict):
                    yield item
                    if item is listed_marker and listing is not None:
                        gone = memory.listed(listing)
                        listing = None
                        if gone:
                            logger.info("%d %s(s) deleted while the watch was down", len(gone),
                                        memory.kind or "object")
                        for event in gone:
                            yield event
                    continue
                kind, obj = item.get("type"), item.get("object")
                if kind is None and listing is not None:
                    memory.see(obj, into=listing)
                elif kind == "DELETED":
                    memory.forget(obj)
                    if listing is not None:
                        listing.pop((obj.get("metadata") or {}).get("uid"), None)  # type: ignore[union-attr]
                elif kind in ("ADDED", "MODIFIED"):
                    memory.see(obj, into=listing)
                yield item
        finally:
            if listing:
                memory.shown.update(listing)  # a listing cut short implies no deletion

    return watch


def install(kinds: Iterable[tuple[str, str]]) -> bool:
    """Wrap kopf's ``continuous_watch`` (once) for the streams of ``kinds`` ((API group, plural):
    kinds only kaico's handlers consume); False when kopf's internals are not the expected ones
    (then a relist implies no deletion, as in kopf itself). kopf's own observers (of CRDs, of
    namespaces, of its peering objects) run streams of their own on the same kinds, read more of
    a deleted object than its identity, and would share one stream's memory: never followed."""
    _KINDS.update(kinds)
    return patch_once(_INSTALLED, ("kopf._cogs.clients.watching",), _patch)


def _follows(resource: Any) -> bool:
    return (getattr(resource, "group", None), getattr(resource, "plural", None)) in _KINDS


def _patch(watching: Any) -> bool:
    marker = getattr(getattr(watching, "Bookmark", None), "LISTED", None)
    if marker is None or not callable(getattr(watching, "continuous_watch", None)):
        logger.debug("kopf's watching is not the expected one; a relist implies no deletion")
        return False
    # infinite_watch() calls continuous_watch by its module-level name.
    watching.continuous_watch = _reporting_deletions(watching.continuous_watch, marker, _follows)
    return True
