"""The conformance report of one target under one profile, and its stable JSON shape.

``Report.to_dict()`` is the documented ``kaico check -o json`` entry and the source of the
ConformanceReport status; change it only compatibly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from conformance.catalogue import catalogue
from conformance.findings import Finding, Result, Severity

_RESULT_VALUES = tuple(result.value for result in Result)

@dataclass(frozen=True, slots=True)
class TargetRef:
    api_version: str
    kind: str
    namespace: str | None
    name: str
    uid: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
        }

    @property
    def display(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


@dataclass(frozen=True, slots=True)
class Report:
    target: TargetRef
    profile: str
    results: tuple[Finding, ...]
    conformance_threshold: Severity = Severity.LOW
    observed_generation: int | None = None
    # Where the target came from (a file and document index on the CLI).
    source: str | None = None

    @property
    def summary(self) -> dict[str, int]:
        """How many findings of each result (every result named, zero or not). Counted when
        asked: a report kept is one object less for the garbage collector to walk."""
        counts = dict.fromkeys(_RESULT_VALUES, 0)
        for finding in self.results:
            # A StrEnum member finds the entry of its value.
            counts[finding.result] += 1
        return counts

    @property
    def blocking(self) -> tuple[Finding, ...]:
        """Unwaived fail/error findings at or above the profile's conformance threshold."""
        return tuple(
            f for f in self.results
            if f.result in (Result.FAIL, Result.ERROR)
            and not f.waived
            and f.severity.rank >= self.conformance_threshold.rank
        )

    @property
    def conformant(self) -> bool:
        return not self.blocking

    def failing_at(self, severity: Severity) -> tuple[Finding, ...]:
        """Unwaived fail/error findings at or above ``severity`` (the CLI's --fail-on)."""
        return tuple(
            f for f in self.results
            if f.result in (Result.FAIL, Result.ERROR)
            and not f.waived
            and f.severity.rank >= severity.rank
        )

    def to_dict(self, result: Callable[[Finding], object] | None = None) -> dict[str, object]:
        """The JSON entry; ``result`` turns each finding into its entry (default
        ``finding_to_dict``; the CLI's JSON writer passes its memoised encoding)."""
        result = result or finding_to_dict
        return {
            "target": self.target.to_dict(),
            "profile": self.profile,
            "conformant": self.conformant,
            "summary": dict(self.summary),
            "results": [result(f) for f in self.results],
            **({"source": self.source} if self.source else {}),
        }


# Results a person must act on; only these carry the remediation in a ConformanceReport status
# (``remediation="actionable"``), which keeps a passing report small in etcd.
ACTIONABLE = (Result.FAIL, Result.WARN, Result.ERROR)


def finding_to_dict(finding: Finding, remediation: str = "all") -> dict[str, object]:
    """A result in the PolicyReport result shape, with the catalogue's remediation and docs URL
    (custom checks have neither). ``remediation``: "all" results, or only "actionable" ones."""
    entry: dict[str, object] = {
        "check": finding.check,
        "category": finding.category,
        "result": finding.result.value,
        "severity": finding.severity.value,
        "message": finding.message,
    }
    spec = catalogue().get(finding.check)
    if spec is not None:
        if remediation == "all" or finding.result in ACTIONABLE:
            entry["remediation"] = spec.remediation
        entry["docs"] = spec.docs_url
    if finding.waived:
        entry["waived"] = True
    if finding.properties:
        entry["properties"] = dict(finding.properties)
    return entry
