"""Paths and third-party CRD selection shared by the end-to-end tests and their fixtures."""

from __future__ import annotations

from pathlib import Path

import yaml

E2E = Path(__file__).resolve().parent
ROOT = E2E.parents[1]
STUB_CRDS = E2E / "crds"

# A GPU Deployment with no probes: `kaico check` fails it (endpoint-readiness-probe, high).
NON_CONFORMANT_DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "llm", "namespace": "serving"},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "llm"}},
        "template": {
            "metadata": {"labels": {"app": "llm"}},
            "spec": {"containers": [{"name": "vllm", "image": "vllm/vllm-openai:v0.11.0",
                                     "resources": {"limits": {"nvidia.com/gpu": "1"}}}]},
        },
    },
}


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
