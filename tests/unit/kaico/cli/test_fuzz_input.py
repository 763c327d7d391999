"""Fuzzing every way input reaches ``kaico check``: manifests (files and stdin), ``--profile`` and
``--cluster-facts``, seeded with the real third-party samples ($KAICO_SHARED/samples) and kaico's
own profiles.

Each input must end in exit 0 or 1 with a parsable report, or exit 2 with one line
``kaico: …`` on stderr; any exception escaping ``kaico.cli.main`` fails the test (hypothesis
shrinks it to a small reproducer). Memory is bounded per input (tracemalloc peak); time is not
asserted (``deadline=None``), only reported by the long run.

The default run takes about a minute. ``KAICO_FUZZ_EXAMPLES=N`` sets the examples per test
(the long run in docs/cli.md used ``KAICO_FUZZ_EXAMPLES=17000``: over 100,000 inputs).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kaico.cli import main

from tests.conftest import REPO_ROOT, shared_path

EXAMPLES = int(os.environ.get("KAICO_FUZZ_EXAMPLES", "0")) or None
FUZZ = settings(
    deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)
# Generous: the largest legitimate sample costs a few MB; the bounds keep hostile ones near that.
MAX_PEAK_BYTES = 256 * 1024 * 1024


def _seeds(folder: Path, pattern: str = "*.yaml") -> list[bytes]:
    return [path.read_bytes() for path in sorted(folder.rglob(pattern)) if path.is_file()]


SAMPLES = _seeds(shared_path() / "samples")
PROFILES = _seeds(REPO_ROOT / "conformance" / "profiles") + _seeds(REPO_ROOT / "examples" / "profiles")
WORK = Path(tempfile.mkdtemp(prefix="kaico-fuzz-"))


def examples(default: int) -> settings:
    return settings(FUZZ, max_examples=EXAMPLES or default)


# --- running kaico on one input --------------------------------------------------------------


def run_check(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    stream = io.TextIOWrapper(io.BytesIO(stdin or b""), encoding="utf-8")
    code = main(["check", *args], stdout=stdout, stderr=stderr, stdin=stream)
    return code, stdout.getvalue(), stderr.getvalue()


def assert_well_behaved(code: int, stdout: str, stderr: str) -> None:
    assert code in (0, 1, 2), code
    assert "Traceback" not in stderr
    if code == 2:
        assert stderr.startswith("kaico: ") and stderr.endswith("\n"), stderr
        assert stderr.count("\n") == 1, stderr  # one line
        assert len(stderr) < 2048, stderr
    else:
        json.loads(stdout)


def within_memory(action: Callable[[], Any]) -> Any:
    tracemalloc.start()
    try:
        result = action()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MAX_PEAK_BYTES, f"peak {peak / 1e6:.0f} MB"
    return result


def check_file(data: bytes, *, as_: str = "manifest", suffix: str = ".yaml") -> tuple[int, str, str]:
    path = WORK / f"input{suffix}"
    path.write_bytes(data)
    args = {
        "manifest": ("-f", str(path)),
        "profile": ("-f", str(REPO_ROOT / "examples" / "workloads"), "--profile", str(path)),
        "facts": ("-f", str(REPO_ROOT / "examples" / "workloads"), "--cluster-facts", str(path)),
    }[as_]
    result = within_memory(lambda: run_check(*args, "-o", "json"))
    assert_well_behaved(*result)
    return result


# --- strategies ------------------------------------------------------------------------------


@st.composite
def byte_mutations(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A seed with a few flips, insertions, deletions, duplications or a truncation."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        operation = draw(st.sampled_from(["flip", "byte", "insert", "delete", "duplicate", "truncate"]))
        if operation == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif operation == "byte":
            data[at] = draw(st.sampled_from(b"\x00\t\n\r :-[]{}&*!|>'\"#%@`,?\xff\xfe\xc3"))
        elif operation == "insert":
            data[at:at] = draw(st.sampled_from([
                b"\n---\n", b"kind: List\nitems:\n", b"&a ", b"*a", b"<<: ", b"!!binary ", b"!!int ",
                b"\xef\xbb\xbf", b"\n  - ", b": ", b"{", b"[", b"\t", b"1e100", b"\xed\xa0\x80",
            ]))
        elif operation == "delete":
            del data[at: at + draw(st.integers(1, 64))]
        elif operation == "duplicate":
            end = at + draw(st.integers(1, 256))
            data[at:at] = data[at:end]
        else:
            del data[at:]
    return bytes(data)


JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    | st.sampled_from(["List", "Deployment", "1e100", "500m", "1Ki", "", "In", "in", "Exists"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children,
                                                                      max_size=4),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_paths(item, (*prefix, index)))
    return found


def _replace(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy


@st.composite
def structure_mutations(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A seed parsed, one to three of its nodes replaced by junk (kind as a list, a label as a
    map, a quantity of 1e100 ...), written back as YAML or JSON, possibly as a List."""
    documents = [d for d in yaml.safe_load_all(draw(st.sampled_from(seeds))) if d is not None]
    document: Any = documents[draw(st.integers(0, len(documents) - 1))] if documents else {}
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(document)))
        document = _replace(document, path, draw(JUNK))
    if draw(st.booleans()):
        document = {"apiVersion": "v1", "kind": "List", "items": [document, document]}
    if draw(st.booleans()):
        return json.dumps(document, default=str).encode()
    return yaml.safe_dump(document).encode()  # shared parts become anchors and aliases


ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1", "cp1252",
             "shift_jis"]


