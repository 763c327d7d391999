"""Regenerate the README sections that come from code (the check table), in place.

Run ``make docs``; ``tests/unit/test_readme.py`` fails when the README's copy is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "operator")]


def generated_sections() -> dict[str, str]:
    from kaico.cli.render.catalogue import render_catalogue_markdown

    from conformance.catalogue import catalogue

    return {"checks": render_catalogue_markdown(list(catalogue().values()))}


def replace_section(text: str, name: str, body: str) -> str:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    head, found, rest = text.partition(start)
    if not found:
        raise SystemExit(f"README has no {start} marker")
    _, found, tail = rest.partition(end)
    if not found:
        raise SystemExit(f"README has no {end} marker")
    return f"{head}{start}\n{body}{end}{tail}"


def updated_readme(text: str) -> str:
    for name, body in generated_sections().items():
        text = replace_section(text, name, body)
    return text


if __name__ == "__main__":
    readme = REPO / "README.md"
    readme.write_text(updated_readme(readme.read_text()))
    print(f"updated {readme}")
