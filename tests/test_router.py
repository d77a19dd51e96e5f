"""Routing policy on given NLU results, and end to end on the real models."""

from __future__ import annotations

import pytest
from conftest import GivenNlu, route

from voice_runtime.dialog.router import Assistant, RouterSettings
from voice_runtime.dialog.session import Session
from voice_runtime.errors import InputError
from voice_runtime.nlu.result import EntityMatch, IntentScore, NluResult
from voice_runtime.skills.catalog import Catalog


def parse(
    text: str,
    *scores: tuple[str, float],
    entities: tuple[EntityMatch, ...] = (),
    language: str = "en",
) -> NluResult:
    ranking = tuple(IntentScore(name, confidence) for name, confidence in scores)
    return NluResult(text, language, ranking[0], ranking, entities)


def skill_entity(text: str, value: str, start: int = 0) -> EntityMatch:
    return EntityMatch("skill", value, text, start, start + len(text), 0.9)


@pytest.fixture()
def router(catalog: Catalog) -> Assistant:
    """Routing only: NluResults are given, so these tests need no trained model."""
    return Assistant(catalog, GivenNlu(), RouterSettings(threshold=0.5, follow_up=0.2))


def test_open_skill_by_entity_and_by_name_in_text(router: Assistant) -> None:
    session = Session()
    turn = route(
        router,
        parse(
            "open baking class",
            ("open_skill", 0.99),
            entities=(skill_entity("baking class", "anchor_baking", 5),),
        ),
        session,
    )
    assert (turn.intent, turn.skill, session.skill) == (
        "open_skill",
        "anchor_baking",
        "anchor_baking",
    )
    assert turn.response.speech.startswith("Welcome to Anchor Baking Class")
    assert turn.response.card is not None and turn.response.card.title == "Anchor Baking Class"
    # no entity found, but the invocation name is in the text
    turn = route(router, parse("please open up the golden wok now", ("open_skill", 0.9)), Session())
    assert turn.skill == "wok_kitchen"


def test_open_skill_without_any_name_asks_which(router: Assistant) -> None:
    turn = route(router, parse("open it", ("open_skill", 0.9)), Session())
    assert turn.intent == "fallback"
    assert "Which skill should I open?" in turn.response.speech
    assert "'open baking class'" in turn.response.speech


def test_open_skill_follow_ups_win(router: Assistant) -> None:
    session = Session(skill="anchor_baking")
    nlu = parse(
        "what about the butter", ("wok_kitchen.substitute", 0.6), ("anchor_baking.butter_tip", 0.3)
    )
    turn = route(router, nlu, session)
    assert (turn.skill, turn.intent) == ("anchor_baking", "anchor_baking.butter_tip")
    # too weak for the open skill: the other skill answers and becomes the open one
    nlu = parse(
        "swap the chilli", ("wok_kitchen.substitute", 0.85), ("anchor_baking.butter_tip", 0.1)
    )
    turn = route(router, nlu, session)
    assert (turn.skill, session.skill) == ("wok_kitchen", "wok_kitchen")


def test_naming_a_skill_routes_to_it(router: Assistant) -> None:
    session = Session(skill="wok_kitchen")
    nlu = parse(
        "ask baking class for a butter tip",
        ("wok_kitchen.substitute", 0.5),
        ("anchor_baking.butter_tip", 0.4),
        entities=(skill_entity("baking class", "anchor_baking", 4),),
    )
    turn = route(router, nlu, session)
    assert turn.intent == "anchor_baking.butter_tip"
    # a named skill that has no matching intent is opened instead
    nlu = parse(
        "ask baking class to swap the chilli",
        ("wok_kitchen.substitute", 0.9),
        entities=(skill_entity("baking class", "anchor_baking", 4),),
    )
    assert route(router, nlu, session).intent == "open_skill"


def test_low_confidence_asks_to_rephrase(router: Assistant) -> None:
    turn = route(router, parse("mumble", ("anchor_baking.recipe", 0.3), ("help", 0.25)), Session())
    assert turn.intent == "rephrase"
    assert "say it another way" in turn.response.speech


