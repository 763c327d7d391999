"""``conformance.yamlplain.load_single`` (RayService serveConfigV2) is ``yaml.load`` with the
safe loader: the same values, the same errors, for plain and unusual documents alike."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance import yamlplain
from conformance.adapters import rayservice
from tests.unit.conformance.yaml_values import plain_values, same

SAFE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _fast(text: str) -> object:
    return yamlplain.load_single(text, rayservice._ConfigLoader, rayservice._build_plain)


def _outcome(load, text: str) -> tuple[str, object]:
    try:
        return "value", load(text)
    except Exception as error:  # noqa: BLE001 - compared below
        return type(error).__name__, str(error)


@pytest.mark.parametrize("text", [
    "applications:\n- name: app\n  deployments:\n  - name: d\n    autoscaling_config: {min_replicas: 1}\n",
    "a: 1\nb: 0755\nc: 0x1f\nd: 1_000\ne: 1:30\nf: .nan\ng: -.inf\nh: yes\ni: ~\nj: '1'\n",
    "t: 2001-12-14t21:59:43.10-05:00\nd: 2002-12-14\nb: !!binary aGk=\ns: !!str 12\n",
    "3: int key\n2.5: float key\ntrue: bool key\n~: null key\n",
    "a: 1\na: 2\n",  # duplicate: the safe loader keeps the last, so does the fast path's fallback
    "base: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n",  # merge key and alias
    "a: &x [1, 2]\nb: *x\n",
    "a: !!set {x, y}\nb: !!omap [{x: 1}]\nc: !!pairs [{x: 1}, {x: 2}]\n",
    "? [1, 2]\n: v\n",  # unhashable key: the same error
    "a: !!int abc\n", "a: !nope 1\n", "a: [unclosed\n", "--- 1\n--- 2\n", "", "# only a comment\n",
    "plain\n", "[1, {a: [b]}]\n",
])
def test_serve_configs_load_as_yaml_load_loads_them(text):
    (kind, fast), (slow_kind, slow) = _outcome(_fast, text), _outcome(
        lambda t: yaml.load(t, Loader=SAFE), text)  # noqa: S506 - a safe loader
    assert kind == slow_kind
    assert same(fast, slow) if kind == "value" else fast == slow


def test_aliases_keep_sharing_one_value():
    value = _fast("a: &x {deep: [1]}\nb: *x\n")
    assert value["a"] is value["b"]


@settings(max_examples=200)
@given(plain_values, st.booleans())
def test_any_dumped_value_is_read_back_alike(value, flow):
    text = yaml.safe_dump(value, default_flow_style=flow)
    assert same(_fast(text), yaml.load(text, Loader=SAFE))  # noqa: S506 - a safe loader
