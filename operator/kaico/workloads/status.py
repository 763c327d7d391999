"""What kaico writes, computed purely: report names and bodies, status content, conditions.

The writer (``kaico.workloads.writer``) sends these to the API; everything here is a function of its
arguments (the clock is passed in), so the rules a steady cluster depends on are unit-tested:
the same results give the same digest (no write), and a condition's ``reason`` and
``lastTransitionTime`` change only when its ``status`` does.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

from conformance.profile import ProfileError
from conformance.report import Report, finding_to_dict
from conformance.workload import ServingWorkload
from kaico.api import API_VERSION
from kaico.api.conventions import (
    CONFORMANT,
    MANAGED_BY,
    READY,
    condition,
    find_condition,
    owner_reference,
)
from kaico.state import ProfileCounts

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
        "results": [finding_to_dict(f, remediation="actionable") for f in report.results],
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


def report_body(name: str, workload: ServingWorkload, profile: str) -> dict[str, Any]:
    """A new ConformanceReport (without status, which is a subresource).

    Its one owner is the target: garbage collection deletes it with its target, at once and
    whether or not kaico runs. (With the profile as a second owner, garbage collection would keep
    it as long as the profile exists.) kaico itself deletes a deleted profile's reports, and
    those whose profile is gone when it starts."""
    owners = [owner_reference(workload.api_version, workload.kind, workload.name, workload.uid or "")]
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
