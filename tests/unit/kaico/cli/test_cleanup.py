"""`kaico cleanup`'s namespace selection and its delete-until-quiet loop (no cluster: the sweeps
are scripted; the real deletes are tested on the control plane)."""

from __future__ import annotations

from collections import Counter

import pytest
from kaico.cli.cleanup import CleanupError, Deleted, clean, namespace_filter


@pytest.mark.parametrize(
    ("patterns", "selected", "not_selected"),
    [
        ([], ["default", "team-a"], []),
        (["team-a"], ["team-a"], ["team-b", "default"]),
        (["team-*"], ["team-a", "team-b"], ["default", "xteam-a"]),
        (["team-*", "!team-b"], ["team-a"], ["team-b", "default"]),
        (["!kube-*"], ["default", "team-a"], ["kube-system"]),
    ],
)
def test_namespace_patterns_follow_kopfs_syntax(patterns, selected, not_selected):
    chosen = namespace_filter(patterns)
    assert [n for n in selected + not_selected if chosen(n)] == selected


class ScriptedSweeps:
    def __init__(self, *sweeps: Deleted):
        self.sweeps = list(sweeps)
        self.count = 0

    def sweep(self) -> Deleted:
        self.count += 1
        return self.sweeps.pop(0) if self.sweeps else Deleted(Counter(), 0)


class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_it_looks_again_after_deleting_and_stops_at_the_first_empty_look():
    sweeps = ScriptedSweeps(
        Deleted(Counter({"a": 2, "b": 1}), 1),
        Deleted(Counter({"a": 1}), 0),  # written back by an operator still shutting down
    )
    clock = Clock()
    total = clean(sweeps, settle=5, timeout=60, sleep=clock.sleep, clock=lambda: clock.now)
    assert sweeps.count == 3
    assert clock.sleeps == [5, 5]
    assert total.reports == Counter({"a": 3, "b": 1}) and total.cluster_reports == 1


def test_nothing_to_delete_is_one_look_and_no_wait():
    sweeps, clock = ScriptedSweeps(), Clock()
    total = clean(sweeps, settle=5, timeout=60, sleep=clock.sleep, clock=lambda: clock.now)
    assert (sweeps.count, clock.sleeps, total.total) == (1, [], 0)


def test_reports_that_keep_coming_back_end_in_an_error_naming_the_likely_cause():
    forever = ScriptedSweeps(*[Deleted(Counter({"a": 1}), 0)] * 100)
    clock = Clock()
    with pytest.raises(CleanupError, match="still reappear after 20s .*operator still running"):
        clean(forever, settle=5, timeout=20, sleep=clock.sleep, clock=lambda: clock.now)
    assert forever.count == 5 and clock.now == 20
