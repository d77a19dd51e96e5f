"""A person's right to see and to erase what is kept about them.

    privacy = Privacy(people, events, devices=registry, sessions_of=..., forget_sessions=...)
    data = await privacy.export("alice")     # everything kept, JSON-ready
    gone = await privacy.delete("alice")     # events, sessions and the person row go

`export` gathers the person row and opt-outs (`PeopleStore`), their campaign
events per brand with the pseudonym each brand knows them by (`EventStore`),
their registered devices (`DeviceRegistry.list(user)`) and, when the household
server gives a way to read them, their sessions. `delete` removes the events
(every brand), the sessions and the person row; the opt-outs stay as a
tombstone, so a deleted person is never marketed to again. No audio is kept
anywhere, so there is none to export or delete.

The session callables may be plain functions or coroutine functions; the
stores' blocking calls run in `asyncio.to_thread`.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from ..people import check_id
from ..store.devices import DeviceRecord, DeviceRegistry
from .events import EventStore
from .people import PeopleStore

FORMAT_VERSION = 1
NO_AUDIO = "no audio is kept: speech is recognised, then discarded"

SessionsOf = Callable[[str], list[dict[str, Any]] | Awaitable[list[dict[str, Any]]]]
ForgetSessions = Callable[[str], int | Awaitable[int]]
T = TypeVar("T")


@dataclass(frozen=True)
class Deleted:
    """What a privacy delete removed, and the tombstone it kept."""

    user: str
    events: int
    events_by_brand: dict[str, int]
    sessions: int | None  # None: no session store was given
    person: bool
    tombstone: list[str]  # the opt-outs kept: brand ids, '*' for all

    def summary(self) -> str:
        brands = len(self.events_by_brand)
        parts = [f"{self.events} event(s) of {brands} brand(s)"]
        no_store = "sessions not reachable here (no session store given)"
        parts.append(no_store if self.sessions is None else f"{self.sessions} session(s)")
        parts.append("the person row" if self.person else "no person row")
        kept = ", ".join(self.tombstone) if self.tombstone else "none"
        return f"deleted for {self.user}: {', '.join(parts)}; kept opt-outs (tombstone): {kept}"


class Privacy:
    """Export and delete one person's data across the stores that hold it."""

    def __init__(
        self,
        people: PeopleStore,
        events: EventStore,
        devices: DeviceRegistry | None = None,
        sessions_of: SessionsOf | None = None,
        forget_sessions: ForgetSessions | None = None,
    ) -> None:
        self.people = people
        self.events = events
        self.devices = devices
        self.sessions_of = sessions_of
        self.forget_sessions = forget_sessions

    async def export(self, user: str, now: datetime | None = None) -> dict[str, Any]:
        """Everything kept about `user`, JSON-ready."""
        check_id(user, "user id")
        person = await asyncio.to_thread(self.people.person, user)
        opt_outs = await asyncio.to_thread(self.people.opt_outs, user)
        by_brand = await asyncio.to_thread(self.events.events_of, user)
        data: dict[str, Any] = {
            "format": FORMAT_VERSION,
            "user": user,
            "exported_at": (now or datetime.now(UTC)).isoformat(),
            "person": person.to_dict() if person else None,
            "opt_outs": [o.to_dict() for o in opt_outs],
            "campaign_events": {
                brand: {
                    "pseudonym": self.events.pseudonym(user, brand),
                    "events": [_without_ids(e.to_dict()) for e in events],
                }
                for brand, events in by_brand.items()
            },
            "audio": NO_AUDIO,
        }
        if self.devices is not None:
            records = await asyncio.to_thread(self.devices.list, user)
            data["devices"] = [_device(r) for r in records]
        if self.sessions_of is not None:
            data["sessions"] = list(await _call(self.sessions_of, user))
        return data

    async def delete(self, user: str) -> Deleted:
        """Delete the person's events, sessions and person row; keep their opt-outs."""
        check_id(user, "user id")
        by_brand = await asyncio.to_thread(self.events.events_of, user)
        sessions = None
        if self.forget_sessions is not None:
            sessions = int(await _call(self.forget_sessions, user))
        deleted = await asyncio.to_thread(self.events.delete_user, user)
        person = await asyncio.to_thread(self.people.forget, user)
        tombstone = [o.brand for o in await asyncio.to_thread(self.people.opt_outs, user)]
        return Deleted(
            user=user,
            events=deleted,
            events_by_brand={brand: len(events) for brand, events in by_brand.items()},
            sessions=sessions,
            person=person,
            tombstone=tombstone,
        )


async def _call(function: Callable[[str], T | Awaitable[T]], user: str) -> T:
    """Call a plain or coroutine function (a plain one off the event loop)."""
    result: object
    if inspect.iscoroutinefunction(function):
        result = function(user)
    else:
        result = await asyncio.to_thread(_apply, function, user)
    if inspect.isawaitable(result):
        result = await result
    return cast(T, result)


def _apply(function: Callable[[str], object], user: str) -> object:
    return function(user)


def _without_ids(event: dict[str, object]) -> dict[str, object]:
    """An event as exported: the brand and pseudonym are already its heading."""
    return {k: v for k, v in event.items() if k not in ("brand", "person")}


def _device(record: DeviceRecord) -> dict[str, object]:
    device = record.device
    return {
        "id": device.id,
        "type": device.type,
        "name": device.name,
        "room": device.room,
        "household": device.household,
        "language": device.language,
        "added_at": record.created_at.isoformat(),
        "revoked_at": record.revoked_at.isoformat() if record.revoked_at else None,
    }
