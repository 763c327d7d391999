"""AdmissionReview in, AdmissionReview out: pure, no I/O.

The webhook is validating only: a response never carries a patch, so the object the API server
stores is the object the user sent. What a profile says about the object becomes warnings
(``kubectl apply`` prints each as ``Warning: ...``); a profile with ``spec.admission.enforcement:
Deny`` also rejects the object when a failing check is at or above ``denyAtSeverity``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from conformance.findings import Finding, Result, capped
from conformance.profile import AdmissionPolicy, Enforcement
from conformance.report import Report

API_VERSION = "admission.k8s.io/v1"
# The API server may cut a warning longer than this (and asks for short ones); a review carries
# at most MAX_WARNINGS of them, the last saying how many more there were.
MAX_WARNING_CHARS = 256
MAX_WARNINGS = 8
# A denial names its reasons; the message stays a few lines long whatever the profile finds.
MAX_DENIAL_CHARS = 2048
# The order warnings are listed in: failures first, then errors (a check could not judge), then
# warn results; within each, the most severe first.
_RESULT_ORDER = {Result.FAIL: 0, Result.ERROR: 1, Result.WARN: 2}


class ReviewError(ValueError):
    """A request that is no AdmissionReview kaico can answer (answered with HTTP 400)."""


@dataclass(frozen=True)
class Judgement:
    """One profile's report on the object under review, and how that profile enforces."""

    profile: str
    policy: AdmissionPolicy
    report: Report


@dataclass(frozen=True)
class Request:
    """What kaico reads from an AdmissionReview request."""

    uid: str
    operation: str
    object: dict[str, Any]
    old_object: dict[str, Any] | None

    @property
    def needs_judging(self) -> bool:
        """Only a create, or an update that changes what the adapters read (spec, labels,
        annotations). An update of anything else (finalizers, owner references, a status
        without its subresource) and an update of an object being deleted are not judged: a
        Deny profile must never block an object's clean-up."""
        if self.operation == "CREATE":
            return True
        if self.operation != "UPDATE" or (self.object.get("metadata") or {}).get("deletionTimestamp"):
            return False
        old = self.old_object or {}
        return self.object.get("spec") != old.get("spec") or any(
            _metadata(self.object, field) != _metadata(old, field) for field in ("labels", "annotations"))


def _metadata(body: dict[str, Any], field: str) -> Any:
    return (body.get("metadata") or {}).get(field) or {}


def parse_request(review: Any) -> Request:
    """The request of an ``admission.k8s.io/v1`` AdmissionReview; ReviewError when it is not one."""
    if not isinstance(review, dict) or review.get("apiVersion") != API_VERSION \
            or review.get("kind") != "AdmissionReview":
        raise ReviewError(f"expected an {API_VERSION} AdmissionReview")
    request = review.get("request")
    if not isinstance(request, dict) or not isinstance(request.get("uid"), str):
        raise ReviewError("the AdmissionReview has no request.uid")
    body = request.get("object")
    old = request.get("oldObject")
    return Request(
        uid=request["uid"],
        operation=str(request.get("operation") or ""),
        object=body if isinstance(body, dict) else {},
        old_object=old if isinstance(old, dict) else None,
    )


@dataclass(frozen=True)
class Verdict:
    """The answer: admitted or not, the warnings, and (when denied) why."""

    allowed: bool = True
    warnings: tuple[str, ...] = ()
    message: str = ""


def _noted(finding: Finding) -> bool:
    return finding.result in _RESULT_ORDER and not finding.waived


def _warning(profile: str, finding: Finding) -> str:
    return capped(f"kaico/{profile}: {finding.check}: {finding.message}", MAX_WARNING_CHARS)


def decide(judgements: Sequence[Judgement]) -> Verdict:
    """Every profile's unwaived fail, error and warn findings as warnings; denied when a Deny
    profile has a failing check (fail or error, as ``kaico check --fail-on`` counts it) at or
    above its ``denyAtSeverity``."""
    noted = sorted(
        ((j.profile, f) for j in judgements for f in j.report.results if _noted(f)),
        key=lambda item: (_RESULT_ORDER[item[1].result], -item[1].severity.rank, item[0], item[1].check),
    )
    warnings = [_warning(profile, finding) for profile, finding in noted]
    if len(warnings) > MAX_WARNINGS:
        rest = len(warnings) - (MAX_WARNINGS - 1)
        warnings = warnings[: MAX_WARNINGS - 1] + [
            f"kaico: {rest} more finding(s); the ConformanceReport lists them all once the object is stored"
        ]
    reasons = [
        f"{j.profile}: {f.check} ({f.severity}): {f.message}"
        for j in judgements if j.policy.enforcement == Enforcement.DENY
        for f in j.report.failing_at(j.policy.deny_at_severity)
    ]
    if not reasons:
        return Verdict(warnings=tuple(warnings))
    target = judgements[0].report.target.display
    message = capped(f"kaico denies {target}: " + "; ".join(reasons), MAX_DENIAL_CHARS)
    return Verdict(allowed=False, warnings=tuple(warnings), message=message)


def response(uid: str, verdict: Verdict) -> dict[str, Any]:
    """The AdmissionReview to send back (never a patch)."""
    answer: dict[str, Any] = {"uid": uid, "allowed": verdict.allowed}
    if verdict.warnings:
        answer["warnings"] = list(verdict.warnings)
    if not verdict.allowed:
        answer["status"] = {"code": 403, "reason": "Forbidden", "message": verdict.message}
    return {"apiVersion": API_VERSION, "kind": "AdmissionReview", "response": answer}

