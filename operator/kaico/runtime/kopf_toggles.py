"""Wake kopf's readiness waiters once per change of the overall state, not once per object.

kopf holds every object's handlers until every index is filled: each object listed at start-up
creates a toggle in one ``ToggleSet`` ("operator indexed") and drops it once its index handlers
ran, and each object then waits for the whole set to be on. ``ToggleSet.wait_for`` waits on one
``asyncio.Condition`` that every toggle's creation and removal notifies, so each of the N objects
listed so far wakes up, re-takes the lock and re-checks at each of the 2N changes: O(N^2) task
switches. At 5,000 Deployments that was about 140 s of start-up before any handler ran (py-spy:
the event loop busy in ``Condition.wait_for``), with nothing else to do.

``install()`` replaces ``ToggleSet.wait_for`` so a waiter sleeps on an ``asyncio.Event`` that is
set only when the set's overall state flips (``make_toggle``, ``drop_toggle(s)`` and a member's
``turn_to`` check for a flip). The semantics are kopf's: ``wait_for(state)`` returns once
``is_on() == state``. ``is_on`` stays kopf's own: while objects are still being indexed every
remaining toggle is off, so ``all()`` stops at the first one.

The patch targets private kopf code: ``install()`` checks the names it replaces and does
nothing (the operator is then only slower to start) when kopf changed them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kaico.runtime.kopf_private import patch_once

logger = logging.getLogger("kaico.runtime.kopf_toggles")

_INSTALLED: list[bool] = []


def _flip_event(toggles: Any) -> asyncio.Event:
    event = toggles.__dict__.get("_kaico_flip")
    if event is None:
        event = toggles.__dict__["_kaico_flip"] = asyncio.Event()
        toggles.__dict__["_kaico_state"] = toggles.is_on()
    return event


def _poke(toggles: Any) -> None:
    """Wake the waiters of ``toggles`` if its overall state changed since the last poke."""
    if "_kaico_flip" not in toggles.__dict__:
        return  # nobody waits yet
    state = toggles.is_on()
    if state != toggles.__dict__["_kaico_state"]:
        toggles.__dict__["_kaico_state"] = state
        event = toggles.__dict__["_kaico_flip"]
        toggles.__dict__["_kaico_flip"] = asyncio.Event()
        event.set()


def install() -> bool:
    """Patch kopf's ToggleSet (once); False when kopf's internals are not the expected ones."""
    return patch_once(_INSTALLED, ("kopf._cogs.aiokits.aiotoggles",), _patch)


def _patch(aiotoggles: Any) -> bool:
    toggle_set, toggle = aiotoggles.ToggleSet, aiotoggles.Toggle
    expected = all(hasattr(toggle_set, name) for name in ("wait_for", "make_toggle", "drop_toggle",
                                                          "drop_toggles", "is_on")) \
        and hasattr(toggle, "turn_to")
    if not expected:
        logger.debug("kopf's ToggleSet is not the expected one; start-up waits are not patched")
        return False

    original_make = toggle_set.make_toggle
    original_drop = toggle_set.drop_toggle
    original_drops = toggle_set.drop_toggles
    original_turn = toggle.turn_to

    async def wait_for(self: Any, state: bool) -> None:
        while self.is_on() != bool(state):
            await _flip_event(self).wait()

    async def make_toggle(self: Any, *args: Any, **kwargs: Any) -> Any:
        made = await original_make(self, *args, **kwargs)
        made.__dict__["_kaico_set"] = self
        _poke(self)
        return made

    async def drop_toggle(self: Any, one: Any) -> None:
        await original_drop(self, one)
        _poke(self)

    async def drop_toggles(self: Any, many: Any) -> None:
        await original_drops(self, many)
        _poke(self)

    async def turn_to(self: Any, state: bool) -> None:
        await original_turn(self, state)
        owner = self.__dict__.get("_kaico_set")
        if owner is not None:
            _poke(owner)

    toggle_set.wait_for = wait_for
    toggle_set.make_toggle = make_toggle
    toggle_set.drop_toggle = drop_toggle
    toggle_set.drop_toggles = drop_toggles
    toggle.turn_to = turn_to
    return True
