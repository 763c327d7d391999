"""One rule for a test whose external tool is missing: fail in CI (where `.ci/run` must have
installed it), skip with the reason on a developer's machine."""

import os
import shutil
import sys
from pathlib import Path

import pytest


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
