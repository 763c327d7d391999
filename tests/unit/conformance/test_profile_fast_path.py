"""The engine's profile is plain dataclasses; pydantic only validates a user's profile file.

The built-in profile is read straight into the dataclasses (``spec_from_mapping``, no pydantic):
these tests prove that gives exactly what validating with pydantic gives, for the built-in
profile and every valid profile the repository ships or tests with, and that ``kaico check``
with the built-in profile does not import pydantic at all.
"""

import ast
import dataclasses
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from conformance import parameters as engine_parameters
from conformance import profile as engine_profile
from conformance import schema
from conformance.profile import (
    Profile,
    ProfileError,
    builtin_document,
    builtin_profile,
    parse_profile,
    spec_from_mapping,
)

REPO = Path(__file__).resolve().parents[3]


def fast(document: dict) -> Profile:
    return Profile(document["metadata"]["name"], spec_from_mapping(document.get("spec") or {}))


EVERY_FIELD = {
    "apiVersion": "kaico.dev/v1alpha1",
    "kind": "ConformanceProfile",
    "metadata": {"name": "every-field", "labels": {"team": "ml"}},
    "spec": {
        "description": "every field set",
        "targets": {
            "kinds": ["InferenceService", "Deployment"],
            "namespaces": ["ml-*", "serving"],
            "namespaceSelector": {"matchLabels": {"env": "prod"}},
            "selector": {
                "matchLabels": {"app": "llm"},
                "matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["gold", "silver"]},
                    {"key": "canary", "operator": "DoesNotExist"},
                ],
            },
        },
        "includeAllChecks": False,
        "checks": [
            {"id": "gpu-limits", "severity": "critical"},
            {"id": "endpoint-ready", "enabled": False},
            {"id": "gpu-toleration"},
        ],
        "parameters": {
            "gpuResourceNames": ["nvidia.com/gpu", "example.com/npu"],
            "gpuResourcePrefixes": ["nvidia.com/mig-"],
            "fractionalGpuAnnotations": ["gpu-fraction"],
            "fractionalGpuResources": [],
            "modelAwarePaths": ["/v1/models", "/healthz/"],
            "startupBudgetSeconds": 1200,
            "livenessMinInitialDelaySeconds": 0,
            "optInLabel": "example.com/serve",
            "inferenceMetrics": ["vllm:num_requests_waiting"],
        },
        "waivers": [
            {"check": "gpu-limits", "reason": "pilot", "expiresAt": "2031-01-02T03:04:05Z",
             "target": {"kind": "Deployment", "namespace": "ml-*", "name": "llm-*"}, "ticket": "T-1"},
            # a naive time is read as UTC; an offset is kept
            {"check": "gpu-toleration", "reason": "r", "expiresAt": datetime(2030, 5, 6, 7, 8, 9)},
            {"check": "gpu-toleration", "reason": "r",
             "expiresAt": datetime(2030, 5, 6, 7, 8, 9, tzinfo=timezone(timedelta(hours=2)))},
        ],
        "namespaceWaivers": {"allowed": True, "maxDurationDays": 7},
        "conformanceThreshold": "high",
        "intervalSeconds": 60,
        "activeProbes": True,
        "admission": {"enforcement": "Deny", "denyAtSeverity": "critical"},
    },
}


def _yaml_profiles(text: str) -> list[dict]:
    documents = []
    for document in yaml.safe_load_all(text):
        if isinstance(document, dict) and document.get("kind") == "ConformanceProfile":
            documents.append(document)
    return documents


