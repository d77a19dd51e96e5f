"""The caps and budget ledgers: every refusal, day and week rollover in the campaign's
time zone, and the concurrency acceptance against real Redis, PostgreSQL and SQLite.

The acceptance: two server processes (real OS processes, started together
behind a barrier) each serve three devices of one person, all asking at once,
many times. Exposures must equal the caps and budgets exactly, never more.

Redis is $VOICE_TEST_REDIS_URL (default redis://127.0.0.1:6379/0), keys under a
random prefix; PostgreSQL is $VOICE_TEST_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/test), a fresh schema per test. Tests fail,
not skip, when either cannot be reached.

Run as a script (`python tests/test_campaign_ledger.py WORKER-JSON`) this file
is one of the acceptance's server processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if __name__ == "__main__":  # a worker process: the package from this checkout
    sys.path.insert(0, str(ROOT))

from voice_runtime.campaigns.engine import CampaignEngine  # noqa: E402
from voice_runtime.campaigns.ledger import Ledger, LedgerState, MemoryLedger  # noqa: E402
from voice_runtime.campaigns.ledger_redis import RedisLedger  # noqa: E402
from voice_runtime.campaigns.ledger_sql import SqlLedger  # noqa: E402
from voice_runtime.campaigns.model import (  # noqa: E402
    Budget,
    Campaign,
    Caps,
    Creative,
    Flight,
    PersonProfile,
    Scene,
)
from voice_runtime.campaigns.scene import SceneContext  # noqa: E402
from voice_runtime.people import Device  # noqa: E402

T = TypeVar("T")
REDIS_URL = os.environ.get("VOICE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PG_URL = os.environ.get("VOICE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
TZ_NAME = "Asia/Shanghai"
TZ = ZoneInfo(TZ_NAME)
SATURDAY_3PM = datetime(2025, 3, 8, 15, 0, tzinfo=TZ)
NO_CAPS = Caps()
BACKENDS = ["memory", "redis", "sqlite", "postgres"]


def campaign(
    id: str = "c",
    *,
    total: int = 1000,
    per_day: int | None = None,
    caps: Caps = NO_CAPS,
    pacing: str = "asap",
    priority: int = 0,
    start: datetime = SATURDAY_3PM - timedelta(days=20),
    end: datetime = SATURDAY_3PM + timedelta(days=20),
) -> Campaign:
    line = Creative("Try the baking class.", "Baking class", "Bread today")
    return Campaign(
        id=id,
        brand="anchor_dairy",
        skill="baking_class",
        flight=Flight(start, end, TZ_NAME),
        budget=Budget(total, per_day),
        caps=caps,
        scenes=(Scene("anywhere", frozenset({"after_goodbye", "idle_screen"})),),
        creatives={"speaker": {"en": line}, "screen": {"en": line}},
        pacing="even" if pacing == "even" else "asap",
        priority=priority,
    )


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


# -- the backends ------------------------------------------------------------------------


def _fail(what: str, problem: object) -> None:
    import pytest

    pytest.fail(f"this test needs {what}: {problem}", pytrace=False)


def check_redis() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2.0)
    try:
        client.ping()
    except redis.RedisError as exc:
        _fail(f"Redis at {REDIS_URL}", exc)
    finally:
        client.close()


def drop_redis_keys(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@asynccontextmanager
async def postgres_schema() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL schema, dropped afterwards."""
    from voice_runtime.store.database import DatabaseError, open_database, transaction

    try:
        admin = open_database(PG_URL)
    except DatabaseError as error:
        _fail(f"PostgreSQL at {PG_URL}", error)
        raise
    schema = f"t_{secrets.token_hex(6)}"
    with transaction(admin) as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield schema
    finally:
        with transaction(admin) as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def open_backend(spec: dict[str, str]) -> Ledger:
    """The ledger a worker (or a test) opens from a JSON-able description."""
    kind = spec["kind"]
    if kind == "redis":
        return RedisLedger(REDIS_URL, prefix=spec["prefix"])
    if kind == "sqlite":
        return SqlLedger.open(f"sqlite:///{spec['path']}")
    if kind == "postgres":
        return SqlLedger.open(PG_URL, {"options": f"-csearch_path={spec['schema']}"})
    return MemoryLedger()


