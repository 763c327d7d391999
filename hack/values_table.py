"""docs/install.md's Helm values table, generated from the comments in charts/kaico/values.yaml.

A key preceded by a ``# -- description`` comment (continued by further ``#`` lines at the same
indent) gets a row: its dotted path, type, default (from the parsed YAML, so it cannot disagree
with the chart) and description. ``--write`` replaces the page's section between
``<!-- values:start -->`` and ``<!-- values:end -->``; ``--check`` prints a diff and exits 1 when
it is stale. tests/e2e/helm/test_chart_sources.py fails when that section is stale. Run through
``make generate`` (``make verify`` checks).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "hack"))

from generated_section import replace_section, update  # noqa: E402

VALUES = REPO / "charts" / "kaico" / "values.yaml"
PAGE = REPO / "docs" / "install.md"

_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_]+):")
_DOC = re.compile(r"^(?P<indent> *)# -- ?(?P<text>.*)$")
_MORE = re.compile(r"^(?P<indent> *)#(?: (?P<text>.*))?$")


def documented_keys(text: str) -> list[tuple[str, str]]:
    """(dotted path, description) for every key with a ``# --`` comment, in file order."""
    rows: list[tuple[str, str]] = []
    path: list[tuple[int, str]] = []  # (indent, key) of the enclosing mappings
    pending: list[str] | None = None
    pending_indent = -1
    for line in text.splitlines():
        if doc := _DOC.match(line):
            pending, pending_indent = [doc["text"].strip()], len(doc["indent"])
            continue
        more = _MORE.match(line)
        if more and pending is not None and len(more["indent"]) == pending_indent:
            pending.append((more["text"] or "").strip())
            continue
        key = _KEY.match(line)
        if key is None:
            if not line.strip() or more:
                pending = None if not line.strip() else pending
            continue
        indent = len(key["indent"])
        while path and path[-1][0] >= indent:
            path.pop()
        dotted = ".".join([k for _, k in path] + [key["key"]])
        if pending is not None and indent == pending_indent:
            rows.append((dotted, " ".join(p for p in pending if p)))
        pending = None
        path.append((indent, key["key"]))
    return rows


def _lookup(values: dict[str, Any], dotted: str) -> Any:
    node: Any = values
    for part in dotted.split("."):
        node = node[part]
    return node


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def values_table(values_text: str) -> str:
    """The markdown table, ending with a newline."""
    values = yaml.safe_load(values_text)
    lines = ["| Key | Type | Default | Description |", "| --- | --- | --- | --- |"]
    for dotted, description in documented_keys(values_text):
        value = _lookup(values, dotted)
        default = json.dumps(value, separators=(",", ":"))
        lines.append(
            f"| `{dotted}` | {_type_of(value)} | `{_cell(default)}` | {_cell(description)} |"
        )
    return "\n".join(lines) + "\n"


def updated_page(page_text: str, values_text: str) -> str:
    return replace_section(page_text, "values", values_table(values_text), str(PAGE))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help=f"update {PAGE.name} in place")
    mode.add_argument("--check", action="store_true", help="print a diff and exit 1 if stale")
    args = parser.parse_args(argv)
    values_text = VALUES.read_text()
    if not (args.write or args.check):
        print(values_table(values_text), end="")
        return 0
    new_text = updated_page(PAGE.read_text(), values_text)
    return 0 if update(PAGE, new_text, check=args.check, command="make generate") else 1


if __name__ == "__main__":
    sys.exit(main())
