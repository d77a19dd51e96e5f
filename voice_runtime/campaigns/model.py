"""The typed form of a campaign (`campaigns/*.yaml`), after validation.

A campaign promotes one brand skill (optionally straight into an intent with
slots: the deep link "yes" opens). It runs during its `flight`, spends at most
its `budget` of exposures (in total and per day, evenly or as fast as allowed),
reaches one person at most as often as its `caps` allow across all their
devices, and only in its `scenes`: the moment, device, room, what the person
just did or asked, and the language. Every sponsored line starts with the
platform's disclosure and ends with a call to action.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

Placement = Literal["after_goodbye", "what_can_you_do", "open_question", "idle_screen"]
PLACEMENTS: tuple[Placement, ...] = (
    "after_goodbye",  # after a skill's goodbye ("stop")
    "what_can_you_do",  # in answer to help outside a skill
    "open_question",  # the fallback to a question a scene names ("what should I cook")
    "idle_screen",  # a poster pushed to a screen device that is idle
)
Pacing = Literal["even", "asap"]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CreativeKind = Literal["speaker", "screen"]  # speakers and cars hear; TVs and phones see


@dataclass(frozen=True)
class Flight:
    """When the campaign runs: [start, end) in its own time zone (aware datetimes)."""

    start: datetime
    end: datetime
    time_zone: str


@dataclass(frozen=True)
class Budget:
    """Exposures the brand pays for: in total, and at most `per_day` (None: no daily cap)."""

    total: int
    per_day: int | None = None


@dataclass(frozen=True)
class Caps:
    """How often one person may hear the campaign, counted across all their devices."""

    per_day: int | None = None
    per_week: int | None = None
    min_gap: timedelta | None = None


@dataclass(frozen=True)
class HourRange:
    """Minutes since midnight, local time; `end` < `start` wraps past midnight."""

    start: int
    end: int

    def contains(self, minute: int) -> bool:
        if self.start <= self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end


@dataclass(frozen=True)
class Scene:
    """Where and when the campaign fits. Empty fields do not restrict.

    `days` are 0 (Monday) .. 6; `after` are skill ids or `skill.intent` names
    that just finished (the person said goodbye to them or the intent was carried
    out); `asked` are phrases per language the person's question must match
    ("what should I cook tonight"); `placements` where the line may be offered.
    """

    name: str
    placements: frozenset[Placement]
    days: frozenset[int] = frozenset()
    hours: tuple[HourRange, ...] = ()
    devices: frozenset[str] = frozenset()
    rooms: frozenset[str] = frozenset()
    after: tuple[str, ...] = ()
    asked: dict[str, tuple[str, ...]] = field(default_factory=dict)
    languages: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Creative:
    """What one kind of device gets in one language: a short spoken line, and for screens a
    card. The disclosure and the call to action are added by the platform, never here."""

    speech: str
    card_title: str | None = None
    card_text: str | None = None
    image: str | None = None


@dataclass(frozen=True)
class Campaign:
    id: str
    brand: str  # the brand id reports and opt-outs use, e.g. anchor_dairy
    skill: str  # the skill promoted
    flight: Flight
    budget: Budget
    caps: Caps
    scenes: tuple[Scene, ...]
    creatives: dict[CreativeKind, dict[str, Creative]]
    intent: str | None = None  # deep link: "yes" opens the skill at this intent
    slots: dict[str, str] = field(default_factory=dict)
    pacing: Pacing = "even"
    priority: int = 0
    file: str = ""

    @property
    def languages(self) -> frozenset[str]:
        return frozenset(lang for by_lang in self.creatives.values() for lang in by_lang)


@dataclass(frozen=True)
class PersonProfile:
    """What the platform knows about a person for marketing: a child profile gets no
    sponsored content; opt-outs hold for one brand or for all, on every device."""

    user: str
    child: bool = False
    opted_out: frozenset[str] = frozenset()  # brand ids
    opted_out_all: bool = False

    def excluded(self, brand: str) -> str | None:
        """Why this person must not hear `brand`, or None."""
        if self.child:
            return "excluded: child profile"
        if self.opted_out_all:
            return "opted out of all suggestions"
        if brand in self.opted_out:
            return f"opted out of {brand}"
        return None
