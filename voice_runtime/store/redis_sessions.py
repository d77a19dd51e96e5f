"""Sessions in Redis (redis-py's asyncio client), shared by several server processes.

Keys: `voice:session:<device>` (the session's JSON, expiring after the idle
timeout), `voice:person:<user>` (the person's shared state) and
`voice:lock:<key>` (a Redis lock held for one turn). When Redis cannot be
reached every operation raises `StoreUnavailable` with one line saying so.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as redis
from redis.exceptions import LockError, RedisError

from ..dialog.session import Session
from .sessions import PersonState, StoreUnavailable

logger = logging.getLogger(__name__)

PREFIX = "voice:"
LOCK_TIMEOUT = 30.0  # a crashed process frees its conversation after this long
LOCK_WAIT = 10.0
PERSON_TTL = 30 * 24 * 3600


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 6379}"


class RedisSessionStore:
    def __init__(self, url: str, idle_timeout: float = 300.0) -> None:
        self.idle_timeout = idle_timeout
        self.where = _where(url)
        self.client: redis.Redis = redis.Redis.from_url(
            url, socket_timeout=2.0, socket_connect_timeout=2.0
        )

    def _unavailable(self, exc: Exception) -> StoreUnavailable:
        return StoreUnavailable(f"session store unavailable: Redis at {self.where}: {exc}")

    async def load(self, device: str) -> Session | None:
        try:
            raw = await self.client.get(f"{PREFIX}session:{device}")
        except RedisError as exc:
            raise self._unavailable(exc) from exc
        if raw is None:
            return None
        try:
            return Session.from_json(json.loads(raw))
        except ValueError as exc:  # written by another version: start afresh, say so
            logger.warning("discarding unreadable session of %s: %s", device, exc)
            return None

    async def save(self, session: Session) -> None:
        data = json.dumps(session.to_json(), ensure_ascii=False, separators=(",", ":"))
        ttl = max(1, int(self.idle_timeout))
        try:
            await self.client.set(f"{PREFIX}session:{session.device}", data, ex=ttl)
        except RedisError as exc:
            raise self._unavailable(exc) from exc

    async def load_person(self, user: str) -> PersonState:
        try:
            raw = await self.client.get(f"{PREFIX}person:{user}")
        except RedisError as exc:
            raise self._unavailable(exc) from exc
        data: Any = json.loads(raw) if raw else {}
        return data if isinstance(data, dict) else {}

    async def save_person(self, user: str, state: PersonState) -> None:
        data = json.dumps(state, ensure_ascii=False, separators=(",", ":"))
        try:
            await self.client.set(f"{PREFIX}person:{user}", data, ex=PERSON_TTL)
        except RedisError as exc:
            raise self._unavailable(exc) from exc

    async def forget(self, device: str) -> None:
        try:
            await self.client.delete(f"{PREFIX}session:{device}")
        except RedisError as exc:
            raise self._unavailable(exc) from exc

    @asynccontextmanager
    async def _held(self, key: str) -> AsyncIterator[None]:
        lock = self.client.lock(
            f"{PREFIX}lock:{key}",
            timeout=LOCK_TIMEOUT,
            sleep=0.005,
            blocking_timeout=LOCK_WAIT,
            thread_local=False,
        )
        try:
            acquired = await lock.acquire()
        except RedisError as exc:
            raise self._unavailable(exc) from exc
        if not acquired:
            raise StoreUnavailable(f"conversation {key} is busy (waited {LOCK_WAIT:g} s)")
        try:
            yield
        finally:
            try:
                await lock.release()
            except (LockError, RedisError) as exc:  # expired or Redis gone: nothing to free
                logger.warning("could not release the lock of %s: %s", key, exc)

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        return self._held(key)

    async def ping(self) -> None:
        try:
            await self.client.ping()
        except RedisError as exc:
            raise self._unavailable(exc) from exc

    async def close(self) -> None:
        await self.client.close()
