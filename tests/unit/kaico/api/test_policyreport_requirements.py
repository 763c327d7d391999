"""Cluster requirements as PolicyReport results: the level decides severity and fail vs warn."""

from kaico.api.policyreport import requirement_entry

from conformance.cluster.catalogue import Level
from conformance.cluster.results import RequirementResult, RequirementStatus


def entry(level: Level, status: RequirementStatus) -> dict:
    requirement = RequirementResult("gpu_sharing", "accelerators", level, status, (), "", "described")
    return requirement_entry(requirement, "default")


def test_a_must_not_implemented_fails_high_and_a_should_warns_medium():
    must = entry(Level.MUST, RequirementStatus.NOT_IMPLEMENTED)
    should = entry(Level.SHOULD, RequirementStatus.NOT_IMPLEMENTED)
    assert (must["result"], must["severity"]) == ("fail", "high")
    assert (should["result"], should["severity"]) == ("warn", "medium")
    assert must["properties"]["level"] == "MUST"


def test_every_level_has_a_severity_of_its_own():
    severities = {entry(level, RequirementStatus.IMPLEMENTED)["severity"] for level in Level}
    assert len(severities) == len(Level)
