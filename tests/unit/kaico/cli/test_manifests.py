"""Reading manifests: multi-document YAML, JSON, List wrappers, directories, stdin, errors."""

import io

import pytest
from kaico.cli.manifests import ManifestError, load, parse_text


def test_multi_document_yaml_yields_each_object_with_its_document_index():
    objects = parse_text("kind: A\n---\n---\nkind: B\n", "f.yaml")
    assert [(o.body["kind"], o.source) for o in objects] == [("A", "f.yaml#0"), ("B", "f.yaml#2")]


def test_a_kubectl_list_is_expanded_into_its_items():
    objects = parse_text("kind: List\nitems:\n- kind: Node\n- kind: Node\n", "nodes.yaml")
    assert [o.body["kind"] for o in objects] == ["Node", "Node"]


def test_json_documents_and_arrays_are_read():
    assert [o.body["kind"] for o in parse_text('[{"kind": "A"}, {"kind": "B"}]', "x.json")] == [
        "A", "B"
    ]


def test_documents_without_kind_and_scalars_are_ignored():
    assert parse_text("just a string\n---\nfoo: bar\n---\n", "x.yaml") == []


def test_a_yaml_syntax_error_names_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: A\nmetadata:\n  name: [unclosed\n")
    with pytest.raises(ManifestError, match=r"bad\.yaml:\d+:\d+: YAML error"):
        load([str(bad)])


def test_a_missing_file_is_an_error_naming_it(tmp_path):
    with pytest.raises(ManifestError, match="no such file"):
        load([str(tmp_path / "missing.yaml")])


def test_directories_are_walked_recursively_for_yaml_and_json(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.yaml").write_text("kind: One\n")
    (tmp_path / "two.json").write_text('{"kind": "Two"}')
    (tmp_path / "README.md").write_text("kind: NotAManifest\n")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.yaml").write_text("kind: Hidden\n")
    assert sorted(o.body["kind"] for o in load([str(tmp_path)])) == ["One", "Two"]


def test_dash_reads_standard_input():
    objects = load(["-"], stdin=io.StringIO("kind: FromStdin\n"))
    assert [(o.body["kind"], o.source) for o in objects] == [("FromStdin", "<stdin>#0")]
