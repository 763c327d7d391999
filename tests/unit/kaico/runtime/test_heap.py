"""The heap trim: once after a burst of work ends, never during it, at most every MIN_SECONDS."""

from kaico.runtime import heap
from kaico.runtime.heap import HeapTrimmer


def test_the_heap_is_trimmed_once_when_work_ends():
    now = [0.0]
    trims: list[float] = []
    trimmer = HeapTrimmer(lambda: trims.append(now[0]), clock=lambda: now[0])
    trimmer.tick(False)  # idle from the start: nothing was freed
    for busy in (True, True, False, False):
        now[0] += 1
        trimmer.tick(busy)
    assert trims == [3.0]
    # Another burst soon after: trimmed once it ends and MIN_SECONDS have passed.
    for _ in range(3):
        now[0] += 1
        trimmer.tick(True)
    now[0] += 1
    trimmer.tick(False)
    assert trims == [3.0]
    now[0] = 3.0 + heap.MIN_SECONDS
    trimmer.tick(False)
    assert trims == [3.0, 3.0 + heap.MIN_SECONDS] and trimmer.trims == 2


def test_glibc_malloc_trim_is_found_here():
    # The image and CI run glibc (python:3.11-slim); elsewhere the trimmer does nothing.
    assert heap._glibc_trim() is not None
    HeapTrimmer().tick(True)
