"""Fixtures every test layer shares: where the repository and the third-party material are."""

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_path() -> Path:
    """Third-party CRDs and samples (never copied into the repo): $KAICO_SHARED, else ../shared."""
    return Path(os.environ.get("KAICO_SHARED") or REPO_ROOT.parent / "shared").resolve()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    path = shared_path()
    if not (path / "samples").is_dir():
        pytest.fail(f"third-party samples not found at {path}; set KAICO_SHARED")
    return path
