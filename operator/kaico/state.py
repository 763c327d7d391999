"""The operator's in-memory state that is not a kopf index: the latest results per (target,
profile), and the parsed profiles as index values.

``Results`` keeps a compact record per (target, profile) (no messages), which is what the
metrics and the profile counts are computed from. Metrics are rebuilt from it at every scrape,
so forgetting a deleted target here is all it takes for its series to disappear.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from conformance.findings import Result
from conformance.profile import Profile, ProfileError
from conformance.report import Report

WorkloadKey = tuple[str, str, str]  # (kind, namespace, name)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProfileCounts:
    conformant: int = 0
    non_conformant: int = 0
    errored: int = 0


@dataclass(frozen=True)
class ProfileEntry:
    """A ConformanceProfile as indexed: parsed, or the reason it could not be."""

    name: str
    uid: str | None
    generation: int | None
    profile: Profile | None
    error: ProfileError | None


class Scope:
    """The namespaces an install watches (None: every namespace), and which profiles it covers.

    A profile's counts and its ClusterConformanceReport (whose workload tallies are counted from
    the install's own results) are cluster-scoped, one object per profile: an install that sees
    only part of the profile's namespaces would write a partial count, and two such installs
    would rewrite each other's forever. Only an install that covers the profile writes them. An
    invalid profile selects nothing, so every install agrees on it."""

    def __init__(self, namespaces: Sequence[str] | None = None):
        self.namespaces = tuple(namespaces) if namespaces else None
        self._told: set[str] = set()

    def covers(self, entry: ProfileEntry) -> bool:
        if self.namespaces is None or entry.profile is None:
            return True
        wanted = entry.profile.spec.targets.namespaces
        # A profile without a namespace list may select any namespace: only a cluster-wide
        # install sees them all. A pattern of the profile is covered when one of the install's
        # matches it as a name (``team-a`` by ``team-*``, ``team-a*`` by ``team-*``).
        covered = bool(wanted) and all(
            any(fnmatch.fnmatchcase(pattern, watched) for watched in self.namespaces)
            for pattern in wanted
        )
        if covered:
            self._told.discard(entry.name)
        elif entry.name not in self._told:
            self._told.add(entry.name)
            logger.info("profile %s selects namespaces this install does not watch (it watches %s): "
                        "its counts and ClusterConformanceReport are left to an install that "
                        "watches them all", entry.name, ", ".join(self.namespaces))
        return covered


@dataclass(frozen=True)
class TargetResult:
    """One target's latest evaluation under one profile, without messages (memory)."""

    kind: str
    namespace: str
    name: str
    profile: str
    conformant: bool
    errored: bool
    # (check, severity, result) per finding.
    outcomes: tuple[tuple[str, str, str], ...]

    @classmethod
    def from_report(cls, key: WorkloadKey, report: Report) -> TargetResult:
        kind, namespace, name = key
        return cls(
            kind=kind,
            namespace=namespace,
            name=name,
            profile=report.profile,
            conformant=report.conformant,
            errored=any(f.result == Result.ERROR for f in report.results),
            outcomes=_interned(tuple((f.check, f.severity.value, f.result.value) for f in report.results)),
        )


# Most targets of a profile share the same outcomes: keep one tuple per distinct outcome list
# (at 5,000 targets that is about 1.5 KB less per target). Cleared when it grows past a bound,
# so a churning cluster cannot grow it without limit (results already recorded keep theirs).
_OUTCOMES: dict[tuple[tuple[str, str, str], ...], tuple[tuple[str, str, str], ...]] = {}
_OUTCOMES_LIMIT = 4096


def _interned(outcomes: tuple[tuple[str, str, str], ...]) -> tuple[tuple[str, str, str], ...]:
    if len(_OUTCOMES) >= _OUTCOMES_LIMIT:
        _OUTCOMES.clear()
    return _OUTCOMES.setdefault(outcomes, outcomes)


class Results:
    """Latest results by (workload key, profile name). Only the controller writes here."""

    def __init__(self) -> None:
        self._items: dict[tuple[WorkloadKey, str], TargetResult] = {}

    def record(self, key: WorkloadKey, report: Report) -> TargetResult | None:
        """Store the new result; return the previous one."""
        previous = self._items.get((key, report.profile))
        self._items[(key, report.profile)] = TargetResult.from_report(key, report)
        return previous

    def get(self, key: WorkloadKey, profile: str) -> TargetResult | None:
        return self._items.get((key, profile))

    def forget(self, key: WorkloadKey, profile: str) -> None:
        self._items.pop((key, profile), None)

    def forget_workload(self, key: WorkloadKey) -> None:
        for item in [k for k in self._items if k[0] == key]:
            del self._items[item]

    def forget_profile(self, profile: str) -> None:
        for item in [k for k in self._items if k[1] == profile]:
            del self._items[item]

    def __iter__(self) -> Iterator[TargetResult]:
        return iter(list(self._items.values()))

    def counts(self, profile: str) -> ProfileCounts:
        conformant = non_conformant = errored = 0
        for result in self._items.values():
            if result.profile != profile:
                continue
            if result.conformant:
                conformant += 1
            else:
                non_conformant += 1
            if result.errored:
                errored += 1
        return ProfileCounts(conformant, non_conformant, errored)
