"""The check catalogue, composed in one place: which check modules exist and in what order.

The registry (``conformance.registry``) only stores what the ``@check`` decorator hands it and
imports nothing back; importing the category modules here is what registers them. The order of
``CATEGORY_MODULES`` is the catalogue's order (docs, ``kaico checks``, the CRD enum, reports).
"""

from __future__ import annotations

from conformance.checks import endpoints, gpu, scaling
from conformance.registry import CheckSpec, registered

CATEGORY_MODULES = (gpu, scaling, endpoints)
_RANK = {module.__name__: rank for rank, module in enumerate(CATEGORY_MODULES)}


_ordered: dict[str, CheckSpec] = {}


def catalogue() -> dict[str, CheckSpec]:
    """All checks, by id: GPU scheduling, then scaling, then inference endpoints, each in the
    order its module registers them. (Sorted once per registration: reports ask per finding.)"""
    specs = registered()
    if len(specs) != len(_ordered):
        ordered = sorted(specs.values(), key=lambda spec: _RANK[spec.function.__module__])
        _ordered.clear()
        _ordered.update((spec.id, spec) for spec in ordered)
    return dict(_ordered)
