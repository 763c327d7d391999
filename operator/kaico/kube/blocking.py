"""A ``KubeClient`` for blocking callers: its event loop runs in a thread of its own.

The CLI commands are plain functions, and the active probes are blocking code that polls; both
call ``run(coroutine)`` and wait for the answer, while the client keeps one session (one
connection pool, one TLS handshake) on its own loop for the whole command.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from kaico.kube.client import KubeClient
from kaico.kube.config import Credentials

T = TypeVar("T")


class BlockingClient:
    """``client`` lives on ``loop``, which a daemon thread runs until ``close``."""

    def __init__(self, credentials: Credentials, **options: Any):
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="kaico-kube", daemon=True)
        self._thread.start()
        self.client = KubeClient(credentials, **options)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the client's loop; its result or its exception."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    async def probe_request(self, method: str, path: str, body: dict[str, Any] | None,
                            accept: str) -> tuple[int, str]:
        """One request in the shape the probes send (``LoopRequest``), on ``loop``."""
        return await self.client.send(method, path, body, accept=accept)

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self.run(self.client.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()

    def __enter__(self) -> BlockingClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
