"""The layering in docs/architecture.md, held by import-linter's contracts in .importlinter."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(root / "operator")])}
    return subprocess.run([executable, "--config", str(root / ".importlinter"), "--no-cache"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_every_import_contract_is_kept():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_a_lower_layer_importing_a_higher_one_breaks_the_contract(tmp_path):
    # The same tree with one upward import added: the contract must catch it.
    for part in ("conformance", "operator", ".importlinter"):
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / part)
    writer = tmp_path / "operator" / "kaico" / "workloads" / "writer.py"
    writer.write_text(writer.read_text() + "\nfrom kaico.runtime import handlers  # noqa\n")
    engine = tmp_path / "conformance" / "engine.py"
    engine.write_text(engine.read_text() + "\nimport aiohttp  # noqa\n")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert "kaico.workloads is not allowed to import kaico.runtime" in result.stdout
    assert "conformance.engine -> aiohttp" in result.stdout
