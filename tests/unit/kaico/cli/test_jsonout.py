"""The CLI's JSON writer produces exactly ``json.dumps(value, indent=2)``, whole or streamed."""

from __future__ import annotations

import json
from collections import OrderedDict
from enum import IntEnum, StrEnum

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kaico.cli.render import jsonout

_scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
            | st.text())
_keys = st.text() | st.integers() | st.booleans() | st.none() | st.floats(allow_nan=False)
_values = st.recursive(
    _scalars,
    lambda children: st.lists(children) | st.tuples(children, children)
    | st.dictionaries(_keys, children),
    max_leaves=40,
)


class Colour(StrEnum):
    RED = "red"


class Level(IntEnum):
    HIGH = 3


@settings(max_examples=400)
@given(_values)
def test_any_value_is_written_as_json_dumps_indent_2(value):
    assert jsonout.dumps(value) == json.dumps(value, indent=2)


@pytest.mark.parametrize("value", [
    {}, [], (), {"a": []}, {"a": {}}, [[], {}, [[[]]]], "é\u2028\x00\"\\", float("nan"),
    [float("inf"), float("-inf"), -0.0, 1e300], {1.5: 1, True: 2, None: 3, 4: (5, 6)},
    {Colour.RED: Colour.RED, "level": Level.HIGH}, OrderedDict(b=1, a=2),
])
def test_edge_values(value):
    assert jsonout.dumps(value) == json.dumps(value, indent=2)


@pytest.mark.parametrize("document", [
    {}, {"reports": []}, {"mode": "x", "reports": [{}], "warnings": ["w"]},
    {"mode": "x", "reports": [{"a": [1, {"b": None}]}, [], "s"], "orphans": []},
])
def test_a_streamed_field_is_written_item_by_item_with_the_same_text(document):
    pieces: list[str] = []
    items = document.get("reports", [])
    written_when_pulled: list[str] = []

    def lazily():
        for item in items:
            written_when_pulled.append("".join(pieces))
            yield item

    jsonout.write_object(document.items(), pieces.append, streamed="reports", items=lazily())
    text = "".join(pieces)
    assert text == json.dumps(document, indent=2) + "\n"
    # Each item is pulled only after the one before it was written: nothing holds the list.
    for number, before in enumerate(written_when_pulled[1:], start=1):
        previous = json.dumps(items[number - 1], indent=2).replace("\n", "\n    ")
        assert before.endswith(previous)


def test_what_json_cannot_encode_is_a_type_error_as_in_json_dumps():
    for value in ({"a": object()}, {(1, 2): 1}, [{1, 2}]):
        with pytest.raises(TypeError):
            json.dumps(value, indent=2)
        with pytest.raises(TypeError):
            jsonout.dumps(value)


def test_items_encoded_elsewhere_continue_the_list_verbatim():
    document = {"mode": "x", "reports": [{"a": 1}, {"b": [2, {"c": None}]}, "s", []], "w": []}
    first, *rest = document["reports"]
    elsewhere = "".join(jsonout.encode_item(item, following=True) for item in rest)
    pieces: list[str] = []
    chunks = [jsonout.Verbatim(elsewhere[i:i + 7]) for i in range(0, len(elsewhere), 7)]
    jsonout.write_object(document.items(), pieces.append, streamed="reports", items=[first, *chunks])
    assert "".join(pieces) == json.dumps(document, indent=2) + "\n"
    with pytest.raises(ValueError, match="must follow an item"):
        jsonout.write_object(document.items(), pieces.append, streamed="reports", items=chunks)


def test_report_entries_with_findings_encoded_once_are_json_dumps_of_the_reports(monkeypatch):
    """``kaico check -o json`` encodes a finding shared between reports once (by identity);
    the document is still ``json.dumps`` of the reports' dicts, with the memo full or not."""
    from kaico.cli.render import evaluation as render

    from conformance.engine import Evaluation
    from conformance.facts import InputMode
    from conformance.findings import Finding, Result, Severity
    from conformance.report import Report, TargetRef

    shared = Finding("gpu-limits", "gpu", Result.FAIL, Severity.HIGH, 'no "limit" \u2028 é')
    waived = Finding("gpu-limits", "gpu", Result.FAIL, Severity.HIGH, "x", waived=True,
                     properties={"container": "a", "n": "1"})
    custom = Finding("my-own-check", "custom", Result.PASS, Severity.LOW, "fine")
    reports = tuple(
        Report(TargetRef("apps/v1", "Deployment", "ns", f"d{n}"), "default", results,
               source=f"f{n}.yaml#0" if n % 2 else None)
        for n, results in enumerate([(shared, custom), (shared, waived, shared), (), (custom,)])
    )
    evaluation = Evaluation(reports, (), ("a warning",), InputMode.APPLICATION)
    expected = json.dumps({"mode": "application", "reports": [r.to_dict() for r in reports],
                           "orphans": [], "warnings": ["a warning"]}, indent=2) + "\n"
    monkeypatch.setattr(render, "_finding_texts", {})
    assert render.render_json(evaluation) == expected
    assert len(render._finding_texts) == 3  # each distinct finding encoded once
    assert render.render_json(evaluation) == expected  # from the memo
    monkeypatch.setattr(render, "_finding_texts", {})
    monkeypatch.setattr(render, "_FINDINGS_KEPT", 1)
    assert render.render_json(evaluation) == expected
    assert len(render._finding_texts) == 1
    pieces = [render.encode_report(reports[0])] + [render.encode_report(r, following=True)
                                                  for r in reports[1:]]
    assert "\n    " + "".join(pieces) == expected.split('"reports": [', 1)[1].split("\n  ],", 1)[0]


def test_encoded_text_is_written_as_it_is():
    assert jsonout.dumps({"a": [jsonout.Encoded('{"x": 1}'), "s"]}) == (
        '{\n  "a": [\n    {"x": 1},\n    "s"\n  ]\n}')
