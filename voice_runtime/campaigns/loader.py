"""Load one campaign file: YAML -> checked Node tree -> typed `Campaign`, with diagnostics.

The same reader and shape checks as skills (`skills.source`, `skills.shapes`):
every problem is collected at once as `file:line:column: error|warning: ...`,
with a did-you-mean where a close choice exists. What needs other files (the
promoted skill, its intents, slots and languages; `after:` skills; unique
campaign ids) is checked by `catalog.cross_check`, at the positions kept in
`LoadedCampaign.marks`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from ..household.people import DEVICE_TYPES
from ..languages import LANGUAGES
from ..skills.diagnostics import Diagnostic, did_you_mean, has_errors
from ..skills.shapes import Mark, ShapeChecker
from ..skills.source import Node, parse_file, parse_yaml, type_name
from .model import (
    DAYS,
    PLACEMENTS,
    Budget,
    Campaign,
    Caps,
    Creative,
    CreativeKind,
    Flight,
    HourRange,
    Pacing,
    Placement,
    Scene,
)

SUPPORTED_VERSIONS = (1,)
CAMPAIGN_FIELDS = (
    "version",
    "id",
    "brand",
    "promotes",
    "flight",
    "budget",
    "pacing",
    "caps",
    "priority",
    "scenes",
    "creatives",
)
CAMPAIGN_REQUIRED = (
    "version",
    "id",
    "brand",
    "promotes",
    "flight",
    "budget",
    "scenes",
    "creatives",
)
PROMOTES_FIELDS = ("skill", "intent", "slots")
FLIGHT_FIELDS = ("start", "end", "time_zone")
BUDGET_FIELDS = ("total", "per_day")
CAPS_FIELDS = ("per_day", "per_week", "min_gap")
SCENE_FIELDS = (
    "name",
    "days",
    "hours",
    "devices",
    "rooms",
    "after",
    "asked",
    "languages",
    "placements",
)
CREATIVE_KINDS: tuple[CreativeKind, ...] = ("speaker", "screen")
SCREEN_FIELDS = ("speech", "title", "text", "image")
PACINGS: tuple[Pacing, ...] = ("even", "asap")
SCREEN_DEVICES = ("tv", "phone")  # speakers and cars hear the speaker line

MAX_SPEAKER_SPEECH = 160  # characters of a speaker's (or car's) line
MAX_SCREEN_SPEECH = 80  # characters of the line a TV or phone says beside its card
MAX_CARD_TITLE = 60
MAX_CARD_TEXT = 200
MAX_PRIORITY = 1000
MAX_COUNT = 10**9  # exposures, caps
MAX_GAP = timedelta(days=365)

HOURS = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
DURATION = re.compile(r"^(?:(\d{1,4})d)?(?:(\d{1,5})h)?(?:(\d{1,6})m)?$")
AFTER = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$")
# What the platform itself adds to every sponsored line: brands must not write it.
PLATFORM_WORDS = (
    (re.compile(r"\bsponsored\b", re.IGNORECASE), "Sponsored"),
    (re.compile(r"\badvert(isement)?\b", re.IGNORECASE), "Advertisement"),
    (re.compile(r"\bsay\s+[\"'“‘]?yes\b", re.IGNORECASE), "say yes"),
    (re.compile("广告"), "广告"),
    (re.compile("赞助"), "赞助"),
    (re.compile("说\\s*[\"'“‘「]?好的"), "说'好的'"),
)
DISCLOSURE_HINT = (
    "the platform starts every sponsored line with the disclosure ('Sponsored:' / '广告：') "
    "and ends it with the call to action ('say yes to start' / \"说'好的'开始\"): remove it here"
)


@dataclass
class LoadedCampaign:
    """The result of loading one file: the campaign (None if it has errors) and all findings.

    `marks` remembers where cross-file checks point: ("id",), ("brand",), ("skill",),
    ("intent",), ("slot", name), ("slot_value", name), ("creative", kind, language),
    ("after", scene index, entry), ("scene_language", scene index, language) and
    ("asked", scene index, language).
    """

    file: str
    campaign: Campaign | None
    diagnostics: list[Diagnostic]
    marks: dict[tuple[str, ...], Mark] = field(default_factory=dict)


def load_campaign_file(path: Path) -> LoadedCampaign:
    root, diagnostics = parse_file(path)
    return load_campaign_node(str(path), root, diagnostics)


def load_campaign_text(text: str, file: str = "<campaign>") -> LoadedCampaign:
    root, diagnostics = parse_yaml(text, file)
    return load_campaign_node(file, root, diagnostics)


def load_campaign_node(
    file: str, root: Node | None, diagnostics: list[Diagnostic]
) -> LoadedCampaign:
    """A campaign from a parsed tree (`root` None: the file could not be read)."""
    if root is None:
        return LoadedCampaign(file, None, sorted(diagnostics))
    checker = _Checker(file, diagnostics)
    campaign = checker.campaign(root)
    ok = campaign is not None and not has_errors(checker.diagnostics)
    return LoadedCampaign(
        file, campaign if ok else None, sorted(checker.diagnostics), checker.marks
    )


def suggest(text: str, allowed: tuple[str, ...]) -> str:
    """' (did you mean 'sat'?)' for 'Sat', 'saturday' or 'satday'; else ''."""
    lowered = text.strip().lower()
    prefixed = [choice for choice in allowed if lowered.startswith(choice)]
    if prefixed and lowered != prefixed[0]:
        return f" (did you mean '{max(prefixed, key=len)}'?)"
    return did_you_mean(lowered, allowed)


@functools.lru_cache(maxsize=1)
def time_zones() -> frozenset[str]:
    """The IANA time zone names this machine knows (e.g. Asia/Shanghai)."""
    return frozenset(available_timezones()) | {"UTC"}


def parse_duration(text: str) -> timedelta | None:
    """'30m', '4h', '1d', '1h30m' -> a positive timedelta; None if malformed or zero."""
    match = DURATION.match(text.replace(" ", "").lower())
    if not match or not any(match.groups()):
        return None
    days, hours, minutes = (int(part or 0) for part in match.groups())
    gap = timedelta(days=days, hours=hours, minutes=minutes)
    return gap if gap > timedelta(0) else None


def parse_hours(text: str) -> HourRange | str:
    """'13:00-18:00' -> HourRange(780, 1080); or why it is not a range."""
    match = HOURS.match(text.strip())
    if not match:
        return 'must be a range of local times like "13:00-18:00" (HH:MM-HH:MM)'
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    if start_h > 23 or start_m > 59 or end_m > 59 or end_h > 24 or (end_h == 24 and end_m):
        return "has a time that does not exist (hours 00-23, minutes 00-59; 24:00 may end a range)"
    start, end = start_h * 60 + start_m, (end_h * 60 + end_m) % (24 * 60)
    if start == end:
        return "is empty (it starts where it ends); leave 'hours' out to allow the whole day"
    return HourRange(start, end)


class _Checker(ShapeChecker):
    """The campaign schema, on top of the generic shape checks."""

    def reported_at(self, node: Node) -> bool:
        """Whether the reader already reported this value (e.g. an impossible date)."""
        return any((d.line, d.column) == (node.line, node.column) for d in self.diagnostics)

    def mark(self, key: tuple[str, ...], node: Node) -> None:
        self.marks[key] = (node.line, node.column)

    def whole(
        self, node: Node | None, what: str, low: int = 1, high: int = MAX_COUNT
    ) -> int | None:
        if node is None:
            return None
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int):
            self.report(node, f"{what} must be a whole number, not {type_name(node)}")
            return None
        if not low <= value <= high:
            shown = type_name(node).removeprefix("the number ")
            self.report(node, f"{what} must be from {low} to {high}, not {shown}")
            return None
        return value

    def items_of(self, node: Node, what: str, example: str) -> list[Node]:
        """The entries of a list (a single value counts as a one-entry list)."""
        items = node.items() if node.is_list else [node]
        if not items or (node.value is None and not node.is_list):
            self.report(node, f"{what} is empty; list at least one, e.g. {example}")
            return []
        return items

    def choices(
        self, node: Node, what: str, allowed: tuple[str, ...], example: str, noun: str
    ) -> list[tuple[Node, str]]:
        found: list[tuple[Node, str]] = []
        for item in self.items_of(node, what, example):
            text = self.text(item, f"{what} entry")
            if text is None:
                continue
            if text not in allowed:
                self.report(
                    item,
                    f"{what}: '{text}' is not {noun}{suggest(text, allowed)}; "
                    f"use {', '.join(allowed)}",
                )
                continue
            found.append((item, text))
        return found

    # -- top level -----------------------------------------------------------------

    def campaign(self, root: Node) -> Campaign | None:
        values = self.fields(root, "the campaign", CAMPAIGN_FIELDS, CAMPAIGN_REQUIRED)
        if values is None:
            return None
        if "version" in values:
            version = values["version"]
            if version.value not in SUPPORTED_VERSIONS or isinstance(version.value, bool):
                self.report(
                    version, f"version {version.value!r} is not supported; write 'version: 1'"
                )
        campaign_id = self.identifier(values["id"], "campaign id") if "id" in values else None
        brand = self.identifier(values["brand"], "brand") if "brand" in values else None
        for key in ("id", "brand"):
            if key in values:
                self.mark((key,), values[key])
        promoted = self.promotes(values["promotes"]) if "promotes" in values else None
        flight = self.flight(values["flight"]) if "flight" in values else None
        budget = self.budget(values["budget"]) if "budget" in values else None
        pacing = self.pacing(values["pacing"]) if "pacing" in values else "even"
        caps = self.caps(values.get("caps"), root)
        priority = self.whole(values.get("priority"), "priority", -MAX_PRIORITY, MAX_PRIORITY)
        scenes = self.scenes(values["scenes"]) if "scenes" in values else None
        creatives = self.creatives(values["creatives"]) if "creatives" in values else None
        if creatives is not None and scenes is not None:
            self.check_languages_used(values["creatives"], creatives, scenes)
        if flight is not None and budget is not None:
            self.check_budget_fits(values["budget"], flight, budget)
        if (
            campaign_id is None
            or brand is None
            or promoted is None
            or flight is None
            or budget is None
            or pacing is None
            or caps is None
            or scenes is None
            or creatives is None
        ):
            return None
        skill, intent, slots = promoted
        return Campaign(
            campaign_id,
            brand,
            skill,
            flight,
            budget,
            caps,
            tuple(scenes),
            creatives,
            intent,
            slots,
            pacing,
            priority or 0,
            self.file,
        )

    def promotes(self, node: Node) -> tuple[str, str | None, dict[str, str]] | None:
        values = self.fields(node, "promotes", PROMOTES_FIELDS, ("skill",))
        if values is None:
            return None
        skill = self.identifier(values["skill"], "promotes skill") if "skill" in values else None
        intent = (
            self.identifier(values["intent"], "promotes intent") if "intent" in values else None
        )
        for key in ("skill", "intent"):
            if key in values:
                self.mark((key,), values[key])
        slots: dict[str, str] = {}
        if "slots" in values:
            slots_node = values["slots"]
            if not slots_node.is_mapping or not slots_node.mapping():
                self.report(
                    slots_node,
                    "promotes slots must map slot names to value ids, e.g. {dish: bread}, "
                    f"not {type_name(slots_node)}",
                )
            else:
                for name, value in slots_node.mapping().items():
                    self.key_name(slots_node, name, "slot")
                    self.mark(("slot", name), slots_node.keys[name])
                    self.mark(("slot_value", name), value)
                    if isinstance(value.value, int | float) and not isinstance(value.value, bool):
                        slots[name] = str(value.value)  # a number slot's value
                    else:
                        text = self.text(value, f"promotes slot '{name}'")
                        if text is not None:
                            slots[name] = text
            if "intent" not in values:
                self.report(
                    slots_node,
                    "promotes slots need an 'intent' to open with (the deep link 'yes' opens)",
                )
        return (skill, intent, slots) if skill is not None else None

    def flight(self, node: Node) -> Flight | None:
        values = self.fields(node, "flight", FLIGHT_FIELDS, FLIGHT_FIELDS)
        if values is None:
            return None
        zone = self.time_zone(values["time_zone"]) if "time_zone" in values else None
        start = self.moment(values["start"], "flight start", zone) if "start" in values else None
        end = self.moment(values["end"], "flight end", zone) if "end" in values else None
        if start is None or end is None or zone is None:
            return None
        if end <= start:
            self.report(
                values["end"],
                f"flight end {values['end'].value} must be after its start "
                f"{values['start'].value} (the end is exclusive)",
            )
            return None
        return Flight(start, end, str(zone.key))

    def time_zone(self, node: Node) -> ZoneInfo | None:
        name = self.text(node, "flight time_zone")
        if name is None:
            return None
        known = time_zones()
        try:
            if name in known or len(known) <= 1:  # (no tz database listed: ask zoneinfo)
                return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
        self.report(
            node,
            f"flight time_zone '{name}' is not an IANA time zone"
            f"{did_you_mean(name, tuple(sorted(known)))}; write one like Asia/Shanghai, "
            "Europe/London or America/New_York",
        )
        return None

    def moment(self, node: Node, what: str, zone: ZoneInfo | None) -> datetime | None:
        if self.reported_at(node):  # the reader said why (e.g. "month must be in 1..12")
            return None
        example = "like 2026-11-01 or 2026-11-01T09:00"
        if not isinstance(node.value, str):
            self.report(node, f"{what} must be a date {example}, not {type_name(node)}")
            return None
        try:
            moment = datetime.fromisoformat(node.value.strip())
        except ValueError:
            self.report(node, f"{what} '{node.value}' is not a date {example}")
            return None
        if zone is None:
            return moment
        return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)

    def budget(self, node: Node) -> Budget | None:
        values = self.fields(node, "budget", BUDGET_FIELDS, ("total",))
        if values is None:
            return None
        total = self.whole(values.get("total"), "budget total")
        per_day = self.whole(values.get("per_day"), "budget per_day")
        if total is None:
            return None
        if per_day is not None and per_day > total:
            self.report(
                values["per_day"],
                f"budget per_day ({per_day}) must not exceed budget total ({total})",
            )
            return None
        return Budget(total, per_day)

    def check_budget_fits(self, node: Node, flight: Flight, budget: Budget) -> None:
        days = max(1, -(-(flight.end - flight.start) // timedelta(days=1)))
        if budget.per_day is not None and budget.per_day * days < budget.total:
            self.report(
                node,
                f"budget total {budget.total} can never be spent: {days} day(s) of flight at "
                f"per_day {budget.per_day} allow {budget.per_day * days}",
                "warning",
            )

    def pacing(self, node: Node) -> Pacing | None:
        for pacing in PACINGS:
            if node.value == pacing:
                return pacing
        shown = node.value if isinstance(node.value, str) else type_name(node)
        self.report(
            node,
            f"pacing '{shown}' is unknown{did_you_mean(str(shown), PACINGS)}; use even "
            "(spread over the flight, the default) or asap (as fast as caps allow)",
        )
        return None

    def caps(self, node: Node | None, root: Node) -> Caps | None:
        if node is None or (node.is_mapping and not node.mapping()):
            self.report(
                node or root,
                "the campaign has no frequency caps: one person could hear it at every turn; "
                "add e.g. caps: {per_day: 1, per_week: 3, min_gap: 4h}",
                "warning",
            )
            return Caps()
        values = self.fields(node, "caps", CAPS_FIELDS, ())
        if values is None:
            return None
        per_day = self.whole(values.get("per_day"), "caps per_day")
        per_week = self.whole(values.get("per_week"), "caps per_week")
        gap = None
        if "min_gap" in values:
            gap_node = values["min_gap"]
            text = gap_node.value if isinstance(gap_node.value, str) else None
            gap = parse_duration(text) if text is not None else None
            if gap is None or gap > MAX_GAP:
                shown = f"'{text}'" if text is not None else type_name(gap_node)
                self.report(
                    gap_node,
                    f"caps min_gap {shown} must be a duration like 30m, 4h, 1d or 1h30m "
                    "(at most 365d)",
                )
                return None
        if per_day is not None and per_week is not None and per_day > per_week:
            self.report(
                values["per_day"],
                f"caps per_day ({per_day}) is more than per_week ({per_week}), "
                "so it can never be reached",
                "warning",
            )
        bad = any(
            key in values and v is None for key, v in (("per_day", per_day), ("per_week", per_week))
        )
        return None if bad else Caps(per_day, per_week, gap)

    # -- scenes --------------------------------------------------------------------

    def scenes(self, node: Node) -> list[Scene] | None:
        if not node.is_list or not node.items():
            shown = "an empty list" if node.is_list else type_name(node)
            self.report(
                node,
                f"scenes must be a list of at least one scene (name, placements, ...), not {shown}",
            )
            return None
        scenes: list[Scene] = []
        names: dict[str, int] = {}
        ok = True
        for index, item in enumerate(node.items()):
            scene = self.scene(item, index)
            if scene is None:
                ok = False
                continue
            if scene.name in names:
                self.report(
                    item,
                    f"scene name '{scene.name}' is used twice (first on line {names[scene.name]}); "
                    "give each scene its own name",
                )
            names.setdefault(scene.name, item.line)
            scenes.append(scene)
        return scenes if ok else None

    def scene(self, node: Node, index: int) -> Scene | None:
        written = node.mapping().get("name") if node.is_mapping else None
        label = (
            f"scene '{written.value}'"
            if written is not None and isinstance(written.value, str)
            else f"scene {index + 1}"
        )
        values = self.fields(node, label, SCENE_FIELDS, ("name", "placements"))
        if values is None:
            return None
        name = self.text(values["name"], f"scene {index + 1} name") if "name" in values else None
        what = f"scene '{name}'" if name is not None else f"scene {index + 1}"
        placements = self.placements(values.get("placements"), what)
        offered = placements or frozenset()
        days = self.days(values.get("days"), what)
        hours = self.hours(values.get("hours"), what)
        devices = (
            frozenset(
                d
                for _, d in self.choices(
                    values["devices"], f"{what} devices", DEVICE_TYPES, "[speaker]", "a device type"
                )
            )
            if "devices" in values
            else frozenset()
        )
        rooms = self.rooms(values.get("rooms"), what)
        after = self.after(values.get("after"), what, index)
        asked = self.asked(values.get("asked"), what, index)
        languages: frozenset[str] = frozenset()
        if "languages" in values:
            found = self.choices(
                values["languages"], f"{what} languages", LANGUAGES, "[en]", "a language"
            )
            for item, language in found:
                self.mark(("scene_language", str(index), language), item)
            languages = frozenset(language for _, language in found)
        if "open_question" in offered and not asked and "asked" not in values:
            self.report(
                values["placements"],
                f"{what} offers open_question, so it needs 'asked': the questions it answers, "
                "e.g. asked: {en: [what should I cook]}",
            )
        if "idle_screen" in offered and devices and not devices & set(SCREEN_DEVICES):
            self.report(
                values["placements"],
                f"{what} offers idle_screen, but its devices ({', '.join(sorted(devices))}) "
                f"have no screen; idle_screen shows only on {' and '.join(SCREEN_DEVICES)}",
                "warning",
            )
        if name is None or placements is None or days is None or hours is None or rooms is None:
            return None
        return Scene(name, placements, days, hours, devices, rooms, after, asked, languages)

    def placements(self, node: Node | None, what: str) -> frozenset[Placement] | None:
        if node is None:
            return None
        found = self.choices(
            node, f"{what} placements", PLACEMENTS, "[after_goodbye]", "a placement"
        )
        chosen = {text for _, text in found}
        return frozenset(p for p in PLACEMENTS if p in chosen) or None

    def days(self, node: Node | None, what: str) -> frozenset[int] | None:
        if node is None:
            return frozenset()
        found = self.choices(node, f"{what} days", DAYS, "[sat, sun]", "a day")
        return frozenset(DAYS.index(day) for _, day in found)

    def hours(self, node: Node | None, what: str) -> tuple[HourRange, ...] | None:
        if node is None:
            return ()
        ranges: list[HourRange] = []
        for item in self.items_of(node, f"{what} hours", '["13:00-18:00"]'):
            if not isinstance(item.value, str):
                hint = (
                    " (unquoted, YAML reads a time as a number of minutes: put it in quotes)"
                    if isinstance(item.value, int)
                    else ""
                )
                self.report(
                    item,
                    f'{what} hours entry must be a range like "13:00-18:00"{hint}, '
                    f"not {type_name(item)}",
                )
                continue
            parsed = parse_hours(item.value)
            if isinstance(parsed, str):
                self.report(item, f"{what} hours entry '{item.value.strip()}' {parsed}")
                continue
            ranges.append(parsed)
        return tuple(ranges)

    def rooms(self, node: Node | None, what: str) -> frozenset[str] | None:
        if node is None:
            return frozenset()
        items = self.items_of(node, f"{what} rooms", "[kitchen]")
        return frozenset(
            room for item in items if (room := self.identifier(item, f"{what} room")) is not None
        )

    def after(self, node: Node | None, what: str, index: int) -> tuple[str, ...]:
        if node is None:
            return ()
        entries: list[str] = []
        for item in self.items_of(node, f"{what} after", "[wok_kitchen]"):
            text = self.text(item, f"{what} after entry")
            if text is None:
                continue
            if not AFTER.match(text):
                self.report(
                    item,
                    f"{what} after entry '{text}' must be a skill id or skill.intent, "
                    "e.g. wok_kitchen or wok_kitchen.cook_dish",
                )
                continue
            self.mark(("after", str(index), text), item)
            entries.append(text)
        return tuple(entries)

    def asked(self, node: Node | None, what: str, index: int) -> dict[str, tuple[str, ...]]:
        if node is None:
            return {}
        if node.is_mapping and not node.mapping():
            self.report(
                node, f"{what} asked is empty; give phrases per language, e.g. {{en: [...]}}"
            )
            return {}
        phrases = self.localized_list(node, f"{what} asked")
        for language in self.languages_of_silently(node):
            self.mark(("asked", str(index), language), node.keys[language])
        return {language: tuple(texts) for language, texts in phrases.items() if texts}

    # -- creatives -----------------------------------------------------------------

    def creatives(self, node: Node) -> dict[CreativeKind, dict[str, Creative]] | None:
        values = self.fields(node, "creatives", CREATIVE_KINDS, CREATIVE_KINDS)
        if values is None:
            return None
        result: dict[CreativeKind, dict[str, Creative]] = {}
        for kind in CREATIVE_KINDS:
            if kind not in values:
                continue
            by_language: dict[str, Creative] = {}
            for language, entry in self.languages_of(values[kind], f"creatives {kind}").items():
                self.mark(("creative", kind, language), values[kind].keys[language])
                what = f"creatives {kind} ({language})"
                creative = (
                    self.speaker(entry, what) if kind == "speaker" else self.screen(entry, what)
                )
                if creative is not None:
                    by_language[language] = creative
            result[kind] = by_language
        return result

    def speaker(self, node: Node, what: str) -> Creative | None:
        if node.is_mapping:
            self.report(node, f"{what} must be the spoken line as text, not a mapping")
            return None
        speech = self.line(node, what, MAX_SPEAKER_SPEECH)
        return Creative(speech) if speech is not None else None

    def screen(self, node: Node, what: str) -> Creative | None:
        values = self.fields(node, what, SCREEN_FIELDS, ("speech", "title", "text"))
        if values is None:
            return None
        speech = (
            self.line(values["speech"], f"{what} speech", MAX_SCREEN_SPEECH)
            if "speech" in values
            else None
        )
        title = (
            self.line(values["title"], f"{what} title", MAX_CARD_TITLE)
            if "title" in values
            else None
        )
        text = (
            self.line(values["text"], f"{what} text", MAX_CARD_TEXT) if "text" in values else None
        )
        image = None
        if "image" in values:
            image = self.text(values["image"], f"{what} image")
            if image is not None and (not image.startswith("https://") or len(image) <= 8):
                self.report(
                    values["image"],
                    f"{what} image must be an https:// URL (screens load no plain http), "
                    f"not '{image}'",
                )
                image = None
        if speech is None or title is None or text is None:
            return None
        return Creative(speech, title, text, image)

    def line(self, node: Node, what: str, limit: int) -> str | None:
        text = self.text(node, what)
        if text is None:
            return None
        if len(text) > limit:
            self.report(node, f"{what} is {len(text)} characters long; the limit is {limit}")
            return None
        for pattern, word in PLATFORM_WORDS:
            if pattern.search(text):
                self.report(node, f"{what} already says '{word}'; {DISCLOSURE_HINT}", "warning")
                break
        return text

    def check_languages_used(
        self,
        node: Node,
        creatives: dict[CreativeKind, dict[str, Creative]],
        scenes: list[Scene],
    ) -> None:
        """Every language the campaign speaks or listens in needs both kinds of creative."""
        used: dict[str, str] = {}
        for scene in scenes:
            for language in sorted(scene.asked):
                used.setdefault(language, f"scene '{scene.name}' asked")
            for language in sorted(scene.languages):
                used.setdefault(language, f"scene '{scene.name}' languages")
        written = {kind: self.languages_of_silently(n) for kind, n in node.mapping().items()}
        for kind in CREATIVE_KINDS:
            for language in written.get(kind, {}):
                used.setdefault(language, f"creatives {kind}")
        if not used:
            self.report(node, "creatives need at least one language, e.g. speaker: {en: ...}")
        mapping = node.mapping()
        for kind in CREATIVE_KINDS:
            if kind not in mapping or not mapping[kind].is_mapping:
                continue
            for language, source in sorted(used.items()):
                if language not in written.get(kind, {}):
                    self.report(
                        mapping[kind],
                        f"creatives {kind} has no '{language}' entry, but the campaign uses "
                        f"{language} (in {source}); add '{language}:'",
                    )
