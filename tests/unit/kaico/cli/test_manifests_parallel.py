"""Many files are parsed by two processes; the result and the errors are those of one."""

from __future__ import annotations

from pathlib import Path

import pytest
from kaico.cli import manifests
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
    assert _triples(manifests._load_in_two(files[:100], files[100:])) == _triples(one)
    assert _triples(load([str(tmp_path)])) == _triples(one)


def test_an_error_in_the_childs_half_is_raised_with_its_file_and_line(tmp_path):
    files = _write(tmp_path, 40)
    files[30].write_text("kind: A\nmetadata:\n  name: [unclosed\n")
    with pytest.raises(ManifestError, match=r"0030\.yaml:\d+:\d+: YAML error"):
        manifests._load_in_two(files[:20], files[20:])


def test_with_errors_in_both_halves_the_first_file_s_is_raised(tmp_path):
    files = _write(tmp_path, 40)
    files[5].write_text("kind: A\nkind: B\n")
    files[30].write_text("kind: A\nmetadata:\n  name: [unclosed\n")
    with pytest.raises(ManifestError, match=r"0005\.yaml:2:1: YAML error: duplicate key"):
        manifests._load_in_two(files[:20], files[20:])


def test_a_missing_path_after_a_bad_file_is_not_the_error_reported(tmp_path):
    files = _write(tmp_path, 3)
    files[1].write_text("kind: [\n")
    with pytest.raises(ManifestError, match=r"0001\.yaml"):
        load([str(files[0]), str(files[1]), str(tmp_path / "missing.yaml")])
    with pytest.raises(ManifestError, match="missing.yaml: no such file"):
        load([str(files[0]), str(tmp_path / "missing.yaml"), str(files[1])])
