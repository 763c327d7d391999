"""The CRDs in crds/ are generated from the pydantic models and follow the API conventions."""

from pathlib import Path

import pytest
import yaml
from kaico_dev import crdgen

from conformance.catalogue import catalogue
from conformance.profile import parse_profile
from conformance.schema import ProfileSpec

CRDS = Path(__file__).resolve().parents[4] / "crds"


def schemas() -> dict[str, dict]:
    return {
        name: yaml.safe_load(text)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        for name, text in crdgen.render_crds().items()
    }


def walk(node: dict, path: str = ""):
    yield path, node
    for name, child in (node.get("properties") or {}).items():
        yield from walk(child, f"{path}.{name}")
    if "items" in node:
        yield from walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from walk(node["additionalProperties"], f"{path}.*")


def test_the_crd_files_are_what_the_models_generate():
    stale = crdgen.drifted(CRDS)
    assert not stale, f"run `python -m kaico_dev.crdgen`: {stale} differ from the models"


def test_every_field_has_a_description_so_kubectl_explain_teaches_the_api():
    for name, schema in schemas().items():
        for path, node in walk(schema):
            if path in (".metadata",) or path.endswith(("[]", ".*")):
                continue  # the API server forbids a metadata description; items and map values are no fields
            assert node.get("description"), f"{name}: {path or '(root)'} has no description"


def test_schemas_are_structural_every_node_has_a_type_and_no_refs_or_unions():
    for name, schema in schemas().items():
        for path, node in walk(schema):
            assert "type" in node, f"{name}: {path} has no type"
            for keyword in ("$ref", "anyOf", "oneOf", "allOf", "title"):
                assert keyword not in node, f"{name}: {path} has {keyword}"


def test_severity_and_result_are_enums_and_a_waiver_needs_expires_at():
    profile = schemas()["kaico.dev_conformanceprofiles.yaml"]["properties"]["spec"]
    assert profile["properties"]["conformanceThreshold"]["enum"] == ["critical", "high", "medium", "low", "info"]
    waiver = profile["properties"]["waivers"]["items"]
    assert set(waiver["required"]) >= {"check", "reason", "expiresAt"}
    assert waiver["properties"]["expiresAt"]["format"] == "date-time"
    result = schemas()["kaico.dev_conformancereports.yaml"]["properties"]["status"]["properties"]["results"]["items"]
    assert result["properties"]["result"]["enum"] == ["pass", "fail", "warn", "error", "skip"]


def test_the_profile_spec_has_exactly_the_fields_the_engine_parses():
    spec = schemas()["kaico.dev_conformanceprofiles.yaml"]["properties"]["spec"]["properties"]
    aliases = {f.alias or n for n, f in ProfileSpec.model_fields.items()}
    assert set(spec) == aliases


def test_check_ids_are_listed_in_the_description_not_an_enum():
    # Helm never upgrades CRDs, so an enum would reject ids added by a newer kaico forever; the
    # operator reports unknown ids in the profile's Ready condition instead.
    checks = schemas()["kaico.dev_conformanceprofiles.yaml"]["properties"]["spec"]["properties"]["checks"]
    id_field = checks["items"]["properties"]["id"]
    assert "enum" not in id_field
    for check_id in catalogue():
        assert check_id in id_field["description"]


def test_printer_columns_short_names_and_category():
    report = yaml.safe_load(crdgen.render_crds()["kaico.dev_conformancereports.yaml"])
    version = report["spec"]["versions"][0]
    columns = [c["name"] for c in version["additionalPrinterColumns"] if not c.get("priority")]
    assert columns == ["Target", "Profile", "Conformant", "Pass", "Fail", "Warn", "Age"]
    assert version["subresources"] == {"status": {}}
    for text in crdgen.render_crds().values():
        names = yaml.safe_load(text)["spec"]["names"]
        assert names["categories"] == ["kaico"] and names["shortNames"]


def test_the_builtin_profile_validates_against_the_generated_schema_shape():
    profile = yaml.safe_load((Path(__file__).resolve().parents[4] / "conformance/profiles/default.yaml").read_text())
    spec = schemas()["kaico.dev_conformanceprofiles.yaml"]["properties"]["spec"]["properties"]
    assert set(profile["spec"]) <= set(spec)
    parse_profile(profile)


@pytest.mark.parametrize("argv,code", [(["--check"], 0)])
def test_the_check_mode_exits_zero_when_up_to_date(argv, code):
    assert crdgen.main([*argv, "--output-dir", str(CRDS)]) == code


def test_the_check_mode_exits_one_on_drift(tmp_path):
    assert crdgen.main(["--check", "--output-dir", str(tmp_path)]) == 1


def test_the_cluster_report_status_accepts_the_engines_cluster_evaluation_as_is():
    from kaico.api.models import ClusterReportStatus

    from conformance.cluster.catalogue import Level
    from conformance.cluster.evaluation import (
        ClusterEvaluation,
        RequirementResult,
        RequirementStatus,
    )

    evaluation = ClusterEvaluation("1.35", "v1.35.4", (
        RequirementResult("dra_support", "accelerators", Level.MUST, RequirementStatus.IMPLEMENTED,
                          ("resource.k8s.io/v1 served",), "ok", "Support DRA"),
    ))
    ClusterReportStatus.model_validate(evaluation.to_dict())
