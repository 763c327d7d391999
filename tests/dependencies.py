"""One rule for a test whose external tool is missing: fail in CI (where `.ci/run` must have
installed it), skip with the reason on a developer's machine. The local control plane is never
skipped: its binaries are built by `make tools`, which `make test` runs first."""

import os
import shutil
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
