"""Every mistake a brand can make in a skill file gets a file:line:column message."""

from __future__ import annotations

from pathlib import Path

import pytest

from voice_runtime.cli.main import main
from voice_runtime.skills.catalog import load_catalog
from voice_runtime.skills.loader import load_skill_text

MINIMAL = """\
version: 1
id: tea_time
brand: Leaf Tea
name: {en: Tea Time, zh: 下午茶}
invocations: {en: [tea time], zh: [下午茶时间]}
slots:
  tea:
    values:
      green: {en: [green tea], zh: [绿茶]}
      black: {en: [black tea], zh: [红茶]}
launch: {en: Welcome to Tea Time., zh: 欢迎来到下午茶。}
help: {en: Ask how to brew a tea., zh: 问我怎么泡茶。}
intents:
  brew:
    examples:
      en: ["how do I brew [green tea](tea)", "brewing [black tea](tea)"]
      zh: ["[绿茶](tea)怎么泡", "怎么泡[红茶](tea)"]
    response:
      en: Brew {tea} for three minutes.
      zh: "{tea}泡三分钟。"
"""


def messages(text: str) -> list[str]:
    return [str(d) for d in load_skill_text(text, "tea.yaml").diagnostics]


def test_minimal_skill_loads() -> None:
    loaded = load_skill_text(MINIMAL, "tea.yaml")
    assert loaded.diagnostics == []
    assert loaded.skill is not None
    assert loaded.skill.intents["brew"].examples["zh"][0].spans[0].text == "绿茶"
    assert loaded.skill.slots["tea"].display("black", "zh") == "红茶"


def test_misspelt_field_suggests_the_right_name() -> None:
    found = messages(MINIMAL.replace("brand:", "bran:"))
    assert found == [
        "tea.yaml:3:1: error: unknown field 'bran' in the skill (did you mean 'brand'?); "
        "allowed: version, id, brand, name, invocations, slots, launch, help, stop, intents, "
        "services, max_attempts, resumable"
    ]


def test_wrong_type_names_line_and_column() -> None:
    found = messages(
        MINIMAL.replace(
            "help: {en: Ask how to brew a tea., zh: 问我怎么泡茶。}",
            "help: {en: 42, zh: 问我怎么泡茶。}",
        )
    )
    assert found == [
        "tea.yaml:12:12: error: help (en) must be text, not the number 42 "
        "(put it in quotes if you mean it as text)"
    ]


def test_undefined_slot_in_template() -> None:
    found = messages(MINIMAL.replace("Brew {tea} for", "Brew {tee} for"))
    assert len(found) == 1
    assert found[0].startswith("tea.yaml:19:11: error: intent 'brew' response uses {tee}")
    assert "(did you mean 'tea'?)" in found[0]


def test_undeclared_entity_in_example() -> None:
    found = messages(MINIMAL.replace("brewing [black tea](tea)", "brewing [black tea](teas)"))
    assert len(found) == 1
    assert "marks [black tea](teas), but the skill declares no slot 'teas'" in found[0]
    assert found[0].startswith("tea.yaml:16:46: error: example marks")


def test_word_not_in_slot_values_is_a_warning() -> None:
    loaded = load_skill_text(MINIMAL.replace("[green tea](tea)", "[oolong](tea)"), "tea.yaml")
    assert [d.severity for d in loaded.diagnostics] == ["warning"]
    assert loaded.skill is not None  # warnings do not stop a skill from loading


def test_language_missing_in_one_field() -> None:
    found = messages(
        MINIMAL.replace(
            "help: {en: Ask how to brew a tea., zh: 问我怎么泡茶。}",
            "help: {en: Ask how to brew a tea.}",
        )
    )
    assert found == [
        "tea.yaml:12:7: error: help has no 'zh' entry, but this skill is written "
        "in en, zh; add 'zh:'"
    ]


