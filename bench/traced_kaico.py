"""``kaico`` with tracemalloc on: ``python bench/traced_kaico.py run ...`` (used by
``bench/operator_bench.py --tracemalloc``). On SIGUSR1 it writes the top allocations, by line and
by traceback, to ``$KAICO_TRACEMALLOC_FILE``; on SIGUSR2 it runs ``malloc_trim(0)`` (how much of
the RSS is free memory the C heap kept). A benchmark aid, not shipped in the image."""

from __future__ import annotations

import ctypes
import gc
import os
import signal
import sys
import tracemalloc
from collections import Counter
from pathlib import Path
from types import FrameType


def dump(_signum: int = 0, _frame: FrameType | None = None) -> None:
    gc.collect()
    snapshot = tracemalloc.take_snapshot().filter_traces(
        (tracemalloc.Filter(False, tracemalloc.__file__),))
    traced, peak = tracemalloc.get_traced_memory()
    lines = [f"traced {traced / 2**20:.1f} MiB, peak {peak / 2**20:.1f} MiB", "", "# by line"]
    lines += [str(stat) for stat in snapshot.statistics("lineno")[:40]]
    by_traceback = snapshot.statistics("traceback")
    lines += ["", "# by owner: the innermost frame in kopf, kaico or conformance (else in any package)"]
    owners: Counter[str] = Counter()
    files: Counter[str] = Counter()
    for stat in by_traceback:
        owner, where = owner_of(stat.traceback)
        owners[owner] += stat.size
        files[where] += stat.size
    lines += [f"{size / 2**20:8.2f} MiB  {owner}" for owner, size in owners.most_common()]
    lines += ["", "# by owner's file and line"]
    lines += [f"{size / 2**20:8.2f} MiB  {where}" for where, size in files.most_common(40)]
    lines += ["", "# by traceback"]
    for stat in by_traceback[:25]:
        lines.append(f"{stat.size / 2**20:.2f} MiB in {stat.count} blocks")
        lines += ["    " + line for line in stat.traceback.format()[-16:]]
    lines += ["", "# objects by type"]
    counts = Counter(type(o).__name__ for o in gc.get_objects())
    lines += [f"{n:8d} {name}" for name, n in counts.most_common(30)]
    path = Path(os.environ.get("KAICO_TRACEMALLOC_FILE", "tracemalloc.txt"))
    path.with_suffix(".tmp").write_text("\n".join(lines) + "\n")
    path.with_suffix(".tmp").rename(path)


OWNERS = ("kopf", "kaico", "conformance")


def _package(filename: str) -> str | None:
    parts = Path(filename).parts
    for owner in OWNERS:
        if owner in parts[:-1]:
            return owner
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].removesuffix(".py")
    return None


def owner_of(traceback: tracemalloc.Traceback) -> tuple[str, str]:
    """Who keeps an allocation: the innermost frame in kopf, kaico or conformance, else the
    innermost frame in an installed package, else the standard library's."""
    fallback = None
    for frame in reversed(traceback):  # innermost last in the traceback
        package = _package(frame.filename)
        if package in OWNERS:
            return package, f"{package}: {frame.filename.rpartition(package + '/')[2]}:{frame.lineno}"
        if package is not None and fallback is None:
            fallback = package, f"{package}: {Path(frame.filename).name}:{frame.lineno}"
    if fallback is not None:
        return fallback
    frame = traceback[-1]
    return "stdlib/other", f"stdlib/other: {Path(frame.filename).name}:{frame.lineno}"


def trim(_signum: int = 0, _frame: FrameType | None = None) -> None:
    """Return the C heap's free pages to the system (glibc): what RSS keeps that nothing uses."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)


if __name__ == "__main__":
    if os.environ.get("KAICO_TRACEMALLOC_FILE"):
        tracemalloc.start(int(os.environ.get("KAICO_TRACEMALLOC_FRAMES", "12")))
        signal.signal(signal.SIGUSR1, dump)
    signal.signal(signal.SIGUSR2, trim)
    from kaico.cli import main

    sys.exit(main(sys.argv[1:]))
