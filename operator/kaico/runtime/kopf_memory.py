"""Keep less of every watched object in kopf's memory.

kaico registers only index and event handlers (``kaico.runtime.handlers``), and at 5,000 targets
kopf's share of the operator's memory is what it keeps per watched object (docs/benchmarks.md,
"Where the memory goes"):

* **the bodies**, from the watch stream to the per-object worker, which holds each one until
  its handlers ran; at start-up every listed object's body waits for every index to be filled,
  all at once. ``install()`` drops ``metadata.managedFields`` from every listed and watched object
  as kopf receives it: the API server's bookkeeping of who set which field, which kaico never
  reads (no handler, adapter or check does).
* **the objects of a mirrored kind** (ConformanceReports, ``kaico.workloads.report_mirror``) are
  handed to their ``Mirror`` as kopf lists and watches them, and kopf keeps none of them: a
  listing passes kopf empty pages (with the listing's resourceVersion) and a watch event becomes
  a BOOKMARK carrying only the event's resourceVersion, so kopf starts no worker and indexes
  nothing, while its retries, relists after a 410 and per-namespace streams still serve the kind.
  The kind keeps an index handler registered so that kopf's start-up gate still waits for its
  listing (which the mirror has then received whole).
* **a ``ResourceMemory`` per object** (memo, error throttler, indexing and daemon memories), kept
  until the object is deleted. kopf keeps it for what kaico does not use: the last-seen state of
  change handlers, daemons and timers, memos, retries of failed index handlers (kaico's index
  functions do not raise). ``ObjectMemories`` gives each event a fresh one that is not kept.

Both target private kopf code: ``install()`` checks the names it replaces and returns False when
kopf changed them (``kaico run`` then refuses to start: a mirror that is not fed would take every
report for missing), and ``memories()`` returns None (kopf's own) when its memories class is not
the expected one.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Protocol

from kaico.runtime.kopf_private import patch_once

logger = logging.getLogger("kaico.runtime.kopf_memory")

_INSTALLED: list[bool] = []


class Mirror(Protocol):
    """Where the objects of a mirrored kind go instead of kopf's workers and indexes."""

    def listing_started(self, namespace: str | None) -> None: ...
    def listed(self, namespace: str | None, body: dict[str, Any]) -> None: ...
    def listing_done(self, namespace: str | None, version: str | None) -> None: ...
    def listing_abandoned(self, namespace: str | None) -> None: ...
    def event(self, event_type: str, body: dict[str, Any]) -> None: ...


# (API group, plural) -> the mirror that receives that kind's objects.
_MIRRORS: dict[tuple[str, str], Mirror] = {}
WATCH_EVENTS = ("ADDED", "MODIFIED", "DELETED")


def slim(obj: Any) -> Any:
    """Drop what kaico never reads from a watched object (in place); the object."""
    if isinstance(obj, dict):
        metadata = obj.get("metadata")
        if isinstance(metadata, dict):
            metadata.pop("managedFields", None)
    return obj


def _mirror_of(resource: Any) -> Mirror | None:
    if not _MIRRORS or resource is None:
        return None
    return _MIRRORS.get((str(getattr(resource, "group", "")), str(getattr(resource, "plural", ""))))


def _slim_listing(fetch_objs: Callable[..., AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
    async def fetch(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        mirror = _mirror_of(kwargs.get("resource"))
        if mirror is None:
            async for chunk, version in fetch_objs(*args, **kwargs):
                for obj in chunk:
                    slim(obj)
                yield chunk, version
            return
        namespace = kwargs.get("namespace")
        mirror.listing_started(namespace)
        complete, version = False, None
        try:
            async for chunk, version in fetch_objs(*args, **kwargs):
                for obj in chunk:
                    mirror.listed(namespace, obj)
                del chunk
                yield [], version
            complete = True
        finally:
            if complete:
                mirror.listing_done(namespace, version)
            else:
                mirror.listing_abandoned(namespace)

    return fetch


def _slim_watch(watch_objs: Callable[..., AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
    async def watch(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        mirror = _mirror_of(kwargs.get("resource"))
        async for raw_input in watch_objs(*args, **kwargs):
            if not isinstance(raw_input, dict):
                yield raw_input
                continue
            obj = raw_input.get("object")
            if mirror is not None and raw_input.get("type") in WATCH_EVENTS and isinstance(obj, dict):
                mirror.event(raw_input["type"], obj)
                version = (obj.get("metadata") or {}).get("resourceVersion")
                # kopf takes the stream's resourceVersion from it and skips it otherwise.
                yield {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": version}}}
                continue
            slim(obj)
            yield raw_input

    return watch


def install(mirrors: Mapping[tuple[str, str], Mirror] | None = None) -> bool:
    """Patch kopf's listing and watching (once); False when kopf's internals are not the
    expected ones. ``mirrors``: (API group, plural) -> the mirror that receives every object of
    that kind instead of kopf (a later call replaces a kind's mirror)."""
    _MIRRORS.update(mirrors or {})
    return patch_once(_INSTALLED, ("kopf._cogs.clients.fetching", "kopf._cogs.clients.watching"), _patch)


def _patch(fetching: Any, watching: Any) -> bool:
    # continuous_watch() calls fetching.fetch_objs and its module's watch_objs by name.
    if not (callable(getattr(fetching, "fetch_objs", None)) and callable(getattr(watching, "watch_objs", None))
            and callable(getattr(watching, "continuous_watch", None))):
        logger.debug("kopf's listing and watching are not the expected ones")
        return False
    fetching.fetch_objs = _slim_listing(fetching.fetch_objs)
    watching.watch_objs = _slim_watch(watching.watch_objs)
    return True


def memories() -> Any:
    """kopf's per-object memories that keep nothing between events (``ObjectMemories``), or
    None (kopf's own) when kopf's memories class is not the expected one."""
    try:
        from kopf._core.reactor import inventory
    except ImportError:
        return None
    base = getattr(inventory, "ResourceMemories", None)
    if base is None or not callable(getattr(base, "recall", None)):
        return None

    class ObjectMemories(base):  # type: ignore[misc, valid-type]
        """A fresh ``ResourceMemory`` per event, never stored (kopf's ``ephemeral``)."""

        async def recall(self, raw_body: Any, *, memobase: Any = None, noticed_by_listing: bool = False,
                         ephemeral: bool = False) -> Any:
            return await super().recall(raw_body, memobase=memobase, noticed_by_listing=noticed_by_listing,
                                        ephemeral=True)

    return ObjectMemories()
