"""``kaico check`` against kube-score on the same one-object files (``make bench`` runs it).

The files are made from ``$KAICO_SHARED/samples``: every YAML document of the samples, one per
file, renamed so each file holds a distinct object, cycled until there are 1,000 and 10,000 of
them. Both tools read the whole directory as a whole process with JSON output
(``kaico check -f DIR -o json``, ``kube-score score -o json FILE...``). The two run interleaved;
each figure is the median wall time and the median CPU time (user + system, from ``wait4``) of
several runs, and the largest peak RSS of the process; the ratios are kaico over kube-score in
the same run. kube-score is built from the Go module proxy into the tools cache by
``hack/build-kube-score.sh``; without it (no Go, no proxy) the comparison is skipped with a
message and kaico's own figures are still printed.

The last figures are start-up against the Python floor: ``python -c pass``, ``kaico --help``
and a one-file ``kaico check``.

kaico's modules are byte-compiled first, as installing the package does: in a checkout run
with ``PYTHONDONTWRITEBYTECODE`` set (as on the benchmark machine), every run would otherwise
compile its ~40 modules from source, about 35 ms of a one-file run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import yaml

REPO = Path(__file__).resolve().parent.parent


def sample_documents(samples: Path) -> list[dict]:
    """Every object in the samples (Kubernetes-shaped documents only)."""
    documents: list[dict] = []
    for path in sorted(samples.rglob("*")):
        if path.suffix not in (".yaml", ".yml") or not path.is_file():
            continue
        try:
            loaded = list(yaml.safe_load_all(path.read_text(errors="replace")))
        except yaml.YAMLError:
            continue
        for document in loaded:
            if (isinstance(document, dict) and document.get("apiVersion") and document.get("kind")
                    and isinstance(document.get("metadata"), dict) and document["metadata"].get("name")):
                documents.append(document)
    return documents


def make_files(documents: list[dict], count: int, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)

    def renamed() -> Iterator[dict]:
        index = 0
        while True:
            for document in documents:
                copy = dict(document)
                copy["metadata"] = {**document["metadata"], "name": f"{document['metadata']['name']}-{index}"}
                index += 1
                yield copy

    for number, document in zip(range(count), renamed(), strict=False):
        (directory / f"{number:05d}.yaml").write_text(yaml.safe_dump(document, sort_keys=False))


class Run(NamedTuple):
    wall: float  # seconds
    cpu: float  # user + system seconds of the child
    rss: int  # peak RSS in bytes


def compile_bytecode(trees: list[Path]) -> None:
    """Byte-compile kaico's own modules in place (``__pycache__``, ignored by git), as ``pip
    install`` does; Python reads them even with ``PYTHONDONTWRITEBYTECODE``. ``trees``: the
    source trees of ``--variant``s."""
    import compileall
    import importlib

    directories = [Path(d) for package in ("conformance", "kaico")
                   for d in importlib.import_module(package).__path__]
    directories += [tree / d for tree in trees for d in ("conformance", "operator/kaico")]
    for directory in directories:
        compileall.compile_dir(str(directory), quiet=1)


def run_once(command: list[str]) -> Run:
    """Wall seconds, CPU seconds (user + system) and peak RSS of one whole process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    error = process.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    took = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command[:3])} ... exited {process.returncode}: {error[-500:]}")
    return Run(took, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024)


def measure(commands: list[list[str]], repeat: int) -> list[Run]:
    """Each command ``repeat`` times, interleaved (a, b, a, b, ...) so a slow spell of the
    machine falls on both; the median wall and CPU time and the largest peak RSS of each."""
    runs: list[list[Run]] = [[] for _ in commands]
    for _ in range(repeat):
        for command, into in zip(commands, runs, strict=True):
            into.append(run_once(command))
    return [
        Run(statistics.median(r.wall for r in each), statistics.median(r.cpu for r in each),
            max(r.rss for r in each))
        for each in runs
    ]


