"""The campaign loader's scenes: days, hours, devices, rooms, after, asked, placements.

Each check reports at the offending node and returns None (or an empty value), so
every problem in the file is collected at once.
"""

from __future__ import annotations

import re

from ..languages import LANGUAGES
from ..people import DEVICE_TYPES
from ..skills.source import Node, type_name
from .loader_shapes import CampaignShapes
from .loader_times import parse_hours
from .model import DAYS, PLACEMENTS, HourRange, Placement, Scene

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
SCREEN_DEVICES = ("tv", "phone")  # speakers and cars hear the speaker line

AFTER = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$")


class SceneShapes(CampaignShapes):
    """Where and when a campaign may be offered: its `scenes:` list."""

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
