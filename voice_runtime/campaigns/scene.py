"""Does a campaign fit this moment? Scenes, relevance, and the platform's exclusions.

A `SceneContext` is one moment a sponsored line could be offered: when, on
which device, in which language and placement, what the person just finished
or asked, and whether a conversation waits for an answer. `scene_match` says
how well one campaign's scenes fit it (a relevance score, the best scene's
name, or why none fits); `platform_exclusion` holds the rules no campaign can
override (no sponsored line while a conversation waits for an answer, nor in
or right after sleep sounds at night, nor outside the flight).

Times are read in the campaign flight's time zone: a campaign says "Saturday
afternoon" in its own zone, and that zone is taken as the device's local time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from ..languages import is_cjk
from ..people import Device
from ..skills.normalize import normalize
from .model import DAYS, Campaign, CreativeKind, HourRange, Placement, Scene

# Relevance of a fitting scene: one that names what the person asked beats one
# naming what they just finished, which beats a time/device/room-only scene.
# Each restriction the moment met adds a small bonus (never enough to cross a tier).
RELEVANCE_ASKED = 3.0
RELEVANCE_AFTER = 2.0
RELEVANCE_BASE = 1.0
RELEVANCE_PER_RESTRICTION = 0.1

DEVICE_KIND: dict[str, CreativeKind] = {
    "speaker": "speaker",
    "car": "speaker",
    "tv": "screen",
    "phone": "screen",
}
_DEVICE_NAMES = {"tv": "TV", "speaker": "speaker", "phone": "phone", "car": "car"}


@dataclass(frozen=True)
class SceneContext:
    """One moment a sponsored line could be offered.

    `now` is aware; `finished` is the skill id or `skill.intent` just finished
    (or said goodbye to); `asked` the person's words (for `open_question`);
    `waiting` is true while a conversation waits for the person's answer;
    `current_skill` the skill the device's conversation is in, if any.
    """

    now: datetime
    device: Device
    language: str
    placement: Placement
    finished: str | None = None
    asked: str | None = None
    waiting: bool = False
    current_skill: str | None = None


@dataclass(frozen=True)
class QuietRule:
    """No sponsored line in or right after `skill` during `hours` (device-local time)."""

    skill: str
    hours: HourRange
    reason: str = "excluded: sleep at night"


DEFAULT_QUIET_RULES: tuple[QuietRule, ...] = (
    QuietRule("dreamwell_sleep", HourRange(21 * 60, 7 * 60)),
)


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_time(campaign: Campaign, now: datetime) -> datetime:
    """`now` in the campaign flight's time zone."""
    return _local(now, campaign.flight.time_zone)


@lru_cache(maxsize=256)
def _local(now: datetime, time_zone: str) -> datetime:
    return now.astimezone(zone(time_zone))


def creative_kind(device: Device) -> CreativeKind:
    """Speakers and cars hear a spoken line; TVs and phones see a card."""
    return DEVICE_KIND.get(device.type, "screen" if device.has_screen else "speaker")


def skill_of(name: str) -> str:
    """`golden_wok.order_food` -> `golden_wok`."""
    return name.split(".", 1)[0]


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def describe_time(scene: Scene) -> str:
    """ "13:00-18:00 on sat, sun" (either part may be missing)."""
    return _describe_time(scene.days, scene.hours)


@lru_cache(maxsize=1024)
def _describe_time(days: frozenset[int], hours: tuple[HourRange, ...]) -> str:
    parts = []
    if hours:
        parts.append(", ".join(f"{_hhmm(h.start)}-{_hhmm(h.end)}" for h in hours))
    if days:
        parts.append("on " + ", ".join(DAYS[d] for d in sorted(days)))
    return " ".join(parts)


@lru_cache(maxsize=1024)
def _not_a(devices: frozenset[str]) -> str:
    return f"not a {_or([_DEVICE_NAMES.get(d, d) for d in sorted(devices)])}"


@lru_cache(maxsize=1024)
def _not_in(rooms: frozenset[str]) -> str:
    return f"not in the {_or(sorted(rooms))}"


