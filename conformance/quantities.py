"""Kubernetes resource quantities ("1", "500m", "1Ki", "1e3"), read as the API server reads them.

The grammar is apimachinery's ``resource.Quantity``: an optional sign, digits with an optional
decimal point, then one suffix: binary SI (Ki … Ei), decimal SI (m, k, M, G, T, P, E) or a decimal
exponent (e3, E-2). Kubernetes cannot represent a magnitude above 2^63-1, so a larger value is
an error here, not a huge number ("1e100" GPUs is not a count). Exponents and digit strings are
bounded before any arithmetic, so no input costs more than a few microseconds.
"""

from __future__ import annotations

import re
from fractions import Fraction

MAX_MAGNITUDE = 2**63 - 1

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"": 0, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_QUANTITY = re.compile(
    r"(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))"
    r"(?:(?P<binary>Ki|Mi|Gi|Ti|Pi|Ei)|[eE](?P<exponent>[+-]?\d+)|(?P<decimal>[mkMGTPE]?))"
)
# Longer digit strings or exponents cannot name a representable quantity anyway.
_MAX_DIGITS = 40
_MAX_EXPONENT = 40


class QuantityError(ValueError):
    """Not a Kubernetes quantity, or one Kubernetes cannot represent; the message says which."""


def parse_quantity(value: object) -> Fraction:
    """The exact value of a quantity written as a string, an int or a float (YAML gives all
    three); ``QuantityError`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise QuantityError(f"is not a quantity (a {type(value).__name__})")
    if isinstance(value, int):
        if abs(value) > MAX_MAGNITUDE:
            raise QuantityError("is larger than Kubernetes can represent (2^63-1)")
        return Fraction(value)
    text = repr(value) if isinstance(value, float) else value
    if len(text) <= 18 and text.isascii() and text.isdigit():
        return Fraction(int(text))  # the common case ("1", "8"), without the grammar
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise QuantityError("is not a Kubernetes quantity (e.g. 1, 500m, 1Ki, 1e3)")
    number = match.group("number")
    if len(number) > _MAX_DIGITS:
        raise QuantityError("has more digits than Kubernetes can represent")
    exponent_text = match.group("exponent")
    if exponent_text is not None and abs(int(exponent_text[:_MAX_DIGITS])) > _MAX_EXPONENT:
        raise QuantityError("is larger than Kubernetes can represent (2^63-1)"
                            if not exponent_text.startswith("-") else "is too small to represent")
    amount = Fraction(number)
    if match.group("binary"):
        amount *= _BINARY[match.group("binary")]
    else:
        exponent = int(exponent_text) if exponent_text is not None else _DECIMAL[match.group("decimal")]
        amount *= Fraction(10) ** exponent
    if abs(amount) > MAX_MAGNITUDE:
        raise QuantityError("is larger than Kubernetes can represent (2^63-1)")
    return amount
