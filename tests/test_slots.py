"""Slot values from what the model tagged and what was said, on the coffee skill.

Cases are the mistakes seen on real recordings: a value inside a longer value of
the same slot ("milk" in "a lot of milk"), and an entity whose words are a value of
another slot than the one the model tagged it with.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from voice_runtime.dialog.slots import extract_slots, value_in_text
from voice_runtime.nlu.result import EntityMatch, IntentScore, NluResult
from voice_runtime.skills.loader import load_skill_text
from voice_runtime.skills.model import Skill

COFFEE = Path(__file__).parent / "coffee" / "skills" / "coffee_maker.yaml"


@pytest.fixture(scope="module")
def coffee() -> Skill:
    loaded = load_skill_text(COFFEE.read_text(encoding="utf-8"), str(COFFEE))
    assert loaded.skill is not None
    return loaded.skill


def understood(text: str, *tagged: tuple[str, str]) -> NluResult:
    """``text`` with the model's entities: (slot, words) tagged where the words are."""
    entities = []
    for slot, words in tagged:
        start = text.index(words)
        entities.append(
            EntityMatch(f"coffee_maker.{slot}", words, words, start, start + len(words), 0.9)
        )
    intent = IntentScore("coffee_maker.order_drink", 1.0)
    return NluResult(text, "en", intent, (intent,), tuple(entities))


@pytest.mark.parametrize(
    ("text", "slot", "value"),
    [
        ("a mocha with a lot of milk and sugar", "milk_amount", "a_lot_of_milk"),
        ("a mocha with a lot of milk and sugar", "sugar_amount", "sugar"),
        ("with a little bit of brown sugar", "sugar_amount", "a_little_bit_of_brown_sugar"),
        ("an iced coffee please", "coffee_drink", "iced_coffee"),
        ("a drip coffee and an iced coffee", "coffee_drink", None),  # two values: ambiguous
        ("with milk and some whole milk", "milk_amount", None),
    ],
)
def test_a_value_said_inside_a_longer_one_is_part_of_it(
    coffee: Skill, text: str, slot: str, value: str | None
) -> None:
    assert value_in_text(coffee.slots[slot], text, "en") == value


def test_an_entity_that_is_another_slots_value_goes_to_that_slot(coffee: Skill) -> None:
    text = "a twenty ounce mocha with a lot of skim milk and a lot of sweetener"
    nlu = understood(
        text,
        ("size", "twenty ounce"),
        ("coffee_drink", "mocha"),
        ("milk_amount", "a lot of skim milk"),
        ("milk_amount", "a lot of sweetener"),  # the model's mistake
    )
    assert extract_slots(coffee, nlu) == {
        "size": "twenty_ounce",
        "coffee_drink": "mocha",
        "milk_amount": "a_lot_of_skim_milk",
        "sugar_amount": "a_lot_of_sweetener",
    }


def test_a_moved_entity_never_overrides_what_its_slot_was_tagged_with(coffee: Skill) -> None:
    text = "a latte with sugar and a lot of sweetener"
    nlu = understood(text, ("sugar_amount", "sugar"), ("milk_amount", "a lot of sweetener"))
    assert extract_slots(coffee, nlu)["sugar_amount"] == "sugar"


def test_an_entity_naming_no_value_of_any_slot_is_dropped(coffee: Skill) -> None:
    nlu = understood("a latte with a lot of gravel", ("milk_amount", "a lot of gravel"))
    assert extract_slots(coffee, nlu) == {"coffee_drink": "latte"}


@pytest.mark.parametrize(
    ("text", "tagged", "expected"),
    [
        (  # the model tagged part of the value said: the whole phrase wins
            "a mocha with some almond milk",
            [("coffee_drink", "mocha"), ("milk_amount", "almond milk")],
            {"coffee_drink": "mocha", "milk_amount": "some_almond_milk"},
        ),
        (
            "a coffee with a bit of cream and brown sugar",
            [("milk_amount", "cream"), ("sugar_amount", "brown sugar")],
            {
                "coffee_drink": "coffee",
                "milk_amount": "a_bit_of_cream",
                "sugar_amount": "brown_sugar",
            },
        ),
        (  # "medium" of "medium roast" is no size
            "can i get a medium roast mocha",
            [("size", "medium"), ("roast", "medium roast"), ("coffee_drink", "mocha")],
            {"roast": "medium_roast", "coffee_drink": "mocha"},
        ),
        (  # said on its own too, it is one
            "can i get a medium medium roast mocha",
            [("size", "medium"), ("roast", "medium roast"), ("coffee_drink", "mocha")],
            {"size": "medium", "roast": "medium_roast", "coffee_drink": "mocha"},
        ),
    ],
)
def test_slot_words_are_read_as_the_whole_phrase_said(
    coffee: Skill, text: str, tagged: list[tuple[str, str]], expected: dict[str, str]
) -> None:
    assert extract_slots(coffee, understood(text, *tagged)) == expected
