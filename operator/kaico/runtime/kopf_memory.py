"""Keep less of every watched object in kopf's memory.

kaico registers only index and event handlers (``kaico.runtime.handlers``), and at 5,000 targets
kopf's share of the operator's memory is what it keeps per watched object (docs/benchmarks.md,
"Where the memory goes"):

* **the bodies**, from the watch stream to the per-object worker, which holds each one until
  its handlers ran; at start-up every listed object's body waits for every index to be filled,
  all at once. ``install()`` drops ``metadata.managedFields`` from every listed and watched object
  as kopf receives it: the API server's bookkeeping of who set which field, which kaico never
  reads (no handler, adapter or check does), one entry per writer of the object; and
  reduces the kinds it is given further (a ConformanceReport's status to its digest,
  ``kaico.workloads.indexes.compact_report``).
* **a ``ResourceMemory`` per object** (memo, error throttler, indexing and daemon memories), kept
  until the object is deleted. kopf keeps it for what kaico does not use: the last-seen state of
  change handlers, daemons and timers, memos, retries of failed index handlers (kaico's index
  functions do not raise). ``ObjectMemories`` gives each event a fresh one that is not kept.

Both target private kopf code: ``install()`` checks the names it replaces and does nothing when
kopf changed them (the operator then only keeps more), and ``memories()`` returns None (kopf's
own) when its memories class is not the expected one.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

logger = logging.getLogger("kaico.runtime.kopf_memory")

_INSTALLED: list[bool] = []
# (API group, kind) -> what else to drop from a watched object of that kind, in place.
_REDUCERS: dict[tuple[str, str], Callable[[dict[str, Any]], None]] = {}


def slim(obj: Any) -> Any:
    """Drop what kaico never reads from a watched object (in place); the object."""
    if isinstance(obj, dict):
        metadata = obj.get("metadata")
        if isinstance(metadata, dict):
            metadata.pop("managedFields", None)
        if _REDUCERS:
            reduce = _REDUCERS.get((str(obj.get("apiVersion") or "").rpartition("/")[0], str(obj.get("kind"))))
            if reduce is not None:
                reduce(obj)
    return obj


def _slim_listing(fetch_objs: Callable[..., AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
    async def fetch(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        async for chunk, version in fetch_objs(*args, **kwargs):
            for obj in chunk:
                slim(obj)
            yield chunk, version

    return fetch


def _slim_watch(watch_objs: Callable[..., AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
    async def watch(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        async for raw_input in watch_objs(*args, **kwargs):
            if isinstance(raw_input, dict):
                slim(raw_input.get("object"))
            yield raw_input

    return watch


def install(reducers: Mapping[tuple[str, str], Callable[[dict[str, Any]], None]] | None = None) -> bool:
    """Patch kopf's listing and watching (once); False when kopf's internals are not the
    expected ones. ``reducers``: (API group, kind) -> a function that reduces a watched object of
    that kind further, in place, to what its handlers read."""
    _REDUCERS.update(reducers or {})
    if _INSTALLED:
        return _INSTALLED[0]
    try:
        from kopf._cogs.clients import fetching, watching
    except ImportError:
        _INSTALLED.append(False)
        return False
    # continuous_watch() calls fetching.fetch_objs and its module's watch_objs by name.
    if not (callable(getattr(fetching, "fetch_objs", None)) and callable(getattr(watching, "watch_objs", None))
            and callable(getattr(watching, "continuous_watch", None))):
        logger.debug("kopf's listing and watching are not the expected ones; bodies are kept whole")
        _INSTALLED.append(False)
        return False
    fetching.fetch_objs = _slim_listing(fetching.fetch_objs)
    watching.watch_objs = _slim_watch(watching.watch_objs)
    _INSTALLED.append(True)
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
