"""evaluate_cluster: checklist choice, tallies, probe folding, and the N/A guard."""

from __future__ import annotations

import pytest

from conformance.cluster.catalogue import CatalogueError, Level, load_catalogue
from conformance.cluster.evaluation import (
    Decision,
    ProbeOutcome,
    ProbeResult,
    RequirementStatus,
    WorkloadTally,
    _guard_not_applicable,
    evaluate_cluster,
)
from conformance.cluster.inventory import ClusterInventory
from tests.unit.conformance.cluster_builders import gpu_node, inventory


def test_follows_the_cluster_minor_by_default():
    evaluation = evaluate_cluster(inventory(server_version="v1.36.2"))
    assert evaluation.kubernetes_version == "1.36"
    assert [r.id for r in evaluation.results] == list(load_catalogue("1.36").ids)


def test_an_explicit_version_wins_and_levels_are_copied():
    evaluation = evaluate_cluster(inventory(server_version="v1.35.4"), "1.33")
    assert evaluation.kubernetes_version == "1.33"
    assert evaluation.result("dra_support").level is Level.SHOULD
    assert evaluation.cluster_version == "v1.35.4"


def test_a_newer_cluster_gets_a_warning():
    evaluation = evaluate_cluster(inventory(server_version="v1.39.0"))
    assert evaluation.kubernetes_version == "1.37"
    assert any("1.39" in w for w in evaluation.warnings)


def test_unknown_version_is_a_caller_error():
    with pytest.raises(CatalogueError):
        evaluate_cluster(ClusterInventory())
    with pytest.raises(CatalogueError):
        evaluate_cluster(inventory(), "1.20")


def test_gather_problems_become_warnings():
    evaluation = evaluate_cluster(inventory(problems=("nodes not read: 403",)))
    assert "nodes not read: 403" in evaluation.warnings


def test_tallies_count_not_applicable_as_met():
    evaluation = evaluate_cluster(inventory(), "1.35")
    met, total = evaluation.must
    assert total == 9
    statuses = {r.id: r.status for r in evaluation.results}
    assert statuses["cluster_autoscaling"] is RequirementStatus.NOT_APPLICABLE
    assert met == sum(1 for r in evaluation.results if r.level is Level.MUST
                      and r.status in (RequirementStatus.IMPLEMENTED, RequirementStatus.NOT_APPLICABLE))
    assert not evaluation.musts_met


def test_to_dict_is_the_report_status_shape():
    entry = evaluate_cluster(inventory(nodes=(gpu_node(),))).to_dict()["requirements"][0]
    assert set(entry) == {"id", "category", "level", "status", "evidence", "notes"}


def probe(outcome: ProbeOutcome, name: str = "gang-scheduling/positive") -> ProbeResult:
    return ProbeResult("gang_scheduling", name, outcome, "detail")


def test_a_failing_probe_overrides_passive_detection():
    evaluation = evaluate_cluster(inventory(), probes=(probe(ProbeOutcome.PASSED),
                                                       probe(ProbeOutcome.FAILED, "gang-scheduling/negative")))
    result = evaluation.result("gang_scheduling")
    assert result.status is RequirementStatus.NOT_IMPLEMENTED
    assert "Probe gang-scheduling/negative failed: detail." in result.notes


def test_passing_probes_make_it_implemented_and_inconclusive_ones_only_add_notes():
    passed = evaluate_cluster(inventory(), probes=(probe(ProbeOutcome.PASSED),))
    assert passed.result("gang_scheduling").status is RequirementStatus.IMPLEMENTED
    assert "probe gang-scheduling/positive (passed)" in passed.result("gang_scheduling").evidence
    unsure = evaluate_cluster(inventory(), probes=(probe(ProbeOutcome.INCONCLUSIVE),))
    assert unsure.result("gang_scheduling").status is RequirementStatus.NOT_IMPLEMENTED
    assert "inconclusive" in unsure.result("gang_scheduling").notes


def test_workload_tallies_add_notes_but_never_change_the_status():
    tally = WorkloadTally("secure_accelerator_access", passing=3, failing=1, failing_checks=("gpu-limits",))
    evaluation = evaluate_cluster(inventory(nodes=(gpu_node(),)),
                                  workload_tallies={"secure_accelerator_access": tally})
    result = evaluation.result("secure_accelerator_access")
    assert result.status is RequirementStatus.IMPLEMENTED
    assert "1 failing (gpu-limits)" in result.notes


def test_not_applicable_needs_a_condition_and_a_note():
    gang = load_catalogue("1.37").get("gang_scheduling")
    autoscaling = load_catalogue("1.37").get("cluster_autoscaling")
    na = RequirementStatus.NOT_APPLICABLE
    assert _guard_not_applicable(Decision(na, "why"), gang).status is RequirementStatus.UNKNOWN
    assert _guard_not_applicable(Decision(na, ""), autoscaling).status is RequirementStatus.UNKNOWN
    assert _guard_not_applicable(Decision(na, "why"), autoscaling).status is na


def test_evaluation_is_deterministic():
    inv = inventory(nodes=(gpu_node(),))
    assert evaluate_cluster(inv).to_dict() == evaluate_cluster(inv).to_dict()


def test_transitions_name_what_changed_for_events():
    from conformance.cluster.evaluation import status_transitions

    before = evaluate_cluster(inventory())
    after = evaluate_cluster(inventory(nodes=(gpu_node(),)))
    first = status_transitions(None, before)
    assert len(first) == len(before.results) and all(t.previous is None for t in first)
    changed = {t.id: (t.previous, t.current) for t in status_transitions(before, after)}
    assert changed["secure_accelerator_access"] == (RequirementStatus.NOT_IMPLEMENTED,
                                                    RequirementStatus.IMPLEMENTED)
    assert "ai_inference" not in changed
    assert status_transitions(after, after) == []
