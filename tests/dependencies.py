"""One rule for a test whose external tool is missing: fail in CI (where `.ci/run` must have
installed it), skip with the reason on a developer's machine. The local control plane is never
skipped: its binaries are built by `make tools`, which `make test` runs first."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from kaico_dev.localcluster import ClusterError, LocalCluster, ToolNotFound


def missing(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def require_tool(name: str, hint: str) -> str:
    """The tool's path; looks beside the interpreter too, where pip puts packaged binaries."""
    found = shutil.which(name, path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if found is None:
        missing(f"{name} not found: {hint}")
    return found


def built_tool(name: str) -> Path:
    """A tool `make tools` builds beside the control plane (hack/build-tools.sh; e.g. registry,
    actionlint), from the directory the script reports for it."""
    script = Path(__file__).resolve().parent.parent / "hack" / "build-tools.sh"
    listing = subprocess.run([str(script), "--print-dirs"], capture_output=True, text=True,
                             check=True, timeout=30).stdout
    dirs = dict(line.split("=", 1) for line in listing.split())
    path = Path(dirs[f"{name.upper()}_DIR"]) / name
    if not os.access(path, os.X_OK):
        missing(f"{name} not found at {path}: run `make tools`")
    return path


def start_control_plane() -> LocalCluster:
    """A started local control plane, or the test fails saying which binary is missing or why
    the control plane did not start."""
    try:
        cluster = LocalCluster()
        cluster.start()
    except ToolNotFound as error:
        pytest.fail(f"{error}\n(`make tools` builds them; `pytest -m 'not cluster'` skips these "
                    "tests)", pytrace=False)
    except ClusterError as error:
        pytest.fail(f"local control plane did not start: {error}", pytrace=False)
    return cluster
