"""Results of checks: what one check concluded about one workload."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Result(StrEnum):
    """The wg-policy PolicyReport result values."""

    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    ERROR = "error"
    SKIP = "skip"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is more severe: critical=4 ... info=0."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


@dataclass(frozen=True)
class Outcome:
    """What a check function returns: a result, a message that names the container or field
    and says what to change, and optional string properties (PolicyReport ``properties``)."""

    result: Result
    message: str
    properties: dict[str, str] = field(default_factory=dict)


def passed(message: str, **properties: str) -> Outcome:
    return Outcome(Result.PASS, message, dict(properties))


def failed(message: str, **properties: str) -> Outcome:
    return Outcome(Result.FAIL, message, dict(properties))


def warned(message: str, **properties: str) -> Outcome:
    return Outcome(Result.WARN, message, dict(properties))


def skipped(message: str, **properties: str) -> Outcome:
    return Outcome(Result.SKIP, message, dict(properties))


def errored(message: str, **properties: str) -> Outcome:
    return Outcome(Result.ERROR, message, dict(properties))


# Every finding's message and property values are capped where the finding is built, so no
# input (5,000 containers, a megabyte-long name) makes a report too large to store.
MAX_MESSAGE_CHARS = 1024
MAX_PROPERTY_CHARS = 256


def capped(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` cut to at most ``limit`` characters, the cut marked with "…"."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class Finding:
    """One check's result on one workload, as reported (PolicyReport result shape).

    A finding holds nothing of the workload it was found on, so equal findings may be one
    object shared between reports (``conformance.engine`` does so): never mutate one, nor its
    ``properties``; build another (waivers do)."""

    check: str
    category: str
    result: Result
    severity: Severity
    message: str
    waived: bool = False
    properties: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.message) > MAX_MESSAGE_CHARS:
            object.__setattr__(self, "message", capped(self.message))
        if any(len(value) > MAX_PROPERTY_CHARS for value in self.properties.values()):
            object.__setattr__(self, "properties", {
                key: capped(value, MAX_PROPERTY_CHARS) for key, value in self.properties.items()
            })
