"""What `pip install kaico` gives: the product without the development tools, and a `kaico` whose
every command starts (no ModuleNotFoundError for an operator dependency)."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir",
                    str(out), str(ROOT)], check=True, capture_output=True, timeout=600)
    return next(out.glob("kaico-*.whl"))


def test_the_wheel_holds_the_product_and_no_development_tool(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    packages = {name.split("/")[0] for name in names if not name.endswith(".dist-info/") }
    assert {"conformance", "kaico"} <= packages
    assert not [n for n in names if n.startswith("kaico_dev/") or "localcluster" in n
                or n.endswith(("demo.py", "crdgen.py"))]
    assert "conformance/cluster/versions/1.35.yaml" in names
    assert "conformance/profiles/default.yaml" in names


def test_every_command_of_a_plain_install_starts(wheel: Path, tmp_path: Path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], check=True,
                   capture_output=True, timeout=900)
    kaico = env_dir / "bin" / "kaico"
    for command in ("check", "checks", "cluster", "cleanup", "run"):
        result = subprocess.run([str(kaico), command, "--help"], capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, (command, result.stderr)
        assert "Traceback" not in result.stderr
    # Without a cluster the cluster-facing commands say so and exit 2 (bad input), not 1.
    no_cluster = {"KUBECONFIG": str(tmp_path / "missing"), "PATH": "/usr/bin:/bin",
                  "HOME": str(tmp_path)}
    for command in (["cluster"], ["cleanup"]):
        result = subprocess.run([str(kaico), *command], capture_output=True, text=True, timeout=120,
                                env=no_cluster)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr and result.stderr.startswith("kaico: ")
