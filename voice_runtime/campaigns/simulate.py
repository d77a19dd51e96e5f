"""A household simulation: synthetic homes driven through the real router and campaigns.

`simulate(household_factory...)` builds `settings.households` homes of 1-4 people
(English or Chinese; some child profiles) with a kitchen speaker, a living-room TV,
a bedroom speaker, phones and sometimes a car, and walks a simulated clock
through `settings.days` days of their routines: cooking in the evening (Golden
Wok, then "stop"), TV at night (car viewing, help), sleep sounds at bedtime
(Dreamwell), a wind-down in the early evening, weekend afternoons in the
kitchen, driving at weekends, "今晚吃什么" on the phone. Every utterance is a
text turn through `Household.turn` with the project's campaigns attached, so
the engine, the ledger and the event store are the real ones; people answer
sponsored lines with yes, no, silence or an opt-out.

Turns of all homes are interleaved in time order (one clock, moved per turn),
and every random choice comes from `random.Random` seeded per home and day:
the same seed gives the same turns, decisions and events.

Afterwards the exposures are recounted independently of the ledger: from the
event store (per person, under the brand's pseudonym) against each campaign's
caps and budget, and from what each device actually said (per device, for the
`cap_scope="device"` baseline). `person_repeats` counts exposures that a
person-level cap would have refused: the waste of per-device capping.
"""

from __future__ import annotations

import asyncio
import heapq
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from ..dialog.turn import Turn
from ..errors import InputError
from ..household.home import Household
from ..people import Device
from ..project import Project
from ..store.database import safe_url
from .engine import Decision
from .ledger import Ledger, MemoryLedger, day_key, paced_limit, week_key
from .model import Campaign, PersonProfile
from .placement import disclosure
from .scene import SceneContext
from .setup import Marketing

TIME_ZONE = "Asia/Shanghai"
TEXTS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "open_wok": ("open golden wok",),
        "dish": (
            "how do I cook mapo tofu",
            "walk me through kung pao chicken",
            "how are pork dumplings wrapped",
        ),
        "stop": ("stop",),
        "help": ("help", "what can you do"),
        "open_cars": ("open car viewing",),
        "open_sleep": ("open dreamwell",),
        "sound": ("put on some rain",),
        "what_to_cook": (),  # the model reads "what should I cook" as Golden Wok's cook_dish
        "yes": ("yes",),
        "no": ("no",),
        "opt_brand": ("stop suggesting that",),
        "opt_all": ("no more suggestions",),
    },
    "zh": {
        "open_wok": ("打开金锅厨房",),
        "dish": ("麻婆豆腐怎么烧", "宫保鸡丁怎么炒", "饺子怎么包"),
        "stop": ("退出",),
        "help": ("帮助", "你能做什么"),
        "open_cars": ("打开大屏观车",),
        "open_sleep": ("打开好梦助眠",),
        "sound": ("播放雨声",),
        "what_to_cook": ("今晚吃什么", "晚饭做什么", "做什么菜好"),
        "yes": ("好的",),
        "no": ("不要",),
        "opt_brand": ("别再推荐了",),
        "opt_all": ("不要再推荐了",),
    },
}
ANSWER = "\0answer"  # a step: the person's reaction, only when the last turn made an offer
# How people react to a sponsored line (weights): silence, no, yes, opt out of the brand, of all.
REACTIONS = (("ignore", 55), ("no", 26), ("yes", 16), ("opt_brand", 2.4), ("opt_all", 0.6))


@dataclass(frozen=True)
class SimulationSettings:
    households: int = 1000
    days: int = 14
    seed: int = 1
    start: date = date(2026, 12, 1)
    cap_scope: str = "person"  # "device": caps counted per device (the baseline)
    time_zone: str = TIME_ZONE


@dataclass
class Member:
    user: str
    language: str
    child: bool
    devices: dict[str, Device] = field(default_factory=dict)  # role -> device


@dataclass
class Home:
    id: str
    language: str
    members: list[Member]
    car: bool


