"""Pushes to devices: messages a device did not ask for ("continue on the TV").

The stream handler registers each open WebSocket of a device here
(`async with hub.connected(device_id, ws)`, or `register`/`unregister`).
`hub.notify(device, turn)` is the household's notifier: it sends
`push_json(turn, device)` to every open WebSocket of that device.

With Redis configured, a push is published on the channel
`voice:push:<device id>`, and every server process delivers what it hears on
`voice:push:*` to the sockets it holds, so a push reaches the device whichever
process its WebSocket is connected to. Without Redis, delivery is direct.

`hub.connected_devices()` says which devices have an open WebSocket in this
process and since when (the idle-screen posters look there).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from ..dialog.turn import Turn
from ..people import Device
from .protocol import push_json

logger = logging.getLogger(__name__)
CHANNEL = "voice:push:"
RETRY_SECONDS = 1.0


class PushHub:
    def __init__(self, redis_url: str | None = None) -> None:
        self.redis_url = redis_url
        self._sockets: dict[str, set[web.WebSocketResponse]] = {}
        self._since: dict[str, float] = {}  # device id -> time.monotonic() of its first socket
        self._listener: asyncio.Task[None] | None = None
        self._client: Any = None
        self._subscribed = asyncio.Event()
        self.delivered = 0

    # -- connections ------------------------------------------------------------------

    def register(self, device_id: str, ws: web.WebSocketResponse) -> None:
        if device_id not in self._sockets:
            self._since[device_id] = time.monotonic()
        self._sockets.setdefault(device_id, set()).add(ws)

    def unregister(self, device_id: str, ws: web.WebSocketResponse) -> None:
        sockets = self._sockets.get(device_id)
        if sockets is not None:
            sockets.discard(ws)
            if not sockets:
                del self._sockets[device_id]
                self._since.pop(device_id, None)

    @asynccontextmanager
    async def connected(self, device_id: str, ws: web.WebSocketResponse) -> AsyncIterator[None]:
        """Register `ws` as a socket of the device for the duration of the block."""
        self.register(device_id, ws)
        try:
            yield
        finally:
            self.unregister(device_id, ws)

    def sockets_of(self, device_id: str) -> list[web.WebSocketResponse]:
        return list(self._sockets.get(device_id, ()))

    def connected_devices(self) -> dict[str, float]:
        """Devices with an open WebSocket in this process -> since when (time.monotonic())."""
        return {
            device_id: self._since[device_id]
            for device_id, sockets in self._sockets.items()
            if any(not ws.closed for ws in sockets)
        }

    # -- sending ----------------------------------------------------------------------

    async def notify(self, device: Device, turn: Turn) -> None:
        """The household's notifier: push `turn` to `device`, wherever it is connected."""
        message = push_json(turn, device)
        if self._client is None:
            await self.deliver(device.id, message)
            return
        try:
            await self._client.publish(CHANNEL + device.id, json.dumps(message, ensure_ascii=False))
        except (RedisError, OSError) as exc:  # the push is lost, the turn is not
            logger.warning("could not publish a push to %s: %s", device.id, exc)

    async def deliver(self, device_id: str, message: dict[str, Any]) -> int:
        """Send `message` to the device's sockets in this process; how many got it."""
        sent = 0
        for ws in self.sockets_of(device_id):
            if ws.closed:
                continue
            try:
                await ws.send_json(message)
                sent += 1
            except (ConnectionError, RuntimeError) as exc:  # closing under us
                logger.info("push to %s not sent: %s", device_id, exc)
        self.delivered += sent
        return sent

    # -- the Redis side ---------------------------------------------------------------

    async def start(self) -> None:
        """Subscribe to every device's push channel (when Redis is configured)."""
        if not self.redis_url:
            return
        import redis.asyncio as redis

        self._client = redis.Redis.from_url(
            self.redis_url, socket_connect_timeout=2.0, health_check_interval=10
        )
        self._listener = asyncio.create_task(self._listen(), name="push-listener")
        try:
            await asyncio.wait_for(self._subscribed.wait(), 5.0)
        except TimeoutError:
            logger.warning("push channel not subscribed yet (Redis unreachable); retrying")

    async def _listen(self) -> None:
        down = False
        while True:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(CHANNEL + "*")
                self._subscribed.set()
                if down:
                    logger.warning("push channel subscribed again")
                    down = False
                while True:
                    item = await pubsub.get_message(timeout=1.0)
                    if item is not None and item.get("type") == "pmessage":
                        await self._received(item)
            except (RedisError, OSError) as exc:
                if not down:
                    logger.error("push channel lost (%s); retrying every %g s", exc, RETRY_SECONDS)
                    down = True
                await asyncio.sleep(RETRY_SECONDS)
            finally:
                with suppress(RedisError, OSError):
                    await pubsub.reset()

    async def _received(self, item: dict[str, Any]) -> None:
        channel = item["channel"]
        channel = channel.decode() if isinstance(channel, bytes) else str(channel)
        try:
            message = json.loads(item["data"])
        except ValueError:
            logger.warning("unreadable push on %s", channel)
            return
        await self.deliver(channel[len(CHANNEL) :], message)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
            self._listener = None
        if self._client is not None:
            await self._client.close()
            self._client = None
