"""Many files are parsed by two processes; the result and the errors are those of one."""

from __future__ import annotations

from pathlib import Path

import pytest
from kaico.cli import manifests
from kaico.cli.forked import Forked
from kaico.cli.manifests import ManifestError, load


def _write(directory: Path, count: int) -> list[Path]:
    files = []
    for number in range(count):
        path = directory / f"{number:04d}.yaml"
        path.write_text(f"# file {number}\nkind: ConfigMap\nmetadata:\n  name: c{number}\n"
                        f"data: {{n: '{number}'}}\n---\nkind: Service\nmetadata: {{name: s{number}}}\n")
        files.append(path)
    return files


def _triples(objects):
    return [(o.body, o.source, o.line) for o in objects]


def test_two_processes_read_what_one_reads_in_the_same_order(tmp_path):
    files = _write(tmp_path, manifests.PARALLEL_MIN_FILES + 7)
    one = load([str(tmp_path)], parallel=False)
    assert len(one) == 2 * len(files)
    assert _triples(load([str(tmp_path)])) == _triples(one)
    with Forked(manifests._parse_files, files[100:]) as child:
        assert manifests._parse_files(files[:100]) + child.result() == _triples(one)


def test_the_childs_objects_come_back_equal_whatever_yaml_built(tmp_path, monkeypatch):
    """The child hands its objects back as marshal bytes: every kind of value the loader
    builds comes back equal, and a value marshal does not take comes back by pickle."""
    files = _write(tmp_path, manifests.PARALLEL_MIN_FILES + 7)
    files[-1].write_text(
        "kind: A\nmetadata: {name: odd}\nspec:\n  set: !!set {a, b}\n  bin: !!binary aGk=\n"
        "  omap: !!omap [{x: 1}, {y: 2}]\n  pairs: !!pairs [{x: 1}, {x: 2}]\n"
        "  numbers: [1, -2.5, .inf, .nan, 0x1f, 1_000, 123456789012345678901234567890]\n"
        "  when: 2024-01-02T03:04:05Z\n  flags: [yes, no, ~, '']\n"
        "  shared: &s {deep: [1, {two: 2}]}\n  again: *s\n"
    )
    one = load([str(tmp_path)], parallel=False)
    two = load([str(tmp_path)])
    assert repr(_triples(two)) == repr(_triples(one))  # repr: NaN is not equal to itself
    body = two[-1].body
    assert body["spec"]["again"] is body["spec"]["shared"]
    assert isinstance(manifests._parse_files_marshalled(files[-1:]), bytes)

    def unmarshallable(files):
        return [({"kind": "A", "value": object}, "f#0", 1)]

    monkeypatch.setattr(manifests, "_parse_files", unmarshallable)
    assert manifests._parse_files_marshalled(files) == unmarshallable(files)


def test_an_error_in_the_childs_half_is_raised_with_its_file_and_line(tmp_path):
    files = _write(tmp_path, manifests.PARALLEL_MIN_FILES + 7)
    files[-3].write_text("kind: A\nmetadata:\n  name: [unclosed\n")
    with pytest.raises(ManifestError, match=rf"{files[-3].name}:\d+:\d+: YAML error"):
        load([str(tmp_path)])
    with Forked(manifests._parse_files, files[-10:]) as child, pytest.raises(ManifestError):
        child.result()


def test_with_errors_in_both_halves_the_first_file_s_is_raised(tmp_path):
    files = _write(tmp_path, manifests.PARALLEL_MIN_FILES + 7)
    files[5].write_text("kind: A\nkind: B\n")
    files[-3].write_text("kind: A\nmetadata:\n  name: [unclosed\n")
    with pytest.raises(ManifestError, match=r"0005\.yaml:2:1: YAML error: duplicate key"):
        load([str(tmp_path)])


def test_a_missing_path_after_a_bad_file_is_not_the_error_reported(tmp_path):
    files = _write(tmp_path, 3)
    files[1].write_text("kind: [\n")
    with pytest.raises(ManifestError, match=r"0001\.yaml"):
        load([str(files[0]), str(files[1]), str(tmp_path / "missing.yaml")])
    with pytest.raises(ManifestError, match="missing.yaml: no such file"):
        load([str(files[0]), str(tmp_path / "missing.yaml"), str(files[1])])


def test_a_directory_s_files_are_listed_as_rglob_lists_them(tmp_path, monkeypatch):
    """Sorted by path parts, hidden files and directories left out, directory symlinks not
    entered, file symlinks and non-manifest suffixes as ``Path.rglob`` plus the filter saw them."""
    import os

    tree = tmp_path / "tree"
    for name in ["a.yaml", "b.yml", "c.json", "d.txt", ".hidden.yaml", "a-b/x.yaml", "a/x.yaml",
                 "a/deep/er/z.yaml", ".git/config.yaml", "sub.dir/.x/y.yaml", "Z.yaml", "e.YAML"]:
        path = tree / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("kind: A\n")
    (tree / "linked-dir").symlink_to(tree / "a", target_is_directory=True)
    (tree / "linked.yaml").symlink_to(tree / "a.yaml")
    (tree / "dangling.yaml").symlink_to(tree / "missing.yaml")
    os.mkfifo(tree / "pipe.yaml")
    expected = sorted(
        p for p in tree.rglob("*")
        if p.is_file() and p.suffix in manifests.MANIFEST_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(tree).parts)
    )
    listed = manifests._files_under(tree)
    assert listed == [str(p) for p in expected]  # spelled as str(Path) spells them
    assert manifests._files_under(Path(f"{tree}//")) == listed
    relative = [str(p.relative_to(tree)) for p in expected]
    monkeypatch.chdir(tree)  # "." and "./a": no "./" before the paths, as Path("./a") has none
    assert manifests._files_under(Path(".")) == relative
    assert manifests._files_under(Path("./a")) == [r for r in relative if r.startswith("a/")]
    assert relative == [
        "Z.yaml", "a/deep/er/z.yaml", "a/x.yaml", "a-b/x.yaml", "a.yaml", "b.yml", "c.json",
        "linked.yaml",
    ]
