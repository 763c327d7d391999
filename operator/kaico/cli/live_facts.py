"""The live cluster's fact objects, for ``kaico check --cluster``.

Read-only: discovery, then one paged cluster-wide list per fact kind the operator indexes
(``kaico.kube.resources.FACTS``) that the API serves. The objects are handed to the engine like
``--cluster-facts`` files, so the operator, ``--cluster`` and the files read them with the same
extractors. A class is *known* when the API serves one of its kinds (zero HPAs on a cluster
that serves HPAs is a fact), as in the operator; a list the credentials may not read leaves its
class unknown and says so.

The reads go through ``kaico.cluster.reader.ClientReader`` over the ``KubeClient`` that
``kaico.kube.config`` logs in with, as ``kaico cluster`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.facts import FactClass
from kaico.cluster.reader import ApiReader, ReadError, list_all, read_discovery
from kaico.kube.client import collection_path
from kaico.kube.resources import FACTS


@dataclass(frozen=True)
class LiveFacts:
    objects: tuple[dict[str, Any], ...]  # bodies with apiVersion and kind set
    known: frozenset[FactClass]
    warnings: tuple[str, ...]


def object_key(body: dict[str, Any]) -> tuple[str, str, str]:
    """(kind, namespace, name): an input object replaces the live one with the same key."""
    metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    return (str(body.get("kind") or ""), str(metadata.get("namespace") or ""),
            str(metadata.get("name") or ""))


async def read_live_facts(reader: ApiReader) -> LiveFacts:
    """Every fact object of the cluster, by served kind. Raises ``ReadError`` when discovery
    fails (no cluster to judge against)."""
    served = await read_discovery(reader)
    objects: list[dict[str, Any]] = []
    known: set[FactClass] = set()
    warnings: list[str] = []
    for resource in FACTS:
        group_version = f"{resource.group}/{resource.version}" if resource.group else resource.version
        if resource.plural not in served.get(group_version, ()):
            continue
        try:
            items = await list_all(
                reader, collection_path(resource.group, resource.version, resource.plural, None)
            )
        except ReadError as error:
            warnings.append(f"{resource.kind}s of the cluster not read ({error}); checks that "
                            "need them judge from the input alone")
            continue
        if resource.fact_class is not None:
            known.add(resource.fact_class)
        # List items omit apiVersion and kind; the extractors branch on them.
        objects.extend({**item, "apiVersion": group_version, "kind": resource.kind}
                       for item in items)
    return LiveFacts(tuple(objects), frozenset(known), tuple(warnings))