@st.composite
def re_encoded(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    text = draw(st.sampled_from(seeds)).decode("utf-8")
    if draw(st.booleans()):
        text = text.replace("name:", f"name: {draw(st.sampled_from(['é', '名前', '😀', 'Ω']))}", 1)
    return text.encode(draw(st.sampled_from(ENCODINGS)), errors="replace")


@st.composite
def at_the_bounds(draw: st.DrawFn) -> bytes:
    """Nesting, alias graphs and object counts near and past the documented bounds."""
    shape = draw(st.sampled_from(["flow", "json", "block", "aliases", "objects", "recursive"]))
    if shape in ("flow", "json"):
        depth = draw(st.integers(1, 3000))
        inner = "[" * depth + "]" * depth
        return (f'{{"kind": "A", "spec": {inner}}}' if shape == "json" else f"kind: A\nspec: {inner}\n").encode()
    if shape == "block":
        depth = draw(st.integers(1, 1500))
        return ("kind: A\n" + "".join(f"{' ' * i}k{i}:\n" for i in range(depth)) + " " * depth + "v\n").encode()
    if shape == "aliases":
        levels, fanout = draw(st.integers(1, 12)), draw(st.integers(2, 12))
        lines = ["l0: &l0 {kind: Deployment, metadata: {name: x}}"]
        for level in range(1, levels + 1):
            lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * fanout) + "]")
        lines.append(f"kind: List\nitems: [*l{levels}]")
        return "\n".join(lines).encode()
    if shape == "objects":
        count = draw(st.integers(0, 3000))
        return ("kind: List\nitems:\n" + "- {kind: Node, metadata: {name: n}}\n" * count).encode()
    return b"kind: A\nspec: &s {loop: *s}\n"


# --- the properties --------------------------------------------------------------------------


@examples(300)
@given(byte_mutations(SAMPLES))
def test_fuzz_manifest_bytes(data: bytes) -> None:
    check_file(data)


@examples(200)
@given(structure_mutations(SAMPLES), st.sampled_from([".yaml", ".json"]))
def test_fuzz_manifest_structure(data: bytes, suffix: str) -> None:
    check_file(data, suffix=suffix)


@examples(100)
@given(re_encoded(SAMPLES))
def test_fuzz_manifest_encodings(data: bytes) -> None:
    check_file(data)


@examples(80)
@given(at_the_bounds())
def test_fuzz_manifest_bounds(data: bytes) -> None:
    check_file(data)


@examples(100)
@given(st.one_of(byte_mutations(SAMPLES), structure_mutations(SAMPLES)))
def test_fuzz_standard_input(data: bytes) -> None:
    result = within_memory(lambda: run_check("-f", "-", "-o", "json", stdin=data))
    assert_well_behaved(*result)


@examples(150)
@given(st.one_of(byte_mutations(PROFILES), structure_mutations(PROFILES), re_encoded(PROFILES)))
def test_fuzz_profile(data: bytes) -> None:
    check_file(data, as_="profile")


@examples(100)
@given(st.one_of(byte_mutations(SAMPLES), structure_mutations(SAMPLES), at_the_bounds()))
def test_fuzz_cluster_facts(data: bytes) -> None:
    check_file(data, as_="facts")


# --- a few real processes: what a user's terminal shows ---------------------------------------


HOSTILE = {
    "kind-list.yaml": b"kind: [a]\nmetadata: {name: x}\n",
    "deep.json": b'{"kind": "A", "spec": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    "laughs.yaml": b"a: &a [x,x,x,x,x,x,x,x,x,x]\n" + b"".join(
        f"{n}: &{n} [" .encode() + b",".join([f"*{p}".encode()] * 10) + b"]\n"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    ) + b"kind: List\nitems: [*i]\n",
    "latin1.yaml": b"kind: Deployment\nmetadata: {name: \xe9}\n",
    "duplicate.yaml": b"kind: A\nkind: B\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
@pytest.mark.parametrize("flag", ["-f", "--cluster-facts", "--profile"])
def test_a_hostile_file_in_a_real_process_exits_2_with_one_line(tmp_path: Path, name: str, flag: str) -> None:
    path = tmp_path / name
    path.write_bytes(HOSTILE[name])
    args = [flag, str(path)] if flag == "-f" else ["-f", str(REPO_ROOT / "examples" / "workloads"),
                                                   flag, str(path)]
    done = subprocess.run([sys.executable, "-m", "kaico.cli", "check", *args], capture_output=True,
                          text=True, timeout=120, cwd=REPO_ROOT)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("kaico: ") and done.stderr.count("\n") == 1, done.stderr
