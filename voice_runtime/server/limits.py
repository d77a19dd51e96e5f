"""Bounded work: a token bucket per device, and a turn queue that refuses at once when full.

`RateLimiter.check(device_id)` takes one token from the device's bucket
(`rate` per second, up to `burst`) and returns None, or the seconds to wait
(429 with Retry-After). `TurnQueue.slot()` admits a turn when fewer than
`running + waiting` are inside: at most `running` run at a time, the rest
wait their turn; beyond that `QueueFull` is raised immediately (503 with
Retry-After), so no request hangs. `drain()` waits for the turns inside
(graceful shutdown).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

MAX_BUCKETS = 10_000


class QueueFull(Exception):
    """The turn queue is full: try again after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimiter:
    """A token bucket per key (device id)."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("the rate must be positive and the burst at least 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def check(self, key: str) -> int | None:
        """Take a token for `key`: None when allowed, else whole seconds to wait (>= 1)."""
        now = self._clock()
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > MAX_BUCKETS:
                self._forget_full(now)
            return None
        self._buckets[key] = (tokens, now)
        return max(1, math.ceil((1.0 - tokens) / self.rate))

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled (they are the same as no bucket)."""
        for key, (tokens, at) in list(self._buckets.items()):
            if tokens + (now - at) * self.rate >= self.burst:
                del self._buckets[key]


class TurnQueue:
    """At most `running` turns at a time, `waiting` more in line; the rest refused."""

    def __init__(self, running: int, waiting: int, max_wait: float = 30.0) -> None:
        if running < 1 or waiting < 0:
            raise ValueError("running must be at least 1 and waiting at least 0")
        self.running = running
        self.waiting = waiting
        self.max_wait = max_wait
        self._inside = 0
        self._semaphore = asyncio.Semaphore(running)
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def inside(self) -> int:
        """Turns running or waiting now."""
        return self._inside

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold a place for one turn; QueueFull at once when there is none."""
        if self._inside >= self.running + self.waiting:
            raise QueueFull(
                f"server busy: {self.running} turns running and {self.waiting} waiting", 1
            )
        self._inside += 1
        self._idle.clear()
        try:
            try:
                await asyncio.wait_for(self._semaphore.acquire(), self.max_wait)
            except TimeoutError:
                raise QueueFull(
                    f"server busy: waited {self.max_wait:g} s for a turn to finish", 1
                ) from None
            try:
                yield
            finally:
                self._semaphore.release()
        finally:
            self._inside -= 1
            if not self._inside:
                self._idle.set()

    async def drain(self, timeout: float) -> bool:
        """Wait until no turn is inside (True), or `timeout` seconds passed (False)."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True


@dataclass
class Limits:
    """The limits of one server process."""

    rate: RateLimiter
    queue: TurnQueue
    max_body: int = 16 * 1024