def test_missing_required_field_and_bad_version() -> None:
    text = MINIMAL.replace("version: 1", "version: 2").replace(
        "launch: {en: Welcome to Tea Time., zh: 欢迎来到下午茶。}\n", ""
    )
    found = messages(text)
    assert "tea.yaml:1:1: error: the skill is missing the required field 'launch'" in found
    assert "tea.yaml:1:10: error: version 2 is not supported; write 'version: 1'" in found


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        ("version: 1\nid: [unclosed\n", "tea.yaml:3:1: error: YAML syntax:"),
        ("examples: [a [b](c)]\n", "tea.yaml:1:14: error: YAML syntax: expected ',' or ']'"),
        ("version: 1\n\tid: x\n", "tea.yaml:2:1: error: YAML syntax:"),
        ("", "tea.yaml:1:1: error: the file is empty"),
        ("- just\n- a list\n", "tea.yaml:1:1: error: the skill must be a mapping of fields"),
    ],
)
def test_malformed_yaml(broken: str, expected: str) -> None:
    found = messages(broken)
    assert found and found[0].startswith(expected), found


def test_duplicate_key_unknown_language_and_bad_id() -> None:
    text = (
        MINIMAL.replace("id: tea_time", "id: Tea Time!")
        .replace("name: {en: Tea Time, zh: 下午茶}", "name: {en: Tea Time, zh: 下午茶, fr: Thé}")
        .replace("brand: Leaf Tea", "brand: Leaf Tea\nbrand: Leaf")
    )
    found = "\n".join(messages(text))
    assert "'brand' is written twice in this mapping (first on line 3)" in found
    assert "unknown language 'fr' in name" in found
    assert "skill id 'Tea Time!' must be lower-case letters" in found
    assert "(for example 'tea_time')" in found


def test_bad_example_brackets_and_template_braces() -> None:
    text = MINIMAL.replace("brewing [black tea](tea)", "brewing [black tea(tea)").replace(
        "Brew {tea} for three", "Brew {tea for three"
    )
    found = "\n".join(messages(text))
    assert "stray '['" in found
    assert "unbalanced '{' or '}'" in found


def test_too_few_examples_and_huge_text() -> None:
    text = MINIMAL.replace(', "brewing [black tea](tea)"]', "]")
    text = text.replace("Welcome to Tea Time.", "x" * 3000)
    found = "\n".join(messages(text))
    assert "intent 'brew' examples (en) needs at least 2 sentences" in found
    assert "is 3000 characters long; the limit is 2000" in found


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes("name: caf\xe9".encode("latin-1"))
    catalog = load_catalog([path])
    assert "not UTF-8 text" in str(catalog.diagnostics[0])


