"""``kaico check`` with enough files and targets for two processes writes what one process
computes (``evaluate_objects``) and exits as it says."""

from __future__ import annotations

import io
import json

import pytest
import yaml
from kaico.cli import check, main, manifests
from kaico.cli.manifests import load
from kaico.cli.render import evaluation as render

from conformance.engine import evaluate_objects
from conformance.findings import Severity
from conformance.profile import builtin_profile, now_utc


@pytest.fixture(scope="module")
def many(shared_dir, tmp_path_factory):
    """Sample objects cycled into one-object files, renamed, until there are 300 targets."""
    documents = [
        o.body for o in load([str(shared_dir / "samples")], parallel=False)
        if isinstance(o.body.get("metadata"), dict) and o.body["metadata"].get("name")
    ]
    directory = tmp_path_factory.mktemp("many")
    number = 0
    while number < 3 * len(documents) * 2:
        for document in documents:
            copy = {**document, "metadata": {**document["metadata"],
                                             "name": f"{document['metadata']['name']}-{number}"}}
            (directory / f"{number:05d}.yaml").write_text(yaml.safe_dump(copy, sort_keys=False))
            number += 1
    return directory


def _sequential(directory):
    profile = builtin_profile()
    objects = [(check._with_default_namespace(o.body, "default"), o.source)
               for o in load([str(directory)], parallel=False)]
    return profile, evaluate_objects(objects, profile, now_utc(), [])


def test_the_json_of_two_processes_is_the_one_process_document(many):
    profile, evaluation = _sequential(many)
    assert len(evaluation.reports) >= check.PARALLEL_MIN_OBJECTS
    assert len(list(many.iterdir())) >= manifests.PARALLEL_MIN_FILES
    out = io.StringIO()
    main(["check", "-f", str(many), "-o", "json"], stdout=out)
    document = json.loads(out.getvalue())
    assert document["reports"] == [r.to_dict() for r in evaluation.reports]
    assert out.getvalue() == json.dumps(document, indent=2) + "\n"
    assert document["orphans"]  # the renamed samples' autoscalers scale nothing in the input
    assert out.getvalue() == render.render_json(evaluation)  # orphans and warnings too


def _gpu_deployment(name: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}}, "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "i:1",
                                         "resources": {"limits": {"nvidia.com/gpu": 1}}}]}}}}


def _hpa(name: str, owner: str | None) -> dict:
    metadata = {"name": name, "namespace": "default"}
    if owner:
        metadata["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "Deployment",
                                        "name": owner, "uid": "u", "controller": True}]
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": metadata,
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "name": "not-in-the-input"},
                     "minReplicas": 1, "maxReplicas": 2}}


@pytest.mark.parametrize("output", ["json", "table"])
def test_orphans_are_those_of_all_targets_when_each_process_adapts_a_part(tmp_path, output):
    """Each process adapts and evaluates its half of the objects; an autoscaler owned by a
    workload of the other half is no orphan, one that nothing covers is."""
    bodies = [_hpa("owned-by-a-late-one", owner="d-0150"),
              *(_gpu_deployment(f"d-{n:04d}") for n in range(1, 200)),
              _hpa("owned-by-an-early-one", owner="d-0001"), _hpa("orphan", owner=None)]
    for number, body in enumerate(bodies):
        (tmp_path / f"{number:04d}.yaml").write_text(yaml.safe_dump(body))
    _, evaluation = _sequential(tmp_path)
    assert [o.name for o in evaluation.orphans] == ["orphan"]
    out = io.StringIO()
    code = main(["check", "-f", str(tmp_path), "-o", output], stdout=out)
    expected = (render.render_json(evaluation) if output == "json"
                else render.render_table(evaluation))
    assert out.getvalue() == expected
    assert code == 1


@pytest.mark.parametrize("output", ["json", "table"])
def test_the_exit_code_counts_the_childs_reports_too(many, output):
    profile, evaluation = _sequential(many)
    half = (len(evaluation.reports) + 1) // 2
    seen = set()
    for severity in Severity:
        failing = [bool(r.failing_at(severity)) for r in evaluation.reports]
        expected = 1 if any(failing) else 0
        code = main(["check", "-f", str(many), "-o", output, "--fail-on", severity.value],
                    stdout=io.StringIO())
        assert code == expected, severity
        seen.add((any(failing[:len(failing) - half]), any(failing[len(failing) - half:])))
    assert len(seen) > 1  # the thresholds gave different verdicts


def test_an_output_closed_early_ends_with_exit_2_and_one_line_not_a_traceback(many):
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-m", "kaico.cli", "check", "-f", str(many), "-o", "json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout.read(10) == b'{\n  "mode"'
    process.stdout.close()  # the reader goes away, as `| head` does
    error = process.stderr.read().decode()
    assert process.wait(timeout=60) == 2
    assert error == "kaico: the output was closed before all of it was written\n"


@pytest.mark.parametrize("output", ["json", "table", "sarif"])
def test_an_output_on_a_full_disk_ends_with_exit_2_and_one_line_not_a_traceback(many, output):
    """/dev/full refuses every write with ENOSPC, as a full disk does: the checks may have
    passed or failed, but what was asked (the report) could not be written."""
    import subprocess
    import sys

    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "kaico.cli", "check", "-f", str(many), "-o", output],
                              stdout=full, stderr=subprocess.PIPE, timeout=120)
    assert done.returncode == 2
    assert done.stderr.decode() == "kaico: No space left on device\n"


@pytest.mark.parametrize("into", ["file", "appending file", "pipe"])
def test_the_childs_entries_reach_a_file_or_pipe_as_they_reach_a_stream(many, tmp_path, into):
    """Written to a file (or a pipe) the child's entries are copied by the kernel (sendfile,
    or read and written where it refuses): the document is the one written to a stream."""
    import os
    import subprocess
    import sys

    expected = io.StringIO()
    main(["check", "-f", str(many), "-o", "json"], stdout=expected)
    command = [sys.executable, "-m", "kaico.cli", "check", "-f", str(many), "-o", "json"]
    if into == "pipe":
        done = subprocess.run(command, capture_output=True, timeout=120)
        written = done.stdout
    else:
        target = tmp_path / "out.json"
        target.write_text("before\n" if into == "appending file" else "")
        flags = os.O_WRONLY | (os.O_APPEND if into == "appending file" else os.O_TRUNC)
        descriptor = os.open(target, flags)
        try:
            done = subprocess.run(command, stdout=descriptor, stderr=subprocess.PIPE, timeout=120)
        finally:
            os.close(descriptor)
        written = target.read_bytes().removeprefix(b"before\n" if into == "appending file" else b"")
    assert done.returncode == 1, done.stderr
    assert written == expected.getvalue().encode()


def test_a_child_that_dies_while_writing_leaves_the_document_whole(many, monkeypatch):
    """The child is killed after writing some of its entries: this process evaluates its half
    again, and what the child wrote is not in the document."""
    import itertools
    import os

    _, evaluation = _sequential(many)
    parent, written = os.getpid(), itertools.count()
    encode = render.encode_report

    def dies_in_the_child(report, following=False):
        if os.getpid() != parent and next(written) == 20:
            os._exit(9)  # entries of ~10 kB each: the first ones reached the file
        return encode(report, following)

    monkeypatch.setattr(render, "encode_report", dies_in_the_child)
    out = io.StringIO()
    assert main(["check", "-f", str(many), "-o", "json"], stdout=out) == 1
    assert out.getvalue() == render.render_json(evaluation)
