"""Reading Kubernetes manifests from files, directories and standard input, within bounds.

Multi-document YAML and JSON, ``kind: List`` wrappers (``kubectl get -o yaml``), directories
walked recursively, ``-`` for standard input (``helm template … | kaico check -f -``). Every
object remembers where it came from (``path#index``) and the line its document (or List item)
starts on, for messages and SARIF.

Input is hostile until read: anything unusable raises ``ManifestError`` with a one-line message
``FILE[:LINE[:COLUMN]]: what is wrong``, never another exception. The bounds (docs/cli.md):

- an input (a file, or standard input) is at most ``MAX_INPUT_BYTES``;
- nesting is at most ``MAX_DEPTH`` levels (libyaml's own limit; JSON and aliases are held to it);
- aliases may add at most ``MAX_ALIAS_NODES`` nodes to a document: the expanded size is
  counted on the composed node graph, with each node's size memoised, before anything is built,
  so "billion laughs" costs a walk over a few distinct nodes, not their expansion;
- an input holds at most ``MAX_OBJECTS`` objects (after expanding ``kind: List``);
- a mapping may not name a key twice (kubectl rejects that too);
- an object's ``kind``, ``apiVersion``, ``metadata``, ``metadata.name`` and
  ``metadata.namespace`` have the types Kubernetes gives them.

Parsing uses libyaml (``yaml.CSafeLoader``) when PyYAML has it, else the pure-Python loader.
"""

from __future__ import annotations

import codecs
import json
import marshal
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import yaml

from conformance.yamlplain import MERGE_TAG, NotPlain, plain_builder, speed_up

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")

MAX_INPUT_BYTES = 32 * 1024 * 1024
MAX_DEPTH = 1000
MAX_ALIAS_NODES = 100_000
MAX_OBJECTS = 100_000


class ManifestError(Exception):
    """Unusable input: a one-line message naming the file (and line, where known)."""


@dataclass(frozen=True)
class LoadedObject:
    body: dict[str, Any]
    source: str  # "path#document-index"
    line: int | None = None  # 1-based line where the document (or List item) starts


# --- YAML: a strict loader -------------------------------------------------------------------

_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _DuplicateKey(yaml.MarkedYAMLError):
    pass


