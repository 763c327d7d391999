"""Cluster facts one object at a time, and ClusterFacts from many of them.

The kopf index holds, per watched object, the facts extracted from it alone: a ``ClusterFacts``
with a single item, produced by the engine's own ``facts_from_objects`` so the operator and the
CLI read objects identically. ``merge_facts`` folds those values into the ``ClusterFacts`` the
engine evaluates with, setting ``known`` from what the API serves rather than from which objects
exist (zero HPAs on a cluster that serves HPAs is a fact; no HPA API is not).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from conformance.facts import ClusterFacts
from conformance.facts_builder import facts_from_objects_with_warnings


def facts_of(body: dict[str, Any]) -> tuple[ClusterFacts | None, list[str]]:
    """The facts of one object (None when it yields none, e.g. it is malformed) and warnings."""
    facts, warnings = facts_from_objects_with_warnings([body])
    empty = ClusterFacts(known=facts.known)
    return (None if facts == empty else dataclasses.replace(facts, known=frozenset())), warnings


def merge_facts(parts: Iterable[ClusterFacts], known: frozenset[str]) -> ClusterFacts:
    """One ClusterFacts from many single-object ones: tuples concatenated, sets and dicts
    united. Generic over the fields, so a fact added to the engine needs no change here."""
    # Accumulate in mutable containers (appending tuples one by one would be quadratic).
    lists: dict[str, list[Any]] = {}
    sets: dict[str, set[Any]] = {}
    maps: dict[str, dict[Any, Any]] = {}
    for part in parts:
        for field in dataclasses.fields(ClusterFacts):
            value = getattr(part, field.name)
            if field.name == "known" or not value:
                continue
            if isinstance(value, tuple):
                lists.setdefault(field.name, []).extend(value)
            elif isinstance(value, frozenset):
                sets.setdefault(field.name, set()).update(value)
            elif isinstance(value, dict):
                maps.setdefault(field.name, {}).update(value)
    return ClusterFacts(
        known=known,
        **{name: tuple(items) for name, items in lists.items()},
        **{name: frozenset(items) for name, items in sets.items()},
        **maps,
    )
