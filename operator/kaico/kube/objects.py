"""Writing a whole object only when what is stored differs: create it when none is stored,
replace it (with the stored ``resourceVersion``) when its fingerprint differs, else nothing.

The caller says what is stored (from a watch index, i.e. the cluster as last seen) and how to
fingerprint a body; a create that finds the object already there reads it back instead of
trusting that it is the same. A replace refused with 409 (changed since it was seen) or 404
(deleted) writes nothing: the watch brings the current object and the next evaluation compares
again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kaico.kube.client import KubeClient

Fingerprint = Callable[[Mapping[str, Any]], str]


async def create_or_replace(client: KubeClient, collection: str, body: dict[str, Any],
                            stored: tuple[str, str] | None, fingerprint: Fingerprint) -> str | None:
    """Write ``body`` into ``collection`` unless it is stored already; ``stored`` is
    (resourceVersion, fingerprint) of the stored object, None when none is known. Returns
    "create", "update" or None (nothing written)."""
    wanted = fingerprint(body)
    path = f"{collection}/{body['metadata']['name']}"
    if stored is None:
        created = await client.create(collection, body, allowed=(409,))
        if created.status != 409:
            return "create"
        existing = await client.get(path, allowed=(404,))
        if existing.status == 404:
            return None  # deleted meanwhile: its watch event brings a new evaluation
        version = str((existing.body.get("metadata") or {}).get("resourceVersion") or "")
        stored = (version, fingerprint(existing.body))
    if stored[1] == wanted:
        return None
    replacement = {**body, "metadata": {**body["metadata"], "resourceVersion": stored[0]}}
    replaced = await client.replace(path, replacement, allowed=(404, 409))
    return None if replaced.status in (404, 409) else "update"
