"""Sentence templates: parsing, fair expansion, and the loader's messages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voice_runtime.skills.loader import load_skill_text
from voice_runtime.skills.templates import (
    MIN_SAMPLES,
    TemplateError,
    count,
    expand,
    parse_template,
    shares,
)

WORDS = {
    "size": ["small", "large", "extra large"],
    "drink": ["latte", "iced mocha"],
    "milk": ["milk", "soy milk"],
}
ORDER = "[can I get | I'd like] (a | an) {size} {drink} [with {milk}]"


def words_of(slot: str) -> list[str]:
    return WORDS[slot]


def test_a_template_says_every_combination_once() -> None:
    template = parse_template(ORDER)
    assert count(template, words_of) == 3 * 2 * 3 * 2 * 3
    sentences = expand(template, words_of, 1000, "seed")
    assert len(sentences) == 108 == len({e.text for e in sentences})
    texts = {e.text for e in sentences}
    assert "can I get a large iced mocha with soy milk" in texts
    assert "an extra large latte" in texts  # both optional parts left out, no stray spaces
    for example in sentences:
        assert "  " not in example.text and example.text == example.text.strip()
        for span in example.spans:
            assert example.text[span.start : span.end] == span.text
            assert span.text in WORDS[span.slot]


def test_sampling_is_distinct_repeatable_and_covers_the_template() -> None:
    template = parse_template(ORDER)
    first = expand(template, words_of, 40, "order")
    assert len(first) == 40 == len(set(first))
    assert first == expand(template, words_of, 40, "order")
    assert first != expand(template, words_of, 40, "another seed")
    said = {span.text for e in first for span in e.spans}
    assert said >= {"small", "large", "extra large", "latte", "iced mocha"}


def test_sampling_is_fair_across_alternatives_of_different_sizes() -> None:
    # "plain" says 1 sentence, the other alternative 3 x 2 = 6: about 1 in 7 draws.
    template = parse_template("(plain | {size} {drink})")
    sample = expand(template, words_of, 6, "fair")
    assert sum(e.text == "plain" for e in sample) <= 1


def test_shares_follow_size_with_a_minimum_and_never_exceed_what_a_template_says() -> None:
    assert shares([10_000, 10_000], 300) == [150, 150]
    assert shares([1_000_000, 5], 300) == [299, MIN_SAMPLES]
    assert shares([2, 1_000], 300) == [2, 299]


@pytest.mark.parametrize(
    ("text", "offset", "words"),
    [
        ("(a | ) coffee", 0, "empty; write optional words in '[ ]'"),
        ("a [b", 2, "'[' is never closed with ']'"),
        ("a (b | c", 2, "'(' is never closed with ')'"),
        ("a ] b", 2, "']' without an opening bracket"),
        ("a } b", 2, "'}' without '{'"),
        ("I want {size", 7, "'{' is never closed"),
        ("a {Size} latte", 2, "'{Size}' is no slot name"),
        ("[ ]", 0, "says nothing"),
        ("a " + "(b " * 11 + ")" * 11, 32, "groups nest deeper than 10"),
    ],
)
def test_template_mistakes_say_where(text: str, offset: int, words: str) -> None:
    with pytest.raises(TemplateError) as caught:
        parse_template(text)
    assert caught.value.offset == offset
    assert words in str(caught.value)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab |()[]{}_xyz\u4e00", max_size=30))
def test_any_text_parses_or_is_a_template_error(text: str) -> None:
    try:
        template = parse_template(text)
    except TemplateError as exc:
        assert 0 <= exc.offset <= len(text)
        return
    found = expand(template, lambda slot: ["word"], 20, text)
    for example in found:
        for span in example.spans:
            assert example.text[span.start : span.end] == "word"


SKILL = """\
version: 1
id: cafe
brand: Test Cafe
name: {{en: Cafe}}
invocations: {{en: [the cafe]}}
slots:
  size:
    values:
      small: {{en: [small]}}
      large: {{en: [large, big]}}
  drink:
    values:
      latte: {{en: [latte]}}
      mocha: {{en: [mocha, iced mocha]}}
  cups: {{type: number, min: 1, max: 5}}
launch: {{en: Welcome to the cafe.}}
help: {{en: Order a drink.}}
intents:
  order:
{body}
    response: {{en: Coming up.}}
"""


def load(body: str) -> tuple[object, list[str]]:
    loaded = load_skill_text(SKILL.format(body=body), "cafe.yaml")
    return loaded.skill, [str(d) for d in loaded.diagnostics]


def test_an_intent_may_be_written_with_templates_only() -> None:
    skill, messages = load(
        '    templates:\n      en:\n        - "[can I get | I\'d like] (a | an) {size} {drink}"'
    )
    assert messages == []
    assert skill is not None
    examples = skill.intents["order"].examples["en"]  # type: ignore[attr-defined]
    assert len(examples) == 3 * 2 * 3 * 3  # carriers (or none), articles, size and drink words
    assert {s.slot for e in examples for s in e.spans} == {"size", "drink"}


def test_templates_add_to_written_examples() -> None:
    skill, messages = load(
        "    examples:\n      en: ['a [latte](drink) please', 'one [mocha](drink) please']\n"
        '    templates:\n      en: ["(give | get) me {drink}"]'
    )
    assert messages == []
    texts = [e.text for e in skill.intents["order"].examples["en"]]  # type: ignore[attr-defined]
    assert texts[:2] == ["a latte please", "one mocha please"] and "get me iced mocha" in texts


def test_one_written_example_is_enough_beside_templates() -> None:
    skill, messages = load(
        "    examples:\n      en: ['a [latte](drink) please']\n"
        '    templates:\n      en: ["(give | get) me {drink}"]'
    )
    assert messages == [] and skill is not None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '    templates:\n      en:\n        - "a {siez} latte"',
            "cafe.yaml:22:14: error: template 'a {siez} latte' names slot 'siez', but the skill "
            "declares no such slot (did you mean 'size'?); add it under 'slots:'",
        ),
        (
            '    templates:\n      en:\n        - "{cups} lattes"\n        - "a latte"',
            "cafe.yaml:22:12: error: template '{cups} lattes' names slot 'cups' of type number; "
            "templates can name slots with values only: write examples for number and time slots",
        ),
        (
            '    templates:\n      en:\n        - "(a | ) latte"',
            "cafe.yaml:22:12: error: template '(a | ) latte': an alternative in '( | )' is "
            "empty; write optional words in '[ ]'",
        ),
        (
            "    templates:\n      en:\n        - [a, latte]",
            "cafe.yaml:22:11: error: intent 'order' templates (en): YAML read this template as "
            "a list; put it in quotes (a line starting with [ or { is YAML's own list or mapping)",
        ),
        (
            "    templates:\n      en:\n        - [can I get] a {drink}",
            'put the whole sentence in quotes, "[can I get] a {drink}")',
        ),
        (
            '    templates:\n      en:\n        - "a latte"',
            "cafe.yaml:21:7: error: intent 'order' (en) needs at least 2 sentences to learn from",
        ),
        ("    slots: [drink]", "intent 'order' needs 'examples:' or 'templates:' to learn from"),
        (
            '    templates:\n      en:\n        - "' + "(" * 12 + 'a"',
            "cafe.yaml:22:22: error: template '((((((((((((a': groups nest deeper than 10",
        ),
    ],
)
def test_template_mistakes_are_reported_with_file_line_and_column(body: str, message: str) -> None:
    skill, messages = load(body)
    assert skill is None
    assert any(message in m for m in messages), messages