def make_homes(count: int, seed: int) -> list[Home]:
    """`count` homes: 1-4 people each, about half Chinese; the third and fourth person
    are often children; every person has their own profile on the shared devices."""
    homes = []
    for n in range(count):
        rng = random.Random(f"{seed}:home:{n}")
        hid = f"h{n:05d}"
        language = "zh" if rng.random() < 0.5 else "en"
        size = rng.choices((1, 2, 3, 4), (25, 35, 22, 18))[0]
        car = rng.random() < 0.55
        members = []
        for p in range(size):
            child = p >= 2 and rng.random() < 0.65
            member = Member(f"{hid}-p{p + 1}", language, child)
            roles: list[tuple[str, str, str | None]] = [
                ("kitchen", "speaker", "kitchen"),
                ("tv", "tv", "living_room"),
            ]
            roles.append(("bedroom", "speaker", "bedroom"))
            if not child:
                roles.append(("phone", "phone", None))
                if car and p < 2:
                    roles.append(("car", "car", None))
            for role, kind, room in roles:
                member.devices[role] = Device.of_type(
                    f"{member.user}-{role}", member.user, kind, hid, role, room, language
                )
            members.append(member)
        homes.append(Home(hid, language, members, car))
    return homes


@dataclass
class Episode:
    """One routine: a person's utterances on one device, a few seconds apart."""

    member: Member
    device: Device
    steps: list[str]
    reaction: str
    rng: random.Random
    offered: bool = False

    def next_text(self) -> str | None:
        """The next utterance (an ANSWER step becomes the reaction, or is skipped)."""
        while self.steps:
            step = self.steps.pop(0)
            if step != ANSWER:
                return step
            if self.offered and self.reaction != "ignore":
                if self.reaction == "yes":  # the deep link opens; they leave it again
                    self.steps.insert(0, self._say("stop"))
                return self._say(self.reaction)
        return None

    def _say(self, what: str) -> str:
        return self.rng.choice(TEXTS[self.member.language][what])


def day_episodes(home: Home, day: date, seed: int, tz: ZoneInfo) -> list[tuple[datetime, Episode]]:
    """The home's routines on `day` (local), each with its start time (aware)."""
    rng = random.Random(f"{seed}:day:{home.id}:{day.isoformat()}")
    weekend = day.weekday() >= 5
    found: list[tuple[datetime, Episode]] = []

    def add(
        member: Member, role: str, start: tuple[int, int], end: tuple[int, int], *keys: str
    ) -> None:
        device = member.devices.get(role)
        if device is None:
            return
        texts = TEXTS[member.language]
        steps = [ANSWER if k == ANSWER else rng.choice(texts[k]) for k in keys]
        minute = rng.randrange(start[0] * 60 + start[1], end[0] * 60 + end[1])
        moment = datetime(day.year, day.month, day.day, tzinfo=tz) + timedelta(
            minutes=minute, seconds=rng.randrange(60)
        )
        reaction = rng.choices([r for r, _ in REACTIONS], [w for _, w in REACTIONS])[0]
        episode_rng = random.Random(rng.random())
        found.append((moment, Episode(member, device, steps, reaction, episode_rng)))

    cook = rng.choice([m for m in home.members if not m.child])
    if rng.random() < (0.3 if weekend else 0.45):  # dinner: Golden Wok on the kitchen speaker
        keys = ["open_wok", "dish", "stop"] if rng.random() < 0.4 else ["open_wok", "stop"]
        add(cook, "kitchen", (17, 30), (19, 30), *keys, ANSWER)
    for member in home.members:
        adult = not member.child
        if rng.random() < 0.35:  # TV at night: car viewing, or asking what it can do
            if rng.random() < 0.5:
                add(member, "tv", (19, 0), (23, 0), "open_cars", "help", "stop", ANSWER)
            else:
                add(member, "tv", (19, 0), (23, 0), "help", ANSWER)
        if rng.random() < 0.25:  # sleep sounds at bedtime (no sponsored line at night)
            add(member, "bedroom", (21, 30), (23, 30), "open_sleep", "sound", "stop", ANSWER)
        if adult and rng.random() < 0.08:  # winding down in the early evening
            add(member, "bedroom", (18, 0), (20, 45), "help", ANSWER)
        if adult and weekend and rng.random() < 0.25:  # weekend afternoon in the kitchen
            add(member, "kitchen", (13, 0), (17, 45), "help", ANSWER)
        if adult and weekend and rng.random() < 0.35:  # driving: recipes on the way home
            keys = ["what_to_cook"] if member.language == "zh" else ["open_wok", "dish", "stop"]
            add(member, "car", (10, 0), (17, 0), *keys, ANSWER)
        if adult and not weekend and rng.random() < 0.12:  # the phone on the way home
            keys = ["what_to_cook"] if member.language == "zh" else ["open_wok", "stop"]
            add(member, "phone", (16, 30), (18, 30), *keys, ANSWER)
    return found


@dataclass(frozen=True)
class Exposure:
    """One sponsored line heard: `who` is a person (pseudonym or id) or a device id."""

    campaign: str
    who: str
    at: datetime


