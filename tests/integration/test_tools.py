"""Binary resolution and the build recipes: the versions the harness looks for are the ones the
wrapper modules pin, the built binaries report them, and KUBEBUILDER_ASSETS takes precedence."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from kaico_dev.localcluster import find_binary, find_toolset, tool_versions
from kaico_dev.localcluster.tools import DEFAULT_VERSIONS, ToolNotFound

REPO = Path(__file__).resolve().parents[2]


def test_fallback_versions_match_the_pinned_wrapper_modules() -> None:
    assert tool_versions() == DEFAULT_VERSIONS


def test_build_script_and_harness_agree_on_the_cache_layout(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBEBUILDER_ASSETS", raising=False)
    out = subprocess.run([str(REPO / "hack" / "build-tools.sh"), "--print-dirs"], check=True,
                         capture_output=True, text=True).stdout
    dirs = dict(line.split("=", 1) for line in out.split())
    tools = find_toolset()
    assert str(tools.kube_apiserver.parent) == dirs["K8S_DIR"]
    assert str(tools.etcd.parent) == dirs["ETCD_DIR"]
    assert str(tools.kwok.parent) == dirs["KWOK_DIR"]
    assert str(find_binary("helm").parent) == dirs["HELM_DIR"]


def test_built_binaries_report_their_real_versions() -> None:
    v = tool_versions()
    tools = find_toolset()
    for binary in (tools.kube_apiserver, tools.kube_controller_manager, tools.kube_scheduler):
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True).stdout
        assert out.strip() == f"Kubernetes {v['k8s']}"
    etcd = subprocess.run([str(tools.etcd), "--version"], capture_output=True, text=True).stdout
    assert f"etcd Version: {v['etcd'].lstrip('v')}" in etcd
    kwok = subprocess.run([str(tools.kwok), "--version"], capture_output=True, text=True).stdout
    assert v["kwok"] in kwok


def test_helm_is_built_with_its_version() -> None:
    helm = find_binary("helm", allow_path=False)
    out = subprocess.run([str(helm), "version", "--short"], capture_output=True, text=True).stdout
    assert out.startswith(tool_versions()["helm"])


def test_kubebuilder_assets_take_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "etcd"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(tmp_path))
    assert find_binary("etcd") == fake


def test_missing_binary_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAICO_TOOLS_DIR", str(tmp_path))
    monkeypatch.delenv("KUBEBUILDER_ASSETS", raising=False)
    with pytest.raises(ToolNotFound, match="make tools"):
        find_binary("kube-apiserver", allow_path=False)
