"""Our own write's answer stands in for the watched copy only until the watch catches up."""

from kaico.kube.inflight import IN_FLIGHT_SECONDS, InFlight, newer_or_same


def test_resource_versions_compare_as_etcd_revisions_and_otherwise_only_by_equality():
    assert newer_or_same("12", "9") and newer_or_same("9", "9") and not newer_or_same("9", "12")
    assert newer_or_same("abc", "abc") and not newer_or_same("abd", "abc")
    assert newer_or_same("5", None) and not newer_or_same(None, "5")


def test_the_answer_is_used_while_the_watched_copy_is_older_then_the_watch_wins():
    flight: InFlight[str] = InFlight()
    flight.wrote("r", "10", "ours")
    assert flight.current("r", None, None) == "ours"  # the watch has not shown it yet
    assert flight.current("r", "old", "9") == "ours"
    assert flight.current("r", "edited", "11") == "edited"  # a later version: someone else's
    assert flight.current("r", "old", "9") == "old"  # and the answer is gone for good


def test_settle_drops_the_answer_once_the_watch_shows_it_and_tells_stale_events_apart():
    flight: InFlight[str] = InFlight()
    flight.wrote("r", "10", "ours")
    assert flight.settle("r", "9") is False  # an event from before our write
    assert flight.current("r", "old", "9") == "ours"
    assert flight.settle("r", "10") is True
    assert flight.current("r", None, None) is None
    assert flight.settle("other", "1") is True  # nothing in flight: every event counts


def test_an_answer_the_watch_never_confirms_expires():
    now = [0.0]
    flight: InFlight[str] = InFlight(clock=lambda: now[0])
    flight.wrote("r", "10", "ours")
    now[0] = IN_FLIGHT_SECONDS + 1
    assert flight.current("r", "listed", "8") == "listed"
