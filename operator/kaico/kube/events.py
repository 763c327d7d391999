"""core/v1 Events: the one place kaico builds and posts them (workload and cluster reports)."""

from __future__ import annotations

import logging
from typing import Any

from kaico.kube.client import ApiError, KubeClient, collection_path

logger = logging.getLogger("kaico.events")


def event_body(involved: dict[str, Any], namespace: str, reason: str, message: str,
               event_type: str, instance: str, now: str) -> dict[str, Any]:
    """A core/v1 Event about ``involved`` (an ObjectReference). Creating it never modifies the
    object it names, which is why kaico may post Events on workloads it does not own."""
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{involved['name']}.", "namespace": namespace},
        "involvedObject": involved,
        "reason": reason,
        "message": message[:1000],
        "type": event_type,
        "source": {"component": "kaico"},
        "reportingComponent": "kaico.dev/operator",
        "reportingInstance": instance,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }


async def post_event(client: KubeClient, body: dict[str, Any]) -> bool:
    """Create the Event; a refusal is logged, never raised (an Event is never worth a failed pass)."""
    try:
        await client.create(collection_path("", "v1", "events", body["metadata"]["namespace"]), body)
    except ApiError as error:
        logger.warning("could not post an Event on %s %s: %s", body["involvedObject"].get("kind"),
                       body["involvedObject"].get("name"), error)
        return False
    return True