def test_stop_help_repeat_and_fallback(router: Assistant) -> None:
    session = Session(skill="anchor_baking")
    turn = route(router, parse("help", ("help", 0.99)), session)
    assert turn.response.speech.startswith("Ask for a recipe")
    turn = route(router, parse("weather", ("out_of_scope", 0.9)), session)
    assert turn.intent == "fallback"
    assert turn.response.speech.startswith("Sorry, Baking Class can't help with that.")
    turn = route(router, parse("stop", ("stop", 0.99)), session)
    assert (turn.intent, turn.response.speech, session.skill) == (
        "stop",
        "Happy baking! See you in the next class.",
        None,
    )
    turn = route(router, parse("help", ("help", 0.99)), session)
    assert (
        "'open baking class'" in turn.response.speech
        and "'open golden wok kitchen'" in turn.response.speech
    )
    turn = route(router, parse("weather", ("out_of_scope", 0.9)), session)
    assert turn.response.speech.startswith("Sorry, I can't help with that yet. You can say")


def test_missing_slot_asks_with_the_slot_prompt(router: Assistant) -> None:
    turn = route(router, parse("how do I bake", ("anchor_baking.recipe", 0.9)), Session())
    assert turn.response.speech == (
        "Which would you like to bake? Bread, cookies, cake or croissants?"
    )
    zh = parse("怎么做", ("anchor_baking.recipe", 0.9), language="zh")
    assert route(router, zh, Session()).response.speech.startswith("你想做什么？")


def test_slot_words_are_mapped_to_value_ids(router: Assistant) -> None:
    dish = EntityMatch("anchor_baking.dish", "biscuits", "biscuits", 14, 22, 0.9)
    turn = route(
        router,
        parse("a recipe for biscuits", ("anchor_baking.recipe", 0.9), entities=(dish,)),
        Session(),
    )
    assert turn.slots == {"dish": "cookies"}
    assert "Here is how to bake cookies" in turn.response.speech
    # the entity was missed but a slot word is in the text
    turn = route(
        router, parse("吐司的做法", ("anchor_baking.recipe", 0.9), language="zh"), Session()
    )
    assert turn.slots == {"dish": "bread"}
    assert turn.response.speech.startswith("面包的做法")


@pytest.mark.parametrize("text", ["", "   ", "x" * 10_000, "open\x07baking class"])
def test_bad_utterances_are_refused_with_a_reason(assistant: Assistant, text: str) -> None:
    with pytest.raises(InputError):
        assistant.handle_sync(text, Session())


@pytest.mark.parametrize(
    ("text", "skill"),
    [
        ("I'd like to use the baking class", "anchor_baking"),
        ("麻烦帮我开一下烘焙课堂", "anchor_baking"),
        ("could you start car viewing", "star_motors_cars"),
        ("我想看看大屏观车", "star_motors_cars"),
    ],
)
def test_unseen_open_phrasings_on_the_real_model(
    assistant: Assistant, text: str, skill: str
) -> None:
    turn = assistant.handle_sync(text, Session())
    assert (turn.intent, turn.skill) == ("open_skill", skill), turn.nlu
    assert turn.nlu is not None and turn.nlu.source == "model"  # not a training sentence


def test_ask_a_skill_directly_on_the_real_model(assistant: Assistant) -> None:
    turn = assistant.handle_sync("could you ask the baking class how to make bread", Session())
    assert turn.nlu is not None and turn.nlu.source == "model"
    assert (turn.skill, turn.intent, turn.slots) == (
        "anchor_baking",
        "anchor_baking.recipe",
        {"dish": "bread"},
    )
    turn = assistant.handle_sync("问问烘焙课堂蛋糕怎么做", Session())
    assert (turn.skill, turn.intent, turn.slots) == (
        "anchor_baking",
        "anchor_baking.recipe",
        {"dish": "cake"},
    )


def test_fallback_suggests_the_closest_skills_by_name(router: Assistant) -> None:
    turn = route(router, parse("open the car show", ("out_of_scope", 0.9)), Session())
    assert turn.response.speech.startswith(
        "Sorry, I can't help with that yet. You can say 'open car viewing', "
    )
    zh = parse("打开健身", ("open_skill", 0.9), language="zh")
    assert "你可以说“打开律动健身”、" in route(router, zh, Session()).response.speech
