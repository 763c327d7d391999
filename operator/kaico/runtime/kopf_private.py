"""Patching kopf's private modules once, and only when they are the expected ones.

``kopf_memory``, ``kopf_relist`` and ``kopf_toggles`` each replace a few names in kopf's private
modules. Each patch is applied once per process, and is not applied (the caller learns False)
when a module is missing or its ``patch`` function finds the names it replaces changed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType


def patch_once(done: list[bool], modules: tuple[str, ...], patch: Callable[..., bool]) -> bool:
    """Call ``patch`` with the imported ``modules`` the first time (``done`` records the
    outcome); afterwards return what it returned. False when a module cannot be imported."""
    if done:
        return done[0]
    try:
        imported: list[ModuleType] = [importlib.import_module(name) for name in modules]
    except ImportError:
        applied = False
    else:
        applied = patch(*imported)
    done.append(applied)
    return applied