def cap_violations(exposures: Iterable[Exposure], campaigns: Mapping[str, Campaign]) -> int:
    """Exposures beyond a campaign's caps for the same `who` (each counted once): more than
    its per-day or per-week cap (campaign-local day, ISO week), or closer than its gap."""
    by_who: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for e in exposures:
        by_who[(e.campaign, e.who)].append(e.at)
    broken = 0
    for (cid, _), times in by_who.items():
        campaign = campaigns[cid]
        caps = campaign.caps
        days: Counter[str] = Counter()
        weeks: Counter[str] = Counter()
        last: datetime | None = None
        for at in sorted(times):
            day, week = day_key(campaign, at), week_key(campaign, at)
            if (
                (caps.per_day is not None and days[day] >= caps.per_day)
                or (caps.per_week is not None and weeks[week] >= caps.per_week)
                or (caps.min_gap is not None and last is not None and at - last < caps.min_gap)
            ):
                broken += 1
            days[day] += 1
            weeks[week] += 1
            last = at
    return broken


def overspend(exposures: Iterable[Exposure], campaigns: Mapping[str, Campaign]) -> tuple[int, int]:
    """(Exposures beyond the total or a day's budget, exposures ahead of even pacing)."""
    by_campaign: dict[str, list[datetime]] = defaultdict(list)
    for e in exposures:
        by_campaign[e.campaign].append(e.at)
    over = ahead = 0
    for cid, times in by_campaign.items():
        campaign = campaigns[cid]
        budget = campaign.budget
        over += max(0, len(times) - budget.total)
        per_day = Counter(day_key(campaign, at) for at in times)
        if budget.per_day is not None:
            over += sum(max(0, n - budget.per_day) for n in per_day.values())
        for n, at in enumerate(sorted(times), 1):
            ahead += n > paced_limit(campaign, at)
    return over, ahead


@dataclass
class CampaignTally:
    exposures: int = 0
    reach: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    busiest_day: int = 0


@dataclass
class SimulationResult:
    settings: SimulationSettings
    households: int = 0
    languages: Counter[str] = field(default_factory=Counter)
    people: int = 0
    children: int = 0
    devices: Counter[str] = field(default_factory=Counter)  # physical devices per type
    turns: int = 0
    placements: int = 0  # turns where the engine was asked for a sponsored line
    decisions: int = 0  # decision events: the engine chose a campaign
    exposures: int = 0  # exposure events
    heard: int = 0  # sponsored lines the devices said (must equal exposures)
    reach: int = 0  # people who heard at least one sponsored line
    cap_violations: int = 0  # against the caps of the run's own scope (person or device)
    person_repeats: int = 0  # exposures a person-level cap would have refused
    overspend: int = 0
    ahead_of_pace: int = 0
    campaigns: dict[str, CampaignTally] = field(default_factory=dict)
    seconds: float = 0.0
    decide_seconds: list[float] = field(default_factory=list)
    end: datetime | None = None

    @property
    def ok(self) -> bool:
        return not (self.cap_violations or self.overspend or self.ahead_of_pace) and (
            self.heard == self.exposures
        )

    def numbers(self) -> dict[str, object]:
        """Everything except timings (equal for equal seeds)."""
        return {
            "households": self.households,
            "people": self.people,
            "children": self.children,
            "devices": dict(self.devices),
            "turns": self.turns,
            "placements": self.placements,
            "decisions": self.decisions,
            "exposures": self.exposures,
            "reach": self.reach,
            "cap_violations": self.cap_violations,
            "person_repeats": self.person_repeats,
            "overspend": self.overspend,
            "campaigns": {
                c: (t.exposures, t.reach, dict(t.kinds)) for c, t in self.campaigns.items()
            },
        }


