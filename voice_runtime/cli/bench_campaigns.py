"""`voice bench campaigns`: the campaign decision's overhead per turn.

100 generated active campaigns (scenes of times, days, devices, rooms, skills
finished and phrases asked, in English and Chinese; caps, budgets, even and
asap pacing), and a stream of varied moments of 500 people on four kinds of
device. Each `CampaignEngine.decide` (scene matching, the ledger's state of
the campaigns in scene, the reservation) is timed, first with the in-process
ledger, then with Redis ($VOICE_REDIS_URL or --redis, else 127.0.0.1:6379;
keys under a random prefix, deleted afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import statistics
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..campaigns.engine import CampaignEngine
from ..campaigns.ledger import Ledger, MemoryLedger
from ..campaigns.model import (
    PLACEMENTS,
    Budget,
    Campaign,
    Caps,
    Creative,
    Flight,
    HourRange,
    PersonProfile,
    Scene,
)
from ..campaigns.scene import SceneContext
from ..people import DEVICE_TYPES, Device

TARGET_P50_MS = 2.0
CAMPAIGNS = 100
DECISIONS = 2000
PEOPLE = 500
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
TZ = "Asia/Shanghai"
ROOMS = ("kitchen", "living_room", "bedroom", "study", "garage")
SKILLS = ("golden_wok", "baking_class", "car_viewing", "dreamwell_sleep", "radio", "weather")
ASKED = {
    "en": ("what should I cook tonight", "where can I test drive", "help me sleep", "what to eat"),
    "zh": ("今晚吃什么", "哪里可以试驾", "帮我入睡", "吃什么"),
}
SAYINGS = {
    "en": ("so what should I cook tonight", "what can you do", "where can I test drive a car"),
    "zh": ("我们今晚吃什么呢", "你能做什么", "哪里可以试驾新车"),
}
START = datetime(2025, 3, 3, 0, 0, tzinfo=ZoneInfo(TZ))  # a Monday


def generate_campaigns(count: int, rng: random.Random) -> list[Campaign]:
    """`count` active campaigns with one to three scenes each."""
    campaigns = []
    for i in range(count):
        scenes = []
        for j in range(rng.randint(1, 3)):
            start = rng.randrange(0, 24) * 60
            scenes.append(
                Scene(
                    name=f"s{j}",
                    placements=frozenset(rng.sample(PLACEMENTS, rng.randint(1, 4))),
                    days=frozenset(rng.sample(range(7), rng.randint(2, 7)))
                    if rng.random() < 0.5
                    else frozenset(),
                    hours=(HourRange(start, (start + rng.choice((180, 360, 600))) % 1440),)
                    if rng.random() < 0.6
                    else (),
                    devices=frozenset(rng.sample(DEVICE_TYPES, rng.randint(1, 3)))
                    if rng.random() < 0.5
                    else frozenset(),
                    rooms=frozenset(rng.sample(ROOMS, 2)) if rng.random() < 0.3 else frozenset(),
                    after=(rng.choice(SKILLS),) if rng.random() < 0.3 else (),
                    asked={lang: (rng.choice(p),) for lang, p in ASKED.items()}
                    if rng.random() < 0.2
                    else {},
                )
            )
        line = Creative(f"Campaign {i}.", f"Campaign {i}", "card text")
        campaigns.append(
            Campaign(
                id=f"bench_{i:03d}",
                brand=f"brand_{i % 20}",
                skill=rng.choice(SKILLS),
                flight=Flight(START - timedelta(days=7), START + timedelta(days=28), TZ),
                budget=Budget(rng.randint(5_000, 50_000), rng.choice((None, 2_000))),
                caps=Caps(
                    per_day=rng.choice((None, 1, 2)),
                    per_week=rng.choice((None, 3, 5)),
                    min_gap=rng.choice((None, timedelta(hours=4))),
                ),
                scenes=tuple(scenes),
                creatives={"speaker": {"en": line, "zh": line}, "screen": {"en": line}},
                pacing=rng.choice(("even", "asap")),
                priority=rng.randint(0, 3),
            )
        )
    return campaigns


def generate_moments(count: int, rng: random.Random) -> list[tuple[SceneContext, PersonProfile]]:
    """Varied moments of PEOPLE people over a week, in time order."""
    moments = []
    for n in range(count):
        user = f"user{rng.randrange(PEOPLE)}"
        kind = rng.choice(DEVICE_TYPES)
        device = Device.of_type(f"{user}-{kind}", user, kind, room=rng.choice(ROOMS))
        language = "zh" if rng.random() < 0.4 else "en"
        placement = rng.choice(PLACEMENTS)
        context = SceneContext(
            now=START + timedelta(days=7) * n / count,
            device=device,
            language=language,
            placement=placement,
            finished=rng.choice(SKILLS) if placement == "after_goodbye" else None,
            asked=rng.choice(SAYINGS[language]) if placement == "open_question" else None,
            waiting=rng.random() < 0.05,
        )
        moments.append((context, PersonProfile(user, child=rng.random() < 0.03)))
    return moments


async def _measure(
    engine: CampaignEngine, moments: list[tuple[SceneContext, PersonProfile]]
) -> tuple[list[float], int]:
    for context, profile in moments[:50]:  # warm up (caches, connections)
        await engine.explain(context, profile)
    times, chosen = [], 0
    for context, profile in moments:
        started = time.perf_counter()
        decision = await engine.decide(context, profile)
        times.append((time.perf_counter() - started) * 1000)
        chosen += decision.campaign is not None
    return times, chosen


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _row(name: str, times: list[float], chosen: int) -> str:
    p50, p99 = _percentile(times, 0.5), _percentile(times, 0.99)
    verdict = "ok" if p50 <= TARGET_P50_MS else "OVER TARGET"
    return (
        f"{name:<8} decisions {len(times):>5}  chosen {chosen:>5}  "
        f"p50 {p50:6.3f} ms  p99 {p99:6.3f} ms  mean {statistics.fmean(times):6.3f} ms  "
        f"(target p50 <= {TARGET_P50_MS:g} ms: {verdict})"
    )


async def _bench(
    name: str,
    ledger: Ledger,
    campaigns: list[Campaign],
    moments: list[tuple[SceneContext, PersonProfile]],
) -> tuple[str, bool]:
    engine = CampaignEngine(campaigns, ledger, seed=1)
    try:
        times, chosen = await _measure(engine, moments)
    finally:
        await ledger.close()
    return _row(name, times, chosen), _percentile(times, 0.5) <= TARGET_P50_MS


async def _drop_keys(url: str, prefix: str) -> None:
    import redis.asyncio as redis

    client = redis.Redis.from_url(url)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=1000)]
        for i in range(0, len(keys), 1000):
            await client.delete(*keys[i : i + 1000])
    finally:
        await client.close()


def bench_campaigns(args: argparse.Namespace) -> int:
    """Print p50/p99 of `decide` with 100 campaigns, in-process and on Redis; 0 when
    both meet the target, 1 otherwise (or when Redis cannot be reached)."""
    from ..campaigns.ledger_redis import RedisLedger
    from ..store.sessions import StoreUnavailable

    count = int(getattr(args, "campaigns", None) or CAMPAIGNS)
    decisions = int(getattr(args, "decisions", None) or DECISIONS)
    url = getattr(args, "redis", None) or os.environ.get("VOICE_REDIS_URL") or DEFAULT_REDIS
    rng = random.Random(1)
    campaigns = generate_campaigns(count, rng)
    moments = generate_moments(decisions, rng)
    print(f"campaign decisions: {count} active campaigns, {decisions} turns of {PEOPLE} people")

    async def main() -> int:
        ok = True
        line, good = await _bench("memory", MemoryLedger(), campaigns, moments)
        print(line, flush=True)
        ok &= good
        prefix = f"bench:{secrets.token_hex(4)}:"
        try:
            line, good = await _bench("redis", RedisLedger(url, prefix=prefix), campaigns, moments)
        except StoreUnavailable as exc:
            print(f"redis    {exc}")
            return 1
        finally:
            await _drop_keys(url, prefix)
        print(line)
        ok &= good
        return 0 if ok else 1

    try:
        return asyncio.run(main())
    except OSError as exc:  # Redis gone while deleting the keys
        print(f"redis    unreachable at {url}: {exc}")
        return 1
