"""PRODUCT.yaml: filled from an evaluation, it meets the CNCF validator's rules on its form."""

from __future__ import annotations

import copy

import pytest
import yaml

from conformance.cluster.catalogue import load_catalogue, supported_versions
from conformance.cluster.evaluation import RequirementStatus, evaluate_cluster
from conformance.cluster.product import (
    UNVERIFIED_PREFIX,
    VALID_STATUSES,
    evidence_markdown,
    product_document,
    snake_case,
    validate_product,
)
from tests.unit.conformance.cluster_builders import gpu_node, inventory

METADATA = {
    "platformName": "Example Platform",
    "platformVersion": "1.2.3",
    "vendorName": "Example Inc.",
    "websiteUrl": "https://example.com",
    "documentationUrl": "https://example.com/docs",
    "productLogoUrl": "https://example.com/logo.svg",
    "description": "A platform.",
    "contactEmailAddress": "ai@example.com",
    "k8sConformanceUrl": "https://github.com/cncf/k8s-conformance/tree/main/v1.35/example",
}


def build(version: str = "1.35", metadata: dict | None = None, **fields) -> tuple[dict, object]:
    evaluation = evaluate_cluster(inventory(**fields), version)
    catalogue = load_catalogue(version)
    return product_document(evaluation, catalogue, metadata or METADATA), catalogue


@pytest.mark.parametrize("version", supported_versions())
def test_every_id_is_present_with_copied_level_and_description(version):
    document, catalogue = build(version)
    validation = validate_product(document, catalogue)
    assert validation.errors == []
    entries = {e["id"]: e for entries in document["spec"].values() for e in entries}
    assert set(entries) == set(catalogue.ids)
    for requirement in catalogue.requirements:
        assert entries[requirement.id]["level"] == requirement.level.value
        assert entries[requirement.id]["description"] == requirement.description
    assert document["metadata"]["kubernetesVersion"] == f"v{version}"


def test_statuses_come_from_the_allowed_set_or_are_blank_shoulds():
    document, catalogue = build("1.37", nodes=(gpu_node(),))
    for entries in document["spec"].values():
        for entry in entries:
            level = catalogue.get(entry["id"]).level.value
            if entry["status"] == "":
                assert level == "SHOULD" and entry["evidence"] == []
            else:
                assert entry["status"] in VALID_STATUSES


def test_unknown_must_is_not_claimed():
    evaluation = evaluate_cluster(inventory(), "1.35")
    unknown = [r for r in evaluation.results if r.status is RequirementStatus.UNKNOWN]
    assert all(r.level.value == "SHOULD" for r in unknown)  # on this inventory
    # An unreadable inventory makes MUSTs Unknown: they become Not Implemented, with the reason.
    evaluation = evaluate_cluster(inventory(known=frozenset()), "1.35")
    document = product_document(evaluation, load_catalogue("1.35"), METADATA)
    gang = document["spec"]["schedulingOrchestration"][0]
    assert gang["status"] == "Not Implemented"
    assert gang["notes"].startswith(UNVERIFIED_PREFIX)


def test_not_applicable_carries_notes_and_maps_to_na():
    document, catalogue = build("1.35")
    autoscaling = next(e for e in document["spec"]["schedulingOrchestration"] if e["id"] == "cluster_autoscaling")
    assert autoscaling["status"] == "N/A" and autoscaling["notes"]
    validation = validate_product(document, catalogue)
    assert any("cluster_autoscaling" in w for w in validation.warnings)
    assert not any("cluster_autoscaling" in u for u in validation.unmet)


def test_unmet_musts_are_reported_separately_from_form_errors():
    document, catalogue = build("1.35")
    validation = validate_product(document, catalogue)
    assert validation.well_formed
    assert any("gang_scheduling" in u for u in validation.unmet)


def test_missing_metadata_keeps_placeholders_the_validator_rejects():
    document, catalogue = build("1.35", metadata={"platformName": "X"})
    assert document["metadata"]["vendorName"] == "[Vendor Name]"
    assert "repoUrl" not in document["metadata"]  # optional: left out, not a placeholder
    errors = validate_product(document, catalogue).errors
    assert "metadata.vendorName: placeholder [Vendor Name]" in errors


def test_validator_rules_on_a_hand_edited_document(tmp_path):
    document, catalogue = build("1.35")
    broken = copy.deepcopy(document)
    broken["metadata"]["k8sConformanceUrl"] = "https://example.com/not-it"
    del broken["metadata"]["websiteUrl"]
    broken["metadata"]["kubernetesVersion"] = "v1.34"
    accelerators = broken["spec"]["accelerators"]
    accelerators[0]["status"] = "Done"
    accelerators[1]["status"], accelerators[1]["notes"] = "N/A", ""
    accelerators[2]["level"] = "MUST"
    accelerators[3]["evidence"] = ["missing-file.md", "https://example.com/ok"]
    del broken["spec"]["operator"]
    broken["spec"]["networking"] = []
    errors = validate_product(broken, catalogue, tmp_path).errors
    joined = "\n".join(errors)
    assert "k8sConformanceUrl" in joined
    assert "metadata.websiteUrl: missing" in errors
    assert "metadata.kubernetesVersion: v1.34 is not v1.35" in errors
    assert "'Done' is not one of" in joined
    assert "driver_runtime_management.notes: required when status is N/A" in joined
    assert "gpu_sharing.level" in joined
    assert "file missing-file.md not found" in joined
    assert "spec.operator: missing" in errors
    assert "spec.networking.ai_inference: missing" in errors


def test_blank_should_is_skipped_like_the_validator_does():
    document, catalogue = build("1.37")
    for entries in document["spec"].values():
        for entry in entries:
            if entry["level"] == "SHOULD":
                entry["status"], entry["evidence"] = "", []
    assert validate_product(document, catalogue).errors == []


def test_snake_case_metadata_is_accepted():
    document, catalogue = build("1.35")
    document["metadata"] = {snake_case(k): v for k, v in document["metadata"].items()}
    assert document["metadata"]["k8s_conformance_url"]
    assert validate_product(document, catalogue).errors == []


def test_the_document_round_trips_through_yaml():
    document, catalogue = build("1.36")
    assert validate_product(yaml.safe_load(yaml.safe_dump(document)), catalogue).errors == []


def test_evidence_markdown_lists_the_objects():
    evaluation = evaluate_cluster(inventory(nodes=(gpu_node(),)), "1.35")
    text = evidence_markdown(evaluation.result("secure_accelerator_access"), evaluation)
    assert "# secure_accelerator_access" in text
    assert "- Node/gpu-0 advertises nvidia.com/gpu=8" in text
