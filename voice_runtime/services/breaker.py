"""A circuit breaker per brand service, so a dead service costs no waiting.

closed --(N consecutive failures)--> open --(cool-down elapsed)--> half-open
half-open --(the one trial call succeeds)--> closed
half-open --(the trial call fails)--> open (a fresh cool-down)

While open, calls are refused at once ("circuit open"); half-open lets exactly
one trial call through at a time. The clock is injectable for tests.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable


class BreakerState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitBreaker:
    """Counts consecutive failures of one service and decides whether to call it."""

    def __init__(
        self,
        failure_threshold: int = 3,
        cool_down: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if cool_down < 0:
            raise ValueError("cool_down must not be negative")
        self.failure_threshold = failure_threshold
        self.cool_down = cool_down
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state()

    def _state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self.cool_down:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    @property
    def failures(self) -> int:
        """Consecutive failures so far."""
        return self._failures

    def allow(self) -> bool:
        """Whether a call may go out now; in half-open this takes the single trial slot.

        Every allowed call must be followed by `record_success`, `record_failure`
        or (when abandoned, e.g. cancelled) `release`.
        """
        with self._lock:
            state = self._state()
            if state is BreakerState.CLOSED:
                return True
            if state is BreakerState.OPEN or self._trial_running:
                return False
            self._trial_running = True
            return True

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_running = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._opened_at is not None or self._failures >= self.failure_threshold:
                self._opened_at = self._clock()
            self._trial_running = False

    def release(self) -> None:
        """Give back the half-open trial slot of a call that never finished."""
        with self._lock:
            self._trial_running = False
