"""kaico's one Kubernetes API client: small, async, over aiohttp.

Every command uses it: the operator's writes (reports, profile status, Events, the leader Lease),
its cluster reads and probes, ``kaico cluster`` and ``kaico cleanup``. kopf already depends on
aiohttp and watches with it; the official ``kubernetes`` package would add requests, urllib3,
websocket-client and oauthlib to the image and costs more memory than the whole operator
(docs/benchmarks.md). Credentials come from ``kaico.kube.config`` (kubeconfig, exec plugins,
in-cluster), so the operator's writes and kopf's watches authenticate the same way.

Requests that may succeed later are retried: 429 and 5xx answers and connection errors, with
exponential backoff and full jitter, honouring ``Retry-After``, within a bounded number of
attempts and a bounded total wait (``RetryPolicy``). A 4xx that will fail again is not retried;
a 422 (the API rejected what kaico built) is logged as a bug. Every attempt is counted
(``on_request``), so the API cost of a change, retries included, shows in ``/metrics``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from kaico.kube.config import Credentials

MERGE_PATCH = "application/merge-patch+json"
# Connections kaico's own requests may hold at once (aiohttp's default is 100). Each TLS connection
# costs an asyncio read buffer and OpenSSL state; the report writer keeps 16 requests in flight.
CONNECTION_LIMIT = 32
# Answers worth another attempt: throttled, or the server (or what is behind it) failing.
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})

logger = logging.getLogger("kaico.kube.client")


class ApiError(Exception):
    """A non-2xx answer: ``status`` and the API's message (status 0: no answer at all)."""

    def __init__(self, method: str, path: str, status: int, message: str):
        self.status = status
        self.message = message
        super().__init__(f"{method} {path}: HTTP {status}: {message}" if status
                         else f"{method} {path}: no answer: {message}")


@dataclass(frozen=True)
class Response:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class RetryPolicy:
    """How long a request keeps trying: at most ``attempts`` sends and ``budget`` seconds of
    waiting between them. Waits grow as ``base * 2**n`` up to ``cap`` with full jitter; a
    ``Retry-After`` the server sends is waited instead (it is never cut short)."""

    attempts: int = 6
    base: float = 0.5
    cap: float = 8.0
    budget: float = 30.0

    def delay(self, retry: int, retry_after: float | None, draw: Callable[[], float]) -> float:
        """The wait before retry number ``retry`` (1-based)."""
        if retry_after is not None:
            return retry_after + draw() * min(1.0, self.base)  # a little spread, never less
        return draw() * min(self.cap, self.base * 2 ** (retry - 1))


NO_RETRY = RetryPolicy(attempts=1)

