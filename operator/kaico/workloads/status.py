"""What kaico writes, computed purely: report names and bodies, status content, conditions.

The writer (``kaico.workloads.writer``) sends these to the API; everything here is a function of its
arguments (the clock is passed in), so the rules a steady cluster depends on are unit-tested:
the same results give the same digest (no write), and a condition's ``reason`` and
``lastTransitionTime`` change only when its ``status`` does.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import Any

from conformance.findings import capped
from conformance.profile import ProfileError
from conformance.report import Report, finding_to_dict
from conformance.workload import ServingWorkload
from kaico.api import API_VERSION
from kaico.api.conventions import (
    CONFORMANT,
    MANAGED_BY,
    MAX_CONDITION_MESSAGE,
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


# The hard ceiling of a ConformanceReport status, as serialised JSON. Findings are capped where
# they are built (conformance.findings); this makes the whole object safe whatever else grows,
# far below etcd's 1.5 MB per object.
MAX_STATUS_BYTES = 64 * 1024
# Message lengths tried, in turn, until the status fits the ceiling.
_SHRINK_STEPS = (512, 160, 0)


def report_status(report: Report, previous: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
    """The ConformanceReport status for ``report``; ``previous`` is the status last written.
    Never larger than ``MAX_STATUS_BYTES``."""
    results = [finding_to_dict(f, remediation="actionable") for f in report.results]
    status = _report_status(report, results, previous, now)
    for limit in _SHRINK_STEPS:
        if status_size(status) <= MAX_STATUS_BYTES:
            return status
        status["results"] = [_shrunk(result, limit) for result in status["results"]]
    # Only more results than the catalogue has checks get here: keep the first that fit.
    results, status["results"] = status["results"], []
    conformant = status["conditions"][0]

    def say_hidden(count: int) -> None:
        conformant["message"] = capped(
            f"{_conformant_message(report)} ({count:,} more results not shown)", MAX_CONDITION_MESSAGE
        )

    say_hidden(len(results))  # the longest count: the budget below holds for any smaller one
    budget = MAX_STATUS_BYTES - status_size(status)
    for result in results:
        budget -= status_size(result) + 1  # and a comma
        if budget < 0:
            break
        status["results"].append(result)
    say_hidden(len(results) - len(status["results"]))
    return status


def status_size(status: dict[str, Any]) -> int:
    """The size of a status as the API server stores it (compact JSON, UTF-8)."""
    return len(json.dumps(status, separators=(",", ":"), default=str).encode())


def _shrunk(result: dict[str, Any], limit: int) -> dict[str, Any]:
    """A result with a shorter message and no properties; at the last step, only what says
    which check ended how (remediation and docs are in ``kaico checks``)."""
    shrunk = {**result, "message": capped(result.get("message", ""), limit) if limit else "…"}
    shrunk.pop("properties", None)
    if not limit:
        shrunk.pop("remediation", None)
    return shrunk


def _report_status(report: Report, results: list[dict[str, Any]], previous: dict[str, Any] | None,
                   now: datetime) -> dict[str, Any]:
    summary = dict(report.summary)
    return {
        "conformant": report.conformant,
        "summary": summary,
        "results": results,
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
    counts: ProfileCounts | None,
    previous: dict[str, Any] | None,
    now: datetime,
) -> dict[str, Any]:
    """The ConformanceProfile status: counts, observedGeneration and the Ready condition,
    which carries every problem of an invalid profile (with field paths) in its message.

    Without ``counts`` (an install that does not watch every namespace the profile selects,
    ``kaico.state.Scope``) only observedGeneration and Ready: what every install agrees on."""
    if error is None:
        ready = condition(READY, True, ("Valid", "Invalid"), "the profile is valid and in use",
                          find_condition(previous, READY), now, generation)
    else:
        ready = condition(READY, False, ("Valid", "Invalid"), "; ".join(error.problems),
                          find_condition(previous, READY), now, generation)
    status: dict[str, Any] = {"observedGeneration": generation, "conditions": [ready]}
    if counts is not None:
        status.update(conformant=counts.conformant, nonConformant=counts.non_conformant,
                      errored=counts.errored)
    return status
