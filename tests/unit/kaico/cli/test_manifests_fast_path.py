"""The loader's fast path builds plain documents itself; it must build what PyYAML's path
builds, and leave everything else (and every error) to PyYAML's path."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from kaico.cli import manifests
from kaico.cli.manifests import ManifestError, parse_text

from tests.unit.conformance.yaml_values import plain_values, same


def _both_ways(text: str) -> list[tuple[object, object]]:
    """(fast path, PyYAML's constructor) for each document of ``text``."""
    pairs = []
    loader = manifests._StrictLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            try:
                fast = manifests._plain(loader, node)
            except manifests._NotPlain:
                fast = manifests._NotPlain
            pairs.append((fast, loader.construct_document(node)))
    finally:
        loader.dispose()
    return pairs


def test_every_sample_document_is_built_by_the_fast_path_as_pyyaml_builds_it(shared_dir):
    checked = 0
    for path in sorted((shared_dir / "samples").rglob("*.y*ml")):
        text = path.read_text(errors="replace")
        if "*" in text:  # aliases always take PyYAML's path
            continue
        try:
            pairs = _both_ways(text)
        except yaml.YAMLError:
            continue
        for fast, slow in pairs:
            if fast is not manifests._NotPlain:
                assert same(fast, slow), path
                checked += 1
    assert checked > 40


@pytest.mark.parametrize("text", [
    "a: 1\nb: 0755\nc: 0x1f\nd: 1_000\ne: 1:30\nf: -0\ng: +5\n",
    "a: 1.5\nb: .inf\nc: -.Inf\nd: .nan\ne: 1e3\nf: 6.8523015e+5\n",
    "a: yes\nb: No\nc: on\nd: ~\ne: null\nf: ''\ng: 'yes'\nh: \"1\"\n",
    "3: int key\n2.5: float key\ntrue: bool key\n~: null key\n",
    "t: 2001-12-14t21:59:43.10-05:00\nd: 2002-12-14\n",
    "b: !!binary aGVsbG8=\ns: !!str 12\ni: !!int '7'\n",
    "[1, [2, [3, {a: [b]}]], {}]\n",
    "plain\n",
])
def test_plain_scalars_and_explicit_tags_build_alike(text):
    for fast, slow in _both_ways(text):
        assert fast is not manifests._NotPlain
        assert same(fast, slow)


@pytest.mark.parametrize("text", [
    "base: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n",  # merge key
    "a: !!set {x, y}\n",
    "a: !!omap [{x: 1}]\n",
    "? [1, 2]\n: v\n",  # a non-scalar key
    "a: 1\na: 2\n",  # duplicate key
    "a: !custom 1\n",
])
def test_anything_unusual_is_left_to_pyyaml(text):
    try:
        pairs = _both_ways(text)
    except yaml.YAMLError:
        return  # PyYAML's path rejects it (the loader reports that)
    assert [fast for fast, _ in pairs] == [manifests._NotPlain] * len(pairs)


@pytest.mark.parametrize(("text", "message"), [
    ("kind: A\nkind: B\n", r"f\.yaml:2:1: YAML error: duplicate key 'kind'"),
    ("kind: A\nx: !!int abc\n", r"f\.yaml:1: unreadable value \(ValueError\)"),
    ("kind: A\nx: !nope 1\n", r"f\.yaml:2:\d+: YAML error: could not determine a constructor"),
    ("? [a]\n: 1\n", r"f\.yaml:\d+:\d+: YAML error: found unhashable key"),
])
def test_errors_are_still_pyyamls_with_file_and_line(text, message):
    with pytest.raises(ManifestError, match=message):
        parse_text(text, "f.yaml")


@settings(max_examples=200)
@given(plain_values, st.booleans())
def test_any_dumped_value_is_read_back_alike(value, flow):
    text = yaml.safe_dump(value, default_flow_style=flow)
    for fast, slow in _both_ways(text):
        assert fast is not manifests._NotPlain
        assert same(fast, slow)
