"""Reading Kubernetes manifests from files, directories and standard input.

Multi-document YAML and JSON, ``kind: List`` wrappers (``kubectl get -o yaml``), directories
walked recursively, ``-`` for standard input (``helm template … | kaico check -f -``). Every
object remembers where it came from (``path#index``) for messages. A file that cannot be
read or parsed raises ``ManifestError`` naming the file and the line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


class ManifestError(Exception):
    """Unusable input: the message names the file (and line, for syntax errors)."""


@dataclass(frozen=True)
class LoadedObject:
    body: dict[str, Any]
    source: str  # "path#document-index"


def _documents(text: str, origin: str) -> Iterator[Any]:
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            yield json.loads(text)
            return
        except json.JSONDecodeError:
            pass  # YAML is a superset of JSON; let the YAML parser report the error
    try:
        yield from yaml.safe_load_all(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{origin}:{mark.line + 1}:{mark.column + 1}" if mark else origin
        problem = error.problem or error.context or "invalid YAML"
        raise ManifestError(f"{where}: YAML error: {problem}") from None
    except yaml.YAMLError as error:
        raise ManifestError(f"{origin}: YAML error: {error}") from None


def _flatten(document: Any) -> Iterator[Any]:
    """Expand ``kind: List`` (and a JSON array of objects) into its items."""
    if isinstance(document, list):
        for item in document:
            yield from _flatten(item)
    elif isinstance(document, dict) and document.get("kind") == "List" and isinstance(
        document.get("items"), list
    ):
        for item in document["items"]:
            yield from _flatten(item)
    else:
        yield document


def parse_text(text: str, origin: str) -> list[LoadedObject]:
    """Objects in one file's text; documents that are empty or not mappings are ignored
    (Helm leaves empty documents), mappings without ``kind`` are ignored as non-objects."""
    objects: list[LoadedObject] = []
    for index, document in enumerate(_documents(text, origin)):
        for item in _flatten(document):
            if isinstance(item, dict) and item.get("kind"):
                objects.append(LoadedObject(item, f"{origin}#{index}"))
    return objects


def _files_under(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(
            p for p in path.rglob("*")
            if p.is_file() and p.suffix in MANIFEST_SUFFIXES
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
    return [path]


def load(paths: list[str], stdin: TextIO | None = None) -> list[LoadedObject]:
    """Load every object from ``paths`` (files, directories, or "-")."""
    objects: list[LoadedObject] = []
    for raw in paths:
        if raw == "-":
            stream = stdin if stdin is not None else sys.stdin
            objects.extend(parse_text(stream.read(), "<stdin>"))
            continue
        path = Path(raw)
        if not path.exists():
            raise ManifestError(f"{raw}: no such file or directory")
        for file in _files_under(path):
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                raise ManifestError(f"{file}: cannot read: {error}") from None
            objects.extend(parse_text(text, str(file)))
    return objects
