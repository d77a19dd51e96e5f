"""The rephrase threshold per language, calibrated on held-in sentences, with the real model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import GivenNlu, route

from voice_runtime.dialog.router import Assistant, RouterSettings
from voice_runtime.dialog.session import Session
from voice_runtime.errors import InputError
from voice_runtime.nlu.calibrate import (
    CALIBRATION_CACHE,
    DEFAULT_THRESHOLD,
    choose_threshold,
    handled,
    load_labelled,
)
from voice_runtime.nlu.engine import NluEngine
from voice_runtime.nlu.result import EntityMatch, IntentScore, NluResult
from voice_runtime.project import Project
from voice_runtime.skills.catalog import Catalog


def guess(name: str, confidence: float, *others: tuple[str, float]) -> NluResult:
    ranking = (IntentScore(name, confidence),) + tuple(IntentScore(n, c) for n, c in others)
    return NluResult("text", "en", ranking[0], ranking, ())


def test_out_of_scope_is_handled_by_rejecting_or_by_its_own_intent() -> None:
    assert handled(guess("a.b", 0.3), "out_of_scope", 0.4)  # asks to rephrase: fine
    assert handled(guess("out_of_scope", 0.9), "out_of_scope", 0.4)
    assert not handled(guess("a.b", 0.6), "out_of_scope", 0.4)  # forced into a command
    assert handled(guess("a.b", 0.6), "a.b", 0.4)
    assert not handled(guess("a.b", 0.3), "a.b", 0.4)
    assert not handled(guess("a.c", 0.9), "a.b", 0.4)


def test_a_threshold_may_not_cost_the_right_answers_it_would_reject() -> None:
    # 34 right answers, one unsure (0.25); out-of-scope guesses at 0.5-0.7 would pull
    # the threshold to 0.7, which would lose right answers at 0.45-0.65
    right = [guess("a.b", c) for c in (0.25, 0.45, 0.55, 0.65)] + [guess("a.b", 0.95)] * 30
    wrong = [guess("a.b", c) for c in (0.5, 0.6, 0.68, 0.69, 0.69, 0.69)]
    results = [(r, "a.b") for r in right] + [(r, "out_of_scope") for r in wrong]
    threshold, correct = choose_threshold(results)
    assert threshold <= 0.45  # keeps 0.45, 0.55, 0.65 (at most 3% of 34 = 1 may go)
    assert correct == sum(handled(r, i, threshold) for r, i in results)


def test_the_middle_of_the_best_plateau_is_chosen() -> None:
    # every right answer sure, one out-of-scope guess at 0.5: 0.55..0.80 all score best
    results = [(guess("a.b", 0.99), "a.b")] * 10 + [(guess("a.b", 0.5), "out_of_scope")]
    threshold, correct = choose_threshold(results)
    assert correct == 11 and 0.6 <= threshold <= 0.7


def test_bad_calibration_lines_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "en.calibration.jsonl"
    path.write_text('{"text": "hi", "intent": "help"}\n\n{"text": "x"}\n', "utf-8")
    with pytest.raises(InputError, match=r"en\.calibration\.jsonl:3: \"intent\""):
        load_labelled(path)
    path.write_text('{"text": "hi", "intent": "help"}\nnot json\n', "utf-8")
    with pytest.raises(InputError, match=r":2: invalid JSON"):
        load_labelled(path)
    path.write_text("\n", "utf-8")
    with pytest.raises(InputError, match="no calibration sentences"):
        load_labelled(path)


@pytest.fixture()
def copied(tmp_path: Path, project: Project) -> Project:
    """The repository's skills, built-in data and trained English model in a new project."""
    shutil.copytree(project.skills_dir, tmp_path / "skills")
    (tmp_path / "nlu_data").mkdir()
    for name in ("en.yaml", "zh.yaml"):
        shutil.copy(project.nlu_data_dir / name, tmp_path / "nlu_data" / name)
    model = project.nlu_model_dir("en")
    assert (model / "model.tar.gz").exists(), "no trained English model: run 'make models'"
    target = tmp_path / "models" / "nlu" / "en"
    shutil.copytree(model, target, ignore=shutil.ignore_patterns(CALIBRATION_CACHE, ".train*"))
    return Project(tmp_path)


def test_the_engine_calibrates_once_and_the_router_follows(
    copied: Project, catalog: Catalog
) -> None:
    engine = NluEngine(copied, catalog, auto_train=False)
    assert engine.threshold("en") is None  # no held-in sentences: the router's default
    assert Assistant(catalog, engine).threshold("en") == DEFAULT_THRESHOLD

    data = copied.nlu_data_dir / "en.calibration.jsonl"
    lines = [
        {"text": "teach me croissants please", "intent": "anchor_baking.recipe"},
        {"text": "let's do some yoga", "intent": "pulse_workout.start_workout"},
        {"text": "make it pearl white", "intent": "star_motors_cars.choose_colour"},
        {"text": "order me a pizza", "intent": "out_of_scope"},
        {"text": "who is the president of brazil", "intent": "out_of_scope"},
    ]
    data.write_text("".join(json.dumps(line) + "\n" for line in lines), "utf-8")
    engine = NluEngine(copied, catalog, auto_train=False)
    calibration = engine.calibration("en")
    assert calibration is not None and calibration.total == 5
    results = [(engine.parse(line["text"], "en"), line["intent"]) for line in lines]
    assert (calibration.threshold, calibration.correct) == choose_threshold(results)
    assert Assistant(catalog, engine).threshold("en") == calibration.threshold
    assert Assistant(catalog, engine, RouterSettings(threshold=0.9)).threshold("en") == 0.9

    # a new process reads the cached result instead of parsing again
    cache = copied.nlu_model_dir("en") / CALIBRATION_CACHE
    stored = json.loads(cache.read_text("utf-8"))
    cache.write_text(json.dumps({**stored, "threshold": 0.123}), "utf-8")
    assert NluEngine(copied, catalog, auto_train=False).threshold("en") == 0.123
    # ... and changed sentences are calibrated afresh
    data.write_text(data.read_text("utf-8") + '{"text": "stop", "intent": "stop"}\n', "utf-8")
    again = NluEngine(copied, catalog, auto_train=False).calibration("en")
    assert again is not None and again.total == 6 and again.threshold != 0.123


@pytest.fixture()
def router(catalog: Catalog) -> Assistant:
    return Assistant(catalog, GivenNlu(), RouterSettings(threshold=0.4, follow_up=0.2))


def test_a_built_in_yields_to_the_skill_whose_value_was_said(router: Assistant) -> None:
    text = "okay show me the aurora"
    aurora = EntityMatch("star_motors_cars.model", "aurora", "aurora", 17, 23, 0.9)
    scores = (IntentScore("yes", 0.55), IntentScore("star_motors_cars.show_model", 0.35))
    said = NluResult(text, "en", scores[0], scores, (aurora,))
    turn = route(router, said, Session(language="en"))
    assert (turn.intent, turn.skill, turn.slots.get("model")) == (
        "star_motors_cars.show_model",
        "star_motors_cars",
        "aurora",
    )
    # without a value of the skill, the yes stays a yes (with nothing to confirm)
    bare = NluResult("okay", "en", scores[0], scores, ())
    assert route(router, bare, Session(language="en")).intent == "yes"
    # and a stop is a stop, whatever else was said
    stop = (IntentScore("stop", 0.6), IntentScore("star_motors_cars.show_model", 0.35))
    said = NluResult("stop the aurora", "en", stop[0], stop, (aurora,))
    assert route(router, said, Session(language="en")).intent == "stop"
