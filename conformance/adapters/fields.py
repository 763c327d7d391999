"""Typed reads from an untrusted body, recording what was wrong (and where) instead of raising.

Adapters read third-party objects that may be half-written, hand-edited or of a newer shape. Every
read goes through a ``FieldErrors``: a value of the wrong type is reported as
``"<path> must be a <type>, got <type>"`` and replaced by an empty or absent value, so the adapter
carries on with what it can read. Nothing here raises for odd input.
"""

from __future__ import annotations

from typing import Any


def type_name(value: object) -> str:
    """The JSON/YAML name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, (list, tuple)):
        return "list"
    return type(value).__name__


class FieldErrors:
    """Collects read errors for one body; the typed readers return a safe value on a mismatch."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, message: str) -> None:
        if message not in self.messages:
            self.messages.append(message)

    def _wrong(self, path: str, expected: str, value: object) -> None:
        self.add(f"{path} must be a {expected}, got {type_name(value)}")

    def mapping(self, value: object, path: str) -> dict[str, Any]:
        """A mapping; absent (None) reads as empty without an error."""
        if value is None:
            return {}
        if isinstance(value, dict):
            return value
        self._wrong(path, "mapping", value)
        return {}

    def sequence(self, value: object, path: str) -> list[Any]:
        if value is None:
            return []
        if isinstance(value, list):
            return value
        self._wrong(path, "list", value)
        return []

    def string(self, value: object, path: str) -> str | None:
        if value is None or isinstance(value, str):
            return value
        self._wrong(path, "string", value)
        return None

    def integer(self, value: object, path: str) -> int | None:
        # YAML gives ints for integer fields; bools are ints in Python but never a count.
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        self._wrong(path, "integer", value)
        return None

    def boolean(self, value: object, path: str) -> bool | None:
        if value is None or isinstance(value, bool):
            return value
        self._wrong(path, "boolean", value)
        return None

    def int_or_string(self, value: object, path: str) -> int | str | None:
        """A Kubernetes IntOrString (probe and Service ports)."""
        if value is None or isinstance(value, str):
            return value
        return self.integer(value, path)

    def string_map(self, value: object, path: str) -> dict[str, str]:
        """Labels, annotations, nodeSelector: string to string; bad entries are dropped."""
        result: dict[str, str] = {}
        for key, item in self.mapping(value, path).items():
            if not isinstance(key, str):
                self.add(f"{path} has a key that is not a string: {key!r}")
                continue
            if isinstance(item, str):
                result[key] = item
            else:
                self._wrong(f"{path}.{key}", "string", item)
        return result

    def quantities(self, value: object, path: str) -> dict[str, str]:
        """A ResourceList: quantities are kept as written; YAML numbers (``gpu: 1``) become text."""
        result: dict[str, str] = {}
        for key, item in self.mapping(value, path).items():
            if not isinstance(key, str):
                self.add(f"{path} has a key that is not a string: {key!r}")
            elif isinstance(item, str):
                result[key] = item
            elif isinstance(item, (int, float)) and not isinstance(item, bool):
                result[key] = str(item)
            else:
                self._wrong(f"{path}.{key}", "quantity (string or number)", item)
        return result

    def strings(self, value: object, path: str) -> tuple[str, ...]:
        """A list of strings; non-string items are reported and dropped."""
        result = []
        for index, item in enumerate(self.sequence(value, path)):
            text = self.string(item, f"{path}[{index}]")
            if text is not None:
                result.append(text)
        return tuple(result)
