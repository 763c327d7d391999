"""What kaico writes, computed purely: report names and bodies, status content, conditions.

The writer (``kaico.writer``) sends these to the API; everything here is a function of its
arguments (the clock is passed in), so the rules a steady cluster depends on are unit-tested:
the same results give the same digest (no write), and a condition's ``reason`` and
``lastTransitionTime`` change only when its ``status`` does.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from conformance.profile import ProfileError
from conformance.report import Report, finding_to_dict
from conformance.workload import ServingWorkload
from kaico.api import API_VERSION

MANAGED_BY = {"app.kubernetes.io/managed-by": "kaico"}
CONFORMANT = "Conformant"
READY = "Ready"
# Kubernetes object names are DNS subdomains (253), but 63 keeps names readable in
# `kubectl get` and usable as label values.
NAME_LIMIT = 63
_HASH_LENGTH = 8


def report_name(kind: str, name: str, profile: str, api_group: str = "") -> str:
    """``<kind>-<name>-<profile>-<hash>``: deterministic and DNS-safe.

    The hash of the full identity is always appended, because names and profile names may
    themselves contain dashes ("a-b" + "c" and "a" + "b-c" would otherwise collide); the readable
    prefix is cut so the whole name fits ``NAME_LIMIT``.
    """
    identity = f"{api_group}/{kind}/{name}/{profile}"
    digest = hashlib.sha256(identity.encode()).hexdigest()[:_HASH_LENGTH]
    readable = re.sub(r"[^a-z0-9-]+", "-", f"{kind}-{name}-{profile}".lower()).strip("-")
    readable = readable[: NAME_LIMIT - _HASH_LENGTH - 1].rstrip("-")
    return f"{readable}-{digest}"


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
        "message": message,
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


def _conformant_message(report: Report) -> str:
    blocking = report.blocking
    if not blocking:
        return "no unwaived failure at or above the profile's conformance threshold"
    names = ", ".join(f"{f.check} ({f.result.value}, {f.severity.value})" for f in blocking[:10])
    more = f" and {len(blocking) - 10} more" if len(blocking) > 10 else ""
    return f"{len(blocking)} blocking finding(s): {names}{more}"


def report_status(report: Report, previous: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
    """The ConformanceReport status for ``report``; ``previous`` is the status last written."""
    summary = dict(report.summary)
    return {
        "conformant": report.conformant,
        "summary": summary,
        "results": [finding_to_dict(f) for f in report.results],
        "observedTargetGeneration": report.observed_generation,
        "conditions": [
            condition(
                CONFORMANT,
                report.conformant,
                ("ChecksPassed", "ChecksFailed"),
                _conformant_message(report),
                find_condition(previous, CONFORMANT),
                now,
            )
        ],
    }


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


def report_body(
    name: str, workload: ServingWorkload, profile: str, profile_uid: str | None
) -> dict[str, Any]:
    """A new ConformanceReport (without status, which is a subresource)."""
    owners = [owner_reference(workload.api_version, workload.kind, workload.name, workload.uid or "")]
    if profile_uid:
        # The profile as a second owner records where the report came from. GC keeps a dependent
        # while any owner remains, so the operator itself deletes a deleted profile's reports
        # (Controller.delete_profile_reports); the target's deletion removes the report by GC.
        owners.append(owner_reference(API_VERSION, "ConformanceProfile", profile, profile_uid))
    return {
        "apiVersion": API_VERSION,
        "kind": "ConformanceReport",
        "metadata": {
            "name": name,
            "namespace": workload.namespace,
            "labels": dict(MANAGED_BY),
            "ownerReferences": owners,
        },
        "spec": {
            "targetRef": {
                "apiVersion": workload.api_version,
                "kind": workload.kind,
                "name": workload.name,
                "uid": workload.uid,
            },
            "profile": profile,
        },
    }


@dataclass(frozen=True)
class ProfileCounts:
    conformant: int = 0
    non_conformant: int = 0
    errored: int = 0


def profile_status(
    generation: int | None,
    error: ProfileError | None,
    counts: ProfileCounts,
    previous: dict[str, Any] | None,
    now: datetime,
) -> dict[str, Any]:
    """The ConformanceProfile status: counts, observedGeneration and the Ready condition,
    which carries every problem of an invalid profile (with field paths) in its message."""
    if error is None:
        ready = condition(READY, True, ("Valid", "Invalid"), "the profile is valid and in use",
                          find_condition(previous, READY), now, generation)
    else:
        ready = condition(READY, False, ("Valid", "Invalid"), "; ".join(error.problems),
                          find_condition(previous, READY), now, generation)
    return {
        "conformant": counts.conformant,
        "nonConformant": counts.non_conformant,
        "errored": counts.errored,
        "observedGeneration": generation,
        "conditions": [ready],
    }


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
