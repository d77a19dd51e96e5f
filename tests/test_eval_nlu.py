"""`voice eval nlu`: the shipped labelled data, bad files, and the metric arithmetic."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from voice_runtime.cli import eval as eval_command
from voice_runtime.dialog.router import Assistant
from voice_runtime.errors import InputError
from voice_runtime.evaluation.nlu_eval import (
    EvalReport,
    Example,
    Outcome,
    SlotCounts,
    check_labels,
    compare_slots,
    load_examples,
)

ROOT = Path(__file__).resolve().parent.parent
EVAL_DIR = ROOT / "tests" / "eval"

# Measured on the shipped models: en 0.830 (39/47), zh 0.936 (44/47). The target is
# 0.85; English is below it (mostly sentences answered "rephrase" under the 0.5
# threshold), so its floor guards the measured level until the model improves.
MIN_ACCURACY = {"en": 0.85, "zh": 0.85}


def parse_args(*argv: str) -> argparse.Namespace:
    """The command line `voice --project ROOT eval ...` as main.py would parse it."""
    parser = argparse.ArgumentParser(prog="voice")
    parser.add_argument("--project", type=Path, default=None)
    sub = parser.add_subparsers(dest="command", required=True)
    eval_command.add_arguments(sub.add_parser("eval"))
    return parser.parse_args(["--project", str(ROOT), "eval", *argv])


def write_lines(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def printed_accuracy(out: str) -> float:
    match = re.search(r"^intent accuracy\s+([0-9.]+)", out, re.MULTILINE)
    assert match, out
    return float(match.group(1))


# -- the shipped data ---------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh"])
def test_shipped_data_accuracy(
    language: str,
    assistant: Assistant,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    data = EVAL_DIR / f"nlu_{language}.jsonl"
    out_json = tmp_path / "metrics.json"
    args = parse_args("nlu", "--data", str(data), "--lang", language, "--json", str(out_json))
    assert eval_command.run(args, assistant) == 0
    out = capsys.readouterr().out
    accuracy = printed_accuracy(out)
    print(f"{language}: intent accuracy {accuracy:.3f}")  # shown with pytest -s
    assert accuracy >= MIN_ACCURACY[language], out
    assert "slot precision" in out and "confusions" in out and "misclassified" in out
    metrics = json.loads(out_json.read_text("utf-8"))
    assert round(metrics["intent"]["accuracy"], 3) == accuracy
    assert metrics["examples"] == len(metrics["results"]) >= 40
    assert {r["language"] for r in metrics["results"]} == {language}


@pytest.mark.parametrize("language", ["en", "zh"])
def test_shipped_data_covers_every_skill_and_built_ins(language: str, assistant: Assistant) -> None:
    examples = load_examples(EVAL_DIR / f"nlu_{language}.jsonl")
    check_labels(examples, assistant.catalog)
    skills = {e.intent.split(".")[0] for e in examples if "." in e.intent}
    opened = {e.slots["skill"] for e in examples if e.intent == "open_skill"}
    every = {s.id for s in assistant.catalog.skills}
    assert skills == opened == every
    assert {"help", "stop", "repeat", "yes", "no", "out_of_scope"} <= {e.intent for e in examples}


def test_shipped_data_are_no_training_sentences(assistant: Assistant) -> None:
    """Paraphrases, not copies: no line is a skill's example sentence word for word."""
    trained = {
        (language, example.text.lower())
        for skill in assistant.catalog.skills
        for intent in skill.intents.values()
        for language, examples in intent.examples.items()
        for example in examples
    }
    for language in ("en", "zh"):
        for example in load_examples(EVAL_DIR / f"nlu_{language}.jsonl"):
            assert (language, example.text.lower()) not in trained, example.where


# -- a tiny file with a known answer ------------------------------------------------

# Exact training sentences (understood without the model, deterministically), two of
# them labelled wrongly on purpose: line 3's dish, line 4's skill, line 6's extra slot.
TINY = [
    '{"text": "open baking class", "intent": "open_skill", "slots": {"skill": "anchor_baking"}}',
    '{"text": "how do I bake bread", "intent": "anchor_baking.recipe", "slots": {"dish": "bread"}}',
    '{"text": "how do I bake bread", "intent": "anchor_baking.recipe",'
    ' "slots": {"dish": "cookies"}}',
    '{"text": "open baking class", "intent": "open_skill", "slots": {"skill": "wok_kitchen"}}',
    "",
    '{"text": "stop", "intent": "stop", "x-note": "blank line above is skipped"}',
    '{"text": "what is the next lesson", "intent": "anchor_baking.next_lesson",'
    ' "slots": {"dish": "cake"}}',
]


