"""Watch health from kopf's log records and kaico's own probe: what /readyz and the watch
metrics are computed from."""

import asyncio
import logging

import pytest
from kaico.runtime import health
from kaico.runtime.health import EXPIRED, FAILED, KOPF_WATCH_LOGGER, WatchHealth, resource_path

FAILED_LINE = ("Request attempt #3/9 failed; will retry: GET https://127.0.0.1:6443/apis/kaico.dev/"
               "v1alpha1/namespaces/a/conformancereports?watch=true&resourceVersion=5 -> "
               "ClientConnectorError(...)")
SUCCEEDED_LINE = ("Request attempt #4/9 succeeded: GET https://127.0.0.1:6443/apis/kaico.dev/"
                  "v1alpha1/namespaces/a/conformancereports?watch=true&resourceVersion=5")
PATH = "/apis/kaico.dev/v1alpha1/namespaces/a/conformancereports"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_failed_request_marks_its_watch_down_until_a_retry_succeeds():
    clock, restarts, recoveries = Clock(), [], []
    watch = WatchHealth(restarts.append, lambda: recoveries.append(1), clock, bound=30)
    watch.record(FAILED_LINE)
    clock.now += 10
    watch.record(FAILED_LINE)  # still down since the first failure
    assert watch.down_since == {PATH: 100.0} and restarts == [FAILED, FAILED]
    assert watch.longest_outage() == 10 and watch.watches_ok()
    clock.now += 25
    assert not watch.watches_ok()  # down 35 s > 30 s: /readyz fails
    watch.record(SUCCEEDED_LINE)
    assert watch.watches_ok() and watch.longest_outage() == 0 and recoveries == [1]


def test_a_410_restart_is_counted_and_asks_for_an_audit():
    restarts, recoveries = [], []
    watch = WatchHealth(restarts.append, lambda: recoveries.append(1))
    watch.record("Restarting the watch-stream for conformancereports.v1alpha1.kaico.dev cluster-wide.")
    watch.record("Ignoring an unsupported event type: ...")
    assert restarts == [EXPIRED] and recoveries == [1] and watch.watches_ok()


def test_the_probe_marks_a_watch_up_when_a_list_of_its_resource_works(monkeypatch):
    monkeypatch.setattr(health, "PROBE_SECONDS", 0.01)
    watch = WatchHealth()
    watch.record(FAILED_LINE)
    answers = iter([False, True])
    probed: list[str] = []

    async def lists(path: str) -> bool:
        probed.append(path)
        return next(answers)

    async def scenario() -> None:
        task = asyncio.create_task(watch.probe(lists))
        while watch.down_since:
            await asyncio.sleep(0.01)
        task.cancel()

    asyncio.run(asyncio.wait_for(scenario(), 5))
    assert probed == [PATH, PATH]


def test_resource_path_drops_the_server_and_the_query():
    assert resource_path("https://h:1/api/v1/nodes?watch=true") == "/api/v1/nodes"


@pytest.fixture
def kopf_logger():
    source = logging.getLogger(KOPF_WATCH_LOGGER)
    level, filters = source.level, list(source.filters)
    source.setLevel(logging.WARNING)
    yield source
    source.setLevel(level)
    source.filters[:] = filters


def test_installed_it_hears_kopfs_debug_records_but_passes_on_only_the_configured_level(kopf_logger, caplog):
    watch = WatchHealth()
    watch.install()
    with caplog.at_level(logging.DEBUG):
        kopf_logger.error(FAILED_LINE)
        assert watch.down_since
        kopf_logger.debug(SUCCEEDED_LINE)
    assert not watch.down_since  # heard at DEBUG
    assert [r.levelno for r in caplog.records if r.name == KOPF_WATCH_LOGGER] == [logging.ERROR]
