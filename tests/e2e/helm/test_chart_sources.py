"""Generated copies match their single sources: CRDs, the default profile, the values table.

`make generate` rewrites them all; `make verify` fails with a diff when one is stale.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_chart_crds_are_the_top_level_crds(repo_root: Path, chart_dir: Path):
    source = {p.name: p.read_text() for p in (repo_root / "crds").glob("*.yaml")}
    chart = {p.name: p.read_text() for p in (chart_dir / "crds").glob("*.yaml")}
    assert source, "no CRDs in crds/"
    assert chart == source, "charts/kaico/crds/ is stale: run `make generate`"


def test_the_chart_default_profile_is_the_builtin_profile(repo_root: Path, chart_dir: Path):
    builtin = repo_root / "conformance" / "profiles" / "default.yaml"
    copy = chart_dir / "files" / "default-profile.yaml"
    assert copy.read_text() == builtin.read_text(), "run `make generate`"


def test_the_install_page_values_table_is_generated_from_values_yaml(
    repo_root: Path, chart_dir: Path
):
    table = _load(repo_root / "hack" / "values_table.py", "values_table")
    page = (repo_root / "docs" / "install.md").read_text()
    values = (chart_dir / "values.yaml").read_text()
    assert table.updated_page(page, values) == page, (
        "docs/install.md's values table is stale: run `make generate`"
    )


def test_every_value_is_documented(repo_root: Path, chart_dir: Path):
    table = _load(repo_root / "hack" / "values_table.py", "values_table")
    text = (chart_dir / "values.yaml").read_text()
    documented = {path for path, _ in table.documented_keys(text)}

    def leaves(node, prefix=""):
        for key, value in node.items():
            path = f"{prefix}{key}"
            if isinstance(value, dict) and value and path not in documented:
                yield from leaves(value, path + ".")
            else:
                yield path

    undocumented = [p for p in leaves(yaml.safe_load(text)) if p not in documented]
    assert not undocumented, f"values without a `# --` comment: {undocumented}"


def test_every_value_is_in_the_schema(chart_dir: Path):
    import json

    schema = json.loads((chart_dir / "values.schema.json").read_text())
    values = yaml.safe_load((chart_dir / "values.yaml").read_text())

    def walk(node, schema_node, prefix=""):
        props = schema_node.get("properties")
        if props is None:
            return
        for key, value in node.items():
            assert key in props, f"{prefix}{key} is in values.yaml but not in values.schema.json"
            if isinstance(value, dict):
                walk(value, props[key], f"{prefix}{key}.")

    walk(values, schema)