def test_tiny_file_known_answer(
    assistant: Assistant, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = write_lines(tmp_path / "tiny.jsonl", *TINY)
    out_json = tmp_path / "tiny.json"
    assert (
        eval_command.run(parse_args("nlu", "--data", str(data), "--json", str(out_json)), assistant)
        == 0
    )
    out = capsys.readouterr().out
    # intents: 5 of 6 right (line 4 opened anchor_baking, not wok_kitchen)
    assert "intent accuracy  0.833  (5/6 correct)" in out
    # slots: tp dish=bread, skill=anchor_baking (line 1); fp dish=bread (line 3),
    # skill=anchor_baking (line 4); fn dish=cookies, skill=wok_kitchen, dish=cake
    assert "slot precision   0.500  recall 0.400  f1 0.444  (tp 2, fp 2, fn 3)" in out
    assert "1  open_skill(wok_kitchen) -> open_skill(anchor_baking)" in out
    assert "misclassified (3):" in out
    assert f"{data}:3: 'how do I bake bread'  slots: expected dish=cookies, got dish=bread" in out
    assert f"{data}:4:" in out and f"{data}:7:" in out and f"{data}:2:" not in out
    metrics = json.loads(out_json.read_text("utf-8"))
    assert metrics["language"] == "detected"
    assert metrics["slots"]["true_positives"] == 2
    assert metrics["confusions"] == [
        {"expected": "open_skill(wok_kitchen)", "got": "open_skill(anchor_baking)", "count": 1}
    ]
    assert [r["line"] for r in metrics["results"]] == [1, 2, 3, 4, 6, 7]


def test_min_accuracy_fails_the_command(
    assistant: Assistant, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = write_lines(tmp_path / "tiny.jsonl", *TINY)
    args = parse_args("nlu", "--data", str(data), "--min-accuracy", "0.9")
    assert eval_command.run(args, assistant) == 1
    assert "intent accuracy 0.833 is below 0.9" in capsys.readouterr().out


# -- metric arithmetic without a model ----------------------------------------------


def outcome(
    intent: str,
    slots: dict[str, str],
    got: str,
    got_slots: dict[str, str],
    skill: str | None = None,
) -> Outcome:
    example = Example("hand.jsonl", 1, "some text", intent, slots)
    return Outcome(example, got, skill, got_slots, 0.9, "en")


def test_metric_arithmetic_by_hand() -> None:
    report = EvalReport(
        "hand.jsonl",
        "en",
        (
            outcome("a.x", {"s": "1", "t": "2"}, "a.x", {"s": "1", "t": "9"}),  # tp 1 fp 1 fn 1
            outcome("a.x", {"s": "1"}, "a.y", {"s": "1", "u": "3"}),  # tp 1 fp 1 fn 0
            outcome("a.x", {"s": "1"}, "a.y", {}),  # tp 0 fp 0 fn 1
            outcome("out_of_scope", {}, "fallback", {}),  # routed as fallback: right
            outcome("help", {}, "rephrase", {}),
        ),
    )
    assert report.intent_correct == 2
    assert report.intent_accuracy == pytest.approx(0.4)
    assert report.slots == SlotCounts(true_positives=2, false_positives=2, false_negatives=2)
    assert report.slots.precision == pytest.approx(0.5)
    assert report.slots.recall == pytest.approx(0.5)
    assert report.slots.f1 == pytest.approx(0.5)
    assert [(c.expected, c.got, c.count) for c in report.confusions] == [
        ("a.x", "a.y", 2),
        ("help", "rephrase", 1),
    ]
    assert len(report.errors) == 4


def test_slot_counts_edge_cases() -> None:
    assert compare_slots({}, {}) == SlotCounts(0, 0, 0)
    assert compare_slots({"dish": "bread"}, {"dish": "cake"}) == SlotCounts(0, 1, 1)
    assert compare_slots({}, {"dish": "cake"}) == SlotCounts(0, 1, 0)
    nothing = SlotCounts()
    assert (nothing.precision, nothing.recall) == (1.0, 1.0)
    assert SlotCounts(0, 1, 1).f1 == 0.0
    assert SlotCounts(3, 1, 0).f1 == pytest.approx(2 * 0.75 / 1.75)


def test_open_skill_needs_the_right_skill() -> None:
    right = outcome("open_skill", {"skill": "a"}, "open_skill", {"skill": "a"}, skill="a")
    wrong = outcome("open_skill", {"skill": "a"}, "open_skill", {"skill": "b"}, skill="b")
    unlabelled = outcome("open_skill", {}, "open_skill", {}, skill="b")
    assert right.intent_correct and right.correct
    assert not wrong.intent_correct and wrong.label == "open_skill(b)"
    assert unlabelled.intent_correct and unlabelled.correct


# -- bad input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"text": "hi", "intent": "help"}', '{"text": "hi", "intent": '], r":2: invalid JSON"),
        (['{"intent": "help"}'], r':1: missing "text"'),
        (['{"text": "stop"}'], r':1: missing "intent"'),
        (['{"text": "", "intent": "stop"}'], r':1: "text" must be a non-empty string'),
        (['["stop", "stop"]'], r":1: expected a JSON object"),
        (['{"text": "stop", "intent": "stop", "slot": {}}'], r":1: unknown field 'slot'"),
        (['{"text": "x", "intent": "a.b", "slots": {"dish": 3}}'], r':1: "slots" must map'),
        ([""], r": no examples"),
    ],
)
def test_bad_file_names_file_and_line(tmp_path: Path, lines: list[str], message: str) -> None:
    data = write_lines(tmp_path / "bad.jsonl", *lines)
    with pytest.raises(InputError, match=re.escape(str(data)) + message):
        eval_command.run(parse_args("nlu", "--data", str(data)))  # fails before any model loads


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(InputError, match=re.escape(f"{missing}: no such file")):
        eval_command.run(parse_args("nlu", "--data", str(missing)))


