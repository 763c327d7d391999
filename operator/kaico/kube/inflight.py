"""Our own writes on their way back through the watch.

The cluster is the truth, and kaico reads it from its watches. Between a write and the watch
event that carries it there is a short window in which the watched copy is older than what the
API server already answered to the write. ``InFlight`` holds that answer (the object as stored,
from the write's response) only for that window: ``settle`` drops it as soon as the watch shows
the version the write produced or a later one, and ``current`` prefers it only while the watched
copy is older. It is never a memory of what kaico wrote that outlives the watch: an edit or a
deletion after our write reaches us as a later event and wins.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

Value = TypeVar("Value")

# An answer the watch has not confirmed within this time is dropped anyway (a watch that
# restarted with a relist shows only the latest version, which may not be "ours").
IN_FLIGHT_SECONDS = 60.0


def newer_or_same(version: str | None, than: str | None) -> bool:
    """Whether resourceVersion ``version`` is at least ``than``. resourceVersions are etcd
    revisions, integers that grow with every write; where either is not one, only equality
    counts. Any version is at least an unknown one."""
    if than is None:
        return True
    if version is None:
        return False
    try:
        return int(version) >= int(than)
    except ValueError:
        return version == than


@dataclass(frozen=True)
class _Entry(Generic[Value]):
    resource_version: str | None
    value: Value
    at: float


class InFlight(Generic[Value]):
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._entries: dict[Hashable, _Entry[Value]] = {}
        self._clock = clock

    def wrote(self, key: Hashable, resource_version: str | None, value: Value) -> None:
        """The API answered a write of ``key`` with this stored version."""
        self._entries[key] = _Entry(resource_version, value, self._clock())

    def settle(self, key: Hashable, resource_version: str | None) -> bool:
        """The watch showed ``key`` at ``resource_version``: drop our answer once the watch has
        caught up with it. False when the event is older than our write (a stale event)."""
        entry = self._entries.get(key)
        if entry is None:
            return True
        if newer_or_same(resource_version, entry.resource_version):
            del self._entries[key]
            return True
        return False

    def current(self, key: Hashable, watched: Value | None, watched_version: str | None) -> Value | None:
        """The freshest known stored state of ``key``: our write's answer while the watched copy
        is older (or absent), else the watched copy."""
        entry = self._entries.get(key)
        if entry is None:
            return watched
        if self._clock() - entry.at > IN_FLIGHT_SECONDS or (
            watched is not None and newer_or_same(watched_version, entry.resource_version)
        ):
            del self._entries[key]
            return watched
        return entry.value

    def forget(self, key: Hashable) -> None:
        self._entries.pop(key, None)