RequestObserver = Callable[[str, int], None]
Sleep = Callable[[float], Awaitable[None]]


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` in seconds (the API server sends delta-seconds; a date is not used)."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(0.0, seconds)


class _Attempt(Exception):
    """One attempt failed in a way worth retrying."""

    def __init__(self, status: int, text: str, retry_after: float | None):
        self.status, self.text, self.retry_after = status, text, retry_after


class KubeClient:
    """JSON requests against the API server of ``credentials``.

    ``sleep``, ``draw`` (uniform in [0, 1)) and ``clock`` are injectable so retries are tested
    without waiting."""

    def __init__(self, credentials: Credentials, on_request: RequestObserver | None = None,
                 retry: RetryPolicy = RetryPolicy(), *, timeout: float = 60.0,
                 sleep: Sleep = asyncio.sleep, draw: Callable[[], float] = random.random,
                 clock: Callable[[], float] = time.monotonic):
        self._credentials = credentials
        self._ssl = credentials.ssl_context()  # a bad CA or key fails here, not mid-request
        self._on_request = on_request
        self.retry = retry
        self._timeout = timeout
        self._sleep, self._draw, self._clock = sleep, draw, clock
        self._session: aiohttp.ClientSession | None = None
        # Requests in flight per session: a replaced session closes when its last one ends.
        self._in_flight: dict[aiohttp.ClientSession, int] = {}
        self._retiring: set[aiohttp.ClientSession] = set()

    @property
    def credentials(self) -> Credentials:
        return self._credentials

    @property
    def server(self) -> str:
        return self._credentials.server

    @property
    def session(self) -> aiohttp.ClientSession:
        # Created on first use, inside the running event loop (aiohttp requires a loop).
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._ssl, limit=CONNECTION_LIMIT),
                headers={**self._credentials.headers(), "User-Agent": "kaico"},
                timeout=aiohttp.ClientTimeout(total=self._timeout),
            )
        return self._session

    async def use(self, credentials: Credentials) -> None:
        """Switch to fresh credentials (a re-login). The old session is closed: at once when
        idle, else as soon as the requests still using it end."""
        self._ssl = credentials.ssl_context()
        self._credentials = credentials
        old, self._session = self._session, None
        if old is not None and not old.closed:
            if self._in_flight.get(old, 0):
                self._retiring.add(old)
            else:
                await old.close()

    async def close(self) -> None:
        for session in (self._session, *self._retiring):
            if session is not None and not session.closed:
                await session.close()
        self._session = None
        self._retiring.clear()

    async def __aenter__(self) -> KubeClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def _once(self, method: str, url: str, data: str | None, headers: dict[str, str],
                    limit: int | None) -> tuple[int, str]:
        session = self.session
        self._in_flight[session] = self._in_flight.get(session, 0) + 1
        status = 0
        try:
            async with session.request(method, url, data=data, headers=headers) as response:
                status = response.status
                if limit is None:
                    text = await response.text(errors="replace")
                else:
                    raw = await response.content.read(limit)
                    text = raw.decode(errors="replace")
                if status in RETRIED_STATUSES:
                    raise _Attempt(status, text, retry_after_seconds(response.headers.get("Retry-After")))
                return status, text
        except (TimeoutError, aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as error:
            raise _Attempt(0, str(error) or type(error).__name__, None) from None
        finally:
            if self._on_request is not None:
                self._on_request(method, status)
            self._in_flight[session] -= 1
            if not self._in_flight[session]:
                del self._in_flight[session]
                if session in self._retiring:
                    self._retiring.discard(session)
                    await session.close()

    async def send(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        content_type: str = "application/json",
        accept: str = "application/json",
        limit: int | None = None,
        retry: RetryPolicy | None = None,
    ) -> tuple[int, str]:
        """Send one request, retried as the policy allows; the final status and body text,
        whatever the status; ``ApiError`` (status 0) when no attempt got an answer.
        ``limit`` caps the body read (a scraped /metrics page); ``retry`` overrides the
        client's policy for this request."""
        policy = retry or self.retry
        url = self.server.rstrip("/") + path
        data = json.dumps(body) if body is not None else None
        headers = {"Accept": accept}
        if data is not None:
            headers["Content-Type"] = content_type
        waited = 0.0
        started = self._clock()
        for attempt in range(1, policy.attempts + 1):
            try:
                status, text = await self._once(method, url, data, headers, limit)
            except _Attempt as failed:
                status, text = failed.status, failed.text
                if attempt == policy.attempts:
                    break
                delay = policy.delay(attempt, failed.retry_after, self._draw)
                spent = max(waited, self._clock() - started)
                if spent + delay > policy.budget:
                    logger.warning("%s %s: %s; not retrying (%.1fs of the %.0fs budget spent)",
                                   method, path.partition("?")[0], status or text, spent, policy.budget)
                    break
                logger.info("%s %s: %s; retry %d in %.2fs", method, path.partition("?")[0],
                            status or text, attempt, delay)
                await self._sleep(delay)
                waited += delay
                continue
            if status == 422:
                logger.error("%s %s was rejected as invalid (HTTP 422): kaico built a body the API "
                             "refuses; this is a bug, please report it with this line: %s",
                             method, path.partition("?")[0], text[:1000])
            return status, text
        if status == 0:
            raise ApiError(method, path.partition("?")[0], 0, text[:500])
        return status, text

    async def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        content_type: str = "application/json",
        allowed: tuple[int, ...] = (),
        retry: RetryPolicy | None = None,
    ) -> Response:
        """Send one request; a non-2xx status not in ``allowed`` raises ``ApiError``."""
        status, text = await self.send(method, path, body, content_type, retry=retry)
        try:
            parsed = json.loads(text) if text else {}
        except json.JSONDecodeError:
            parsed = {"message": text}
        if not isinstance(parsed, dict):
            parsed = {}
        if status >= 300 and status not in allowed:
            raise ApiError(method, path, status, str(parsed.get("message", text))[:500])
        return Response(status, parsed)

    async def get(self, path: str, allowed: tuple[int, ...] = ()) -> Response:
        return await self.request("GET", path, allowed=allowed)

    async def create(self, path: str, body: dict[str, Any], allowed: tuple[int, ...] = ()) -> Response:
        return await self.request("POST", path, body, allowed=allowed)

    async def merge_patch(self, path: str, body: dict[str, Any], allowed: tuple[int, ...] = ()) -> Response:
        return await self.request("PATCH", path, body, content_type=MERGE_PATCH, allowed=allowed)

    async def delete(self, path: str, body: dict[str, Any] | None = None) -> Response:
        # 404: already gone, which is what a delete wants.
        return await self.request("DELETE", path, body, allowed=(404,))


def collection_path(group: str, version: str, plural: str, namespace: str | None) -> str:
    """``/apis/<group>/<version>[/namespaces/<ns>]/<plural>`` (``/api/v1/...`` for core)."""
    prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
    if namespace:
        prefix += f"/namespaces/{namespace}"
    return f"{prefix}/{plural}"