@asynccontextmanager
async def backend(kind: str, tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    """A fresh, isolated store of `kind`, described for `open_backend`."""
    if kind == "redis":
        check_redis()
        prefix = f"test:{secrets.token_hex(6)}:"
        try:
            yield {"kind": kind, "prefix": prefix}
        finally:
            drop_redis_keys(prefix)
    elif kind == "postgres":
        async with postgres_schema() as schema:
            yield {"kind": kind, "schema": schema}
    elif kind == "sqlite":
        yield {"kind": kind, "path": str(tmp_path / "ledger.db")}
    else:
        yield {"kind": kind}


def ledger_of(kind: str, tmp_path: Path) -> AbstractAsyncContextManager[Ledger]:
    @asynccontextmanager
    async def opened() -> AsyncIterator[Ledger]:
        async with backend(kind, tmp_path) as spec:
            ledger = open_backend(spec)
            try:
                yield ledger
            finally:
                await ledger.close()

    return opened()


def each_backend(
    test: Callable[[Ledger], Coroutine[Any, Any, None]],
) -> Callable[[str, Path], None]:
    import pytest

    @pytest.mark.parametrize("kind", BACKENDS)
    def wrapper(kind: str, tmp_path: Path) -> None:
        async def main() -> None:
            async with ledger_of(kind, tmp_path) as ledger:
                await test(ledger)

        run(main())

    wrapper.__name__ = test.__name__
    wrapper.__doc__ = test.__doc__
    return wrapper


# -- every refusal, with a fake clock ------------------------------------------------------


@each_backend
async def test_daily_cap_rolls_over_at_local_midnight(ledger: Ledger) -> None:
    c = campaign(caps=Caps(per_day=1))
    late = datetime(2025, 3, 8, 23, 30, tzinfo=TZ)  # 15:30 UTC
    assert await ledger.reserve(c, "alice", late) is None
    assert await ledger.reserve(c, "alice", late + timedelta(minutes=20)) == "capped: 1 a day"
    assert await ledger.reserve(c, "bob", late) is None  # caps are per subject
    # 00:30 in Shanghai is a new day there, though still the same day in UTC.
    after_midnight = late + timedelta(hours=1)
    assert after_midnight.astimezone(UTC).date() == late.astimezone(UTC).date()
    assert await ledger.reserve(c, "alice", after_midnight) is None
    state = await ledger.state(c, "alice", after_midnight)
    assert (state.day_count, state.week_count, state.total_spent, state.spent_today) == (1, 2, 3, 1)
    assert state.last_exposure == after_midnight


@each_backend
async def test_weekly_cap_rolls_over_on_local_monday(ledger: Ledger) -> None:
    c = campaign(caps=Caps(per_day=2, per_week=3))
    monday = datetime(2025, 3, 3, 10, 0, tzinfo=TZ)
    for n in range(3):
        assert await ledger.reserve(c, "alice", monday + timedelta(days=n)) is None
    sunday_late = datetime(2025, 3, 9, 23, 30, tzinfo=TZ)
    assert await ledger.reserve(c, "alice", sunday_late) == "capped: 3 a week"
    next_monday = sunday_late + timedelta(hours=1)  # still Sunday in UTC
    assert next_monday.astimezone(UTC).weekday() == 6
    assert await ledger.reserve(c, "alice", next_monday) is None
    assert await ledger.reserve(c, "alice", next_monday) is None
    assert await ledger.reserve(c, "alice", next_monday) == "capped: 2 a day"
    assert (await ledger.state(c, "alice", next_monday)).week_count == 2


@each_backend
async def test_minimum_gap(ledger: Ledger) -> None:
    c = campaign(caps=Caps(min_gap=timedelta(hours=4)))
    assert await ledger.reserve(c, "alice", SATURDAY_3PM) is None
    almost = SATURDAY_3PM + timedelta(hours=3, minutes=59)
    assert await ledger.reserve(c, "alice", almost) == "capped: at least 4h apart"
    assert await ledger.reserve(c, "alice", SATURDAY_3PM + timedelta(hours=4)) is None
    half = campaign("half", caps=Caps(min_gap=timedelta(minutes=90)))
    assert await ledger.reserve(half, "alice", SATURDAY_3PM) is None
    assert await ledger.reserve(half, "alice", SATURDAY_3PM) == "capped: at least 1h30min apart"


@each_backend
async def test_budget_daily_budget_and_even_pacing(ledger: Ledger) -> None:
    total = campaign("total", total=2)
    assert await ledger.reserve(total, "a", SATURDAY_3PM) is None
    assert await ledger.reserve(total, "b", SATURDAY_3PM) is None
    assert await ledger.reserve(total, "c", SATURDAY_3PM) == "budget spent"
    assert await ledger.reserve(total, "c", SATURDAY_3PM + timedelta(days=1)) == "budget spent"

    daily = campaign("daily", total=10, per_day=2)
    assert await ledger.reserve(daily, "a", SATURDAY_3PM) is None
    assert await ledger.reserve(daily, "b", SATURDAY_3PM) is None
    assert await ledger.reserve(daily, "c", SATURDAY_3PM) == "daily budget spent"
    assert await ledger.reserve(daily, "c", SATURDAY_3PM + timedelta(hours=9)) is None  # 00:00
    state = await ledger.state(daily, "c", SATURDAY_3PM + timedelta(hours=9))
    assert (state.total_spent, state.spent_today) == (3, 1)

    # 10% of the flight gone: 10 of 100 exposures, plus an allowance of 2.
    start = SATURDAY_3PM - timedelta(days=1)
    even = campaign("even", total=100, pacing="even", start=start, end=start + timedelta(days=10))
    refusals = [await ledger.reserve(even, f"p{i}", SATURDAY_3PM) for i in range(13)]
    assert refusals == [None] * 12 + ["paced: ahead of its even schedule"]
    later = SATURDAY_3PM + timedelta(days=1)
    assert await ledger.reserve(even, "p13", later) is None
    assert await ledger.state(even, "nobody", later) == LedgerState(total_spent=13, spent_today=1)


@each_backend
async def test_states_of_several_campaigns(ledger: Ledger) -> None:
    a, b, c = campaign("a"), campaign("b"), campaign("c")
    assert await ledger.reserve(a, "alice", SATURDAY_3PM) is None
    assert await ledger.reserve(c, "bob", SATURDAY_3PM) is None
    states = await ledger.states([a, b, c], "alice", SATURDAY_3PM)
    assert [(s.day_count, s.total_spent) for s in states] == [(1, 1), (0, 0), (0, 1)]
    assert states[0].last_exposure == SATURDAY_3PM and states[2].last_exposure is None
    assert await ledger.states([], "alice", SATURDAY_3PM) == []


def test_open_ledger_picks_redis_then_sql_then_memory(tmp_path: Path) -> None:
    from voice_runtime.campaigns.ledger import open_ledger

    check_redis()

    async def main() -> None:
        memory = open_ledger(None, None)
        assert isinstance(memory, MemoryLedger)
        sql = open_ledger(None, f"sqlite:///{tmp_path / 'v.db'}")
        assert isinstance(sql, SqlLedger)
        await sql.close()
        redis_ledger = open_ledger(REDIS_URL, f"sqlite:///{tmp_path / 'v.db'}")
        assert isinstance(redis_ledger, RedisLedger)
        await redis_ledger.close()

    run(main())


def test_unreachable_redis_says_so_in_one_line() -> None:
    import pytest

    from voice_runtime.store.sessions import StoreUnavailable

    async def main() -> None:
        ledger = RedisLedger("redis://127.0.0.1:1/0")
        try:
            with pytest.raises(StoreUnavailable, match="campaign ledger unavailable: Redis at"):
                await ledger.reserve(campaign(), "alice", SATURDAY_3PM)
        finally:
            await ledger.close()

    run(main())


# -- the concurrency acceptance -------------------------------------------------------------

DEVICES = ("kitchen-speaker", "living-tv", "phone")
ATTEMPTS = 30  # per device and process: 2 x 3 x 30 = 180 turns for 3 + 20 + 7 exposures


def race_campaigns() -> list[Campaign]:
    """A: 3 a day per person; B: 20 in total; C: 7 a day. All fit every moment; A first."""
    return [
        campaign("A", caps=Caps(per_day=3, per_week=5), priority=3),
        campaign("B", total=20, priority=2),
        campaign("C", total=100, per_day=7, priority=1),
    ]


async def serve(spec: dict[str, str], start: Callable[[], None]) -> dict[str, Any]:
    """One server process: three devices of alice asking at once, ATTEMPTS times each."""
    ledger = open_backend(spec)
    engine = CampaignEngine(race_campaigns(), ledger, seed=1)
    profile = PersonProfile("alice")
    try:
        await ledger.states(race_campaigns(), "alice", SATURDAY_3PM)  # connected, migrated
        start()
        began = time.time()

        async def device(device_id: str) -> list[str | None]:
            kind = "speaker" if device_id == "kitchen-speaker" else device_id.split("-")[-1]
            dev = Device.of_type(device_id, "alice", kind)
            ctx = SceneContext(SATURDAY_3PM, dev, "en", "after_goodbye")
            chosen = []
            for _ in range(ATTEMPTS):
                decision = await engine.decide(ctx, profile)
                chosen.append(decision.campaign.id if decision.campaign else None)
            return chosen

        per_device = await asyncio.gather(*(device(d) for d in DEVICES))
        chosen = [c for one in per_device for c in one]
        return {"chosen": chosen, "began": began, "ended": time.time()}
    finally:
        await ledger.close()


def worker_main(spec_json: str) -> None:
    """A server process: says "ready", waits for "go" on stdin, prints its choices."""

    def start() -> None:
        print("ready", flush=True)
        if sys.stdin.readline().strip() != "go":
            raise SystemExit("no start signal")

    chosen = asyncio.run(serve(json.loads(spec_json), start))
    print(json.dumps(chosen), flush=True)


def race(spec: dict[str, str], processes: int = 2) -> list[dict[str, Any]]:
    """Start the worker processes, release them at once, gather what they chose."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen(
            [sys.executable, __file__, json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(processes)
    ]
    try:
        for w in workers:  # the barrier: every process connected before any starts
            assert w.stdout is not None and w.stdout.readline().strip() == "ready", (
                w.stderr.read() if w.stderr else ""
            )
        for w in workers:
            assert w.stdin is not None
            w.stdin.write("go\n")
            w.stdin.flush()
        results = []
        for w in workers:
            out, err = w.communicate(timeout=60)
            assert w.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()


def assert_exact(kind: str, tmp_path: Path) -> None:
    async def main() -> None:
        async with backend(kind, tmp_path) as spec:
            started = time.monotonic()
            results = await asyncio.to_thread(race, spec)
            elapsed = time.monotonic() - started
            # The two processes really ran at the same time.
            assert max(r["began"] for r in results) < min(r["ended"] for r in results)
            chosen = [c for r in results for c in r["chosen"]]
            counts = Counter(chosen)
            assert len(chosen) == 2 * len(DEVICES) * ATTEMPTS
            # Exactly the caps and budgets: never more, and nothing left unspent.
            assert counts == Counter({"A": 3, "B": 20, "C": 7, None: len(chosen) - 30}), counts
            ledger = open_backend(spec)
            try:
                a, b, c = await ledger.states(race_campaigns(), "alice", SATURDAY_3PM)
            finally:
                await ledger.close()
            assert (a.day_count, a.week_count, a.total_spent) == (3, 3, 3)
            assert (b.total_spent, c.total_spent, c.spent_today) == (20, 7, 7)
            print(f"{kind}: {len(chosen)} decisions in 2 processes, {elapsed:.2f} s")

    run(main())


def test_caps_and_budget_hold_across_two_processes_on_redis(tmp_path: Path) -> None:
    assert_exact("redis", tmp_path)


def test_caps_and_budget_hold_across_two_processes_on_postgres(tmp_path: Path) -> None:
    assert_exact("postgres", tmp_path)


def test_caps_and_budget_hold_across_two_processes_on_sqlite(tmp_path: Path) -> None:
    assert_exact("sqlite", tmp_path)


def test_caps_and_budget_hold_within_one_process_on_memory() -> None:
    async def main() -> None:
        ledger = MemoryLedger()
        engine = CampaignEngine(race_campaigns(), ledger)
        dev = Device.of_type("tv", "alice", "tv")
        ctx = SceneContext(SATURDAY_3PM, dev, "en", "idle_screen")
        decisions = await asyncio.gather(
            *(engine.decide(ctx, PersonProfile("alice")) for _ in range(180))
        )
        counts = Counter(d.campaign.id if d.campaign else None for d in decisions)
        assert counts == Counter({"A": 3, "B": 20, "C": 7, None: 150}), counts

    run(main())


if __name__ == "__main__":
    worker_main(sys.argv[1])
