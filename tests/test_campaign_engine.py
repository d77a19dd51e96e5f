"""The campaign engine: every verdict, the order of preference, seeds, quiet rules.

Campaigns are built in code with the model's dataclasses; the ledger is the
in-process one (the ledgers themselves are tested in test_campaign_ledger.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest

from voice_runtime.campaigns.engine import CampaignEngine, Decision
from voice_runtime.campaigns.ledger import LedgerState, MemoryLedger
from voice_runtime.campaigns.model import (
    Budget,
    Campaign,
    Caps,
    Creative,
    Flight,
    HourRange,
    PersonProfile,
    Placement,
    Scene,
)
from voice_runtime.campaigns.scene import (
    QuietRule,
    SceneContext,
    platform_exclusion,
    scene_match,
)
from voice_runtime.people import Device

T = TypeVar("T")
NO_CAPS = Caps()
TZ = ZoneInfo("Asia/Shanghai")
SATURDAY_3PM = datetime(2025, 3, 8, 15, 0, tzinfo=TZ)
ALL: frozenset[Placement] = frozenset(
    {"after_goodbye", "what_can_you_do", "open_question", "idle_screen"}
)
ALICE = PersonProfile("alice")
KITCHEN = Device.of_type("kitchen-speaker", "alice", "speaker", room="kitchen")
TV = Device.of_type("living-tv", "alice", "tv", room="living_room")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def creatives(*languages: str) -> dict[Any, dict[str, Creative]]:
    return {
        kind: {lang: Creative(f"{kind} line in {lang}", "Title", "text") for lang in languages}
        for kind in ("speaker", "screen")
    }


def campaign(
    id: str,
    *scenes: Scene,
    brand: str = "anchor_dairy",
    total: int = 1000,
    per_day: int | None = None,
    caps: Caps = NO_CAPS,
    pacing: str = "asap",
    priority: int = 0,
    languages: tuple[str, ...] = ("en", "zh"),
    start: datetime = SATURDAY_3PM - timedelta(days=5),
    end: datetime = SATURDAY_3PM + timedelta(days=5),
) -> Campaign:
    return Campaign(
        id=id,
        brand=brand,
        skill="baking_class",
        flight=Flight(start, end, "Asia/Shanghai"),
        budget=Budget(total, per_day),
        caps=caps,
        scenes=scenes or (Scene("anywhere", ALL),),
        creatives=creatives(*languages),
        pacing="even" if pacing == "even" else "asap",
        priority=priority,
    )


def context(
    now: datetime = SATURDAY_3PM,
    device: Device = KITCHEN,
    language: str = "en",
    placement: Placement = "after_goodbye",
    **kw: Any,
) -> SceneContext:
    return SceneContext(now=now, device=device, language=language, placement=placement, **kw)


def reasons(decision: Decision) -> dict[str, str]:
    return {v.campaign_id: v.reason for v in decision.verdicts}


WEEKEND_AFTERNOON = Scene(
    "weekend_kitchen",
    frozenset({"after_goodbye"}),
    days=frozenset({5, 6}),
    hours=(HourRange(13 * 60, 18 * 60),),
    rooms=frozenset({"kitchen"}),
)
AFTER_COOKING = Scene("after_cooking", ALL, after=("golden_wok",))
ASKED_DINNER = Scene(
    "asked_dinner",
    ALL,
    asked={"en": ("what should I cook tonight",), "zh": ("今晚吃什么",)},
)
TV_EVENING = Scene(
    "tv_evening", ALL, devices=frozenset({"tv"}), hours=(HourRange(18 * 60, 23 * 60),)
)


def test_every_verdict_reason_in_one_decision() -> None:
    profile = PersonProfile("alice", opted_out=frozenset({"star_motors"}))
    campaigns = [
        campaign("baking", WEEKEND_AFTERNOON, priority=1),
        campaign("tv_only", Scene("tv", ALL, devices=frozenset({"tv"}))),
        campaign("weekday", replace(WEEKEND_AFTERNOON, name="weekday", days=frozenset({0}))),
        campaign("cars", brand="star_motors"),
        campaign("capped", caps=Caps(per_day=1)),
        campaign("broke", total=1),
        campaign("daily", total=100, per_day=1),
        campaign("over", end=SATURDAY_3PM),
        campaign("english_only", languages=("en",)),
        campaign("loser", WEEKEND_AFTERNOON),
    ]
    ledger = MemoryLedger()
    engine = CampaignEngine(campaigns, ledger)

    async def scenario() -> Decision:
        earlier = SATURDAY_3PM - timedelta(hours=1)
        assert await ledger.reserve(campaigns[4], "alice", earlier) is None
        assert await ledger.reserve(campaigns[5], "bob", earlier) is None
        assert await ledger.reserve(campaigns[6], "bob", earlier) is None
        return await engine.decide(context(), profile)

    decision = run(scenario())
    assert decision.campaign is campaigns[0]
    assert decision.scene == "weekend_kitchen"
    assert decision.creative == Creative("speaker line in en", "Title", "text")
    assert reasons(decision) == {
        "baking": "chosen (scene weekend_kitchen)",
        "tv_only": "out of scene: not a TV",
        "weekday": "out of scene: outside 13:00-18:00 on mon",
        "cars": "opted out of star_motors",
        "capped": "capped: 1 a day",
        "broke": "budget spent",
        "daily": "daily budget spent",
        "over": "outside its flight",
        "english_only": "lost to baking (relevance)",
        "loser": "lost to baking (priority)",
    }
    assert [v.chosen for v in decision.verdicts] == [True] + [False] * 9
    zh = run(engine.explain(context(language="zh"), profile))
    assert reasons(zh)["english_only"] == "no creative in zh"
    assert zh.creative == Creative("speaker line in zh", "Title", "text")


def test_person_and_platform_exclusions() -> None:
    sleep = campaign("sleep", brand="dreamwell")
    engine = CampaignEngine([sleep], MemoryLedger())
    child = PersonProfile("kid", child=True)
    nobody = PersonProfile("alice", opted_out_all=True)
    assert reasons(run(engine.decide(context(), child))) == {"sleep": "excluded: child profile"}
    assert reasons(run(engine.decide(context(), nobody))) == {
        "sleep": "opted out of all suggestions"
    }
    waiting = run(engine.decide(context(waiting=True), ALICE))
    assert waiting.campaign is None
    assert reasons(waiting) == {"sleep": "excluded: waiting for an answer"}
    night = SATURDAY_3PM.replace(hour=22)
    for ctx in (
        context(now=night, current_skill="dreamwell_sleep"),
        context(now=night, finished="dreamwell_sleep.play"),
    ):
        d = run(engine.decide(ctx, ALICE))
        assert reasons(d) == {"sleep": "excluded: sleep at night"}, ctx
    morning = SATURDAY_3PM.replace(hour=7, minute=0)  # the quiet hours end at 07:00
    assert run(engine.decide(context(now=morning, finished="dreamwell_sleep"), ALICE)).campaign
    assert run(engine.decide(context(now=night, finished="golden_wok"), ALICE)).campaign


def test_quiet_rules_are_configurable_and_read_in_the_campaign_time_zone() -> None:
    rule = QuietRule("meditation", HourRange(12 * 60, 16 * 60), "excluded: meditation")
    c = campaign("c")
    at_3pm_utc = datetime(2025, 3, 8, 7, 0, tzinfo=UTC)  # 15:00 in Shanghai
    assert platform_exclusion(c, context(now=at_3pm_utc, current_skill="meditation"), [rule]) == (
        "excluded: meditation"
    )
    assert platform_exclusion(c, context(current_skill="dreamwell_sleep"), [rule]) is None
    engine = CampaignEngine([c], MemoryLedger(), quiet_rules=[rule])
    d = run(engine.decide(context(now=at_3pm_utc, current_skill="meditation"), ALICE))
    assert reasons(d) == {"c": "excluded: meditation"}


def test_relevance_asked_beats_after_beats_time_and_device() -> None:
    asked = campaign("asked", ASKED_DINNER)
    after = campaign("after", AFTER_COOKING, priority=5)
    timely = campaign("timely", WEEKEND_AFTERNOON, priority=9)
    engine = CampaignEngine([timely, after, asked], MemoryLedger())
    ctx = context(finished="golden_wok.order_food", asked="So, what should I cook tonight?")
    d = run(engine.explain(ctx, ALICE))
    assert d.campaign is asked
    assert reasons(d) == {
        "asked": "chosen (scene asked_dinner)",
        "after": "lost to asked (relevance)",
        "timely": "lost to asked (relevance)",
    }
    d = run(engine.explain(replace(ctx, asked=None), ALICE))
    assert d.campaign is after
    assert reasons(d)["asked"] == "out of scene: not asked 'what should I cook tonight'"
    assert reasons(d)["timely"] == "lost to after (relevance)"
    d = run(engine.explain(replace(ctx, asked=None, finished="radio"), ALICE))
    assert d.campaign is timely
    assert reasons(d)["after"] == "out of scene: not after golden_wok"


def test_asked_phrases_match_normalised_words_in_both_languages() -> None:
    c = campaign("asked", ASKED_DINNER)
    for language, words, fits in [
        ("en", "What should I cook, TONIGHT?!", True),
        ("en", "what should i really cook for dinner tonight", True),
        ("en", "what should I watch tonight", False),
        ("zh", "我们今晚吃什么呢？", True),
        ("zh", "今晚 吃 什么", True),
        ("zh", "明天吃什么", False),
    ]:
        score, scene, why = scene_match(c, context(language=language, asked=words))
        assert (scene == "asked_dinner") is fits, (language, words, why)
        assert (score >= 3) is fits


def test_scene_times_are_read_in_the_flight_time_zone() -> None:
    c = campaign("c", WEEKEND_AFTERNOON)
    # 2025-03-08 06:00 UTC is Saturday 14:00 in Shanghai (but 06:00 in UTC).
    inside = datetime(2025, 3, 8, 6, 0, tzinfo=UTC)
    assert scene_match(c, context(now=inside))[1] == "weekend_kitchen"
    # Friday 22:00 UTC is Saturday 06:00 in Shanghai: the day fits, the hour does not.
    early = datetime(2025, 3, 7, 22, 0, tzinfo=UTC)
    assert scene_match(c, context(now=early)) == (
        0.0,
        None,
        "out of scene: outside 13:00-18:00 on sat, sun",
    )
    # The reason names the nearest scene's misses (here: device and hours).
    tv = campaign("tv", TV_EVENING, WEEKEND_AFTERNOON)
    assert scene_match(tv, context(device=TV))[2] == ("out of scene: outside 18:00-23:00")
    phone = Device.of_type("phone", "alice", "phone", room="bedroom")
    assert scene_match(tv, context(device=phone, placement="idle_screen"))[2] == (
        "out of scene: not a TV; outside 18:00-23:00"
    )


def test_pacing_behind_schedule_goes_first_then_priority() -> None:
    start, end = SATURDAY_3PM - timedelta(days=5), SATURDAY_3PM + timedelta(days=5)
    behind = campaign("behind", pacing="even", total=100, start=start, end=end)
    on_track = campaign("on_track", pacing="even", total=100, start=start, end=end, priority=9)
    fast = campaign("fast", priority=5)  # asap: counts as on schedule
    ledger = MemoryLedger()
    engine = CampaignEngine([fast, on_track, behind], ledger)

    async def spend(c: Campaign, n: int) -> None:
        for i in range(n):
            assert await ledger.reserve(c, f"u{i}", SATURDAY_3PM - timedelta(hours=1)) is None

    run(spend(behind, 10))  # half-way: expected 50
    run(spend(on_track, 50))
    d = run(engine.explain(context(), ALICE))
    assert reasons(d) == {
        "behind": "chosen (scene anywhere)",
        "on_track": "lost to behind (pacing)",
        "fast": "lost to behind (pacing)",
    }
    run(spend(behind, 41))  # 51: ahead of schedule, within the allowance
    d = run(engine.explain(context(), ALICE))
    assert d.campaign is on_track
    assert reasons(d)["fast"] == "lost to on_track (priority)"
    assert reasons(d)["behind"] == "lost to on_track (pacing)"


def test_even_pacing_does_not_spend_ahead_of_schedule() -> None:
    start = SATURDAY_3PM - timedelta(days=1)
    c = campaign("even", pacing="even", total=100, start=start, end=start + timedelta(days=10))
    ledger = MemoryLedger()
    engine = CampaignEngine([c], ledger)

    async def scenario() -> list[str]:
        chosen = []
        for i in range(20):  # 10% of the flight: 10 exposures + an allowance of 2
            d = await engine.decide(context(), PersonProfile(f"p{i}"))
            chosen.append(d.verdicts[0].reason)
        return chosen

    verdicts = run(scenario())
    assert verdicts[:12] == ["chosen (scene anywhere)"] * 12
    assert set(verdicts[12:]) == {"paced: ahead of its even schedule"}


def test_seed_breaks_ties_deterministically() -> None:
    campaigns = [campaign(f"c{i}") for i in range(4)]
    winners = set()
    for seed in range(12):
        first = run(CampaignEngine(campaigns, MemoryLedger(), seed=seed).explain(context(), ALICE))
        again = run(CampaignEngine(campaigns, MemoryLedger(), seed=seed).explain(context(), ALICE))
        assert first == again
        assert first.campaign is not None
        winners.add(first.campaign.id)
        losers = [v.reason for v in first.verdicts if not v.chosen]
        assert losers == [f"lost to {first.campaign.id} (tie-break)"] * 3
    assert len(winners) > 1


def test_decide_reserves_and_explain_does_not() -> None:
    c = campaign("c", caps=Caps(per_day=1))
    ledger = MemoryLedger()
    engine = CampaignEngine([c], ledger)
    for _ in range(3):
        assert run(engine.explain(context(), ALICE)).campaign is c
    assert run(ledger.state(c, "alice", SATURDAY_3PM)) == LedgerState()
    assert run(engine.decide(context(), ALICE)).campaign is c
    again = run(engine.decide(context(device=TV, placement="idle_screen"), ALICE))
    assert again.campaign is None
    assert reasons(again) == {"c": "capped: 1 a day"}
    # The per-device baseline: the caller counts caps per device instead.
    baseline = run(engine.decide(context(device=TV), ALICE, subject="living-tv"))
    assert baseline.campaign is c
    assert baseline.creative == Creative("screen line in en", "Title", "text")


class RacingLedger(MemoryLedger):
    """A ledger whose first reservation loses a race to another process."""

    def __init__(self) -> None:
        super().__init__()
        self.refused: list[str] = []

    async def reserve(self, campaign: Campaign, subject: str, now: datetime) -> str | None:
        if not self.refused:
            self.refused.append(campaign.id)
            return "capped: 1 a day"
        return await super().reserve(campaign, subject, now)


def test_a_refused_reservation_moves_on_to_the_next_campaign() -> None:
    best = campaign("best", priority=2, caps=Caps(per_day=1))
    next_best = campaign("next", priority=1)
    ledger = RacingLedger()
    d = run(CampaignEngine([best, next_best], ledger).decide(context(), ALICE))
    assert ledger.refused == ["best"]
    assert d.campaign is next_best
    assert reasons(d) == {"best": "capped: 1 a day", "next": "chosen (scene anywhere)"}


def test_nothing_fits() -> None:
    engine = CampaignEngine([campaign("tv", TV_EVENING)], MemoryLedger())
    d = run(engine.decide(context(), ALICE))
    assert (d.campaign, d.creative, d.scene) == (None, None, None)
    assert d.verdicts[0].chosen is False
    assert run(CampaignEngine([], MemoryLedger()).decide(context(), ALICE)).verdicts == ()
    with pytest.raises(ValueError, match="duplicate campaign ids: tv"):
        CampaignEngine([campaign("tv"), campaign("tv")], MemoryLedger())
