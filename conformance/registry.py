"""The check catalogue: every check registers its function and its metadata in one place.

The README's check table, ``kaico checks``, the profile validation and the CRD's enum of check
ids all read this registry, so a check is described once. Ids are stable API.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from conformance.facts import ClusterFacts, FactClass
from conformance.findings import Outcome, Severity
from conformance.parameters import Parameters
from conformance.scope import PARTS
from conformance.workload import ServingWorkload

CheckFunction = Callable[[ServingWorkload, ClusterFacts, Parameters], Outcome]

# The project's home, and where each check is documented: docs/checks.md has an anchor per
# check id (generated).
PROJECT_URL = "https://github.com/kaico-dev/kaico"
CHECK_DOCS_URL = f"{PROJECT_URL}/blob/main/docs/checks.md"


class Category(StrEnum):
    GPU = "gpu"
    SCALING = "scaling"
    ENDPOINTS = "endpoints"


@dataclass(frozen=True)
class CheckSpec:
    id: str
    title: str
    category: Category
    severity: Severity
    rationale: str
    remediation: str
    function: CheckFunction
    # The CNCF Kubernetes AI Conformance requirement this check supports, if any.
    requirement: str | None = None
    # Classes of cluster facts the check cannot judge without; absent ones make it skip.
    needs: tuple[FactClass, ...] = ()
    # Only meaningful for workloads that ask for accelerators; others get ``skip``.
    accelerators_only: bool = False
    # The parts of its input the check reads (``conformance.scope.PARTS``): its finding is
    # reused for a workload whose parts are equal. None: judged for every workload.
    reads: tuple[str, ...] | None = None

    @property
    def docs_url(self) -> str:
        return f"{CHECK_DOCS_URL}#{self.id}"


_CATALOGUE: dict[str, CheckSpec] = {}


def check(
    id: str,
    *,
    title: str,
    category: Category,
    severity: Severity,
    rationale: str,
    remediation: str,
    requirement: str | None = None,
    needs: tuple[FactClass, ...] = (),
    accelerators_only: bool = False,
    reads: tuple[str, ...] | None = None,
) -> Callable[[CheckFunction], CheckFunction]:
    """Register the decorated function as check ``id``."""

    def register(function: CheckFunction) -> CheckFunction:
        if id in _CATALOGUE:
            raise ValueError(f"check id {id!r} is registered twice")
        unknown = [part for part in reads or () if part not in PARTS]
        if unknown:
            raise ValueError(f"check {id!r} reads unknown parts {unknown}")
        _CATALOGUE[id] = CheckSpec(
            id=id,
            title=title,
            category=category,
            severity=severity,
            rationale=rationale,
            remediation=remediation,
            function=function,
            requirement=requirement,
            needs=needs,
            accelerators_only=accelerators_only,
            reads=reads,
        )
        return function

    return register


def registered() -> dict[str, CheckSpec]:
    """Every check registered so far, by id, in registration order. The catalogue
    (``conformance.catalogue``) decides which modules register and in what order; this module
    imports no check back."""
    return dict(_CATALOGUE)
