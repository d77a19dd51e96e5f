"""Where conversations are kept between turns: one `Session` per device, one state per person.

A `SessionStore` loads and saves sessions by device id and the shared state of
a person by user id, and holds a lock per key so that two turns of one
conversation never interleave (Rasa's tracker store and lock store, in one).
`MemorySessionStore` is the embedded default; `RedisSessionStore`
(`store/redis_sessions.py`) serves several server processes. A session left
idle longer than `idle_timeout` seconds is forgotten.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

from ..dialog.session import Session
from ..errors import VoiceError

PersonState = dict[str, Any]


class StoreUnavailable(VoiceError):
    """The session store cannot be reached (Redis down): the turn cannot run now."""


class SessionStore(Protocol):
    idle_timeout: float

    async def load(self, device: str) -> Session | None:
        """The saved session of a device; None if there is none or it went idle."""
        ...

    async def save(self, session: Session) -> None:
        """Keep `session` (keyed by its device) for `idle_timeout` seconds."""
        ...

    async def load_person(self, user: str) -> PersonState:
        """The state a person's devices share (empty if none)."""
        ...

    async def save_person(self, user: str, state: PersonState) -> None: ...

    async def forget(self, device: str) -> None:
        """Drop the session of a device."""
        ...

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        """Hold the conversation `key` (a device id) for one turn."""
        ...

    async def close(self) -> None: ...


class MemorySessionStore:
    """Sessions in this process, stored as JSON so they behave as in Redis."""

    def __init__(
        self, idle_timeout: float = 300.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.idle_timeout = idle_timeout
        self._clock = clock
        self._sessions: dict[str, tuple[dict[str, Any], float]] = {}
        self._people: dict[str, PersonState] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._holders: dict[str, int] = {}

    async def load(self, device: str) -> Session | None:
        now = self._clock()
        self._expire(now)
        found = self._sessions.get(device)
        return None if found is None else Session.from_json(found[0])

    async def save(self, session: Session) -> None:
        self._sessions[session.device] = (session.to_json(), self._clock())

    async def load_person(self, user: str) -> PersonState:
        return dict(self._people.get(user, {}))

    async def save_person(self, user: str, state: PersonState) -> None:
        self._people[user] = dict(state)

    async def forget(self, device: str) -> None:
        self._sessions.pop(device, None)

    @asynccontextmanager
    async def _held(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._holders[key] = self._holders.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._holders[key] -= 1
            if not self._holders[key]:  # nobody waits: the lock need not be kept
                del self._holders[key], self._locks[key]

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        return self._held(key)

    async def close(self) -> None:
        return None

    def _expire(self, now: float) -> None:
        for key, (_, seen) in list(self._sessions.items()):
            if now - seen > self.idle_timeout:
                del self._sessions[key]

    def __len__(self) -> int:
        self._expire(self._clock())
        return len(self._sessions)


async def update_person(
    store: SessionStore, user: str, change: Callable[[PersonState], None]
) -> PersonState:
    """Change a person's shared state under the person's own lock (their devices may take
    turns at the same moment); returns the state as saved."""
    async with store.lock(f"person:{user}"):
        state = await store.load_person(user)
        change(state)
        await store.save_person(user, state)
        return state


def open_session_store(redis_url: str | None, idle_timeout: float = 300.0) -> SessionStore:
    """Redis when a URL is given, else in this process."""
    if not redis_url:
        return MemorySessionStore(idle_timeout)
    from .redis_sessions import RedisSessionStore

    return RedisSessionStore(redis_url, idle_timeout)
