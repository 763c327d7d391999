"""Plain YAML documents built without PyYAML's generic constructors, for the same values.

PyYAML resolves every plain scalar's tag with regular expressions, calls two Python methods
around every node it composes, and builds every node through generic, generator-based
constructors: with libyaml parsing, those Python layers were over half of loading 10,000
manifests. For a loader class of its own (a subclass nobody else uses), ``speed_up`` makes
the per-node calls cheap, and ``plain_builder`` gives a function that builds a plain document
(no aliases, merge keys or unusual tags, no duplicate or non-scalar keys: what manifests and
configs are) by one recursive walk with the loader's own scalar constructors. Anything else
raises ``NotPlain``, and the caller builds it again by PyYAML's path, which also reports what
is wrong with it. Both give equal values (tests/unit/kaico/cli/test_manifests_fast_path.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

STR_TAG = "tag:yaml.org,2002:str"
MAP_TAG = "tag:yaml.org,2002:map"
SEQ_TAG = "tag:yaml.org,2002:seq"
MERGE_TAG = "tag:yaml.org,2002:merge"
VALUE_TAG = "tag:yaml.org,2002:value"
_NOT_SCALAR_TAGS = (MAP_TAG, SEQ_TAG, "tag:yaml.org,2002:omap", "tag:yaml.org,2002:pairs",
                    "tag:yaml.org,2002:set")
PLAIN_TAGS_KEPT = 50_000  # plain scalars whose resolved tag is remembered, per loader class


class NotPlain(Exception):
    """The document is not plain: build it by PyYAML's path."""


def speed_up(loader_class: type) -> None:
    """Make ``loader_class`` (a subclass of a PyYAML loader, owned by the caller) resolve tags
    faster, with the same results: plain scalars' tags remembered by value (keys and common
    values repeat), a collection's tag the default one, and the composer's two per-node
    calls (``descend_resolver``, ``ascend_resolver``: nothing to do without path resolvers)
    made C callables that take the same arguments. Only without path resolvers, where a tag
    depends on the value alone (true of the safe loaders)."""
    if loader_class.yaml_path_resolvers:
        return
    base_resolve = loader_class.resolve
    scalar = yaml.ScalarNode
    plain_tags: dict[str, str] = {}
    collection_tags = {yaml.MappingNode: loader_class.DEFAULT_MAPPING_TAG,
                       yaml.SequenceNode: loader_class.DEFAULT_SEQUENCE_TAG}

    def resolve(self: Any, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
        if kind is scalar:
            if not implicit[0]:
                return base_resolve(self, kind, value, implicit)
            tag = plain_tags.get(value)
            if tag is None:
                tag = base_resolve(self, kind, value, implicit)
                if len(plain_tags) < PLAIN_TAGS_KEPT and len(value) <= 64:
                    plain_tags[value] = tag
            return tag
        return collection_tags[kind]

    loader_class.resolve = resolve
    # Called around every node (1.35 M calls for 10,000 manifests): a slice and an empty tuple
    # are built instead of two Python calls.
    loader_class.descend_resolver = slice
    loader_class.ascend_resolver = tuple


def plain_builder(loader_class: type) -> Callable[[Any, yaml.Node], Any]:
    """``build(loader, node)``: the value of the composed plain document ``node`` as
    ``loader_class`` constructs it, or ``NotPlain``. Recursive: nesting deeper than Python's
    recursion limit raises ``RecursionError`` (the caller falls back, as for ``NotPlain``)."""
    constructors: dict[str, Any] = {
        tag: constructor for tag, constructor in loader_class.yaml_constructors.items()
        if tag is not None and tag not in _NOT_SCALAR_TAGS
    }
    key_constructors = {tag: c for tag, c in constructors.items() if tag not in (MERGE_TAG, VALUE_TAG)}
    scalar, mapping, sequence = yaml.ScalarNode, yaml.MappingNode, yaml.SequenceNode

    def build(loader: Any, node: yaml.Node) -> Any:
        cls = type(node)
        tag = node.tag
        if cls is scalar:
            if tag == STR_TAG:
                return node.value
            constructor = constructors.get(tag)
            if constructor is None:
                raise NotPlain
            return constructor(loader, node)
        if cls is mapping and tag == MAP_TAG:
            data = {}
            for key_node, value_node in node.value:
                if type(key_node) is not scalar:
                    raise NotPlain
                key_tag = key_node.tag
                if key_tag == STR_TAG:
                    key = key_node.value
                elif key_tag in key_constructors:
                    key = key_constructors[key_tag](loader, key_node)
                else:
                    raise NotPlain
                data[key] = build(loader, value_node)
            if len(data) != len(node.value):
                raise NotPlain  # a duplicate key: PyYAML's path decides (or names it)
            return data
        if cls is sequence and tag == SEQ_TAG:
            return [build(loader, item) for item in node.value]
        raise NotPlain

    return build


def load_single(text: str, loader_class: type, build: Callable[[Any, yaml.Node], Any]) -> Any:
    """``yaml.load(text, Loader=loader_class)``, the document built by ``build`` when it is
    plain and has no alias (an alias's value is shared by PyYAML's path, expanded by a walk),
    else by PyYAML's path; the same errors."""
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if "*" not in text:
            try:
                return build(loader, node)
            except Exception:  # noqa: BLE001 - NotPlain, or what PyYAML's path will report
                pass
        return loader.construct_document(node)
    finally:
        loader.dispose()
