"""Conventions every object kaico writes follows: its labels, condition shape, timestamps,
owner references and the status digest that decides whether a write is needed.

Pure functions over plain dicts, shared by the workload and the cluster pipelines.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from conformance.findings import capped

MANAGED_BY = {"app.kubernetes.io/managed-by": "kaico"}
CONFORMANT = "Conformant"
READY = "Ready"

def timestamp(moment: datetime) -> str:
    """RFC 3339 with seconds, as the API server stores metav1.Time."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def digest(status: dict[str, Any]) -> str:
    """A fingerprint of status content; equal content (as stored by the API) gives equal digests.
    Nulls are dropped because a merge patch deletes them and the API returns them absent."""
    canonical = json.dumps(_without_nulls(status), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


# metav1.Condition allows 32,768 characters; kaico's conditions stay far below, whatever the input.
MAX_CONDITION_MESSAGE = 4096


def condition(
    type_: str,
    status: bool,
    reasons: tuple[str, str],
    message: str,
    previous: dict[str, Any] | None,
    now: datetime,
    observed_generation: int | None = None,
) -> dict[str, Any]:
    """A condition whose ``reason`` follows ``status`` only (``reasons`` = (when True, when
    False)) and whose ``lastTransitionTime`` is kept unless ``status`` changed."""
    value = "True" if status else "False"
    transition = timestamp(now)
    if previous and previous.get("status") == value and previous.get("lastTransitionTime"):
        transition = previous["lastTransitionTime"]
    result = {
        "type": type_,
        "status": value,
        "reason": reasons[0] if status else reasons[1],
        "message": capped(message, MAX_CONDITION_MESSAGE),
        "lastTransitionTime": transition,
    }
    if observed_generation is not None:
        result["observedGeneration"] = observed_generation
    return result


def find_condition(status: dict[str, Any] | None, type_: str) -> dict[str, Any] | None:
    for item in (status or {}).get("conditions") or ():
        if isinstance(item, dict) and item.get("type") == type_:
            return item
    return None


def owner_reference(api_version: str, kind: str, name: str, uid: str) -> dict[str, Any]:
    # Not a controller reference, and blockOwnerDeletion false: the report must never hold up
    # (or need permissions on) the deletion of the workload it describes.
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": name,
        "uid": uid,
        "controller": False,
        "blockOwnerDeletion": False,
    }
