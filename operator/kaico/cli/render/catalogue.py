"""Rendering the check catalogue (``kaico checks``): table, Markdown (the docs' check table), JSON."""

from __future__ import annotations

import json

from conformance.registry import CheckSpec


def render_catalogue_table(specs: list[CheckSpec]) -> str:
    lines = [f"{'ID':<27} {'CATEGORY':<10} {'SEVERITY':<9} TITLE"]
    for spec in specs:
        lines.append(f"{spec.id:<27} {spec.category.value:<10} {spec.severity.value:<9} {spec.title}")
    return "\n".join(lines) + "\n"


def render_catalogue_markdown(specs: list[CheckSpec]) -> str:
    """The README's check table (a test fails when the README's copy is stale)."""
    def cell(text: str) -> str:
        return " ".join(text.split()).replace("|", "\\|")

    lines = [
        "| id | category | severity | requirement | what it checks | why | how to fix |",
        "|---|---|---|---|---|---|---|",
    ]
    for spec in specs:
        lines.append(
            f"| `{spec.id}` | {spec.category.value} | {spec.severity.value} | "
            f"{('`' + spec.requirement + '`') if spec.requirement else ''} | {cell(spec.title)} | "
            f"{cell(spec.rationale)} | {cell(spec.remediation)} |"
        )
    return "\n".join(lines) + "\n"


def render_catalogue_json(specs: list[CheckSpec]) -> str:
    return json.dumps(
        [
            {
                "id": s.id, "title": s.title, "category": s.category.value,
                "severity": s.severity.value, "requirement": s.requirement,
                "rationale": s.rationale, "remediation": s.remediation,
                "needs": [n.value for n in s.needs], "acceleratorsOnly": s.accelerators_only,
            }
            for s in specs
        ],
        indent=2,
    ) + "\n"