def test_acceptance_three_errors_from_validate(
    tmp_path: Path, baking_yaml: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A misspelt field, a wrong type and an undefined slot: three errors, exit 1."""
    broken = (
        baking_yaml.replace("brand: Anchor Dairy", "brnad: Anchor Dairy")
        .replace("stop:\n  en: Happy baking!", "stop:\n  en: [Happy baking!]", 1)
        .replace("Here is how to bake {dish}", "Here is how to bake {dishes}")
    )
    broken = broken.replace("  en: [Happy baking!] See you in the next class.", "  en: [1, 2]")
    path = tmp_path / "anchor_baking.yaml"
    path.write_text(broken, "utf-8")
    assert main(["validate", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    errors = [line for line in lines if ": error: " in line]
    assert len(errors) == 3, lines
    assert errors[0].startswith(f"{path}:5:1: error: unknown field 'brnad'")
    assert ": error: stop (en) must be text, not a list" in errors[1]
    assert ": error: intent 'recipe' response speech uses {dishes}" in errors[2]
    assert lines[-1] == "1 skill file(s): 0 valid, 3 error(s), 0 warning(s)"


def test_shipped_skills_are_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--project", str(Path(__file__).parent.parent), "validate"]) == 0
    assert "0 error(s), 0 warning(s)" in capsys.readouterr().out


def test_the_readme_example_skill_is_valid() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text("utf-8")
    start = readme.index("```yaml\nversion: 1") + len("```yaml\n")
    loaded = load_skill_text(readme[start : readme.index("```", start)], "README.md")
    assert loaded.diagnostics == [] and loaded.skill is not None
    assert loaded.skill.intents["recipe"].examples["zh"][0].text == "面包怎么做"


# -- conversations and services ------------------------------------------------------

CONVERSATION = (
    MINIMAL.replace(
        "launch:",
        """  cups:
    type: number
    min: 1
    max: 8
    prompt: {en: "How many cups?", zh: 几杯？}
  at:
    type: time
    prompt: {en: "What time?", zh: 几点？}
launch:""",
    )
    + """    slots: [tea, cups]
    confirm: {en: "Brew {cups} cups of {tea}?", zh: "泡{cups}杯{tea}？"}
    steps:
      by: tea
      green: {en: [Heat water to 80 degrees., Steep.], zh: [水烧到80度。, 泡。]}
      black: {en: [Boil water., Steep.], zh: [烧开水。, 泡。]}
  order:
    examples:
      en: [order more tea, buy tea]
      zh: [订茶叶, 买茶叶]
    slots: [tea]
services:
  shop:
    url: https://shop.leaftea.example/voice
    timeout: 2
    intents: [order]
    fallback: {en: The tea shop is closed right now., zh: 茶叶店现在关门了。}
resumable: true
max_attempts: 3
"""
)


def test_conversation_fields_load() -> None:
    loaded = load_skill_text(CONVERSATION, "tea.yaml")
    assert loaded.diagnostics == [], [str(d) for d in loaded.diagnostics]
    skill = loaded.skill
    assert skill is not None and skill.resumable and skill.max_attempts == 3
    brew, order = skill.intents["brew"], skill.intents["order"]
    assert brew.slots == ("tea", "cups") and brew.confirm["en"] == "Brew {cups} cups of {tea}?"
    assert (
        brew.steps is not None and brew.steps.for_slots({"tea": "black"}, "en")[0] == "Boil water."
    )
    assert (skill.slots["cups"].type, skill.slots["cups"].maximum) == ("number", 8.0)
    assert skill.slots["at"].type == "time"
    assert order.response is None and order.service == "shop"
    assert skill.services["shop"].timeout == 2.0 and skill.services["shop"].intents == ("order",)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("slots: [tea, cups]", "slots: [tea, cup]"),
            "tea.yaml:29:18: error: intent 'brew' needs slot 'cup', but the skill declares no "
            "such slot (did you mean 'cups'?); declared slots: at, cups, tea",
        ),
        (
            ("type: number", "type: numbr"),
            "tea.yaml:12:11: error: slot 'cups' type 'numbr' is unknown (did you mean "
            "'number'?); use one of list, number, time, text",
        ),
        (
            ("max: 8", "max: lots"),
            "tea.yaml:14:10: error: slot 'cups' max must be a number, not text",
        ),
        (
            ("      green: {en: [Heat", "      greeen: {en: [Heat"),
            "tea.yaml:33:15: error: intent 'brew' steps: 'greeen' is not a value of slot 'tea' "
            "(did you mean 'green'?); values: black, green",
        ),
        (
            ("intents: [order]", "intents: [oder]"),
            "tea.yaml:44:15: error: service 'shop' is called by intent 'oder', but the skill has "
            "no such intent (did you mean 'order'?)",
        ),
        (
            ("url: https://shop.leaftea.example/voice", "url: ftp://shop.leaftea.example/voice"),
            "tea.yaml:42:10: error: service 'shop' url must start with https:// (or http://) "
            "and name a host",
        ),
        (
            ("timeout: 2", "timeout: 60"),
            "tea.yaml:43:14: error: service 'shop' timeout must be between 0.1 and 10, not 60",
        ),
        (
            ("resumable: true", "resumable: sometimes"),
            "tea.yaml:46:12: error: resumable must be true or false, not text",
        ),
        (
            ("{en: The tea shop is closed right now., zh: 茶叶店现在关门了。}", "{en: Closed.}"),
            "tea.yaml:45:15: error: service 'shop' fallback has no 'zh' entry, but this skill is "
            "written in en, zh; add 'zh:'",
        ),
    ],
)
def test_conversation_mistakes_name_line_and_fix(change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in CONVERSATION
    assert expected in messages(CONVERSATION.replace(old, new))


def test_an_intent_without_response_or_service_is_an_error() -> None:
    text = CONVERSATION.replace("    intents: [order]\n", "    intents: [brew]\n")
    found = messages(text)
    assert any(
        "intent 'order' needs a 'response' (or a service that answers it)" in m for m in found
    )


def test_a_question_mark_inside_braces_gets_a_quoting_hint() -> None:
    text = MINIMAL.replace("help: {en: Ask how to brew a tea.", "help: {en: What tea?")
    [found] = messages(text)
    assert found.startswith("tea.yaml:12:20: error: YAML syntax")
    assert 'put text with a question mark in quotes: "Which one?"' in found
