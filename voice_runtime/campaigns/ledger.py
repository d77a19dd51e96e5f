"""The caps and budget counter: reserve one exposure atomically, or say why not.

A `Ledger` counts, per campaign, the exposures spent in total and per day,
and per subject (a person's user id; a device id for the simulation's
per-device baseline) the exposures of the day and the week and the last one.
`reserve` checks the campaign's budget, pacing and caps and, only when all
allow it, counts the exposure, in one atomic step: two server processes
serving three devices of one person at once never exceed a cap or the budget.
Days and weeks (Monday to Sunday) are those of the campaign's time zone.

Three implementations: `MemoryLedger` (one process), `RedisLedger` (one Lua
script per reservation; `ledger_redis`) and `SqlLedger` (row locks on
PostgreSQL, the write lock on SQLite; `ledger_sql`). `open_ledger` picks one.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from .model import Campaign
from .scene import local_time

# Even pacing lets a campaign run this share of its total budget (at least one
# exposure) ahead of the straight line from the flight's start to its end.
PACING_ALLOWANCE = 0.02
BUDGET_SPENT = "budget spent"
DAILY_BUDGET_SPENT = "daily budget spent"
AHEAD_OF_PACE = "paced: ahead of its even schedule"


@dataclass(frozen=True)
class LedgerState:
    """What the ledger holds for one campaign and one subject, now.

    `day_count` / `week_count`: the subject's exposures today / this week;
    `last_exposure`: the subject's last one; `total_spent` / `spent_today`:
    the campaign's exposures in total / today (all subjects).
    """

    day_count: int = 0
    week_count: int = 0
    last_exposure: datetime | None = None
    total_spent: int = 0
    spent_today: int = 0


class Ledger(Protocol):
    async def reserve(self, campaign: Campaign, subject: str, now: datetime) -> str | None:
        """Count one exposure of `campaign` to `subject` (None), or the refusal reason."""
        ...

    async def state(self, campaign: Campaign, subject: str, now: datetime) -> LedgerState: ...

    async def states(
        self, campaigns: Sequence[Campaign], subject: str, now: datetime
    ) -> list[LedgerState]:
        """`state` of several campaigns at once (one round trip where the store allows)."""
        ...

    async def close(self) -> None: ...


def day_key(campaign: Campaign, now: datetime) -> str:
    """The campaign-local date, e.g. "2025-03-08"."""
    return local_time(campaign, now).date().isoformat()


def week_key(campaign: Campaign, now: datetime) -> str:
    """The campaign-local ISO week, e.g. "2025-W10" (Monday to Sunday)."""
    year, week, _ = local_time(campaign, now).isocalendar()
    return f"{year}-W{week:02d}"


def flight_fraction(campaign: Campaign, now: datetime) -> float:
    """How much of the flight has passed, 0..1."""
    start, end = campaign.flight.start, campaign.flight.end
    length = (end - start).total_seconds()
    if length <= 0:
        return 1.0
    return min(1.0, max(0.0, (now - start).total_seconds() / length))


def paced_limit(campaign: Campaign, now: datetime) -> int:
    """How many exposures the campaign may have spent in total by `now`."""
    total = campaign.budget.total
    if campaign.pacing != "even":
        return total
    allowance = max(1, math.ceil(total * PACING_ALLOWANCE))
    return min(total, math.floor(total * flight_fraction(campaign, now)) + allowance)


def pacing_ratio(campaign: Campaign, spent: int, now: datetime) -> float:
    """Spent / expected by now under even pacing: below 1 is behind schedule.

    Campaigns paced "asap" count as on schedule (1.0).
    """
    if campaign.pacing != "even":
        return 1.0
    expected = campaign.budget.total * flight_fraction(campaign, now)
    if expected <= 0:
        return 0.0 if spent == 0 else math.inf
    return spent / expected


def describe_gap(gap: timedelta) -> str:
    """4h, 30min, 1h30min, 45s."""
    seconds = int(gap.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}min" if minutes else "")
    return text + (f"{secs}s" if secs or not text else "")


def cap_reason(campaign: Campaign, which: str) -> str:
    caps = campaign.caps
    if which == "day":
        return f"capped: {caps.per_day} a day"
    if which == "week":
        return f"capped: {caps.per_week} a week"
    assert caps.min_gap is not None
    return f"capped: at least {describe_gap(caps.min_gap)} apart"


def refusal(campaign: Campaign, state: LedgerState, now: datetime) -> str | None:
    """Why one more exposure is not allowed given `state`, or None.

    The order (budget, pacing, daily budget, then the person's caps) is the
    order every ledger checks in, the Lua script included.
    """
    if state.total_spent >= campaign.budget.total:
        return BUDGET_SPENT
    if state.total_spent >= paced_limit(campaign, now):
        return AHEAD_OF_PACE
    per_day = campaign.budget.per_day
    if per_day is not None and state.spent_today >= per_day:
        return DAILY_BUDGET_SPENT
    caps = campaign.caps
    if caps.per_day is not None and state.day_count >= caps.per_day:
        return cap_reason(campaign, "day")
    if caps.per_week is not None and state.week_count >= caps.per_week:
        return cap_reason(campaign, "week")
    if (
        caps.min_gap is not None
        and state.last_exposure is not None
        and now - state.last_exposure < caps.min_gap
    ):
        return cap_reason(campaign, "gap")
    return None


@dataclass
class _Person:
    day: str = ""
    day_count: int = 0
    week: str = ""
    week_count: int = 0
    last: datetime | None = None


class MemoryLedger:
    """The ledger of one process (tests, `voice simulate`, a single server)."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._total: dict[str, int] = {}
        self._days: dict[tuple[str, str], int] = {}
        self._people: dict[tuple[str, str], _Person] = {}

    def _state(self, campaign: Campaign, subject: str, now: datetime) -> LedgerState:
        day, week = day_key(campaign, now), week_key(campaign, now)
        person = self._people.get((campaign.id, subject)) or _Person()
        return LedgerState(
            day_count=person.day_count if person.day == day else 0,
            week_count=person.week_count if person.week == week else 0,
            last_exposure=person.last,
            total_spent=self._total.get(campaign.id, 0),
            spent_today=self._days.get((campaign.id, day), 0),
        )

    async def reserve(self, campaign: Campaign, subject: str, now: datetime) -> str | None:
        async with self._lock:
            state = self._state(campaign, subject, now)
            why = refusal(campaign, state, now)
            if why is not None:
                return why
            day, week = day_key(campaign, now), week_key(campaign, now)
            self._total[campaign.id] = state.total_spent + 1
            self._days[(campaign.id, day)] = state.spent_today + 1
            last = now if state.last_exposure is None else max(now, state.last_exposure)
            self._people[(campaign.id, subject)] = _Person(
                day, state.day_count + 1, week, state.week_count + 1, last
            )
            return None

    async def state(self, campaign: Campaign, subject: str, now: datetime) -> LedgerState:
        return self._state(campaign, subject, now)

    async def states(
        self, campaigns: Sequence[Campaign], subject: str, now: datetime
    ) -> list[LedgerState]:
        return [self._state(c, subject, now) for c in campaigns]

    async def close(self) -> None:
        pass


def open_ledger(redis_url: str | None, database_url: str | None) -> Ledger:
    """Redis when `redis_url` is set, else the SQL database at `database_url`, else memory.

    The SQL ledger's tables are created (migrated) here.
    """
    if redis_url:
        from .ledger_redis import RedisLedger

        return RedisLedger(redis_url)
    if database_url:
        from .ledger_sql import SqlLedger

        return SqlLedger.open(database_url)
    return MemoryLedger()


__all__ = [
    "AHEAD_OF_PACE",
    "BUDGET_SPENT",
    "DAILY_BUDGET_SPENT",
    "Ledger",
    "LedgerState",
    "MemoryLedger",
    "open_ledger",
    "pacing_ratio",
    "paced_limit",
    "refusal",
]