def test_not_utf8(tmp_path: Path) -> None:
    data = tmp_path / "latin1.jsonl"
    data.write_bytes('{"text": "caf\xe9", "intent": "help"}\n'.encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        eval_command.run(parse_args("nlu", "--data", str(data)))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"text": "x", "intent": "anchor_baking.bake"}', "skill 'anchor_baking' has no intent"),
        ('{"text": "x", "intent": "nobody.recipe"}', "unknown intent 'nobody.recipe'"),
        ('{"text": "x", "intent": "open_skill", "slots": {"skill": "nobody"}}', "unknown skill"),
        (
            '{"text": "x", "intent": "anchor_baking.recipe", "slots": {"dish": "pie"}}',
            "slot 'dish' has no value id 'pie'",
        ),
        (
            '{"text": "x", "intent": "help", "slots": {"dish": "cake"}}',
            "the built-in intent 'help' takes no slots",
        ),
    ],
)
def test_unknown_labels(assistant: Assistant, tmp_path: Path, line: str, message: str) -> None:
    data = write_lines(tmp_path / "labels.jsonl", '{"text": "stop", "intent": "stop"}', line)
    with pytest.raises(InputError, match=re.escape(f"{data}:2: {message}")):
        eval_command.run(parse_args("nlu", "--data", str(data)), assistant)


def test_unusable_text_names_the_line(assistant: Assistant, tmp_path: Path) -> None:
    data = write_lines(tmp_path / "long.jsonl", json.dumps({"text": "x" * 600, "intent": "help"}))
    with pytest.raises(InputError, match=re.escape(f"{data}:1: input too long")):
        eval_command.run(parse_args("nlu", "--data", str(data)), assistant)


# -- the command line ---------------------------------------------------------------


def test_eval_needs_a_kind_and_nlu_needs_data(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args()
    assert "WHAT" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args("nlu")
    assert "--data" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args("sound", "--data", "x.jsonl")
    assert "invalid choice: 'sound'" in capsys.readouterr().err
    assert set(eval_command.EVALUATIONS) == {"nlu", "speech"}