class SimClock:
    """The simulated now, moved before each turn (engine, placements, sessions read it)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def timestamp(self) -> float:
        return self.now.timestamp()


async def simulate(
    household: Household,
    project: Project,
    database_url: str,
    clock: SimClock,
    settings: SimulationSettings,
    ledger: Ledger | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> SimulationResult:
    """Run the simulation on `household` (its sessions must read `clock`); events go to
    `database_url`, which should hold no campaign events yet."""
    marketing = Marketing.attach(
        household,
        project,
        database_url,
        ledger=ledger or MemoryLedger(),
        seed=settings.seed,
        clock=clock,
        cap_scope=settings.cap_scope,
    )
    try:
        if await asyncio.to_thread(marketing.events.brands):
            raise InputError(
                f"{safe_url(database_url)} already holds campaign events: "
                "the recount needs a fresh database"
            )
        return await _run(household, marketing, clock, settings, progress)
    finally:
        await marketing.aclose()


async def _run(
    household: Household,
    marketing: Marketing,
    clock: SimClock,
    settings: SimulationSettings,
    progress: Callable[[str], None],
) -> SimulationResult:
    result = SimulationResult(settings)
    tz = ZoneInfo(settings.time_zone)
    homes = make_homes(settings.households, settings.seed)
    result.households = len(homes)
    for home in homes:
        result.languages[home.language] += 1
        result.devices.update(speaker=2, tv=1)
        result.devices.update(phone=sum(1 for m in home.members if "phone" in m.devices))
        result.devices.update(car=int(any("car" in m.devices for m in home.members)))
        for member in home.members:
            result.people += 1
            result.children += member.child
            if member.child:
                marketing.people.set_child(member.user, True, home.id)

    heard: list[Exposure] = []  # per device, from what the devices said
    engine = marketing.engine

    async def timed_decide(
        context: SceneContext, profile: PersonProfile, subject: str | None = None
    ) -> Decision:
        started = time.perf_counter()
        try:
            return await decide(context, profile, subject)
        finally:
            result.decide_seconds.append(time.perf_counter() - started)

    decide = engine.decide
    setattr(engine, "decide", timed_decide)  # noqa: B010 (counting, the engine unchanged)

    started = time.perf_counter()
    for offset in range(settings.days):
        day = settings.start + timedelta(days=offset)
        queue: list[tuple[datetime, int, Episode]] = []
        for home in homes:
            for moment, episode in day_episodes(home, day, settings.seed, tz):
                queue.append((moment.astimezone(UTC), len(queue), episode))
        heapq.heapify(queue)
        seq = len(queue)
        while queue:
            moment, _, episode = heapq.heappop(queue)
            text = episode.next_text()
            if text is None:
                continue
            clock.now = moment
            turn = await household.turn(episode.device, text, episode.member.language)
            result.turns += 1
            episode.offered = await _heard(household, turn, episode.device, moment, heard)
            gap = timedelta(seconds=episode.rng.randrange(8, 40))
            heapq.heappush(queue, (moment + gap, seq, episode))
            seq += 1
        progress(f"day {offset + 1}/{settings.days} ({day.isoformat()}): {result.turns} turns")
        clock.now = datetime(day.year, day.month, day.day, tzinfo=tz) + timedelta(days=1)
    result.seconds = time.perf_counter() - started
    result.placements = len(result.decide_seconds)
    result.end = clock.now
    owners = {d.id: m.user for h in homes for m in h.members for d in m.devices.values()}
    _recount(result, marketing, heard, owners)
    return result


async def _heard(
    household: Household, turn: Turn, device: Device, moment: datetime, heard: list[Exposure]
) -> bool:
    """Did this turn's answer carry a sponsored line? (noted per device)"""
    if disclosure(turn.language) not in turn.response.speech:
        return False
    offer = (await household.sessions.load_person(device.user)).get("offer")
    if isinstance(offer, dict) and offer.get("device") == device.id:
        heard.append(Exposure(str(offer["campaign"]), device.id, moment))
    return True


def _recount(
    result: SimulationResult,
    marketing: Marketing,
    heard: Sequence[Exposure],
    owners: Mapping[str, str],
) -> None:
    campaigns = {c.id: c for c in marketing.engine.campaigns}
    exposures: list[Exposure] = []
    for brand in sorted({c.brand for c in campaigns.values()}):
        for event in marketing.events.events(brand):
            tally = result.campaigns.setdefault(event.campaign, CampaignTally())
            tally.kinds[event.kind] += 1
            if event.kind == "exposure":
                exposures.append(Exposure(event.campaign, event.person, event.at))
            elif event.kind == "decision":
                result.decisions += 1
    for cid in sorted(result.campaigns):
        mine = [e for e in exposures if e.campaign == cid]
        tally = result.campaigns[cid]
        tally.exposures = len(mine)
        tally.reach = len({e.who for e in mine})
        days = Counter(day_key(campaigns[cid], e.at) for e in mine)
        tally.busiest_day = max(days.values(), default=0)
    result.exposures = len(exposures)
    result.heard = len(heard)
    result.reach = len({owners[e.who] for e in heard})
    result.person_repeats = cap_violations(exposures, campaigns)
    if result.settings.cap_scope == "device":
        result.cap_violations = cap_violations(heard, campaigns)
    else:
        result.cap_violations = result.person_repeats
    result.overspend, result.ahead_of_pace = overspend(exposures, campaigns)
