"""Idle-screen posters: sponsored cards pushed to screens nobody is talking to.

Every `interval` seconds `PosterLoop` looks at the devices with an open
WebSocket in this process (the push hub knows them). A device with a screen
(a TV, a phone) that has been idle for at least `idle` seconds (no turn since,
nor since its socket opened) is offered to the campaigns for the placement
`idle_screen`; the engine decides as for any sponsored line (scenes, caps per
person across all their devices, budget, pacing). A chosen poster is pushed as

    {"type": "push", "reason": "poster", "turn": turn_json(...)}

with the card (its title starts with the disclosure) and the sponsored speech;
the offer is the person's, so "yes" on that screen deep-links like any offer.
Never a poster while the device's conversation waits for an answer.

`Activity` holds when each device last had a turn in this process: the app
records every turn of a device (REST and WebSocket) through a household
observer, and a conversation handed to a device counts as a turn there.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from contextlib import AsyncExitStack

from ..campaigns.placement import Placements
from ..dialog.session import Session
from ..dialog.turn import Turn
from ..household.home import Household
from ..people import Device
from ..store.devices import DeviceRegistry
from ..store.sessions import StoreUnavailable
from .protocol import turn_json
from .push import PushHub

logger = logging.getLogger(__name__)
LOCK_WAIT = 1.0  # a conversation busy this long is skipped until the next round


class Activity:
    """When each device last had a turn (`clock`: time.monotonic)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._last: dict[str, float] = {}

    def turned(self, device_id: str) -> None:
        self._last[device_id] = self.clock()

    def last(self, device_id: str) -> float | None:
        return self._last.get(device_id)

    def idle_for(self, device_id: str, since: float) -> float:
        """Seconds without a turn, counting from `since` at the earliest (the socket opened)."""
        last = self._last.get(device_id)
        return self.clock() - max(since, last if last is not None else since)

    def forget(self, keep: set[str]) -> None:
        """Drop the devices not in `keep` (their sockets closed)."""
        for device_id in set(self._last) - keep:
            del self._last[device_id]

    async def observe(self, turn: Turn, device: Device, session: Session) -> Turn:
        """A household turn observer: the device just had a turn."""
        self.turned(device.id)
        return turn


def poster_json(turn: Turn, device: Device) -> dict[str, object]:
    return {"type": "push", "reason": "poster", "turn": turn_json(turn, device)}


class PosterLoop:
    """The background task of one server process (see the module)."""

    def __init__(
        self,
        household: Household,
        placements: Placements,
        hub: PushHub,
        registry: DeviceRegistry,
        activity: Activity,
        interval: float,
        idle: float,
    ) -> None:
        self.household = household
        self.placements = placements
        self.hub = hub
        self.registry = registry
        self.activity = activity
        self.interval = interval
        self.idle = idle
        self.pushed = 0  # posters delivered by this process

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.round()
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad round must not end the posters
                logger.exception("idle-screen posters: a round failed")

    async def round(self) -> int:
        """One look at every connected device; how many posters were pushed."""
        connected = self.hub.connected_devices()
        self.activity.forget(set(connected))
        pushed = 0
        for device_id, since in connected.items():
            if self.activity.idle_for(device_id, since) < self.idle:
                continue
            record = await asyncio.to_thread(self.registry.record, device_id)
            if record is None or record.revoked or not record.device.has_screen:
                continue
            try:
                pushed += await self.offer(record.device)
            except StoreUnavailable as exc:
                logger.warning("no poster for %s: %s", device_id, exc)
        return pushed

    async def offer(self, device: Device) -> int:
        """Ask the campaigns for a poster for `device` and push it; 1 if it was delivered."""
        async with AsyncExitStack() as stack:
            try:
                async with asyncio.timeout(LOCK_WAIT):
                    await stack.enter_async_context(self.household.sessions.lock(device.id))
            except TimeoutError:
                return 0  # a turn is running on it: not idle after all
            session = await self.household.session_of(device)
            if session.state.waiting:
                return 0
            turn = await self.placements.poster(device, session)
        if turn is None:
            return 0
        sent = await self.hub.deliver(device.id, poster_json(turn, device))
        if sent:
            self.pushed += 1
            logger.info("poster pushed to %s: %s", device.id, turn.response.card)
        return 1 if sent else 0
