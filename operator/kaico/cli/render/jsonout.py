"""JSON with two-space indentation, byte for byte what ``json.dumps(value, indent=2)`` writes,
at several times its speed, written piece by piece.

The standard library only has a C encoder for compact JSON; with ``indent`` it falls back to
nested Python generators, where every piece climbs through one generator per level (about a
quarter of ``kaico check -o json`` on 10,000 objects). This walks the value once with plain
loops, encodes strings with the C string encoder (ASCII-only, as ``json.dumps`` by default),
and joins the pieces of each top-level list item before handing it to ``write``, so a caller
can stream a large list without holding the whole text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from json.encoder import encode_basestring_ascii as _string  # the C function where built
from typing import Any

_int = int.__repr__
_float = float.__repr__

# Encoded strings, by string: keys, check ids, remediations and docs URLs repeat in every
# report (the first 60 distinct strings are 80 % of the string bytes of a run). Bounded: the
# first strings met stay, later ones are encoded each time.
_MEMO_SIZE = 4096
_memo: dict[str, str] = {}


def _encoded(value: str) -> str:
    text = _string(value)
    if len(_memo) < _MEMO_SIZE:
        _memo[value] = text
    return text


def _number(value: float) -> str:
    # json.dumps(allow_nan=True): NaN and the infinities as JavaScript spells them.
    if value != value:  # noqa: PLR0124
        return "NaN"
    if value == float("inf"):
        return "Infinity"
    if value == float("-inf"):
        return "-Infinity"
    return _float(value)


class Encoded(str):
    """A value's JSON text, already encoded at the indent where it is written: written as it
    is (a report's findings repeat, shared between reports, and are encoded once)."""

    __slots__ = ()


def _scalar(value: Any) -> str | None:
    """The JSON text of a non-container value (None when ``value`` is a list or dict)."""
    if isinstance(value, str):
        if type(value) is Encoded:
            return value
        return _memo.get(value) or _encoded(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return _int(value)
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, list | tuple | dict):
        return None
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _key(key: Any) -> str:
    # json.dumps turns str, int, float, bool and None keys into strings; others are an error.
    if isinstance(key, str):
        return _string(key)
    if isinstance(key, bool) or key is None:
        return {True: '"true"', False: '"false"', None: '"null"'}[key]
    if isinstance(key, int):
        return '"' + _int(key) + '"'
    if isinstance(key, float):
        return '"' + _number(key) + '"'
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _emit(value: Any, newline: str, out: Callable[[str], object]) -> None:
    """Append ``value``'s text to ``out``; ``newline`` is a newline and the current indent."""
    inner = newline + "  "
    memo = _memo
    if isinstance(value, dict):
        if not value:
            out("{}")
            return
        lead = "{" + inner
        following = "," + inner
        for key, item in value.items():
            text = (memo.get(key) or _encoded(key)) if type(key) is str else _key(key)
            scalar = (memo.get(item) or _encoded(item)) if type(item) is str else _scalar(item)
            if scalar is None:
                out(lead + text + ": ")
                _emit(item, inner, out)
            else:
                out(lead + text + ": " + scalar)
            lead = following
        out(newline + "}")
        return
    if isinstance(value, list | tuple):
        if not value:
            out("[]")
            return
        lead = "[" + inner
        following = "," + inner
        for item in value:
            scalar = (memo.get(item) or _encoded(item)) if type(item) is str else _scalar(item)
            if scalar is None:
                out(lead)
                _emit(item, inner, out)
            else:
                out(lead + scalar)
            lead = following
        out(newline + "]")
        return
    text = _scalar(value)
    assert text is not None
    out(text)


def dumps(value: Any) -> str:
    """``json.dumps(value, indent=2)``."""
    parts: list[str] = []
    _emit(value, "\n", parts.append)
    return "".join(parts)


class Verbatim(str):
    """Text written as it is into a streamed list, after at least one item: entries made by
    ``encode_item(..., following=True)``, or any piece of a run of them."""

    __slots__ = ()


ITEM_NEWLINE = "\n    "  # the items of a top-level object's list field


def encode_item(value: Any, following: bool = False) -> str:
    """``value``'s text as an item of the list ``write_object`` streams; ``following``: with
    the separator from the item before it."""
    return ("," + ITEM_NEWLINE if following else "") + dumps_at(value, ITEM_NEWLINE)


def write_object(fields: Iterable[tuple[str, Any]], write: Callable[[str], object],
                 streamed: str | None = None, items: Iterable[Any] = ()) -> None:
    """Write the object of ``fields`` as ``json.dumps(..., indent=2)`` and a newline; the field
    named ``streamed`` holds ``items``, which are encoded and written one at a time (so the
    caller may produce them lazily and nothing holds the whole list). ``Verbatim`` text is
    written as it is."""
    lead = "{\n  "
    for key, value in fields:
        write(lead + _string(key) + ": ")
        lead = ",\n  "
        if key != streamed:
            write(dumps_at(value, "\n  "))
            continue
        opening = "[" + ITEM_NEWLINE
        for item in items:
            if type(item) is Verbatim:
                if opening[0] == "[":
                    raise ValueError("verbatim text must follow an item")
                write(item)
                continue
            write(opening + dumps_at(item, ITEM_NEWLINE))
            opening = "," + ITEM_NEWLINE
        write("[]" if opening[0] == "[" else "\n  ]")
    write("{}\n" if lead == "{\n  " else "\n}\n")


def dumps_at(value: Any, newline: str) -> str:
    """``value``'s text as it appears nested at the indent ``newline`` ends with."""
    parts: list[str] = []
    _emit(value, newline, parts.append)
    return "".join(parts)
