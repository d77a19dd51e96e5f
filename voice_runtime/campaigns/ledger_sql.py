"""The caps and budget ledger in SQL (PostgreSQL or SQLite), atomic across processes.

A reservation is one write transaction: it creates (if need be) and locks the
campaign's total row (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite's
`BEGIN IMMEDIATE` already holds the whole database), reads the counts, and
counts the exposure only when the budget, pacing and caps allow it. Every
reservation of a campaign takes the same first lock, so they run one after
another and never deadlock. Blocking database calls run in a worker thread.

Tables (`migrate(engine, "campaign_ledger", STEPS)`):

    campaign_spend(campaign, day, spent)       day '*' is the total
    campaign_exposures(campaign, subject, day, day_count, week, week_count, last_at)
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..store.database import migrate, open_database, transaction
from .ledger import LedgerState, day_key, refusal, week_key
from .model import Campaign

TOTAL = "*"
STEPS: list[list[str]] = [
    [
        "CREATE TABLE campaign_spend ("
        "campaign VARCHAR(128) NOT NULL, day VARCHAR(10) NOT NULL, "
        "spent INTEGER NOT NULL, PRIMARY KEY (campaign, day))",
        "CREATE TABLE campaign_exposures ("
        "campaign VARCHAR(128) NOT NULL, subject VARCHAR(128) NOT NULL, "
        "day VARCHAR(10) NOT NULL, day_count INTEGER NOT NULL, "
        "week VARCHAR(10) NOT NULL, week_count INTEGER NOT NULL, "
        "last_at DOUBLE PRECISION, PRIMARY KEY (campaign, subject))",
    ]
]

_ENSURE_TOTAL = sa.text(
    "INSERT INTO campaign_spend (campaign, day, spent) VALUES (:c, '*', 0) "
    "ON CONFLICT (campaign, day) DO NOTHING"
)
_SPENT = sa.text("SELECT day, spent FROM campaign_spend WHERE campaign = :c AND day IN ('*', :d)")
_PERSON = sa.text(
    "SELECT day, day_count, week, week_count, last_at FROM campaign_exposures "
    "WHERE campaign = :c AND subject = :s"
)
_SET_SPENT = sa.text(
    "INSERT INTO campaign_spend (campaign, day, spent) VALUES (:c, :d, 1) "
    "ON CONFLICT (campaign, day) DO UPDATE SET spent = campaign_spend.spent + 1"
)
_SET_PERSON = sa.text(
    "INSERT INTO campaign_exposures "
    "(campaign, subject, day, day_count, week, week_count, last_at) "
    "VALUES (:c, :s, :d, :dc, :w, :wc, :t) "
    "ON CONFLICT (campaign, subject) DO UPDATE SET day = :d, day_count = :dc, "
    "week = :w, week_count = :wc, last_at = :t"
)


class SqlLedger:
    """Caps and budgets in the household's SQL database."""

    def __init__(self, engine: Engine, own_engine: bool = False) -> None:
        self.engine = engine
        self._own = own_engine
        self._postgres = engine.dialect.name == "postgresql"
        migrate(engine, "campaign_ledger", STEPS)
        self._lock = sa.text(
            "SELECT spent FROM campaign_spend WHERE campaign = :c AND day = '*'"
            + (" FOR UPDATE" if self._postgres else "")
        )

    @classmethod
    def open(cls, url: str, connect_args: dict[str, Any] | None = None) -> SqlLedger:
        return cls(open_database(url, connect_args), own_engine=True)

    def _read(
        self, conn: Connection, campaign: Campaign, subject: str, now: datetime
    ) -> tuple[LedgerState, float | None]:
        day, week = day_key(campaign, now), week_key(campaign, now)
        spent = dict(conn.execute(_SPENT, {"c": campaign.id, "d": day}).all())
        row = conn.execute(_PERSON, {"c": campaign.id, "s": subject}).first()
        last_at: float | None = None if row is None else row.last_at
        state = LedgerState(
            day_count=row.day_count if row is not None and row.day == day else 0,
            week_count=row.week_count if row is not None and row.week == week else 0,
            last_exposure=None if last_at is None else datetime.fromtimestamp(last_at, UTC),
            total_spent=int(spent.get(TOTAL, 0)),
            spent_today=int(spent.get(day, 0)),
        )
        return state, last_at

    def _reserve(self, campaign: Campaign, subject: str, now: datetime) -> str | None:
        with transaction(self.engine, write=True) as conn:
            conn.execute(_ENSURE_TOTAL, {"c": campaign.id})
            conn.execute(self._lock, {"c": campaign.id})  # the campaign's lock, till commit
            state, last_at = self._read(conn, campaign, subject, now)
            why = refusal(campaign, state, now)
            if why is not None:
                return why
            day, week = day_key(campaign, now), week_key(campaign, now)
            conn.execute(
                sa.text(
                    "UPDATE campaign_spend SET spent = spent + 1 WHERE campaign = :c AND day = '*'"
                ),
                {"c": campaign.id},
            )
            conn.execute(_SET_SPENT, {"c": campaign.id, "d": day})
            stamp = now.timestamp() if last_at is None else max(last_at, now.timestamp())
            conn.execute(
                _SET_PERSON,
                {
                    "c": campaign.id,
                    "s": subject,
                    "d": day,
                    "dc": state.day_count + 1,
                    "w": week,
                    "wc": state.week_count + 1,
                    "t": stamp,
                },
            )
            return None

    def _states(
        self, campaigns: Sequence[Campaign], subject: str, now: datetime
    ) -> list[LedgerState]:
        with transaction(self.engine) as conn:
            return [self._read(conn, c, subject, now)[0] for c in campaigns]

    async def reserve(self, campaign: Campaign, subject: str, now: datetime) -> str | None:
        return await asyncio.to_thread(self._reserve, campaign, subject, now)

    async def state(self, campaign: Campaign, subject: str, now: datetime) -> LedgerState:
        return (await self.states([campaign], subject, now))[0]

    async def states(
        self, campaigns: Sequence[Campaign], subject: str, now: datetime
    ) -> list[LedgerState]:
        if not campaigns:
            return []
        return await asyncio.to_thread(self._states, campaigns, subject, now)

    async def close(self) -> None:
        if self._own:
            self.engine.dispose()
