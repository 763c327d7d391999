"""Half of a batch of work done by a forked child while this process does the other half.

``kaico check`` on many files is CPU-bound Python: on a machine with two or more cores it
parses the second half of the files, and evaluates the second half of the targets, in a child
forked for it (a fork shares everything already loaded; the child's result comes back pickled
through a pipe). The results are the ones one process computes, in the same order, and an
error is the one a sequential run meets first: the child's exception is raised only after this
process finished its own half without one. If the child dies without a result (killed, out of
memory), its half is computed here.
"""

from __future__ import annotations

import os
import pickle
import signal
import threading
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def halves(items: Sequence[T], at_least: int, head_start: int = 0
           ) -> tuple[Sequence[T], Sequence[T]]:
    """``items`` split in two when there are ``at_least`` of them and a second core, else
    everything and nothing. The second part (the child's) is larger by ``head_start`` items
    (all of them at most) when this process has other work to do first."""
    # Only a single-threaded process forks: the child gets the calling thread alone, and a
    # lock another thread held (the import lock, an I/O buffer's) would never be released.
    if (len(items) < at_least or not hasattr(os, "fork") or cores() < 2
            or threading.active_count() > 1):
        return items, ()
    second = min(len(items), (len(items) + head_start + 1) // 2)
    return items[:len(items) - second], items[len(items) - second:]


class Forked(Generic[R]):
    """``work(items)`` computed by a forked child; ``result()`` waits for it. Use as a context
    manager: leaving the block without taking the result (this process's half raised) stops
    the child."""

    def __init__(self, work: Callable[[Any], R], items: Any):
        self._work, self._items = work, items
        self._child = -1
        self._readable = -1
        if not items:
            return
        readable, writable = os.pipe()
        try:
            child = os.fork()
        except OSError:  # no fork (limits): result() computes it here
            os.close(readable)
            os.close(writable)
            return
        if child == 0:  # pragma: no cover - runs in the child, whose coverage is not collected
            self._serve(readable, writable)
        os.close(writable)
        self._child, self._readable = child, readable

    def _serve(self, readable: int, writable: int) -> None:  # pragma: no cover - in the child
        status = 0
        try:
            os.close(readable)
            try:
                outcome: tuple[str, Any] = ("result", self._work(self._items))
            except Exception as error:  # noqa: BLE001 - handed to the parent to raise
                outcome = ("raised", error)
            with os.fdopen(writable, "wb") as out:
                pickle.dump(outcome, out, protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException:  # noqa: BLE001 - the parent computes the half itself
            status = 1
        finally:
            os._exit(status)

    def result(self) -> R:
        if self._child == -1:
            return self._work(self._items)
        with os.fdopen(self._readable, "rb") as incoming:
            self._readable = -1
            data = incoming.read()
        _, status = os.waitpid(self._child, 0)
        self._child = -1
        try:
            what, value = pickle.loads(data) if status == 0 else ("died", None)
        except Exception:  # noqa: BLE001 - a truncated result: the child died writing it
            what, value = "died", None
        if what == "raised":
            raise value
        if what == "died":
            return self._work(self._items)
        return value

    def __enter__(self) -> Forked[R]:
        return self

    def __exit__(self, *_: object) -> None:
        if self._readable != -1:
            os.close(self._readable)
            self._readable = -1
        if self._child != -1:
            os.kill(self._child, signal.SIGKILL)
            os.waitpid(self._child, 0)
            self._child = -1
