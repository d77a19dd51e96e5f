"""Every mistake a brand can make in a campaign file gets a file:line:column message."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voice_runtime.campaigns.catalog import (
    cross_check,
    is_campaign_file,
    load_campaigns,
    load_project_campaigns,
)
from voice_runtime.campaigns.loader import load_campaign_text, parse_duration, parse_hours
from voice_runtime.campaigns.model import HourRange
from voice_runtime.cli.main import main
from voice_runtime.project import Project
from voice_runtime.skills.catalog import Catalog
from voice_runtime.skills.model import Skill

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "campaigns").glob("*.yaml"))

MINIMAL = """\
version: 1
id: tea_break
brand: anchor_dairy
promotes: {skill: anchor_baking, intent: recipe, slots: {dish: cookies}}
flight: {start: 2026-11-01, end: 2027-01-01, time_zone: Asia/Shanghai}
budget: {total: 1000, per_day: 50}
caps: {per_day: 1, per_week: 3, min_gap: 4h}
scenes:
  - name: afternoon
    days: [sat, sun]
    hours: ["15:00-17:00"]
    devices: [speaker, tv]
    placements: [after_goodbye, idle_screen]
  - name: asks for a snack
    asked: {en: [what can I bake], zh: [做什么点心]}
    placements: [open_question]
    after: [wok_kitchen]
creatives:
  speaker:
    en: Anchor Baking Class has a cookie lesson for tea time.
    zh: 安佳烘焙课堂有下午茶饼干课。
  screen:
    en: {speech: A cookie lesson for tea time., title: Baking Class, text: Butter cookies}
    zh: {speech: 下午茶饼干课。, title: 烘焙课堂, text: 黄油饼干}
