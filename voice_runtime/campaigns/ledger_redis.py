"""The caps and budget ledger in Redis: one Lua script checks and counts atomically.

Redis runs a script without interleaving any other command, so every server
process's reservation sees the counts of all earlier ones. Keys of one
campaign share a hash tag (`{<campaign>}`), so the script also runs on a
cluster. Keys, under the prefix (default `voice:`):

    campaign:{C}:total              exposures spent in total
    campaign:{C}:day:<date>         spent on that campaign-local date
    campaign:{C}:s:<subject>:day:<date>     the subject's exposures that day
    campaign:{C}:s:<subject>:week:<week>    ... that ISO week
    campaign:{C}:s:<subject>:last           the last exposure (epoch ms)

Day and week keys expire a few days after their period; the total a month
after the flight ends.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as redis
from redis.exceptions import RedisError

from ..store.sessions import StoreUnavailable
from .ledger import (
    AHEAD_OF_PACE,
    BUDGET_SPENT,
    DAILY_BUDGET_SPENT,
    LedgerState,
    cap_reason,
    day_key,
    paced_limit,
    week_key,
)
from .model import Campaign

DAY_TTL = 3 * 24 * 3600
WEEK_TTL = 9 * 24 * 3600
TOTAL_TTL_AFTER_FLIGHT = 30 * 24 * 3600

# KEYS: total, campaign day, subject day, subject week, subject last
# ARGV: budget, paced limit, daily budget, cap/day, cap/week, min gap ms (-1: none),
#       now ms, total ttl, day ttl, week ttl, last ttl
RESERVE = """
local total = tonumber(redis.call('GET', KEYS[1]) or '0')
if total >= tonumber(ARGV[1]) then return 1 end
if total >= tonumber(ARGV[2]) then return 2 end
local limit = tonumber(ARGV[3])
local today = tonumber(redis.call('GET', KEYS[2]) or '0')
if limit >= 0 and today >= limit then return 3 end
local day = tonumber(redis.call('GET', KEYS[3]) or '0')
limit = tonumber(ARGV[4])
if limit >= 0 and day >= limit then return 4 end
local week = tonumber(redis.call('GET', KEYS[4]) or '0')
limit = tonumber(ARGV[5])
if limit >= 0 and week >= limit then return 5 end
local now = tonumber(ARGV[7])
local last = redis.call('GET', KEYS[5])
local gap = tonumber(ARGV[6])
if last then last = tonumber(last) end
if gap >= 0 and last and now - last < gap then return 6 end
redis.call('SET', KEYS[1], total + 1, 'EX', ARGV[8])
redis.call('SET', KEYS[2], today + 1, 'EX', ARGV[9])
redis.call('SET', KEYS[3], day + 1, 'EX', ARGV[9])
redis.call('SET', KEYS[4], week + 1, 'EX', ARGV[10])
if not last or now > last then last = now end
redis.call('SET', KEYS[5], string.format('%d', last), 'EX', ARGV[11])
return 0
"""


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 6379}"


def _ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


class RedisLedger:
    """Caps and budgets shared by every server process using the same Redis."""

    def __init__(self, url: str, prefix: str = "voice:") -> None:
        self.prefix = prefix
        self.where = _where(url)
        self.client: redis.Redis = redis.Redis.from_url(
            url, socket_timeout=2.0, socket_connect_timeout=2.0
        )
        self._script = self.client.register_script(RESERVE)

    def _unavailable(self, exc: Exception) -> StoreUnavailable:
        return StoreUnavailable(f"campaign ledger unavailable: Redis at {self.where}: {exc}")

    def keys(self, campaign: Campaign, subject: str, now: datetime) -> list[str]:
        base = f"{self.prefix}campaign:{{{campaign.id}}}"
        day, week = day_key(campaign, now), week_key(campaign, now)
        return [
            f"{base}:total",
            f"{base}:day:{day}",
            f"{base}:s:{subject}:day:{day}",
            f"{base}:s:{subject}:week:{week}",
            f"{base}:s:{subject}:last",
        ]

    async def reserve(self, campaign: Campaign, subject: str, now: datetime) -> str | None:
        caps, budget = campaign.caps, campaign.budget
        gap_ms = round(caps.min_gap.total_seconds() * 1000) if caps.min_gap else -1
        flight_left = int((campaign.flight.end - now).total_seconds())
        args = [
            budget.total,
            paced_limit(campaign, now),
            -1 if budget.per_day is None else budget.per_day,
            -1 if caps.per_day is None else caps.per_day,
            -1 if caps.per_week is None else caps.per_week,
            gap_ms,
            _ms(now),
            max(0, flight_left) + TOTAL_TTL_AFTER_FLIGHT,
            DAY_TTL,
            WEEK_TTL,
            max(DAY_TTL, gap_ms // 1000 + DAY_TTL),
        ]
        try:
            code = int(await self._script(keys=self.keys(campaign, subject, now), args=args))
        except RedisError as exc:
            raise self._unavailable(exc) from exc
        return _REASONS[code](campaign) if code else None

    @staticmethod
    def _parse(values: Sequence[Any]) -> LedgerState:
        total, today, day, week, last = (int(v) if v is not None else None for v in values)
        return LedgerState(
            day_count=day or 0,
            week_count=week or 0,
            last_exposure=None if last is None else datetime.fromtimestamp(last / 1000, UTC),
            total_spent=total or 0,
            spent_today=today or 0,
        )

    async def state(self, campaign: Campaign, subject: str, now: datetime) -> LedgerState:
        return (await self.states([campaign], subject, now))[0]

    async def states(
        self, campaigns: Sequence[Campaign], subject: str, now: datetime
    ) -> list[LedgerState]:
        if not campaigns:
            return []
        try:
            if len(campaigns) == 1:
                rows = [await self.client.mget(self.keys(campaigns[0], subject, now))]
            else:
                async with self.client.pipeline(transaction=False) as pipe:
                    for campaign in campaigns:
                        pipe.mget(self.keys(campaign, subject, now))
                    rows = await pipe.execute()
        except RedisError as exc:
            raise self._unavailable(exc) from exc
        return [self._parse(row) for row in rows]

    async def close(self) -> None:
        await self.client.close()


_REASONS: dict[int, Callable[[Campaign], str]] = {
    1: lambda c: BUDGET_SPENT,
    2: lambda c: AHEAD_OF_PACE,
    3: lambda c: DAILY_BUDGET_SPENT,
    4: lambda c: cap_reason(c, "day"),
    5: lambda c: cap_reason(c, "week"),
    6: lambda c: cap_reason(c, "gap"),
}
