"""The benchmark scripts stay in step with the code they call (they run only in `make bench` and
`make bench-operator` and `make bench-admission`, so nothing else would notice a renamed function)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_operator_bench_builds_the_floor_reports_kaico_would_write():
    from kaico_dev.localcluster import GpuNodeSpec

    bench = load("operator_bench")

    class Cluster:
        node_specs = [GpuNodeSpec("gpu-0"), GpuNodeSpec("cpu-0", gpus=0)]

    setup = bench.Setup(Cluster(), [("ns", "llm-0")], {("ns", "llm-0"): "uid-0"}, "profile-uid")
    status = bench.expected_status(setup)
    assert status["conformant"] is False and status["results"]
    assert bench.percentile([3.0, 1.0, 2.0], 0.5) == 2.0


def test_cli_bench_writes_one_object_per_file(tmp_path):
    bench = load("cli_bench")
    samples = tmp_path / "samples"
    samples.mkdir()
    (samples / "two.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n"
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b}\n---\nnot: kubernetes\n")
    documents = bench.sample_documents(samples)
    assert [d["metadata"]["name"] for d in documents] == ["a", "b"]
    bench.make_files(documents, 5, tmp_path / "out")
    names = [yaml.safe_load(p.read_text())["metadata"]["name"] for p in sorted((tmp_path / "out").iterdir())]
    assert names == ["a-0", "b-1", "a-2", "b-3", "a-4"]


def test_admission_bench_registers_the_webhook_as_the_chart_does():
    load("operator_bench")
    bench = load("admission_bench")
    values = yaml.safe_load((REPO / "charts" / "kaico" / "values.yaml").read_text())["admission"]
    assert bench.CHART_WEBHOOK["failurePolicy"] == values["failurePolicy"]
    assert bench.CHART_WEBHOOK["timeoutSeconds"] == values["timeoutSeconds"]
    assert bench.CHART_WEBHOOK["sideEffects"] == "None"
