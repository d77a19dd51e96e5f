"""Known sentences are understood without the model, exactly as the training data says."""

from __future__ import annotations

from voice_runtime.nlu.builtin import BuiltinData
from voice_runtime.nlu.compile import compile_language
from voice_runtime.nlu.exact import ExactMatcher
from voice_runtime.skills.catalog import Catalog


def matcher(catalog: Catalog, language: str = "en") -> ExactMatcher:
    builtin = BuiltinData(
        language,
        open_skill=("open {invocation}",),
        ask_skill=("ask {invocation} {request}",),
        intents={"help": ("help",), "stop": ("stop", "help me out")},
    )
    return ExactMatcher.from_training_data(compile_language(catalog.skills, builtin))


def test_known_sentences_match_with_entities(catalog: Catalog) -> None:
    exact = matcher(catalog)
    result = exact.match("Open  Baking Class!")
    assert result is not None and result.source == "exact"
    assert (result.intent.name, result.intent.confidence) == ("open_skill", 1.0)
    entity = result.entities[0]
    assert (entity.entity, entity.value, entity.text, entity.start, entity.end) == (
        "skill",
        "anchor_baking",
        "baking class",
        6,
        18,
    )
    recipe = exact.match("i want to bake a loaf")
    assert recipe is not None
    assert [(e.entity, e.value) for e in recipe.entities] == [("anchor_baking.dish", "bread")]


def test_unknown_sentences_go_to_the_model(catalog: Catalog) -> None:
    exact = matcher(catalog)
    assert exact.match("would you kindly open the baking class") is None
    assert exact.match("") is None
    assert len(exact) > 100
