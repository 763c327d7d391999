"""Adapters: one module per served kind, each turning one object body into a ServingWorkload.

``adapt_object`` picks the adapter by (API group, kind) and never raises: an unknown kind (a
Service, a ConfigMap) or a Deployment that is not a model server gives None; a known kind with an
unsupported version or malformed fields gives a workload whose ``errors`` say what and where.

A body that is not a mapping gives None: with no mapping there is no kind or name to attach an
error to, so reporting unparseable documents is the caller's job (the CLI's loader does it).
Adding a kind is one new module with ``GROUP``, ``KIND``/``KINDS`` and ``adapt``, plus one line in
``_MODULES``.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from conformance.adapters import (
    apps,
    inferenceservice,
    leaderworkerset,
    llminferenceservice,
    nimservice,
    rayservice,
    vllmruntime,
)
from conformance.parameters import Parameters
from conformance.workload import ServingWorkload

Adapter = Callable[[dict[str, Any], Parameters], "ServingWorkload | None"]

_MODULES: tuple[ModuleType, ...] = (
    inferenceservice,
    llminferenceservice,
    leaderworkerset,
    rayservice,
    nimservice,
    vllmruntime,
    apps,
)


def _build_registry() -> dict[tuple[str, str], Adapter]:
    registry: dict[tuple[str, str], Adapter] = {}
    for module in _MODULES:
        kinds = getattr(module, "KINDS", None) or (module.KIND,)
        for kind in kinds:
            registry[(module.GROUP, kind)] = module.adapt
    return registry


ADAPTERS: dict[tuple[str, str], Adapter] = _build_registry()


def served_kinds() -> tuple[tuple[str, str], ...]:
    """(API group, kind) of every kind an adapter reads, for watches and RBAC."""
    return tuple(ADAPTERS)


def adapter_for(api_version: object, kind: object) -> Adapter | None:
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return None
    group = api_version.rpartition("/")[0]
    return ADAPTERS.get((group, kind))


def adapt_object(body: object, params: Parameters) -> ServingWorkload | None:
    """The ServingWorkload for ``body``, or None when it is not a serving target."""
    if not isinstance(body, dict):
        return None
    adapter = adapter_for(body.get("apiVersion"), body.get("kind"))
    if adapter is None:
        return None
    return adapter(body, params)
