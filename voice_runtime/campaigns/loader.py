"""Load one campaign file: YAML -> checked Node tree -> typed `Campaign`, with diagnostics.

The same reader and shape checks as skills (`skills.source`, `skills.shapes`):
every problem is collected at once as `file:line:column: error|warning: ...`,
with a did-you-mean where a close choice exists. What needs other files (the
promoted skill, its intents, slots and languages; `after:` skills; unique
campaign ids) is checked by `catalog.cross_check`, at the positions kept in
`LoadedCampaign.marks`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..skills.diagnostics import Diagnostic, did_you_mean, has_errors
from ..skills.shapes import Mark
from ..skills.source import Node, parse_file, parse_yaml, type_name
from .loader_creatives import (
    CREATIVE_KINDS,
    DISCLOSURE_HINT,
    MAX_CARD_TEXT,
    MAX_CARD_TITLE,
    MAX_SCREEN_SPEECH,
    MAX_SPEAKER_SPEECH,
    PLATFORM_WORDS,
    SCREEN_FIELDS,
    CreativeShapes,
)
from .loader_scenes import AFTER, SCENE_FIELDS, SCREEN_DEVICES, SceneShapes
from .loader_shapes import MAX_COUNT, suggest
from .loader_times import DURATION, HOURS, parse_duration, parse_hours, time_zones
from .model import Budget, Campaign, Caps, Flight, Pacing

__all__ = [
    "AFTER",
    "BUDGET_FIELDS",
    "CAMPAIGN_FIELDS",
    "CAMPAIGN_REQUIRED",
    "CAPS_FIELDS",
    "CREATIVE_KINDS",
    "DISCLOSURE_HINT",
    "DURATION",
    "FLIGHT_FIELDS",
    "HOURS",
    "MAX_CARD_TEXT",
    "MAX_CARD_TITLE",
    "MAX_COUNT",
    "MAX_GAP",
    "MAX_PRIORITY",
    "MAX_SCREEN_SPEECH",
    "MAX_SPEAKER_SPEECH",
    "PACINGS",
    "PLATFORM_WORDS",
    "PROMOTES_FIELDS",
    "SCENE_FIELDS",
    "SCREEN_DEVICES",
    "SCREEN_FIELDS",
    "SUPPORTED_VERSIONS",
    "LoadedCampaign",
    "load_campaign_file",
    "load_campaign_node",
    "load_campaign_text",
    "parse_duration",
    "parse_hours",
    "suggest",
    "time_zones",
]

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
PACINGS: tuple[Pacing, ...] = ("even", "asap")
MAX_PRIORITY = 1000
MAX_GAP = timedelta(days=365)


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


class _Checker(SceneShapes, CreativeShapes):
    """The campaign schema, on top of the generic shape checks: the top-level fields here,
    scenes and creatives in their mixins."""

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
