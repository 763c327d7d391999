"""Give the C heap's free memory back to the system once a burst of work is over.

A start-up (every target evaluated, every report written) or a node change (every report
rewritten) allocates and frees a lot at once. glibc's malloc keeps the freed pages mapped, so the
RSS stays at the burst's peak although the memory is free (``malloc_trim(0)`` returned 15 MiB at
5,000 targets, docs/benchmarks.md). ``HeapTrimmer`` asks glibc to return them when kaico's work
goes from busy to idle, at most every ``MIN_SECONDS``. Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import time
from collections.abc import Callable

logger = logging.getLogger("kaico.runtime.heap")

MIN_SECONDS = 30.0


def _glibc_trim() -> Callable[[], object] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: trim(0)


class HeapTrimmer:
    def __init__(self, trim: Callable[[], object] | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self._trim = trim if trim is not None else _glibc_trim()
        self._clock = clock
        self._busy = False
        self._last = float("-inf")
        self.trims = 0

    def tick(self, busy: bool) -> None:
        """Called now and then with whether work is under way: trims once after it ends."""
        if busy:
            self._busy = True
            return
        if not self._busy or self._trim is None or self._clock() - self._last < MIN_SECONDS:
            return
        self._busy = False
        self._last = self._clock()
        self._trim()
        self.trims += 1
