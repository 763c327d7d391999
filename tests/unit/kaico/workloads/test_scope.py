"""Which profiles an install covers: the profile's counts and its ClusterConformanceReport are
written only by an install that watches every namespace the profile selects."""

from __future__ import annotations

import logging

import pytest
from kaico.state import ProfileEntry, Scope

from conformance.profile import parse_profile


def entry(namespaces: list[str] | None) -> ProfileEntry:
    spec = {"targets": {"namespaces": namespaces}} if namespaces is not None else {}
    body = {"apiVersion": "kaico.dev/v1alpha1", "kind": "ConformanceProfile",
            "metadata": {"name": "p"}, "spec": spec}
    return ProfileEntry("p", "uid", 1, parse_profile(body), None)


@pytest.mark.parametrize(("watched", "selected", "covered"), [
    (None, None, True),  # cluster-wide install: every profile
    (None, ["a"], True),
    (["a"], None, False),  # the profile may select any namespace
    (["a"], ["a"], True),
    (["a"], ["a", "b"], False),
    (["a", "b"], ["b", "a"], True),
    (["team-*"], ["team-a", "team-b"], True),
    (["team-*"], ["team-a*"], True),
    (["team-a"], ["team-*"], False),
    (["team-a*"], ["team-*"], False),
])
def test_an_install_covers_a_profile_when_it_watches_every_namespace_the_profile_selects(
    watched, selected, covered
):
    assert Scope(watched).covers(entry(selected)) is covered


def test_every_install_covers_an_invalid_profile():
    assert Scope(["a"]).covers(ProfileEntry("p", "uid", 1, None, None))


def test_a_profile_left_to_another_install_is_logged_once(caplog):
    scope = Scope(["a"])
    with caplog.at_level(logging.INFO, logger="kaico.state"):
        for _ in range(3):
            scope.covers(entry(["a", "b"]))
    assert len([r for r in caplog.records if "left to an install" in r.message]) == 1
