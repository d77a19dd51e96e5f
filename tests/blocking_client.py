"""A test harness: `ServiceClient` called from synchronous test code, on its own loop
in a background thread (the assistant itself awaits the client on its loop)."""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType

from voice_runtime.services.breaker import CircuitBreaker
from voice_runtime.services.client import (
    ServiceClient,
    ServiceFailure,
    ServiceOutcome,
    ServiceRequest,
    _log_failure,
)
from voice_runtime.services.signing import ServiceError


class BlockingServiceClient:
    """`ServiceClient` for non-async code: its own event loop in a background thread.

    `call` blocks only the calling thread (the call runs on the background loop
    via `asyncio.run_coroutine_threadsafe`); `close` stops the loop and thread.
    """

    def __init__(self, client: ServiceClient | None = None) -> None:
        self.client = client if client is not None else ServiceClient()
        self._loop = asyncio.new_event_loop()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="voice-services", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            self._loop.run_until_complete(self._loop.shutdown_default_executor())
            self._loop.close()

    def breaker(self, url: str) -> CircuitBreaker:
        return self.client.breaker(url)

    def call(
        self, url: str, request: ServiceRequest, secret: bytes, timeout: float = 1.5
    ) -> ServiceOutcome:
        """Like `ServiceClient.call`, from any thread but the client's own."""
        if self._closed:
            raise ServiceError("BlockingServiceClient is closed")
        if threading.current_thread() is self._thread:
            raise ServiceError("BlockingServiceClient.call from its own loop; use ServiceClient")
        future = asyncio.run_coroutine_threadsafe(
            self.client.call(url, request, secret, timeout), self._loop
        )
        try:
            return future.result(timeout + 1.0)  # the call keeps its own deadline
        except TimeoutError:
            future.cancel()
            failure = ServiceFailure("timeout", f"no result within {timeout + 1.0:g} s")
            return _log_failure(url, request, failure)

    def close(self) -> None:
        """Close the HTTP session, stop the loop and join the thread (idempotent)."""
        if self._closed:
            return
        self._closed = True
        asyncio.run_coroutine_threadsafe(self.client.close(), self._loop).result(5.0)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5.0)

    def __enter__(self) -> BlockingServiceClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
