"""Helpers for reading rendered chart objects (imported by the chart tests)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

Rendered = list[dict[str, Any]]


def find(objects: Rendered, kind: str, name: str | None = None) -> dict[str, Any]:
    matches = [
        o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]
    assert len(matches) == 1, f"expected one {kind} {name or ''}, got {len(matches)}"
    return matches[0]


def kinds(objects: Rendered) -> list[str]:
    return sorted(o["kind"] for o in objects)


def run_helm(helm: Path, *args: str, check: bool = True, **kwargs: Any):
    return subprocess.run(
        [str(helm), *args], capture_output=True, text=True, check=check, timeout=120, **kwargs
    )
