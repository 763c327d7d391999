"""The CNCF Kubernetes AI Conformance requirements per Kubernetes minor, loaded from package data.

``conformance/cluster/versions/<minor>.yaml`` holds one checklist each (ids, categories, levels and
descriptions exactly as the CNCF publishes them, plus kaico's annotations). They are validated
with pydantic on load, so a malformed file fails loudly at import time of the first caller, not
halfway through an evaluation.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Level(StrEnum):
    MUST = "MUST"
    SHOULD = "SHOULD"


class Category(StrEnum):
    """The checklist's ``spec`` keys, in the order the checklist lists them."""

    ACCELERATORS = "accelerators"
    NETWORKING = "networking"
    SCHEDULING_ORCHESTRATION = "schedulingOrchestration"
    OBSERVABILITY = "observability"
    SECURITY = "security"
    OPERATOR = "operator"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Requirement(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    category: Category
    level: Level
    description: str = Field(min_length=1)
    kar: str | None = Field(None, description="The KAR number in kubernetes-sigs/ai-conformance.")
    # Conditional requirements ("only if the platform provides ..."); None means unconditional.
    condition: str | None = None
    # The CNCF validator accepts N/A on this MUST (today only cluster_autoscaling).
    not_applicable_accepted: bool = Field(False, alias="notApplicableAccepted")
    upstream_test: str | None = Field(None, alias="upstreamTest")


class RequirementCatalogue(_Model):
    kubernetes_version: str = Field(alias="kubernetesVersion", pattern=r"^1\.\d+$")
    requirements: tuple[Requirement, ...]

    @field_validator("requirements")
    @classmethod
    def _unique(cls, requirements: tuple[Requirement, ...]) -> tuple[Requirement, ...]:
        seen: set[str] = set()
        for requirement in requirements:
            if requirement.id in seen:
                raise ValueError(f"requirement {requirement.id!r} is listed twice")
            seen.add(requirement.id)
        return requirements

    @model_validator(mode="after")
    def _conditional_na(self) -> RequirementCatalogue:
        for requirement in self.requirements:
            if requirement.not_applicable_accepted and requirement.condition is None:
                raise ValueError(f"{requirement.id}: N/A is accepted only on a conditional requirement")
        return self

    def get(self, requirement_id: str) -> Requirement | None:
        return next((r for r in self.requirements if r.id == requirement_id), None)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.requirements)

    def by_category(self) -> dict[Category, tuple[Requirement, ...]]:
        """Requirements grouped by category, categories in checklist order, empty ones left out."""
        grouped: dict[Category, list[Requirement]] = {}
        for category in Category:
            members = [r for r in self.requirements if r.category is category]
            if members:
                grouped[category] = members
        return {category: tuple(members) for category, members in grouped.items()}


class CatalogueError(ValueError):
    """A Kubernetes version kaico has no requirement catalogue for, or cannot read."""


def supported_versions() -> tuple[str, ...]:
    """The Kubernetes minors with a shipped catalogue, oldest first ("1.33", ...)."""
    names = [
        entry.name[: -len(".yaml")]
        for entry in resources.files("conformance.cluster.versions").iterdir()
        if entry.name.endswith(".yaml")
    ]
    return tuple(sorted(names, key=_minor))


def _minor(version: str) -> int:
    return int(version.split(".")[1])


_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:[.+-].*)?$")


def minor_of(version: str) -> str | None:
    """"1.35" for "v1.35.4", "1.35", "v1.35", "v1.35.0-gke.1"; None when it is not a version."""
    match = _VERSION.match(version.strip())
    return f"{match.group(1)}.{match.group(2)}" if match else None


@cache
def load_catalogue(version: str) -> RequirementCatalogue:
    """The catalogue of one minor exactly as shipped ("1.35" or "v1.35.4")."""
    minor = minor_of(version)
    if minor is None:
        raise CatalogueError(f"{version!r} is not a Kubernetes version (expected e.g. 1.35)")
    if minor not in supported_versions():
        raise CatalogueError(
            f"no AI Conformance requirements for Kubernetes {minor}; "
            f"kaico knows {', '.join(supported_versions())}"
        )
    text = resources.files("conformance.cluster.versions").joinpath(f"{minor}.yaml").read_text()
    catalogue = RequirementCatalogue.model_validate(yaml.safe_load(text))
    if catalogue.kubernetes_version != minor:
        raise CatalogueError(f"versions/{minor}.yaml declares {catalogue.kubernetes_version}")
    return catalogue


def catalogue_for_cluster(server_version: str) -> tuple[RequirementCatalogue, str | None]:
    """The catalogue that applies to a cluster's reported version, and a note when it is not
    an exact match: a cluster newer than the newest checklist is judged by the newest (new
    minors only add requirements after their freeze), an older one by the oldest."""
    minor = minor_of(server_version)
    if minor is None:
        raise CatalogueError(f"the cluster reports an unreadable version {server_version!r}")
    versions = supported_versions()
    if minor in versions:
        return load_catalogue(minor), None
    chosen = versions[-1] if _minor(minor) > _minor(versions[-1]) else versions[0]
    note = (
        f"the cluster runs Kubernetes {minor}, which has no AI Conformance checklist in this "
        f"kaico; judged against the {chosen} checklist"
    )
    return load_catalogue(chosen), note
