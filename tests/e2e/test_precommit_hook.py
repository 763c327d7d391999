"""The `kaico-check` pre-commit hook, run by the real pre-commit (`pre-commit try-repo`) on a sample
repository: it installs kaico from this checkout into the hook's environment, passes the changed
manifests as `-f` files, fails on a non-conformant workload, and passes options through.

pre-commit installs the hook as a Python package (pip, from the package index for kaico's
dependencies), so the first run takes a minute; the environment is cached for the module.
try-repo uses the checkout's committed HEAD plus uncommitted changes to tracked files.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml
from e2e_support import NON_CONFORMANT_DEPLOYMENT

from tests.dependencies import require_tool

REPO = Path(__file__).resolve().parents[2]


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory) -> Path:
    """One hook environment for the module (installing kaico into it is the slow part)."""
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def sample_repo(tmp_path) -> Path:
    """A git repository with a conformant and a non-conformant manifest and an unrelated YAML."""
    repo = tmp_path / "sample"
    (repo / "deploy").mkdir(parents=True)
    (repo / "deploy" / "llm.yaml").write_text(yaml.safe_dump(NON_CONFORMANT_DEPLOYMENT))
    (repo / "deploy" / "chat.yaml").write_text(
        (REPO / "examples" / "workloads" / "vllm-deployment.yaml").read_text())
    (repo / "settings.yaml").write_text("retries: 3\n")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    return repo


def try_repo(repo: Path, home: Path, *files: str, args: tuple[str, ...] = ()):
    pre_commit = require_tool("pre-commit", "pip install pre-commit (in the dev extras: make setup)")
    command = [pre_commit, "try-repo", str(REPO), "kaico-check", "--verbose", "--files", *files]
    if args:
        # try-repo has no --args: a config file naming the hook with its args does the same.
        config = {"repos": [{"repo": str(REPO), "rev": _head(),
                             "hooks": [{"id": "kaico-check", "args": list(args)}]}]}
        (repo / "hooks.yaml").write_text(yaml.safe_dump(config))
        git(repo, "add", "hooks.yaml")
        command = [pre_commit, "run", "--config", "hooks.yaml", "kaico-check", "--verbose",
                   "--files", *files]
    return subprocess.run(command, cwd=repo, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PRE_COMMIT_HOME": str(home)})


def _head() -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_the_hook_is_declared_for_yaml_with_table_output():
    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "kaico-check" and hook["language"] == "python"
    assert hook["types"] == ["yaml"] and hook["require_serial"] is True
    assert "kaico check -o table" in hook["entry"]


def test_the_hook_fails_on_a_non_conformant_workload(sample_repo, pre_commit_home):
    done = try_repo(sample_repo, pre_commit_home, "deploy/llm.yaml", "deploy/chat.yaml",
                    "settings.yaml")
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "kaico check" in out and "Failed" in out
    assert "Deployment serving/llm" in out and "NOT CONFORMANT" in out
    assert "endpoint-readiness-probe" in out
    # Every file went to one kaico run: the conformant one is reported beside it.
    assert "2 workload(s): 1 conformant, 1 not conformant" in out, out


def test_the_hook_passes_a_conformant_workload(sample_repo, pre_commit_home):
    done = try_repo(sample_repo, pre_commit_home, "deploy/chat.yaml", "settings.yaml")
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "Passed" in out and "1 workload(s): 1 conformant, 0 not conformant" in out


def test_options_pass_through_to_kaico(sample_repo, pre_commit_home):
    # The failures are high and medium: failing only on critical lets the commit through.
    done = try_repo(sample_repo, pre_commit_home, "deploy/llm.yaml",
                    args=("--fail-on=critical",))
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "NOT CONFORMANT" in out
