"""Whether kaico's watches work: what ``/readyz`` and the watch metrics say.

kopf does not expose the state of its watch streams, so kaico reads the one thing kopf does
report, its own log records (``kopf._cogs.clients.watching``), and checks for itself:

* a list or watch request that fails ("Request attempt #n failed") marks that resource's watch
  down from that moment; a later successful attempt of kopf's, or kaico's own probe of the same
  resource (a list of one item, every ``PROBE_SECONDS`` while it is down), marks it up again;
* a watch that kopf restarts because its resourceVersion expired (410 Gone, after an etcd
  compaction or an API server restart) is followed by a relist, which reports no deletion: each
  one is counted, and, like every recovery from a failure, asks for an audit of the reports.

What this does not see: a watch that stays connected but silently receives nothing (kopf's
``inactivity_timeout`` reconnects such a stream, and a reconnect that fails is seen), and a
watcher task that kopf itself lets die (kopf then stops the whole operator).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

logger = logging.getLogger("kaico.runtime.health")

# /readyz fails once any watch has been down this long. Shorter than kopf's longest retry
# backoff would flap on one lost connection; much longer would hide an outage from probes.
WATCH_DOWN_SECONDS = 30.0
# While a watch is down, kaico probes its resource this often.
PROBE_SECONDS = 5.0
KOPF_WATCH_LOGGER = "kopf._cogs.clients.watching"

_ATTEMPT = re.compile(r"Request attempt #\d+(?:/\d+)? (failed|succeeded)[^:]*: [A-Z]+ (\S+)")
_RESTART = re.compile(r"Restarting the watch-stream for ")

# reason labels of kaico_watch_restarts_total
EXPIRED = "expired"  # 410 Gone: kopf lists again
FAILED = "failed"  # a list or watch request failed: kopf retries it


def resource_path(url: str) -> str:
    """The resource a list or watch request is about: its URL's path, without the server and
    the query (a list and the watch that follows it share one path)."""
    return urlsplit(url).path


class WatchHealth:
    def __init__(
        self,
        on_restart: Callable[[str], None] = lambda reason: None,
        on_recovery: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
        bound: float = WATCH_DOWN_SECONDS,
    ):
        self._on_restart = on_restart
        self._on_recovery = on_recovery
        self._clock = clock
        self.bound = bound
        self.down_since: dict[str, float] = {}

    # --- what kopf says ---------------------------------------------------------------------------

    def record(self, message: str) -> None:
        """One of kopf's watch log messages."""
        if _RESTART.match(message):
            self._on_restart(EXPIRED)
            self._on_recovery()
            return
        attempt = _ATTEMPT.match(message)
        if attempt is None:
            return
        outcome, path = attempt.group(1), resource_path(attempt.group(2))
        if outcome == "failed":
            self._on_restart(FAILED)
            self.down_since.setdefault(path, self._clock())
        else:
            self.up(path)

    def up(self, path: str) -> None:
        if self.down_since.pop(path, None) is not None:
            logger.info("the watch of %s works again", path)
            self._on_recovery()

    def install(self) -> None:
        """Read kopf's watch log records. Their level is lowered to DEBUG so the successes
        reach us; a filter passes on only what the configured level would have let through."""
        source = logging.getLogger(KOPF_WATCH_LOGGER)
        threshold = source.getEffectiveLevel()
        health = self

        class Tap(logging.Filter):
            def filter(self, record: logging.LogRecord) -> bool:
                try:
                    health.record(record.getMessage())
                except Exception:  # noqa: BLE001 - a log record must never break kopf
                    pass
                return record.levelno >= threshold

        source.addFilter(Tap())
        source.setLevel(logging.DEBUG)

    # --- what /readyz and the metrics say ---------------------------------------------------------

    def longest_outage(self) -> float:
        """Seconds the longest-failing watch has been down (0 when all work)."""
        if not self.down_since:
            return 0.0
        return self._clock() - min(self.down_since.values())

    def watches_ok(self) -> bool:
        return self.longest_outage() < self.bound

    # --- kaico's own probe ------------------------------------------------------------------------

    async def probe(self, lists: Callable[[str], Awaitable[bool]]) -> None:
        """Forever: while a watch is down, list its resource (one item); success marks it up.
        (kopf logs a retry's success, but not that of a fresh stream after it gave up.)"""
        while True:
            await asyncio.sleep(PROBE_SECONDS)
            for path in list(self.down_since):
                try:
                    works = await lists(path)
                except Exception:  # noqa: BLE001 - a failed probe means: still down
                    works = False
                if works:
                    self.up(path)
