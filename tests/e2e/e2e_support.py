"""Paths and third-party CRD selection shared by the end-to-end tests and their fixtures."""

from __future__ import annotations

from pathlib import Path

import yaml

E2E = Path(__file__).resolve().parent
ROOT = E2E.parents[1]
STUB_CRDS = E2E / "crds"


def third_party_crd_files(shared: Path) -> list[Path]:
    """The real third-party CRDs from $KAICO_SHARED, one file per CRD (the full variant where a
    `.minimal` one exists too), plus the stubs for kinds shared/ lacks (Gateway API, monitors)."""
    by_name: dict[str, Path] = {}
    for path in sorted((shared / "crds").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            name = doc["metadata"]["name"]
            if name not in by_name or ".minimal" in by_name[name].name:
                by_name[name] = path
    return sorted(set(by_name.values())) + sorted(STUB_CRDS.glob("*.yaml"))
