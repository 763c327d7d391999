"""The one implementation of a generated section in a docs page, shared by the generators.

A page marks each generated section with ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``;
a generator replaces what lies between them. ``update`` writes the page, or with ``check``
prints a unified diff and returns False when the page on disk is stale (``make verify``).
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path


def replace_section(text: str, name: str, body: str, page: str = "the page") -> str:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    head, found, rest = text.partition(start)
    if not found:
        raise SystemExit(f"{page} has no {start} marker")
    _, found, tail = rest.partition(end)
    if not found:
        raise SystemExit(f"{page} has no {end} marker")
    return f"{head}{start}\n{body}{end}{tail}"


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is inside it (as ``make`` runs)."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def update(path: Path, new_text: str, *, check: bool, command: str) -> bool:
    """Write ``new_text`` to ``path``; with ``check``, only report a difference (False if stale)."""
    old_text = path.read_text()
    if not check:
        if new_text != old_text:
            path.write_text(new_text)
            print(f"updated {_shown(path)}")
        return True
    if new_text == old_text:
        return True
    sys.stdout.writelines(
        difflib.unified_diff(
            old_text.splitlines(keepends=True),
            new_text.splitlines(keepends=True),
            fromfile=f"{_shown(path)} (on disk)",
            tofile=f"{_shown(path)} (generated)",
        )
    )
    print(f"{_shown(path)} is stale: run `{command}`", file=sys.stderr)
    return False