"""


def messages(text: str, catalog: Catalog | None = None) -> list[str]:
    """Every diagnostic of `text` as tea.yaml, cross-checked against `catalog` if given."""
    loaded = load_campaign_text(text, "tea.yaml")
    found = [str(d) for d in loaded.diagnostics]
    if catalog is not None:
        found += [str(d) for d in cross_check([loaded], catalog)]
    return found


def edited(old: str, new: str) -> str:
    assert old in MINIMAL, old
    return MINIMAL.replace(old, new, 1)


def test_minimal_campaign_loads_into_the_model(catalog: Catalog) -> None:
    loaded = load_campaign_text(MINIMAL, "tea.yaml")
    assert messages(MINIMAL, catalog) == []
    campaign = loaded.campaign
    assert campaign is not None
    assert (campaign.skill, campaign.intent, campaign.slots) == (
        "anchor_baking",
        "recipe",
        {"dish": "cookies"},
    )
    zone = ZoneInfo("Asia/Shanghai")
    assert campaign.flight.start == datetime(2026, 11, 1, tzinfo=zone)
    assert campaign.flight.end == datetime(2027, 1, 1, tzinfo=zone)
    assert campaign.caps.min_gap == timedelta(hours=4)
    assert (campaign.pacing, campaign.priority, campaign.budget.per_day) == ("even", 0, 50)
    first, second = campaign.scenes
    assert first.days == frozenset({5, 6}) and first.hours == (HourRange(900, 1020),)
    assert first.placements == frozenset({"after_goodbye", "idle_screen"})
    assert second.asked == {"en": ("what can I bake",), "zh": ("做什么点心",)}
    assert second.after == ("wok_kitchen",)
    assert campaign.creatives["screen"]["zh"].card_title == "烘焙课堂"
    assert campaign.creatives["speaker"]["en"].card_title is None
    assert campaign.languages == frozenset({"en", "zh"})


def test_shipped_campaigns_load_without_diagnostics(catalog: Catalog) -> None:
    campaigns = load_project_campaigns(Project(ROOT), catalog)
    assert [str(d) for d in campaigns.diagnostics] == []
    assert sorted(c.id for c in campaigns.campaigns) == [
        "anchor_weekend_baking",
        "dreamwell_evening_wind_down",
        "star_motors_evening_tv",
    ]
    for campaign in campaigns.campaigns:
        assert campaign.languages == frozenset({"en", "zh"})
        assert campaign.flight.start <= datetime(2026, 11, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
        assert campaign.flight.end >= datetime(2027, 6, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    dreamwell = campaigns.get("dreamwell_evening_wind_down")
    assert dreamwell is not None
    assert all(scene.hours == (HourRange(18 * 60, 21 * 60),) for scene in dreamwell.scenes)
    anchor = campaigns.get("anchor_weekend_baking")
    assert anchor is not None and anchor.slots == {"dish": "bread"}
    assert any(scene.after == ("wok_kitchen",) for scene in anchor.scenes)
    assert campaigns.for_brand("star_motors")[0].scenes[0].devices == frozenset({"tv"})


# (rule, old text, new text, the exact diagnostics)
RULES = [
    (
        "unknown field, with a suggestion",
        "budget:",
        "budjet:",
        [
            "tea.yaml:6:1: error: unknown field 'budjet' in the campaign (did you mean "
            "'budget'?); allowed: version, id, brand, promotes, flight, budget, pacing, caps, "
            "priority, scenes, creatives"
        ],
    ),
    ("x- fields are ignored", "budget:", "x-note: hello\nbudget:", []),
    (
        "required field",
        "brand: anchor_dairy\n",
        "",
        ["tea.yaml:1:1: error: the campaign is missing the required field 'brand'"],
    ),
    (
        "types",
        "total: 1000",
        "total: lots",
        ["tea.yaml:6:17: error: budget total must be a whole number, not text"],
    ),
    (
        "id",
        "id: tea_break",
        "id: Tea Break",
        [
            "tea.yaml:2:5: error: campaign id 'Tea Break' must be lower-case letters, digits "
            "and '_', starting with a letter (for example 'tea_break')"
        ],
    ),
    (
        "end after start",
        "end: 2027-01-01",
        "end: 2026-11-01",
        [
            "tea.yaml:5:34: error: flight end 2026-11-01 must be after its start 2026-11-01 "
            "(the end is exclusive)"
        ],
    ),
    (
        "ISO datetimes",
        "end: 2027-01-01",
        "end: 2027-01-01T09:30",
        [],
    ),
    (
        "not a date",
        "end: 2027-01-01",
        "end: next year",
        [
            "tea.yaml:5:34: error: flight end 'next year' is not a date like 2026-11-01 or "
            "2026-11-01T09:00"
        ],
    ),
    (
        "IANA time zone",
        "time_zone: Asia/Shanghai",
        "time_zone: Asia/Shangai",
        [
            "tea.yaml:5:57: error: flight time_zone 'Asia/Shangai' is not an IANA time zone "
            "(did you mean 'Asia/Shanghai'?); write one like Asia/Shanghai, Europe/London or "
            "America/New_York"
        ],
    ),
    (
        "positive budget",
        "total: 1000",
        "total: 0",
        ["tea.yaml:6:17: error: budget total must be from 1 to 1000000000, not 0"],
    ),
    (
        "per_day within total",
        "per_day: 50}",
        "per_day: 5000}",
        ["tea.yaml:6:32: error: budget per_day (5000) must not exceed budget total (1000)"],
    ),
    (
        "a budget the flight cannot spend",
        "per_day: 50}",
        "per_day: 10}",
        [
            "tea.yaml:6:9: warning: budget total 1000 can never be spent: 61 day(s) of "
            "flight at per_day 10 allow 610"
        ],
    ),
    (
        "pacing",
        "caps:",
        "pacing: evenly\ncaps:",
        [
            "tea.yaml:7:9: error: pacing 'evenly' is unknown (did you mean 'even'?); use even "
            "(spread over the flight, the default) or asap (as fast as caps allow)"
        ],
    ),
    (
        "positive caps",
        "caps: {per_day: 1,",
        "caps: {per_day: -1,",
        ["tea.yaml:7:17: error: caps per_day must be from 1 to 1000000000, not -1"],
    ),
    (
        "min_gap format",
        "min_gap: 4h",
        "min_gap: 4 hrs",
        [
            "tea.yaml:7:42: error: caps min_gap '4 hrs' must be a duration like 30m, 4h, 1d "
            "or 1h30m (at most 365d)"
        ],
    ),
    (
        "no caps",
        "caps: {per_day: 1, per_week: 3, min_gap: 4h}\n",
        "",
        [
            "tea.yaml:1:1: warning: the campaign has no frequency caps: one person could hear "
            "it at every turn; add e.g. caps: {per_day: 1, per_week: 3, min_gap: 4h}"
        ],
    ),
    (
        "day names",
        "days: [sat, sun]",
        "days: [sat, sunday]",
        [
            "tea.yaml:10:17: error: scene 'afternoon' days: 'sunday' is not a day (did you "
            "mean 'sun'?); use mon, tue, wed, thu, fri, sat, sun"
        ],
    ),
    (
        "hour ranges",
        '"15:00-17:00"',
        '"15:00-17"',
        [
            "tea.yaml:11:13: error: scene 'afternoon' hours entry '15:00-17' must be a range "
            'of local times like "13:00-18:00" (HH:MM-HH:MM)'
        ],
    ),
    (
        "hours that do not exist",
        '"15:00-17:00"',
        '"15:00-25:00"',
        [
            "tea.yaml:11:13: error: scene 'afternoon' hours entry '15:00-25:00' has a time "
            "that does not exist (hours 00-23, minutes 00-59; 24:00 may end a range)"
        ],
    ),
    (
        "unquoted hours",
        '["15:00-17:00"]',
        "[15:00]",
        [
            "tea.yaml:11:13: error: scene 'afternoon' hours entry must be a range like "
            '"13:00-18:00" (unquoted, YAML reads a time as a number of minutes: put it in '
            "quotes), not the number 900"
        ],
    ),
    (
        "device types",
        "devices: [speaker, tv]",
        "devices: [speaker, tvs]",
        [
            "tea.yaml:12:24: error: scene 'afternoon' devices: 'tvs' is not a device type "
            "(did you mean 'tv'?); use speaker, tv, phone, car",
            "tea.yaml:13:17: warning: scene 'afternoon' offers idle_screen, but its devices "
            "(speaker) have no screen; idle_screen shows only on tv and phone",
        ],
    ),
    (
        "placements",
        "[after_goodbye, idle_screen]",
        "[after_goodbye, idle]",
        [
            "tea.yaml:13:33: error: scene 'afternoon' placements: 'idle' is not a placement; "
            "use after_goodbye, what_can_you_do, open_question, idle_screen"
        ],
    ),
    (
        "idle_screen needs a screen device",
        "devices: [speaker, tv]",
        "devices: [speaker, car]",
        [
            "tea.yaml:13:17: warning: scene 'afternoon' offers idle_screen, but its devices "
            "(car, speaker) have no screen; idle_screen shows only on tv and phone"
        ],
    ),
    (
        "open_question needs asked",
        "    asked: {en: [what can I bake], zh: [做什么点心]}\n",
        "",
        [
            "tea.yaml:15:17: error: scene 'asks for a snack' offers open_question, so it "
            "needs 'asked': the questions it answers, e.g. asked: {en: [what should I cook]}"
        ],
    ),
    (
        "asked is not empty",
        "asked: {en: [what can I bake], zh: [做什么点心]}",
        "asked: {}",
        [
            "tea.yaml:15:12: error: scene 'asks for a snack' asked is empty; give phrases per "
            "language, e.g. {en: [...]}"
        ],
    ),
    (
        "asked per language",
        "asked: {en: [what can I bake], zh: [做什么点心]}",
        "asked: {en: [what can I bake], cn: [做什么点心]}",
        [
            "tea.yaml:15:36: error: unknown language 'cn' in scene 'asks for a snack' asked; "
            "supported: en, zh"
        ],
    ),
    (
        "at least one scene",
        MINIMAL[MINIMAL.index("scenes:") : MINIMAL.index("creatives:")],
        "scenes: []\n",
        [
            "tea.yaml:8:9: error: scenes must be a list of at least one scene (name, "
            "placements, ...), not an empty list"
        ],
    ),
    (
        "both kinds of creative",
        "  speaker:\n    en: Anchor Baking Class has a cookie lesson for tea time.\n"
        "    zh: 安佳烘焙课堂有下午茶饼干课。\n",
        "",
        ["tea.yaml:19:3: error: creatives is missing the required field 'speaker'"],
    ),
    (
        "a creative for every language used",
        "    zh: {speech: 下午茶饼干课。, title: 烘焙课堂, text: 黄油饼干}\n",
        "",
        [
            "tea.yaml:23:5: error: creatives screen has no 'zh' entry, but the campaign uses "
            "zh (in scene 'asks for a snack' asked); add 'zh:'"
        ],
    ),
    (
        "https images",
        "text: Butter cookies}",
        "text: Butter cookies, image: http://example.com/c.png}",
        [
            "tea.yaml:23:99: error: creatives screen (en) image must be an https:// URL "
            "(screens load no plain http), not 'http://example.com/c.png'"
        ],
    ),
    (
        "no disclosure in the creative",
        "en: Anchor Baking Class has",
        "en: Sponsored - Anchor Baking Class has",
        [
            "tea.yaml:20:9: warning: creatives speaker (en) already says 'Sponsored'; the "
            "platform starts every sponsored line with the disclosure ('Sponsored:' / '广告：') "
            "and ends it with the call to action ('say yes to start' / \"说'好的'开始\"): "
            "remove it here"
        ],
    ),
    (
        "no call to action in the creative",
        "zh: 安佳烘焙课堂有下午茶饼干课。",
        "zh: 安佳烘焙课堂有下午茶饼干课，说“好的”开始。",
        [
            "tea.yaml:21:9: warning: creatives speaker (zh) already says '说'好的''; the "
            "platform starts every sponsored line with the disclosure ('Sponsored:' / '广告：') "
            "and ends it with the call to action ('say yes to start' / \"说'好的'开始\"): "
            "remove it here"
        ],
    ),
    (
        "speaker speech length",
        "en: Anchor Baking Class has a cookie lesson for tea time.",
        "en: " + "A" * 161,
        ["tea.yaml:20:9: error: creatives speaker (en) is 161 characters long; the limit is 160"],
    ),
    (
        "screen speech length",
        "speech: A cookie lesson for tea time.",
        "speech: " + "B" * 81,
        [
            "tea.yaml:23:18: error: creatives screen (en) speech is 81 characters long; "
            "the limit is 80"
        ],
    ),
    (
        "slots need an intent",
        "intent: recipe, ",
        "",
        [
            "tea.yaml:4:41: error: promotes slots need an 'intent' to open with (the deep "
            "link 'yes' opens)"
        ],
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "expected"), [r[1:] for r in RULES], ids=[r[0] for r in RULES]
)
def test_rule(old: str, new: str, expected: list[str]) -> None:
    assert messages(edited(old, new)) == expected


# (rule, old, new, the exact diagnostic) for checks against the shipped skills
CROSS_RULES = [
    (
        "the promoted skill exists",
        "skill: anchor_baking",
        "skill: anchor_bakery",
        "tea.yaml:4:19: error: promotes no skill 'anchor_bakery' (did you mean "
        "'anchor_baking'?); skills: anchor_baking, dreamwell_sleep, lumen_jewels, "
        "pulse_workout, star_motors_cars, wok_kitchen",
    ),
    (
        "the intent exists in it",
        "intent: recipe",
        "intent: recipes",
        "tea.yaml:4:42: error: promotes intent 'recipes', but skill 'anchor_baking' has no "
        "such intent (did you mean 'recipe'?); intents: butter_tip, next_lesson, recipe",
    ),
    (
        "the slot exists",
        "slots: {dish: cookies}",
        "slots: {dishes: cookies}",
        "tea.yaml:4:58: error: promotes slot 'dishes', but skill 'anchor_baking' has no such "
        "slot (did you mean 'dish'?); slots: dish",
    ),
    (
        "the slot value is a value id",
        "slots: {dish: cookies}",
        "slots: {dish: cookie}",
        "tea.yaml:4:64: error: 'cookie' is not a value of slot 'dish' of skill 'anchor_baking' "
        "(did you mean 'cookies'?); values: bread, cookies, cake, croissant",
    ),
    (
        "after names a skill",
        "after: [wok_kitchen]",
        "after: [wok_kitchn]",
        "tea.yaml:17:13: error: scene 'asks for a snack' after names no skill 'wok_kitchn' "
        "(did you mean 'wok_kitchen'?); skills: anchor_baking, dreamwell_sleep, lumen_jewels, "
        "pulse_workout, star_motors_cars, wok_kitchen",
    ),
    (
        "after names an intent of it",
        "after: [wok_kitchen]",
        "after: [wok_kitchen.cook]",
        "tea.yaml:17:13: error: scene 'asks for a snack' after names 'wok_kitchen.cook', but "
        "skill 'wok_kitchen' has no intent 'cook' (did you mean 'cook_dish'?); intents: "
        "cook_dish, cooking_time, milder, substitute",
    ),
    (
        "the brand is the skill's",
        "brand: anchor_dairy",
        "brand: golden_wok",
        "tea.yaml:3:8: warning: brand 'golden_wok' is not the brand of skill 'anchor_baking' "
        "(Anchor Dairy, brand id 'anchor_dairy'); reports and opt-outs go by brand",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "expected"), [r[1:] for r in CROSS_RULES], ids=[r[0] for r in CROSS_RULES]
)
def test_cross_rule(catalog: Catalog, old: str, new: str, expected: str) -> None:
    assert messages(edited(old, new), catalog) == [expected]


def test_creatives_only_in_languages_the_skill_speaks(catalog: Catalog) -> None:
    english_only = Catalog(
        [s if s.id != "anchor_baking" else _english_only(s) for s in catalog.skills],
        [],
    )
    found = messages(MINIMAL, english_only)
    assert sorted(found) == [
        "tea.yaml:15:36: error: scene 'asks for a snack' asked has 'zh' phrases, but skill "
        "'anchor_baking' speaks only en",
        "tea.yaml:21:5: error: creatives speaker has a 'zh' line, but skill 'anchor_baking' "
        "speaks only en; whoever says yes in zh could not use it: remove it",
        "tea.yaml:24:5: error: creatives screen has a 'zh' line, but skill 'anchor_baking' "
        "speaks only en; whoever says yes in zh could not use it: remove it",
    ]


def _english_only(skill: Skill) -> Skill:
    return replace(skill, invocations={"en": skill.invocations["en"]})


def test_duplicate_ids_and_skipped_files(tmp_path: Path, catalog: Catalog) -> None:
    folder = tmp_path / "campaigns"
    folder.mkdir()
    (folder / "a.yaml").write_text(MINIMAL, "utf-8")
    (folder / "b.yaml").write_text(MINIMAL, "utf-8")
    (folder / "c.yaml").write_text(edited("days: [sat, sun]", "days: [sat, sunn]"), "utf-8")
    campaigns = load_campaigns([folder], catalog)
    assert [c.file for c in campaigns.campaigns] == [str(folder / "a.yaml")]
    assert str(campaigns.diagnostics[0]) == (
        f"{folder / 'b.yaml'}:2:5: error: campaign id 'tea_break' is also used by "
        f"{folder / 'a.yaml'}; give each campaign its own id"
    )
    assert sorted(campaigns.skipped) == [str(folder / "b.yaml"), str(folder / "c.yaml")]
    assert campaigns.skipped[str(folder / "c.yaml")].startswith("1 error(s), first: ")


def test_values_parse() -> None:
    assert parse_hours("22:00-06:00") == HourRange(22 * 60, 6 * 60)
    assert parse_hours("18:00-24:00") == HourRange(18 * 60, 0)
    assert HourRange(22 * 60, 6 * 60).contains(23 * 60)
    assert isinstance(parse_hours("09:00-09:00"), str)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("1d") == timedelta(days=1)
    assert parse_duration("0m") is None and parse_duration("4") is None


# -- which files are campaigns -----------------------------------------------------------


def test_which_files_are_campaigns(tmp_path: Path) -> None:
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "skills").mkdir()
    (tmp_path / "campaigns" / "x.yaml").write_text("version: 1\n", "utf-8")
    (tmp_path / "skills" / "y.yaml").write_text(MINIMAL, "utf-8")
    (tmp_path / "loose.yaml").write_text(MINIMAL, "utf-8")
    (tmp_path / "skill.yaml").write_text((ROOT / "skills/wok_kitchen.yaml").read_text("utf-8"))
    assert is_campaign_file(tmp_path / "campaigns" / "x.yaml")
    assert not is_campaign_file(tmp_path / "skills" / "y.yaml")
    assert is_campaign_file(tmp_path / "loose.yaml")
    assert not is_campaign_file(tmp_path / "skill.yaml")


# -- voice validate --------------------------------------------------------------------


def test_validate_checks_the_whole_project(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--project", str(ROOT), "validate"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "6 skill file(s): 6 valid, 0 error(s), 0 warning(s)",
        f"{len(SHIPPED)} campaign file(s): {len(SHIPPED)} valid, 0 error(s), 0 warning(s)",
    ]


def test_validate_a_broken_campaign(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "project"
    shutil.copytree(ROOT / "skills", project / "skills")
    shutil.copytree(ROOT / "campaigns", project / "campaigns")
    path = project / "campaigns" / "anchor_weekend_baking.yaml"
    text = path.read_text("utf-8")
    path.write_text(text.replace("intent: recipe", "intent: recipee"), "utf-8")
    assert main(["--project", str(project), "validate"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{path}:7:42: error: promotes intent 'recipee', but skill 'anchor_baking' has no such "
        "intent (did you mean 'recipe'?); intents: butter_tip, next_lesson, recipe",
        "6 skill file(s): 6 valid, 0 error(s), 0 warning(s)",
        "3 campaign file(s): 2 valid, 1 error(s), 0 warning(s)",
    ]
    # the same file named on its own, and a copy outside campaigns/ (found by its fields)
    loose = tmp_path / "loose.yaml"
    loose.write_text(
        path.read_text("utf-8").replace("id: anchor_weekend_baking", "id: loose_copy"), "utf-8"
    )
    assert main(["--project", str(project), "validate", str(path), str(loose)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(": error: ")[0] for line in lines[:-1]] == sorted(
        [f"{path}:7:42", f"{loose}:7:42"]
    )
    assert lines[-1] == "2 campaign file(s): 0 valid, 2 error(s), 0 warning(s)"


def test_validate_a_skill_file_alone_says_nothing_of_campaigns(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--project", str(ROOT), "validate", str(ROOT / "skills/wok_kitchen.yaml")]) == 0
    assert capsys.readouterr().out == "1 skill file(s): 1 valid, 0 error(s), 0 warning(s)\n"


# -- damaged files never raise -----------------------------------------------------------

SHIPPED_TEXTS = [path.read_text("utf-8") for path in SHIPPED]
DAMAGE = st.sampled_from(
    [
        "",
        " ",
        "\n",
        ":",
        "-",
        "[",
        "{",
        "}",
        '"',
        "'",
        "#",
        "&a",
        "*a",
        "!!int",
        "\t",
        "0",
        "-1",
        "1e999",
        "null",
        "2026-02-30",
        "25:00",
        "x-",
        "é",
        "广告",
        "  ",
        "\n  - ",
        ": x",
    ]
)


@settings(
    max_examples=600,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    index=st.integers(0, len(SHIPPED_TEXTS) - 1),
    edits=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 12), DAMAGE), min_size=1, max_size=4),
)
def test_damaged_campaigns_give_diagnostics_never_an_exception(
    catalog: Catalog, index: int, edits: list[tuple[float, int, str]]
) -> None:
    text = SHIPPED_TEXTS[index]
    for where, cut, insert in edits:
        at = int(where * len(text))
        text = text[:at] + insert + text[at + cut :]
    loaded = load_campaign_text(text, "damaged.yaml")
    found = loaded.diagnostics + cross_check([loaded], catalog)
    for diagnostic in found:
        line = str(diagnostic)
        assert line.startswith("damaged.yaml:") and "\n" not in line
        assert diagnostic.line >= 1 and diagnostic.column >= 1
    if loaded.campaign is None:
        assert any(d.severity == "error" for d in loaded.diagnostics)
    else:
        assert not any(d.severity == "error" for d in loaded.diagnostics)
        assert loaded.campaign.scenes and loaded.campaign.flight.end > loaded.campaign.flight.start
