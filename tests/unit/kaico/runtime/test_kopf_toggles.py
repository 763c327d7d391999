"""kopf's start-up readiness wait, patched to wake waiters only when the overall state flips."""

from __future__ import annotations

import asyncio

from kaico.runtime import kopf_toggles
from kopf._cogs.aiokits import aiotoggles

WAITERS = 300


def test_waiters_wake_once_per_flip_not_once_per_toggle():
    assert kopf_toggles.install()
    checks = [0]
    original = aiotoggles.ToggleSet.is_on

    def counted(self):
        checks[0] += 1
        return original(self)

    async def scenario() -> None:
        indexed = aiotoggles.ToggleSet(all)
        blocker = await indexed.make_toggle(name="blocker")
        # As kopf's start-up: each listed object makes a toggle, then drops it and waits.
        toggles = [await indexed.make_toggle(name=str(i)) for i in range(WAITERS)]
        done = []

        async def one(toggle) -> None:
            await indexed.drop_toggle(toggle)
            await indexed.wait_for(True)
            done.append(toggle)

        aiotoggles.ToggleSet.is_on = counted
        try:
            tasks = []
            for toggle in toggles:  # objects arrive one by one from the watch stream
                tasks.append(asyncio.create_task(one(toggle)))
                for _ in range(3):
                    await asyncio.sleep(0)
            await asyncio.sleep(0.05)
            assert done == []  # the blocker still holds them all
            await indexed.drop_toggle(blocker)
            await asyncio.wait_for(asyncio.gather(*tasks), 5)
        finally:
            aiotoggles.ToggleSet.is_on = original
        assert len(done) == WAITERS
        # Linear: a few checks per waiter and per change; kopf's own wait re-checked every
        # waiter at every change (WAITERS^2 = 90,000 here).
        assert checks[0] <= 6 * WAITERS

    asyncio.run(scenario())


def test_a_member_turned_on_wakes_the_waiters_of_an_any_set():
    assert kopf_toggles.install()

    async def scenario() -> None:
        paused = aiotoggles.ToggleSet(any)
        member = await paused.make_toggle(False, name="peering")
        waiter = asyncio.create_task(paused.wait_for(True))
        await asyncio.sleep(0.01)
        assert not waiter.done()
        await member.turn_to(True)
        await asyncio.wait_for(waiter, 1)
        # And back: waiting for off returns once the member is off again.
        off = asyncio.create_task(paused.wait_for(False))
        await asyncio.sleep(0.01)
        assert not off.done()
        await member.turn_to(False)
        await asyncio.wait_for(off, 1)

    asyncio.run(scenario())
