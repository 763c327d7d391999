"""What the YAML fast-path tests share: values to dump and read back, and equality that
tells ``1`` from ``True`` and takes NaN as equal to NaN."""

from __future__ import annotations

import math

from hypothesis import strategies as st

plain_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.floats(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


def same(a: object, b: object) -> bool:
    """Equal values of the same types, key order included; NaN equals NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(map(same, a, b))
    return a == b