def startup(kaico: str, one_file: Path, variants: list[tuple[str, Path]], repeat: int) -> None:
    """Start-up against the Python floor: the median wall time of ``python -c pass``,
    ``kaico --help`` and ``kaico check`` on one file, interleaved, and each over the floor."""
    commands = {"python -c pass": [sys.executable, "-c", "pass"]}
    for name, prefix in [("", []), *((f" ({variant})", ["env", f"PYTHONPATH={tree}:{tree / 'operator'}"])
                                      for variant, tree in variants)]:
        commands[f"kaico --help{name}"] = [*prefix, kaico, "--help"]
        commands[f"kaico check, one file{name}"] = [*prefix, kaico, "check", "-f", str(one_file), "-o", "json"]
    runs = measure(list(commands.values()), repeat)
    floor = runs[0].wall
    print(f"start-up: median of {repeat} interleaved runs (wall)")
    for name, run in zip(commands, runs, strict=True):
        print(f"  {name:<32} {run.wall * 1000:6.1f} ms  {run.wall / floor:5.2f}x the floor")


def _figure(run: Run) -> str:
    return f"{run.wall:6.2f} s {run.cpu:6.2f} s {run.rss / 2**20:5.0f} MiB"


def find_kube_score() -> str | None:
    explicit = os.environ.get("KUBE_SCORE")
    if explicit:
        return explicit
    try:
        built = subprocess.run([str(REPO / "hack" / "build-kube-score.sh")], capture_output=True, text=True,
                               timeout=900)
    except (OSError, subprocess.TimeoutExpired) as error:
        print(f"cli vs kube-score: skipped, kube-score could not be built ({error})")
        return None
    if built.returncode != 0:
        reason = (built.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"cli vs kube-score: skipped, kube-score is unavailable: {reason}")
        return None
    return built.stdout.strip().splitlines()[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=Path,
                        default=Path(os.environ.get("KAICO_SHARED", REPO.parent / "shared")) / "samples")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure, median taken (default 3)")
    parser.add_argument("--startup-repeat", type=int, default=15, metavar="N",
                        help="runs of each start-up figure (python -c pass, kaico --help, a one-file "
                        "check; default 15, 0 to skip)")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=DIR",
                        help="also run kaico from the source tree DIR (e.g. an export of another "
                        "revision: its conformance/ and operator/), interleaved with the others")
    args = parser.parse_args(argv)
    if not args.samples.is_dir():
        print(f"cli vs kube-score: skipped, no samples at {args.samples} (set KAICO_SHARED)")
        return 0
    documents = sample_documents(args.samples)
    variants = [(name, Path(tree).resolve()) for name, _, tree in (v.partition("=") for v in args.variant)]
    compile_bytecode([tree for _, tree in variants])
    kaico = str(Path(sys.executable).parent / "kaico")
    kube_score = find_kube_score()
    scratch = Path(tempfile.mkdtemp(prefix="kaico-cli-bench-"))
    try:
        print(f"cli vs kube-score: one-object files cycled from {len(documents)} sample objects, "
              f"median of {args.repeat} interleaved runs (wall, CPU = user+sys), peak RSS")
        print(f"{'files':>7}  {'kaico check: wall, CPU, RSS':>27}  {'kube-score: wall, CPU, RSS':>27}"
              f"  {'wall ratio':>10}  {'CPU ratio':>9}  {'RSS ratio':>9}")
        for size in args.sizes:
            directory = scratch / str(size)
            make_files(documents, size, directory)
            files = sorted(str(p) for p in directory.iterdir())
            kaico_command = [kaico, "check", "-f", str(directory), "-o", "json"]
            others = [["env", f"PYTHONPATH={tree}:{tree / 'operator'}", *kaico_command]
                      for _, tree in variants]
            names = ["kaico", *(name for name, _ in variants)]
            if kube_score is None:
                for name, k in zip(names, measure([kaico_command, *others], args.repeat), strict=True):
                    print(f"{size:>7}  {_figure(k):>27}  {'(skipped)':>27}  {name}")
                continue
            *ks, s = measure([kaico_command, *others, [kube_score, "score", "-o", "json", *files]],
                             args.repeat)
            for name, k in zip(names, ks, strict=True):
                print(f"{size:>7}  {_figure(k):>27}  {_figure(s):>27}  {k.wall / s.wall:9.2f}x"
                      f"  {k.cpu / s.cpu:8.2f}x  {k.rss / s.rss:8.2f}x{'  ' + name if variants else ''}",
                      flush=True)
        if args.startup_repeat > 0:
            one_file = scratch / "one.yaml"
            one_file.write_text(yaml.safe_dump(documents[0], sort_keys=False))
            startup(kaico, one_file, variants, args.startup_repeat)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
