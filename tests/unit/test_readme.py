"""The README is a short front page into docs/; the docs' generated sections match their sources."""

import importlib.util
import re

from conformance.catalogue import catalogue

README_LIMIT = 10 * 1024
# [text](target): a markdown link; images and reference-style links are not used in these pages.
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6} +(.+?) *$", re.M)
_ANCHOR = re.compile(r'<a id="([^"]+)"></a>')


def load_generator(repo_root):
    spec = importlib.util.spec_from_file_location(
        "checks_doc", repo_root / "hack" / "checks_doc.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pages(repo_root):
    return [repo_root / "README.md", *sorted((repo_root / "docs").glob("*.md"))]


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[^\w\- ]", "", heading.lower())
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    found = set(_ANCHOR.findall(text))
    seen: dict[str, int] = {}
    for heading in _HEADING.findall(text):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def test_the_check_page_is_generated_from_the_registry(repo_root):
    generator = load_generator(repo_root)
    text = (repo_root / "docs" / "checks.md").read_text()
    assert generator.updated_page(text) == text, "docs/checks.md is stale: run `make generate`"


def test_every_check_has_an_anchor_named_by_its_id(repo_root):
    text = (repo_root / "docs" / "checks.md").read_text()
    ids = set(catalogue())
    assert ids, "the registry is empty"
    missing = ids - set(_ANCHOR.findall(text))
    assert not missing, f"docs/checks.md has no anchor for {sorted(missing)}"


def test_the_readme_quick_start_is_two_commands(repo_root):
    text = (repo_root / "README.md").read_text()
    quick_start = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = quick_start.split("```sh", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
    assert commands == ["make demo", "make test"]


def test_the_readme_is_at_most_10_kb(repo_root):
    size = len((repo_root / "README.md").read_bytes())
    assert size <= README_LIMIT, f"README.md is {size} bytes; move detail into docs/"


def test_the_readme_links_every_docs_page(repo_root):
    text = (repo_root / "README.md").read_text()
    linked = {target.split("#", 1)[0] for target in _LINK.findall(text)}
    docs = {f"docs/{page.name}" for page in (repo_root / "docs").glob("*.md")}
    assert docs, "no docs pages"
    assert not docs - linked, f"the README's docs index misses {sorted(docs - linked)}"


def test_every_relative_link_resolves(repo_root):
    broken = []
    for page in pages(repo_root):
        text = page.read_text()
        for target in _LINK.findall(text):
            if re.match(r"[a-z]+:", target):  # https:, mailto: ...: not checked offline
                continue
            path, _, fragment = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            where = f"{page.relative_to(repo_root)}: {target}"
            if not linked.exists():
                broken.append(f"{where} (no such file)")
            elif fragment and linked.suffix == ".md" and fragment not in anchors(linked.read_text()):
                broken.append(f"{where} (no such anchor)")
    assert not broken, "broken links:\n" + "\n".join(broken)
