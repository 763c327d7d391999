"""The requirement catalogue: one checklist per Kubernetes minor, as the CNCF publishes it."""

import pytest

from conformance.cluster.catalogue import (
    CatalogueError,
    Category,
    Level,
    catalogue_for_cluster,
    load_catalogue,
    minor_of,
    supported_versions,
)

MUST = Level.MUST
SHOULD = Level.SHOULD


def levels(version: str) -> dict[str, Level]:
    return {r.id: r.level for r in load_catalogue(version).requirements}


def test_every_minor_from_1_33_to_1_37_ships():
    assert supported_versions() == ("1.33", "1.34", "1.35", "1.36", "1.37")


@pytest.mark.parametrize("version,musts,shoulds", [
    ("1.33", 8, 1), ("1.34", 9, 0), ("1.35", 9, 3), ("1.36", 8, 6), ("1.37", 8, 7),
])
def test_totals_match_the_checklists(version, musts, shoulds):
    found = list(levels(version).values())
    assert (found.count(MUST), found.count(SHOULD)) == (musts, shoulds)


def test_dra_support_graduates_then_leaves_for_base_conformance():
    assert levels("1.33")["dra_support"] is SHOULD
    assert levels("1.34")["dra_support"] is MUST
    assert levels("1.35")["dra_support"] is MUST
    assert "dra_support" not in levels("1.36")
    assert "dra_support" not in levels("1.37")


def test_shoulds_arrive_in_their_versions():
    assert {"driver_runtime_management", "gpu_sharing", "virtualized_accelerator"} <= set(levels("1.35"))
    assert "advanced_inference_ingress" not in levels("1.35")
    assert {"advanced_inference_ingress", "high_performance_networking",
            "disaggregated_inference"} <= set(levels("1.36"))
    assert "workload_sandboxing" not in levels("1.36")
    assert levels("1.37")["workload_sandboxing"] is SHOULD


def test_categories_are_the_checklist_keys_in_order():
    grouped = load_catalogue("1.37").by_category()
    assert list(grouped) == list(Category)
    assert [r.id for r in grouped[Category.SECURITY]] == ["secure_accelerator_access", "workload_sandboxing"]


def test_only_cluster_autoscaling_may_be_not_applicable_as_a_must():
    for version in supported_versions():
        accepted = [r.id for r in load_catalogue(version).requirements if r.not_applicable_accepted]
        assert accepted == ["cluster_autoscaling"]


def test_pod_autoscaling_is_conditional_on_hpa():
    assert "HorizontalPodAutoscaler" in (load_catalogue("1.35").get("pod_autoscaling").condition or "")


def test_descriptions_are_kept_verbatim():
    gang = load_catalogue("1.34").get("gang_scheduling")
    assert gang.description.startswith("The platform must allow for the installation and successful")
    # The 1.37 checklist has a typo of its own; a PRODUCT.yaml copies the description as is.
    assert "makes they available" in load_catalogue("1.37").get("accelerator_metrics").description
    assert "makes them available" in load_catalogue("1.36").get("accelerator_metrics").description


@pytest.mark.parametrize("text,minor", [
    ("v1.35.4", "1.35"), ("1.35", "1.35"), ("v1.36.0-gke.1200", "1.36"), ("v1.34", "1.34"),
    ("latest", None),
])
def test_minor_of_reads_server_versions(text, minor):
    assert minor_of(text) == minor


def test_load_accepts_a_full_version_and_refuses_unknown_minors():
    assert load_catalogue("v1.35.4").kubernetes_version == "1.35"
    with pytest.raises(CatalogueError, match="1.32"):
        load_catalogue("1.32")
    with pytest.raises(CatalogueError):
        load_catalogue("banana")


def test_a_newer_cluster_is_judged_by_the_newest_checklist_with_a_note():
    catalogue, note = catalogue_for_cluster("v1.38.1")
    assert catalogue.kubernetes_version == "1.37"
    assert note and "1.38" in note
    catalogue, note = catalogue_for_cluster("v1.35.4")
    assert (catalogue.kubernetes_version, note) == ("1.35", None)
    catalogue, note = catalogue_for_cluster("v1.31.0")
    assert catalogue.kubernetes_version == "1.33" and note
