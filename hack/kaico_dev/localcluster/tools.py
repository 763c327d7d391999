"""Where the control plane's binaries live: KUBEBUILDER_ASSETS, the version-keyed build cache, PATH.

The concern here is only *finding* binaries; ``hack/build-tools.sh`` builds them. Both derive the
cache layout from the pinned wrapper modules (``hack/<tool>/go.mod``), so a version bump in a go.mod
moves both the build and the lookup to a new directory and never mixes versions.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

# Repository root when running from a checkout (hack/kaico_dev/localcluster/tools.py -> repo).
_REPO_GUESS = Path(__file__).resolve().parents[3]

# Known-good versions, used only when no checkout is around to read hack/*/go.mod from (an
# installed wheel). Keep in step with the go.mod files; the tests compare them.
DEFAULT_VERSIONS: dict[str, str] = {
    "k8s": "v1.35.4",
    "etcd": "v3.6.16",
    "kwok": "v0.8.0",
    "helm": "v3.22.0",
}

# The module whose version names each tool's cache directory.
_VERSION_MODULE = {
    "k8s": "k8s.io/kubernetes",
    "etcd": "go.etcd.io/etcd/server/v3",
    "kwok": "sigs.k8s.io/kwok",
    "helm": "helm.sh/helm/v3",
}

# Which cache directory each binary is built into.
BINARY_TOOL = {
    "kube-apiserver": "k8s",
    "kube-controller-manager": "k8s",
    "kube-scheduler": "k8s",
    "kubectl": "k8s",
    "etcd": "etcd",
    "kwok": "kwok",
    "helm": "helm",
}


class ToolNotFound(RuntimeError):
    """A binary is in none of the places we look; the message says how to get it."""


def repo_root() -> Path | None:
    """The checkout this module runs from (or $KAICO_REPO), if it has the build recipes."""
    for cand in (os.environ.get("KAICO_REPO"), _REPO_GUESS):
        if cand and (Path(cand) / "hack" / "build-tools.sh").is_file():
            return Path(cand)
    return None


def tools_root() -> Path:
    return Path(os.environ.get("KAICO_TOOLS_DIR") or Path.home() / ".cache" / "kaico" / "tools")


def tool_versions() -> dict[str, str]:
    """Versions pinned in hack/<tool>/go.mod, falling back to DEFAULT_VERSIONS without a checkout."""
    versions = dict(DEFAULT_VERSIONS)
    root = repo_root()
    if root is None:
        return versions
    for tool, module in _VERSION_MODULE.items():
        gomod = root / "hack" / tool / "go.mod"
        if not gomod.is_file():
            continue
        # Matches both `require m vX` and a line inside a require block; `tool m` has no version.
        pat = re.compile(rf"^\s*(?:require\s+)?{re.escape(module)}\s+(v\S+)", re.MULTILINE)
        m = pat.search(gomod.read_text())
        if m:
            versions[tool] = m.group(1)
    return versions


@dataclass(frozen=True)
class Toolset:
    """Absolute paths of every binary the harness runs."""

    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    kube_scheduler: Path
    kwok: Path
    kubectl: Path

    def as_dict(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.__dict__.items()}


def find_binary(name: str, *, allow_path: bool = True) -> Path:
    """Resolve one binary: KUBEBUILDER_ASSETS first (the ecosystem's convention), then our build
    cache, then PATH (last, because a PATH kubectl is often far off the server's version)."""
    candidates: list[Path] = []
    assets = os.environ.get("KUBEBUILDER_ASSETS")
    if assets:
        candidates.append(Path(assets) / name)
    tool = BINARY_TOOL.get(name)
    if tool:
        candidates.append(tools_root() / f"{tool}-{tool_versions()[tool]}" / name)
    for cand in candidates:
        if cand.is_file() and os.access(cand, os.X_OK):
            return cand
    if allow_path:
        found = shutil.which(name)
        if found:
            return Path(found)
    looked = ", ".join(str(c) for c in candidates) or "(nowhere)"
    raise ToolNotFound(
        f"{name} not found (looked in {looked}{' and PATH' if allow_path else ''}); "
        "run `make tools` (builds it from Go modules) or set KUBEBUILDER_ASSETS"
    )


def find_toolset() -> Toolset:
    """All control-plane binaries. Server components never come from PATH: a stray distro binary
    of another version would make test results depend on the machine."""
    return Toolset(
        etcd=find_binary("etcd", allow_path=False),
        kube_apiserver=find_binary("kube-apiserver", allow_path=False),
        kube_controller_manager=find_binary("kube-controller-manager", allow_path=False),
        kube_scheduler=find_binary("kube-scheduler", allow_path=False),
        kwok=find_binary("kwok", allow_path=False),
        kubectl=find_binary("kubectl", allow_path=True),
    )