class _StrictLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loading, plus: a duplicate mapping key is an error; timestamps stay strings (as
    Kubernetes reads them: ``2024-13-45`` is text, not a crash in ``datetime``)."""


def _construct_strict_map(loader: Any, node: yaml.MappingNode) -> Iterator[dict]:
    data: dict = {}
    yield data
    # construct_mapping replaces merge keys (<<) by the merged pairs: keep the written keys.
    written = [key for key, _ in node.value if key.tag != MERGE_TAG]
    merges = len(written) != len(node.value)
    value = loader.construct_mapping(node)
    if merges or len(value) < len(written):
        _reject_duplicate_keys(loader, written)
    data.update(value)


def _reject_duplicate_keys(loader: Any, key_nodes: list[yaml.Node]) -> None:
    seen: set[Any] = set()
    for key_node in key_nodes:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
            seen.add(key)
        except TypeError:  # unhashable: construct_mapping has reported it already
            continue
        if duplicate:
            raise _DuplicateKey(None, None, f"duplicate key {_shorten(repr(key))}",
                                key_node.start_mark)


_StrictLoader.add_constructor("tag:yaml.org,2002:map", _construct_strict_map)
_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _BaseLoader.construct_yaml_str)

# --- the fast path: plain documents built without PyYAML's general constructor ---------------
#
# conformance.yamlplain: cheaper tag resolution, and a plain document (what manifests are)
# built by one walk; anything else is built again by PyYAML's path, which also reports what is
# wrong with it.

speed_up(_StrictLoader)
_plain = plain_builder(_StrictLoader)
_NotPlain = NotPlain


def _construct(loader: Any, node: yaml.Node, may_alias: bool) -> Any:
    if not may_alias:
        try:
            return _plain(loader, node)
        except Exception:  # noqa: BLE001 - _NotPlain, or what PyYAML's path will report
            pass
    return loader.construct_document(node)


def _measure(root: yaml.Node, origin: str) -> None:
    """Reject a composed document whose aliases expand it by more than ``MAX_ALIAS_NODES``
    nodes, refer to themselves, or nest it deeper than ``MAX_DEPTH``, before it is built.

    Iterative post-order walk; every distinct node is sized once (memoised by identity), so the
    cost is the written document, whatever the alias graph expands to."""
    sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded nodes, depth)
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        children = _children(node)
        if children_done:
            total, depth = 1, 0
            for child in children:
                child_total, child_depth = sizes[id(child)]
                total += child_total
                depth = max(depth, child_depth)
            on_path.discard(key)
            sizes[key] = (total, depth + 1)
            if depth + 1 > MAX_DEPTH:
                raise ManifestError(f"{_where(origin, node)}: nesting deeper than {MAX_DEPTH:,} levels")
            if total - len(sizes) > MAX_ALIAS_NODES:
                raise ManifestError(
                    f"{_where(origin, node)}: aliases expand the document by more than "
                    f"{MAX_ALIAS_NODES:,} nodes"
                )
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise ManifestError(f"{_where(origin, node)}: an alias refers to a node that contains it")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _where(origin: str, node: yaml.Node) -> str:
    return f"{origin}:{node.start_mark.line + 1}"


def _yaml_documents(text: str, origin: str) -> Iterator[tuple[Any, int, yaml.Node | None]]:
    """(document, line, composed node) for each YAML document."""
    # Without a "*" there is no alias: the written document is its own size, libyaml bounds its
    # nesting, and the walk is skipped (it adds about 60 % to parsing 1,000 sample files).
    may_alias = "*" in text
    loader = _StrictLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            if may_alias:
                _measure(node, origin)
            try:
                document = _construct(loader, node, may_alias)
            except yaml.YAMLError:
                raise
            except Exception as error:  # noqa: BLE001
                # PyYAML's constructors were not written for hostile values: "!!int abc" raises
                # ValueError, "!!int" on nothing IndexError, a 5,000-digit int ValueError. Only
                # they run here, so whatever they raise means the value is unreadable.
                raise ManifestError(f"{_where(origin, node)}: unreadable value "
                                    f"({type(error).__name__})") from None
            yield document, node.start_mark.line + 1, node
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{origin}:{mark.line + 1}:{mark.column + 1}" if mark else origin
        problem = error.problem or error.context or "invalid YAML"
        raise ManifestError(f"{where}: YAML error: {_one_line(problem)}") from None
    except yaml.reader.ReaderError as error:
        line = text.count("\n", 0, max(error.position, 0)) + 1
        raise ManifestError(
            f"{origin}:{line}: YAML error: character {error.character!r} is not allowed"
        ) from None
    except yaml.YAMLError as error:
        raise ManifestError(f"{origin}: YAML error: {_one_line(str(error))}") from None
    except RecursionError:  # only the pure-Python parser recurses; libyaml stops at 1,000
        raise ManifestError(f"{origin}: nesting deeper than this YAML parser supports "
                            "(install PyYAML with libyaml)") from None
    finally:
        loader.dispose()


# --- JSON: the fast path ---------------------------------------------------------------------


class _NotPlainJSON(Exception):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping = dict(pairs)
    if len(mapping) != len(pairs):
        raise _NotPlainJSON  # the YAML parser reports the duplicate with its line
    return mapping


def _json_document(text: str) -> Any:
    """The document, or ``_NotPlainJSON`` when the YAML parser must read it (not JSON, a
    duplicate key, nesting the C decoder will not take): it applies the same bounds."""
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError):
        raise _NotPlainJSON from None


def _json_depth_within_bound(document: Any) -> bool:
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return False
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values() if isinstance(v, dict | list))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value if isinstance(v, dict | list))
    return True


# --- documents -> objects --------------------------------------------------------------------


def _documents(text: str, origin: str) -> Iterator[tuple[Any, int, yaml.Node | None]]:
    if text.lstrip().startswith(("{", "[")):
        try:
            document = _json_document(text)
        except _NotPlainJSON:
            pass
        else:
            if not _json_depth_within_bound(document):
                raise ManifestError(f"{origin}: nesting deeper than {MAX_DEPTH:,} levels")
            yield document, 1, None
            return
    yield from _yaml_documents(text, origin)


def _items_with_lines(document: Any, line: int, node: yaml.Node | None
                      ) -> Iterator[tuple[Any, int]]:
    """Expand ``kind: List`` (and a JSON array of objects) into its items, each with the line
    it starts on (the document's line when the parser gave none)."""
    pending: list[tuple[Any, int, yaml.Node | None]] = [(document, line, node)]
    while pending:
        value, at, value_node = pending.pop()
        if isinstance(value, list):
            items, item_nodes = value, value_node
        elif isinstance(value, dict) and value.get("kind") == "List" and isinstance(
            value.get("items"), list
        ):
            items, item_nodes = value["items"], _value_node(value_node, "items")
        else:
            yield value, at
            continue
        nodes = item_nodes.value if isinstance(item_nodes, yaml.SequenceNode) else None
        if nodes is not None and len(nodes) != len(items):
            nodes = None
        pending.extend(
            (item, nodes[i].start_mark.line + 1 if nodes else at, nodes[i] if nodes else None)
            for i, item in reversed(list(enumerate(items)))
        )


def _value_node(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                return value_node
    return None


def _envelope_problem(body: dict[str, Any]) -> str | None:
    """What makes a mapping with ``kind`` unreadable as a Kubernetes object, or None."""
    kind = body["kind"]
    if not isinstance(kind, str):
        return f"kind must be a string, not {_type_name(kind)}"
    if "apiVersion" in body and not isinstance(body["apiVersion"], str):
        return f"apiVersion must be a string, not {_type_name(body['apiVersion'])}"
    metadata = body.get("metadata")
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        return f"metadata must be a mapping, not {_type_name(metadata)}"
    for field in ("name", "namespace"):
        if metadata.get(field) is not None and not isinstance(metadata[field], str):
            return f"metadata.{field} must be a string, not {_type_name(metadata[field])}"
    return None


def parse_text(text: str, origin: str) -> list[LoadedObject]:
    """Objects in one input's text; documents that are empty or not mappings are ignored
    (Helm leaves empty documents), mappings without ``kind`` are ignored as non-objects."""
    objects: list[LoadedObject] = []
    for index, (document, line, node) in enumerate(_documents(text, origin)):
        for item, item_line in _items_with_lines(document, line, node):
            if not (isinstance(item, dict) and item.get("kind")):
                continue
            problem = _envelope_problem(item)
            if problem:
                raise ManifestError(f"{origin}:{item_line}: {problem}")
            if len(objects) >= MAX_OBJECTS:
                raise ManifestError(f"{origin}: more than {MAX_OBJECTS:,} objects in one input")
            objects.append(LoadedObject(item, f"{origin}#{index}", item_line))
    return objects


# --- bytes -> text ---------------------------------------------------------------------------


# UTF-32 first: its little-endian mark starts with UTF-16's.
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode(data: bytes, origin: str) -> str:
    """UTF-8 (a byte-order mark allowed), or UTF-16/32 with a byte-order mark, as YAML allows."""
    encoding = next((name for bom, name in _BYTE_ORDER_MARKS if data.startswith(bom)), "utf-8")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ManifestError(
            f"{origin}:{line}: not {encoding.upper().removesuffix('-SIG')} text "
            f"(byte {data[error.start]:#04x} at offset {error.start})"
        ) from None


def read_input(path: Path | str, origin: str | None = None) -> str:
    """A file's text, within ``MAX_INPUT_BYTES``; ``ManifestError`` for anything unreadable."""
    origin = origin or str(path)
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            data = _read_bounded(descriptor)
        finally:
            os.close(descriptor)
    except IsADirectoryError:
        raise ManifestError(f"{origin}: is a directory") from None
    except OSError as error:
        raise ManifestError(f"{origin}: cannot read: {error.strerror or error}") from None
    return decode(_within_size(data, origin), origin)


def _read_bounded(descriptor: int) -> bytes:
    """At most ``MAX_INPUT_BYTES + 1`` bytes of an open file. A read is sized by the file's
    size (plus one, to meet the end): one read of ``MAX_INPUT_BYTES + 1`` allocates that much
    for every file, which was a fifth of parsing 10,000 small ones. Pipes and devices (size 0)
    and files that grow while read are read in chunks up to the bound."""
    size = os.fstat(descriptor).st_size
    want = min(size, MAX_INPUT_BYTES) + 1 if size > 0 else 1 << 16
    chunks: list[bytes] = []
    total = 0
    while total <= MAX_INPUT_BYTES:
        chunk = os.read(descriptor, min(want, MAX_INPUT_BYTES + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        want = 1 << 20
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def read_stream(stream: TextIO | BinaryIO, origin: str = "<stdin>") -> str:
    """Standard input's text (bytes when the stream has them), within ``MAX_INPUT_BYTES``."""
    binary = getattr(stream, "buffer", None)
    try:
        if binary is not None:
            return decode(_within_size(binary.read(MAX_INPUT_BYTES + 1), origin), origin)
        data = stream.read(MAX_INPUT_BYTES + 1)
    except OSError as error:
        raise ManifestError(f"{origin}: cannot read: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise ManifestError(f"{origin}: not UTF-8 text (offset {error.start})") from None
    if isinstance(data, bytes):
        return decode(_within_size(data, origin), origin)
    return _within_size(data, origin)


def _within_size(data: Any, origin: str) -> Any:
    if len(data) > MAX_INPUT_BYTES:
        raise ManifestError(f"{origin}: larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB")
    return data


def _files_under(path: Path) -> list[str]:
    """``str(path)``, or the manifest files under the directory ``path``: recursively, in the
    order of their paths, leaving out hidden files and directories and not entering directory
    symlinks or unreadable directories (as ``Path.rglob`` did, with one ``scandir`` per
    directory instead of a ``stat`` per file). Each as ``str(Path(...))`` spells it, built as a
    string: 10,000 ``Path`` objects were 60 % of listing 10,000 files."""
    root = str(path)
    if not path.is_dir():
        return [root]
    # The path of a directory's entry: what Path gives (no "./" before it, one "/" between).
    base = "" if root == "." else root if root.endswith("/") else root + "/"
    found: list[tuple[tuple[str, ...], str]] = []
    pending: list[tuple[str, tuple[str, ...]]] = [(base, ())]
    while pending:
        prefix, parts = pending.pop()
        try:
            with os.scandir(prefix or ".") as entries:
                for entry in entries:
                    name = entry.name
                    if name.startswith("."):
                        continue
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            pending.append((prefix + name + "/", (*parts, name)))
                        elif name.endswith(MANIFEST_SUFFIXES) and entry.is_file():
                            found.append(((*parts, name), prefix + name))
                    except OSError:
                        continue
        except PermissionError:
            continue
    found.sort()
    return [full for _, full in found]


# Many files are parsed by two processes (``kaico.cli.forked``): below this many the fork and
# the pickling do not pay.
PARALLEL_MIN_FILES = 100


def load(paths: list[str], stdin: TextIO | None = None, parallel: bool = True
         ) -> list[LoadedObject]:
    """Load every object from ``paths`` (files, directories, or "-"), in the order given (a
    directory's files sorted); the first unusable input raises ``ManifestError``."""
    with Loading(paths, stdin, parallel) as loading:
        return loading.result()


class Loading:
    """``load`` started now and finished by ``result()``: with many files, a forked child
    starts parsing the last ``head_start`` files plus half of the rest at once, so this
    process can do other work (``kaico check`` imports the engine) before parsing its share.
    A context manager: leaving the block without the result stops the child."""

    def __init__(self, paths: list[str], stdin: TextIO | None = None, parallel: bool = True,
                 head_start: int = 0):
        from kaico.cli.forked import Forked, halves

        # A file's path, standard input, or the error met there.
        inputs: list[str | _StandardInput | ManifestError] = []
        for raw in paths:
            if raw == "-":
                inputs.append(_STDIN)
                continue
            path = Path(raw)
            try:
                exists = path.exists()
                inputs.extend(_files_under(path) if exists else
                              [ManifestError(f"{raw}: no such file or directory")])
            except OSError as error:
                inputs.append(ManifestError(f"{raw}: cannot read: {error.strerror or error}"))
        self._inputs, self._stdin = inputs, stdin
        second: Sequence[str] = ()
        if parallel and all(isinstance(i, str) for i in inputs):
            self._inputs, second = halves(inputs, PARALLEL_MIN_FILES, head_start)
        self._child = Forked(_parse_files_marshalled, second)

    def result(self) -> list[LoadedObject]:
        objects: list[LoadedObject] = []
        for item in self._inputs:
            if isinstance(item, ManifestError):
                raise item
            if item is _STDIN:
                stdin = self._stdin if self._stdin is not None else sys.stdin
                objects.extend(parse_text(read_stream(stdin), "<stdin>"))
            else:
                objects.extend(parse_text(read_input(item), item))  # type: ignore[arg-type]
        theirs = self._child.result()
        if isinstance(theirs, bytes):
            theirs = marshal.loads(theirs)
        objects.extend(LoadedObject(*o) for o in theirs)
        return objects

    def __enter__(self) -> Loading:
        return self

    def __exit__(self, *exc: object) -> None:
        self._child.__exit__(*exc)


class _StandardInput:
    """``-`` among the paths."""


_STDIN = _StandardInput()


def _parse_files(files: list[str]) -> list[tuple[dict[str, Any], str, int | None]]:
    """(body, source, line) of every object in ``files`` (tuples pickle faster)."""
    return [(o.body, o.source, o.line) for file in files
            for o in parse_text(read_input(file), file)]


def _parse_files_marshalled(files: list[str]) -> bytes | list[tuple[dict[str, Any], str, int | None]]:
    """``_parse_files`` as ``marshal`` bytes, for the forked child to hand back: loaded YAML is
    plain data (dicts, lists, strings, numbers, and a few sets, tuples and bytes), which
    marshal writes about five times faster than pickle and reads a third faster (and keeps
    objects shared by aliases shared). Anything marshal does not take goes back as it is."""
    triples = _parse_files(files)
    try:
        return marshal.dumps(triples)
    except ValueError:  # a type marshal does not know, or nesting deeper than it goes
        return triples


# --- messages --------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", type(None): "null"}.get(
        type(value), f"a {type(value).__name__}"
    )
