"""The `kaico check` and `kaico checks` commands: formats, exit codes, readable errors."""

import io
import json
from xml.etree import ElementTree

import pytest
from kaico.cli import main
from kaico.cli.common import EXIT_FAILED, EXIT_OK, EXIT_UNUSABLE

GOOD_DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: apps}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: nginx
          image: nginx
"""

GPU_DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: llm, namespace: ml}
spec:
  replicas: 1
  selector: {matchLabels: {app: llm}}
  template:
    metadata: {labels: {app: llm}}
    spec:
      containers:
        - name: vllm
          image: vllm/vllm-openai
          resources:
            requests: {nvidia.com/gpu: "2"}
            limits: {nvidia.com/gpu: "1"}
"""


def run(*argv, stdin_text=None):
    out, err = io.StringIO(), io.StringIO()
    stdin = io.StringIO(stdin_text) if stdin_text is not None else None
    code = main(list(argv), stdout=out, stdin=stdin, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_an_ordinary_deployment_is_not_a_target():
    code, out, _ = run("check", "-f", "-", "-o", "json", stdin_text=GOOD_DEPLOYMENT)
    assert code == EXIT_OK
    assert json.loads(out)["reports"] == []


def test_json_output_has_the_documented_shape():
    code, out, _ = run("check", "-f", "-", "-o", "json", stdin_text=GPU_DEPLOYMENT)
    report = json.loads(out)["reports"][0]
    assert report["target"] == {
        "apiVersion": "apps/v1", "kind": "Deployment", "namespace": "ml", "name": "llm"
    }
    assert report["profile"] == "default"
    assert report["conformant"] is False
    assert set(report["summary"]) == {"pass", "fail", "warn", "error", "skip"}
    limits = next(r for r in report["results"] if r["check"] == "gpu-limits")
    assert set(limits) >= {"check", "category", "result", "severity", "message"}
    assert limits["result"] == "fail" and limits["category"] == "gpu"
    assert "vllm" in limits["message"]
    assert code == EXIT_FAILED


def test_fail_on_critical_ignores_lower_severity_failures():
    code, out, _ = run("check", "-f", "-", "-o", "json", "--fail-on", "critical",
                       stdin_text=GPU_DEPLOYMENT)
    failing = [
        r for r in json.loads(out)["reports"][0]["results"]
        if r["result"] in ("fail", "error") and r["severity"] == "critical"
    ]
    assert code == (EXIT_FAILED if failing else EXIT_OK)


def test_objects_without_a_namespace_get_the_default_one():
    text = GPU_DEPLOYMENT.replace(", namespace: ml", "")
    _, out, _ = run("check", "-f", "-", "-o", "json", "-n", "team", stdin_text=text)
    assert json.loads(out)["reports"][0]["target"]["namespace"] == "team"


def test_table_output_fits_80_columns_and_names_the_workload():
    _, out, _ = run("check", "-f", "-", stdin_text=GPU_DEPLOYMENT)
    assert "Deployment ml/llm" in out
    assert "NOT CONFORMANT" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_junit_output_is_xml_with_a_suite_per_target_and_failures():
    _, out, _ = run("check", "-f", "-", "-o", "junit", stdin_text=GPU_DEPLOYMENT)
    root = ElementTree.fromstring(out)
    suite = root.find("testsuite")
    assert suite.get("name") == "Deployment ml/llm"
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    assert cases["gpu-limits"].find("failure") is not None


def test_policyreport_output_is_a_wgpolicy_report():
    import yaml

    _, out, _ = run("check", "-f", "-", "-o", "policyreport", stdin_text=GPU_DEPLOYMENT)
    (report,) = list(yaml.safe_load_all(out))
    assert report["apiVersion"] == "wgpolicyk8s.io/v1alpha2"
    assert report["scope"]["name"] == "llm"
    assert any(r["rule"] == "gpu-limits" and r["result"] == "fail" for r in report["results"])


def test_a_yaml_error_exits_2_with_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Deployment\nspec: [\n")
    code, out, err = run("check", "-f", str(bad))
    assert code == EXIT_UNUSABLE
    assert out == ""
    assert f"{bad}:" in err and "YAML error" in err


def test_an_unreadable_path_exits_2(tmp_path):
    code, _, err = run("check", "-f", str(tmp_path / "nope"))
    assert code == EXIT_UNUSABLE and "no such file" in err


def test_an_unknown_profile_exits_2():
    code, _, err = run("check", "-f", "-", "--profile", "nonexistent", stdin_text="")
    assert code == EXIT_UNUSABLE and "neither a built-in profile" in err


def test_an_invalid_profile_exits_2_with_the_field_path(tmp_path):
    profile = tmp_path / "p.yaml"
    profile.write_text(
        "apiVersion: kaico.dev/v1alpha1\nkind: ConformanceProfile\nmetadata: {name: p}\n"
        "spec:\n  checks:\n    - id: gpu-limitz\n"
    )
    code, _, err = run("check", "-f", "-", "--profile", str(profile), stdin_text="")
    assert code == EXIT_UNUSABLE
    assert "spec.checks[0].id: unknown check 'gpu-limitz'" in err


def test_a_bad_flag_exits_2():
    code, _, _ = run("check", "-f", "-", "-o", "html", stdin_text="")
    assert code == EXIT_UNUSABLE


@pytest.mark.parametrize("fmt", ["table", "markdown", "json"])
def test_checks_lists_every_registered_check(fmt):
    from conformance.catalogue import catalogue

    code, out, _ = run("checks", "-o", fmt)
    assert code == EXIT_OK
    for check_id in catalogue():
        assert check_id in out


def test_a_malformed_custom_resource_is_an_error_finding_and_others_are_still_evaluated():
    text = GPU_DEPLOYMENT + """
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: broken, namespace: ml}
spec:
  predictor: "this should be a mapping"
"""
    code, out, _ = run("check", "-f", "-", "-o", "json", stdin_text=text)
    reports = {r["target"]["name"]: r for r in json.loads(out)["reports"]}
    assert set(reports) == {"llm", "broken"}
    broken = reports["broken"]
    assert broken["conformant"] is False
    assert any(r["result"] == "error" and "predictor" in r["message"] for r in broken["results"])
    assert code == EXIT_FAILED