def _or(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


@lru_cache(maxsize=4096)
def _phrase(text: str) -> str:
    return normalize(text)


def _contains(words: str, phrase: str) -> bool:
    """The phrase's words (en) or characters (zh) appear in order in the person's words.

    Both are normalised; "what should I cook" is in "so what should I cook tonight",
    "今晚吃什么" in "我们今晚吃什么呢".
    """
    if any(is_cjk(c) for c in phrase):
        asked, wanted = list(words.replace(" ", "")), list(phrase.replace(" ", ""))
    else:
        asked, wanted = words.split(), phrase.split()
    if not wanted:
        return False
    it = iter(asked)
    return all(any(token == w for token in it) for w in wanted)


def asked_matches(scene: Scene, language: str, asked_normalized: str | None) -> bool:
    if not asked_normalized:
        return False
    phrases = scene.asked.get(language, ())
    return any(_contains(asked_normalized, _phrase(p)) for p in phrases)


def finished_matches(scene: Scene, finished: str | None) -> bool:
    """`after: [golden_wok]` matches any golden_wok intent; `golden_wok.order` only that one."""
    if not finished:
        return False
    return any(entry == finished or entry == skill_of(finished) for entry in scene.after)


def _scene_fit(
    scene: Scene, context: SceneContext, local: datetime, asked: str | None
) -> tuple[float, list[str]]:
    """(relevance, []) when the scene fits, else (0, what it lacks: kinds for `_describe`)."""
    misses: list[str] = []
    met = 0
    if context.placement not in scene.placements:
        misses.append("placement")
    if scene.devices:
        if context.device.type in scene.devices:
            met += 1
        else:
            misses.append("device")
    if scene.rooms:
        if context.device.room in scene.rooms:
            met += 1
        else:
            misses.append("room")
    if scene.days or scene.hours:
        minute = local.hour * 60 + local.minute
        day_ok = not scene.days or local.weekday() in scene.days
        hour_ok = not scene.hours or any(h.contains(minute) for h in scene.hours)
        if day_ok and hour_ok:
            met += bool(scene.days) + bool(scene.hours)
        else:
            misses.append("time")
    if scene.languages:
        if context.language in scene.languages:
            met += 1
        else:
            misses.append("language")
    if scene.after:
        if finished_matches(scene, context.finished):
            met += 1
        else:
            misses.append("after")
    if scene.asked:
        if asked_matches(scene, context.language, asked):
            met += 1
        else:
            misses.append("asked")
    if misses:
        return 0.0, misses
    tier = RELEVANCE_ASKED if scene.asked else RELEVANCE_AFTER if scene.after else RELEVANCE_BASE
    return tier + RELEVANCE_PER_RESTRICTION * met, []


def _describe(miss: str, scene: Scene, context: SceneContext) -> str:
    """What a scene lacks, in words: "not a TV", "outside 13:00-18:00 on sat, sun"."""
    if miss == "placement":
        return f"not offered at {context.placement}"
    if miss == "device":
        return _not_a(scene.devices)
    if miss == "room":
        return _not_in(scene.rooms)
    if miss == "time":
        return f"outside {describe_time(scene)}"
    if miss == "language":
        return f"not in {context.language}"
    if miss == "after":
        return f"not after {_or(list(scene.after))}"
    phrases = scene.asked.get(context.language) or next(iter(scene.asked.values()), ())
    return f"not asked {phrases[0]!r}" if phrases else "not asked"


def scene_match(
    campaign: Campaign, context: SceneContext, asked_normalized: str | None = None
) -> tuple[float, str | None, str]:
    """(relevance, the best fitting scene's name, "") or (0, None, "out of scene: ...").

    The reason names what the nearest scene (the one with the fewest misses)
    lacks, e.g. "out of scene: not a TV; outside 18:00-23:00". Pass
    `asked_normalized` (normalize(context.asked)) when matching many campaigns.
    """
    asked = asked_normalized if asked_normalized is not None else _normalized(context.asked)
    local = local_time(campaign, context.now)
    best: tuple[float, str | None] = (0.0, None)
    nearest: tuple[Scene, list[str]] | None = None
    for scene in campaign.scenes:
        score, misses = _scene_fit(scene, context, local, asked)
        if not misses:
            if score > best[0]:
                best = (score, scene.name)
        elif nearest is None or len(misses) < len(nearest[1]):
            nearest = (scene, misses)
    if best[1] is not None:
        return best[0], best[1], ""
    if nearest is None:
        return 0.0, None, "out of scene: the campaign has no scenes"
    scene, misses = nearest
    return 0.0, None, "out of scene: " + "; ".join(_describe(m, scene, context) for m in misses)


def _normalized(text: str | None) -> str | None:
    return normalize(text) if text else None


def quiet_exclusion(
    campaign: Campaign, context: SceneContext, rules: Sequence[QuietRule]
) -> str | None:
    """The reason of the first quiet rule that holds now (in or right after its skill)."""
    skills = {skill_of(s) for s in (context.current_skill, context.finished) if s}
    if not skills:
        return None
    local = local_time(campaign, context.now)
    minute = local.hour * 60 + local.minute
    for rule in rules:
        if rule.skill in skills and rule.hours.contains(minute):
            return rule.reason
    return None


def platform_exclusion(
    campaign: Campaign, context: SceneContext, rules: Sequence[QuietRule] = DEFAULT_QUIET_RULES
) -> str | None:
    """Why the platform forbids this campaign now whatever its scenes say, or None."""
    if context.waiting:
        return "excluded: waiting for an answer"
    quiet = quiet_exclusion(campaign, context, rules)
    if quiet:
        return quiet
    if not campaign.flight.start <= context.now < campaign.flight.end:
        return "outside its flight"
    return None
