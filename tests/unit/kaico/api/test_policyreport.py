"""The PolicyReport builder: valid against the real OpenReports and wg-policy CRD schemas, one
report per target x profile (two profiles never collide), remediation and docs on each result."""

from __future__ import annotations

import os
from io import StringIO
from pathlib import Path

import jsonschema
import pytest
import yaml
from kaico.api.policyreport import OPENREPORTS, WGPOLICY, ReportApi, policy_report
from kaico.cli import main

from conformance.engine import evaluate_objects
from conformance.profile import builtin_profile, now_utc

SHARED = Path(os.environ.get("KAICO_SHARED", Path(__file__).resolve().parents[5] / "shared"))
CRDS = SHARED / "crds" / "ecosystem"
GPU_DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "llm", "namespace": "ai", "uid": "u-1"},
    "spec": {"replicas": 2, "template": {"spec": {"containers": [
        {"name": "vllm", "image": "vllm/vllm-openai",
         "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}}},
}


def crd_schema(api: ReportApi) -> dict:
    name = {OPENREPORTS: "openreports.io_reports.yaml",
            WGPOLICY: "wgpolicyk8s.io_policyreports.v1alpha2.yaml"}[api]
    crd = yaml.safe_load((CRDS / name).read_text())
    version = next(v for v in crd["spec"]["versions"] if v["name"] == api.version)
    return version["schema"]["openAPIV3Schema"]


@pytest.mark.parametrize("api", [OPENREPORTS, WGPOLICY], ids=lambda a: a.group)
def test_the_report_validates_against_the_real_crd(api: ReportApi):
    report = evaluate_objects([(GPU_DEPLOYMENT, "x")], builtin_profile("default"), now_utc()).reports[0]
    body = policy_report("r-1", report, api)
    assert body["apiVersion"] == api.api_version and body["kind"] == api.kind
    jsonschema.validate(body, crd_schema(api))
    assert body["scope"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "llm",
                             "namespace": "ai", "uid": "u-1"}
    assert sum(body["summary"].values()) == len(body["results"]) == len(report.results)
    failing = [r for r in body["results"] if r["result"] == "fail"]
    assert failing
    for result in failing:
        assert result["policy"] == "default" and result["source"] == "kaico"
        assert result["properties"]["docs"].endswith(f"docs/checks.md#{result['rule']}")
        assert result["properties"]["remediation"]


def test_two_profiles_give_two_reports_for_one_target(tmp_path: Path):
    strict = yaml.safe_load((Path(__file__).resolve().parents[4] / "conformance" / "profiles"
                             / "default.yaml").read_text())
    strict["metadata"]["name"] = "strict"
    (tmp_path / "strict.yaml").write_text(yaml.safe_dump(strict))
    (tmp_path / "app.yaml").write_text(yaml.safe_dump(GPU_DEPLOYMENT))
    names = set()
    for profile in ("default", str(tmp_path / "strict.yaml")):
        out = StringIO()
        main(["check", "-f", str(tmp_path / "app.yaml"), "--profile", profile, "-o", "policyreport"],
             stdout=out, stderr=StringIO())
        (document,) = list(yaml.safe_load_all(out.getvalue()))
        names.add(document["metadata"]["name"])
    assert len(names) == 2
