"""Finding messages are bounded where they are built, whatever the input."""

from conformance.checks.describe import MAX_CLAUSES, Verdicts
from conformance.findings import MAX_MESSAGE_CHARS, MAX_PROPERTY_CHARS, Finding, Result, Severity


def test_a_message_over_many_parts_names_a_few_and_counts_the_rest():
    verdicts = Verdicts()
    for index in range(5000):
        verdicts.fail(f"container 'c{index}': limits missing")
    message = verdicts.outcome("nothing").message
    assert message.count("limits missing") == MAX_CLAUSES
    assert message.endswith(f"and {5000 - MAX_CLAUSES:,} more")


def test_a_finding_caps_its_message_and_properties():
    finding = Finding("gpu-limits", "gpu", Result.FAIL, Severity.HIGH, "x" * 100_000,
                      properties={"reason": "y" * 10_000})
    assert len(finding.message) == MAX_MESSAGE_CHARS and finding.message.endswith("…")
    assert len(finding.properties["reason"]) == MAX_PROPERTY_CHARS
    short = Finding("gpu-limits", "gpu", Result.PASS, Severity.HIGH, "fine")
    assert short.message == "fine"


def test_input_problems_beyond_a_few_are_counted_in_one_finding():
    from conformance.engine import MAX_INPUT_FINDINGS, _input_problems

    problems = [f"spec.containers[{i}].name is not a string" for i in range(5000)]
    folded = _input_problems(problems)
    assert len(folded) == MAX_INPUT_FINDINGS
    assert folded[-1].startswith(f"and {5000 - MAX_INPUT_FINDINGS + 1:,} more problems")
    assert _input_problems(problems[:3]) == problems[:3]
