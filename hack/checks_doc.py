"""docs/checks.md's generated section: the check catalogue, from the registry.

An index table, then one section per check under an anchor named by its id
(``docs/checks.md#gpu-limits``), so a result can link to its check. ``--write`` updates the page,
``--check`` prints a diff and exits 1 when it is stale, no flag prints the section. Run through ``make generate`` (``make
verify`` checks); ``tests/unit/test_readme.py`` fails when the page is stale.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "hack")]

from generated_section import replace_section, update  # noqa: E402

PAGE = REPO / "docs" / "checks.md"


def _specs() -> list:
    from conformance.catalogue import catalogue

    return list(catalogue().values())


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _requirement(spec) -> str:
    return f"`{spec.requirement}`" if spec.requirement else ""


def render(specs: list) -> str:
    """The generated markdown, ending with a newline."""
    lines = [
        "| id | category | severity | requirement | what it checks |",
        "|---|---|---|---|---|",
    ]
    for spec in specs:
        lines.append(
            f"| [`{spec.id}`](#{spec.id}) | {spec.category.value} | {spec.severity.value} | "
            f"{_requirement(spec)} | {_cell(spec.title)} |"
        )
    for spec in specs:
        facts = ", ".join(n.value for n in spec.needs)
        about = [
            f"Category `{spec.category.value}`",
            f"default severity `{spec.severity.value}`",
        ]
        if spec.requirement:
            about.append(f"CNCF requirement `{spec.requirement}`")
        if facts:
            about.append(f"needs facts about {facts} (`skip` without them)")
        if spec.accelerators_only:
            about.append("only for workloads that ask for accelerators")
        lines += [
            "",
            f'<a id="{spec.id}"></a>',
            "",
            f"### `{spec.id}`: {_cell(spec.title)}",
            "",
            "; ".join(about) + ".",
            "",
            f"**Why.** {_cell(spec.rationale)}",
            "",
            f"**How to fix.** {_cell(spec.remediation)}",
        ]
    return "\n".join(lines) + "\n"


def updated_page(text: str) -> str:
    return replace_section(text, "checks", render(_specs()), str(PAGE))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help=f"update {PAGE.name} in place")
    mode.add_argument("--check", action="store_true", help="print a diff and exit 1 if stale")
    args = parser.parse_args(argv)
    if not (args.write or args.check):
        print(render(_specs()), end="")
        return 0
    new_text = updated_page(PAGE.read_text())
    return 0 if update(PAGE, new_text, check=args.check, command="make generate") else 1


if __name__ == "__main__":
    sys.exit(main())