def shipped_and_tested_profiles() -> list[tuple[str, dict]]:
    """Every profile document in the repository: the built-in one, the examples, the chart's,
    the docs' YAML blocks, and the tests' YAML strings (``%s`` filled with ``true``) and
    literal dicts."""
    found = [("built-in:default", builtin_document("default"))]
    for path in sorted([*REPO.glob("examples/**/*.yaml"), REPO / "charts/kaico/files/default-profile.yaml"]):
        found += [(str(path.relative_to(REPO)), d) for d in _yaml_profiles(path.read_text())]
    for path in sorted(REPO.glob("docs/*.md")):
        for block in re.findall(r"```yaml\n(.*?)```", path.read_text(), flags=re.S):
            try:
                found += [(str(path.relative_to(REPO)), d) for d in _yaml_profiles(block)]
            except yaml.YAMLError:
                continue
    for path in sorted(REPO.glob("tests/**/*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and "kind: ConformanceProfile" in node.value:
                try:
                    found += [(str(path.relative_to(REPO)), d)
                              for d in _yaml_profiles(node.value.replace("%s", "true"))]
                except yaml.YAMLError:
                    continue
            elif isinstance(node, ast.Dict):
                try:
                    value = ast.literal_eval(node)
                except ValueError:
                    continue  # built from variables
                if value.get("kind") == "ConformanceProfile":
                    found.append((str(path.relative_to(REPO)), value))
    found.append(("every-field", EVERY_FIELD))
    return found


PROFILES = shipped_and_tested_profiles()


def test_the_corpus_holds_the_profiles_it_should():
    sources = {source for source, _ in PROFILES}
    assert {"built-in:default", "examples/profiles/strict-inference.yaml",
            "docs/profiles.md", "tests/unit/kaico/cli/test_check_waivers.py"} <= sources
    assert len(PROFILES) >= 8


@pytest.mark.parametrize("source,document", PROFILES, ids=[s for s, _ in PROFILES])
def test_the_fast_path_resolves_every_valid_profile_as_pydantic_does(source, document):
    try:
        validated = parse_profile(document, source)
    except ProfileError:
        return  # a test's deliberately bad profile: the fast path is never given one
    assert fast(document) == validated
    assert fast(document).parameters == validated.parameters


def test_the_builtin_profile_is_the_validated_one():
    assert builtin_profile("default") == parse_profile(builtin_document("default"), "built-in:default")
    assert builtin_profile("default").spec.waivers == ()


def test_a_difference_is_seen():
    """The comparison above can fail: a profile that differs in one nested value is unequal."""
    changed = {**EVERY_FIELD, "spec": {**EVERY_FIELD["spec"], "admission": {"enforcement": "Warn"}}}
    assert fast(changed) != parse_profile(EVERY_FIELD)
    naive = fast(EVERY_FIELD).spec.waivers[1].expires_at
    assert naive == datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)


def test_the_dataclasses_have_the_models_fields_and_defaults():
    assert spec_from_mapping({}) == engine_profile.Spec()
    assert schema.resolve_spec(schema.ProfileSpec()) == engine_profile.Spec()
    assert engine_parameters.Parameters(**schema.Parameters().model_dump()) == engine_parameters.Parameters()
    assert {f.alias: name for name, f in schema.Parameters.model_fields.items()} == engine_parameters.PARAMETER_KEYS
    assert [f.name for f in dataclasses.fields(engine_profile.Spec)] == list(schema.ProfileSpec.model_fields)


@pytest.mark.parametrize("output", ["table", "json", "junit", "sarif", "policyreport"])
def test_kaico_check_with_the_builtin_profile_does_not_import_pydantic(tmp_path, output):
    manifest = REPO / "examples/workloads/vllm-deployment.yaml"
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "kaico", "check", "-f", str(manifest), "-o", output],
        capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"}, timeout=120,
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    assert "conformance.engine" in imported  # the check ran through the engine
    assert not {m for m in imported if m.split(".")[0] in ("pydantic", "pydantic_core")}


def test_a_profile_file_is_still_validated_with_pydantic(tmp_path):
    manifest = REPO / "examples/workloads/vllm-deployment.yaml"
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: kaico.dev/v1alpha1\nkind: ConformanceProfile\nmetadata: {name: b}\n"
                   "spec: {parameters: {startupBudgetSeconds: -1}}\n")
    result = subprocess.run(
        [sys.executable, "-m", "kaico", "check", "-f", str(manifest), "--profile", str(bad)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert "spec.parameters.startupBudgetSeconds: Input should be greater than or equal to 0" in result.stderr
    assert "Traceback" not in result.stderr
