"""Fixtures for the chart tests: `helm template` parsed into objects (helm: tests/e2e/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from chartlib import run_helm

from tests.dependencies import require_tool

CHART_DIR = Path(__file__).resolve().parents[3] / "charts" / "kaico"

Rendered = list[dict[str, Any]]


@pytest.fixture(scope="session")
def promtool() -> str:
    """promtool (the alert rules' and the dashboard's PromQL), from Debian's `prometheus` package."""
    return require_tool("promtool", "apt-get install prometheus (Debian's package ships it)")


@pytest.fixture(scope="session")
def chart_dir() -> Path:
    return CHART_DIR


def template_args(values: dict[str, Any] | None, sets: tuple[str, ...]) -> list[str]:
    args: list[str] = []
    for item in sets:
        args += ["--set", item]
    if values is not None:
        args += ["--values", "-"]
    return args


@pytest.fixture(scope="session")
def render(helm: Path) -> Callable[..., Rendered]:
    """render(*sets, values=None, release="kaico", namespace="kaico-system") -> objects.

    `helm template` with the given --set items and an optional values dict (passed on stdin).
    The release's objects only, unless ``hooks``: then the uninstall hook's objects too.
    """

    def _render(
        *sets: str,
        values: dict[str, Any] | None = None,
        release: str = "kaico",
        namespace: str = "kaico-system",
        include_crds: bool = False,
        hooks: bool = False,
    ) -> Rendered:
        args = ["template", release, str(CHART_DIR), "--namespace", namespace]
        if include_crds:
            args.append("--include-crds")
        if not hooks:
            args.append("--no-hooks")
        args += template_args(values, sets)
        done = run_helm(helm, *args, input=yaml.safe_dump(values) if values is not None else None)
        return [doc for doc in yaml.safe_load_all(done.stdout) if doc]

    return _render


@pytest.fixture(scope="session")
def render_error(helm: Path) -> Callable[..., str]:
    """render_error(*sets, values=None) -> helm's stderr; fails the test if rendering succeeds."""

    def _render_error(*sets: str, values: dict[str, Any] | None = None) -> str:
        args = ["template", "kaico", str(CHART_DIR), *template_args(values, sets)]
        done = run_helm(
            helm, *args, check=False, input=yaml.safe_dump(values) if values is not None else None
        )
        assert done.returncode != 0, f"helm accepted bad values {sets or values}"
        return done.stderr

    return _render_error
