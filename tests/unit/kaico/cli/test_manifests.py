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


# --- hostile input: every problem is a ManifestError naming the file and line ----------------


def test_each_object_records_the_line_its_document_or_list_item_starts_on():
    text = "kind: A\n---\nkind: List\nitems:\n- kind: B\n- kind: C\n"
    assert [(o.body["kind"], o.line) for o in parse_text(text, "f.yaml")] == [
        ("A", 1), ("B", 5), ("C", 6)
    ]


@pytest.mark.parametrize("text, message", [
    ("kind: [a]\nmetadata: {name: x}\n", r"f\.yaml:1: kind must be a string, not a list"),
    ("---\nkind: {a: 1}\n", r"f\.yaml:2: kind must be a string, not a mapping"),
    ("kind: Deployment\nmetadata: [a]\n", r"f\.yaml:1: metadata must be a mapping"),
    ("kind: Deployment\nmetadata: {name: [x]}\n", r"metadata\.name must be a string"),
    ("apiVersion: 1\nkind: X\n", r"apiVersion must be a string, not a int"),
    ("kind: List\nitems:\n- kind: A\n- kind: [b]\n", r"f\.yaml:4: kind must be a string"),
])
def test_an_object_whose_envelope_has_the_wrong_types_is_an_error(text, message):
    with pytest.raises(ManifestError, match=message):
        parse_text(text, "f.yaml")


def test_a_duplicate_key_is_an_error_as_in_kubectl_but_merge_keys_may_override():
    with pytest.raises(ManifestError, match=r"f\.yaml:4:3: YAML error: duplicate key 'name'"):
        parse_text("kind: A\nmetadata:\n  name: a\n  name: b\n", "f.yaml")
    with pytest.raises(ManifestError, match="duplicate key 'kind'"):
        parse_text('{"kind": "A", "kind": "B"}', "f.json")
    merged = parse_text("base: &b {x: 1, y: 2}\nkind: A\nm: {<<: *b, x: 3}\n", "f.yaml")
    assert merged[0].body["m"] == {"x": 3, "y": 2}


def test_deep_nesting_is_an_error_not_a_recursion_error():
    deep = "[" * 5000 + "]" * 5000
    with pytest.raises(ManifestError, match="nesting depth"):
        parse_text(f"kind: A\nspec: {deep}\n", "f.yaml")
    with pytest.raises(ManifestError, match="nesting depth"):
        parse_text('{"kind": "A", "spec": ' + deep + "}", "f.json")
    assert parse_text("kind: A\nspec: " + "[" * 400 + "]" * 400 + "\n", "f.yaml")


def test_aliases_are_sized_before_they_are_built():
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 10) + "]")
    lines.append("kind: List\nitems: [" + ", ".join(["*i"] * 10) + "]")
    with pytest.raises(ManifestError, match=r"aliases expand the document by more than 100,000"):
        parse_text("\n".join(lines), "laughs.yaml")  # 10^10 nodes if built
    with pytest.raises(ManifestError, match="an alias refers to a node that contains it"):
        parse_text("kind: A\nspec: &s [*s]\n", "f.yaml")
    shared = parse_text("env: &e [{name: A, value: b}]\nkind: A\nx: *e\ny: *e\n", "f.yaml")
    assert shared[0].body["x"] == shared[0].body["y"]


def test_unreadable_values_and_characters_are_errors_with_the_line():
    for value in ("!!int abc", "!!int", "!!float x", "1" * 5000):
        with pytest.raises(ManifestError, match=r"f\.yaml:1: unreadable value"):
            parse_text(f"kind: A\nn: {value}\n", "f.yaml")
    with pytest.raises(ManifestError, match=r"f\.yaml:2: YAML error: character"):
        parse_text("kind: A\nx: \x00\n", "f.yaml")
    # Timestamps stay text (Kubernetes reads them so); an impossible date is no crash.
    assert parse_text("kind: A\nd: 2024-13-45\n", "f.yaml")[0].body["d"] == "2024-13-45"


def test_encodings_utf8_with_or_without_bom_and_utf16_with_bom_are_read(tmp_path):
    for name, data in [("plain.yaml", "kind: Ä\n".encode()),
                       ("bom.yaml", "\ufeffkind: Ä\n".encode()),
                       ("utf16.yaml", "\ufeffkind: Ä\n".encode("utf-16-le"))]:
        (tmp_path / name).write_bytes(data if name != "utf16.yaml" else b"\xff\xfe" + data[2:])
        assert [o.body["kind"] for o in load([str(tmp_path / name)])] == ["Ä"]
    (tmp_path / "latin1.yaml").write_bytes("kind: A\nname: \xe9\n".encode("latin-1"))
    with pytest.raises(ManifestError, match=r"latin1\.yaml:2: not UTF-8 text \(byte 0xe9"):
        load([str(tmp_path / "latin1.yaml")])


def test_size_and_object_count_are_bounded(tmp_path, monkeypatch):
    from kaico.cli import manifests

    monkeypatch.setattr(manifests, "MAX_INPUT_BYTES", 100)
    big = tmp_path / "big.yaml"
    big.write_text("kind: A\n" + "# padding\n" * 20)
    with pytest.raises(ManifestError, match=r"big\.yaml: larger than"):
        load([str(big)])
    with pytest.raises(ManifestError, match=r"<stdin>: larger than"):
        load(["-"], stdin=io.StringIO("kind: A\n" + "#" * 200))
    monkeypatch.setattr(manifests, "MAX_OBJECTS", 3)
    with pytest.raises(ManifestError, match=r"f\.yaml: more than 3 objects"):
        parse_text("kind: List\nitems: [{kind: A}, {kind: A}, {kind: A}, {kind: A}]\n", "f.yaml")


def test_the_size_bound_holds_for_files_pipes_and_devices(tmp_path, monkeypatch):
    import os
    import pathlib
    import threading

    from kaico.cli import manifests
    from kaico.cli.manifests import read_input

    monkeypatch.setattr(manifests, "MAX_INPUT_BYTES", 100)
    exact = tmp_path / "exact.yaml"
    exact.write_text("kind: A\n" + "#" * 92)
    assert len(read_input(exact)) == 100
    exact.write_text("kind: A\n" + "#" * 93)
    with pytest.raises(ManifestError, match=r"exact\.yaml: larger than"):
        read_input(exact)
    # A device reports size 0 and never ends: read in chunks up to the bound.
    with pytest.raises(ManifestError, match="larger than"):
        read_input(pathlib.Path("/dev/zero"))
    # A named pipe (size 0) is read to its end, within the bound.
    for text, fits in (("kind: A\n", True), ("kind: A\n" + "#" * 300, False)):
        fifo = tmp_path / f"fifo-{fits}.yaml"
        os.mkfifo(fifo)

        def feed(fifo=fifo, text=text):
            with open(fifo, "w") as out:
                try:
                    out.write(text)
                except BrokenPipeError:  # the reader stopped at the bound
                    pass

        writer = threading.Thread(target=feed)
        writer.start()
        try:
            if fits:
                assert read_input(fifo) == text
            else:
                with pytest.raises(ManifestError, match="larger than"):
                    read_input(fifo)
        finally:
            writer.join(timeout=10)


def test_a_directory_or_unreadable_path_is_an_error(tmp_path):
    from kaico.cli.manifests import read_input

    with pytest.raises(ManifestError, match="is a directory"):
        read_input(tmp_path)
