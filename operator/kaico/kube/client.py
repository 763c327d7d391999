"""A small async Kubernetes API client for the writes kaico makes (reports, profile status, Events).

kopf watches; it has no public client for arbitrary writes, and the official ``kubernetes``
package costs more memory than the whole operator (reference §D7). This client reuses the
``kopf.ConnectionInfo`` that kaico's login handler obtained, so watching and writing authenticate
the same way. Every request is counted (``on_request``) so the API cost of a change can be
measured from ``/metrics``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import kopf

MERGE_PATCH = "application/merge-patch+json"


class ApiError(Exception):
    """A non-2xx answer: ``status`` and the API's message."""

    def __init__(self, method: str, path: str, status: int, message: str):
        self.status = status
        super().__init__(f"{method} {path}: HTTP {status}: {message}")


@dataclass(frozen=True)
class Response:
    status: int
    body: dict[str, Any]


RequestObserver = Callable[[str, int], None]


class KubeClient:
    """JSON requests against the API server described by a ``kopf.ConnectionInfo``."""

    def __init__(self, info: kopf.ConnectionInfo, on_request: RequestObserver | None = None):
        self._info = info
        self._on_request = on_request
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        # Created on first use, inside the running event loop (aiohttp requires a loop).
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._info.as_ssl_context()),
                headers={**self._info.as_http_headers(), "User-Agent": "kaico"},
                timeout=aiohttp.ClientTimeout(total=60),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        content_type: str = "application/json",
        accept: str = "application/json",
    ) -> tuple[int, str]:
        """Send one request; the status and the body as text, whatever the status."""
        url = self._info.server.rstrip("/") + path
        data = json.dumps(body) if body is not None else None
        headers = {"Accept": accept}
        if data is not None:
            headers["Content-Type"] = content_type
        async with self.session.request(method, url, data=data, headers=headers) as response:
            text = await response.text(errors="replace")
        if self._on_request is not None:
            self._on_request(method, response.status)
        return response.status, text

    async def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        content_type: str = "application/json",
        allowed: tuple[int, ...] = (),
    ) -> Response:
        """Send one request; a non-2xx status not in ``allowed`` raises ``ApiError``."""
        status, text = await self.send(method, path, body, content_type)
        try:
            parsed = json.loads(text) if text else {}
        except json.JSONDecodeError:
            parsed = {"message": text}
        if status >= 300 and status not in allowed:
            raise ApiError(method, path, status, str(parsed.get("message", text))[:500])
        return Response(status, parsed if isinstance(parsed, dict) else {})

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
