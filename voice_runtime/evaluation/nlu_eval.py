"""NLU evaluation: labelled sentences through the real router, scored.

The data is JSON lines, one labelled sentence a line:

    {"text": "how do I bake bread", "intent": "anchor_baking.recipe", "slots": {"dish": "bread"}}
    {"text": "open baking class", "intent": "open_skill", "slots": {"skill": "anchor_baking"}}

`intent` uses the model's names (`open_skill`, `<skill id>.<intent>`, `help`, `stop`,
`repeat`, `yes`, `no`, `out_of_scope`); `slots` maps slot names to value ids. Each
sentence goes through `Assistant.handle` in a fresh session and the routed turn is
compared: its intent (the router answers `out_of_scope` with `fallback`, which
counts as the same), its slots, and for `open_skill` the skill it opened. A turn
that opened a skill reports that skill as the slot `skill`, so opening the wrong
skill is both an intent error and a slot error; an `open_skill` line without a
`skill` label leaves the skill unscored. Blank lines are skipped; fields starting
with `x-` are notes and ignored.

Slot scores are micro-averaged over (slot, value) pairs: a labelled pair the turn
has is a true positive; a predicted pair that is not labelled, or has another
value, is a false positive; a labelled pair the turn lacks or got wrong is a false
negative (a wrong value is one of each).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..dialog.router import Assistant
from ..dialog.session import Session
from ..dialog.turn import Turn
from ..errors import InputError
from ..nlu.compile import OPEN_SKILL, SKILL_ENTITY
from ..skills.catalog import Catalog

BUILT_IN_INTENTS = ("help", "stop", "repeat", "yes", "no", "out_of_scope")
# Model intent -> the intent the router acts on for it.
ROUTED_AS = {"out_of_scope": "fallback"}
FIELDS = ("text", "intent", "slots")


@dataclass(frozen=True)
class Example:
    """One labelled sentence of an evaluation file."""

    file: str
    line: int
    text: str
    intent: str
    slots: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        """file:line, for messages."""
        return f"{self.file}:{self.line}"

    @property
    def label(self) -> str:
        """The expected intent, with the skill for a labelled `open_skill`."""
        return intent_label(self.intent, self.slots.get(SKILL_ENTITY))


@dataclass(frozen=True)
class SlotCounts:
    """True/false positives and false negatives over (slot, value) pairs.

    With nothing predicted precision is 1.0, with nothing labelled recall is 1.0:
    no claim was wrong, nothing was missed.
    """

    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0

    def __add__(self, other: SlotCounts) -> SlotCounts:
        return SlotCounts(
            self.true_positives + other.true_positives,
            self.false_positives + other.false_positives,
            self.false_negatives + other.false_negatives,
        )

    @property
    def precision(self) -> float:
        predicted = self.true_positives + self.false_positives
        return self.true_positives / predicted if predicted else 1.0

    @property
    def recall(self) -> float:
        labelled = self.true_positives + self.false_negatives
        return self.true_positives / labelled if labelled else 1.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0

    @property
    def perfect(self) -> bool:
        """No slot was wrong, extra or missing."""
        return self.false_positives == 0 and self.false_negatives == 0

    def to_dict(self) -> dict[str, float | int]:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "true_positives": self.true_positives,
            "false_positives": self.false_positives,
            "false_negatives": self.false_negatives,
        }


@dataclass(frozen=True)
class Outcome:
    """How the assistant handled one example."""

    example: Example
    intent: str  # the routed turn's intent
    skill: str | None
    slots: dict[str, str]  # the slots scored: the turn's, plus `skill` for an opened skill
    confidence: float
    language: str

    @property
    def label(self) -> str:
        """The routed intent, with the skill when it opened one."""
        return intent_label(self.intent, self.skill if self.intent == OPEN_SKILL else None)

    @property
    def intent_correct(self) -> bool:
        expected = self.example
        routed = ROUTED_AS.get(expected.intent, expected.intent)
        if routed != self.intent:
            return False
        if expected.intent == OPEN_SKILL and SKILL_ENTITY in expected.slots:
            return self.skill == expected.slots[SKILL_ENTITY]
        return True

    @property
    def slot_counts(self) -> SlotCounts:
        return compare_slots(self.example.slots, self.slots)

    @property
    def correct(self) -> bool:
        """Intent and every slot right."""
        return self.intent_correct and self.slot_counts.perfect

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.example.line,
            "text": self.example.text,
            "expected_intent": self.example.intent,
            "expected_slots": self.example.slots,
            "intent": self.intent,
            "skill": self.skill,
            "slots": self.slots,
            "confidence": self.confidence,
            "language": self.language,
            "intent_correct": self.intent_correct,
            "slots_correct": self.slot_counts.perfect,
        }


@dataclass(frozen=True)
class Confusion:
    """An intent mistaken for another, and how often."""

    expected: str
    got: str
    count: int


@dataclass(frozen=True)
class EvalReport:
    """Every outcome of one data file, and the metrics over them."""

    data: str
    language: str | None  # None: detected per sentence
    outcomes: tuple[Outcome, ...]

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def intent_correct(self) -> int:
        return sum(o.intent_correct for o in self.outcomes)

    @property
    def intent_accuracy(self) -> float:
        return self.intent_correct / self.total if self.total else 0.0

    @property
    def slots(self) -> SlotCounts:
        return sum((o.slot_counts for o in self.outcomes), SlotCounts())

    @property
    def confusions(self) -> list[Confusion]:
        """(expected -> got) intent pairs of the misclassified lines, most frequent first."""
        pairs = Counter((o.example.label, o.label) for o in self.outcomes if not o.intent_correct)
        ordered = sorted(pairs.items(), key=lambda item: (-item[1], item[0]))
        return [Confusion(expected, got, count) for (expected, got), count in ordered]

    @property
    def errors(self) -> list[Outcome]:
        """The lines with a wrong intent or a wrong, extra or missing slot."""
        return [o for o in self.outcomes if not o.correct]

    def to_dict(self) -> dict[str, Any]:
        return {
            "data": self.data,
            "language": self.language or "detected",
            "examples": self.total,
            "intent": {
                "accuracy": self.intent_accuracy,
                "correct": self.intent_correct,
                "total": self.total,
            },
            "slots": self.slots.to_dict(),
            "confusions": [
                {"expected": c.expected, "got": c.got, "count": c.count} for c in self.confusions
            ],
            "results": [o.to_dict() for o in self.outcomes],
        }


def intent_label(intent: str, skill: str | None) -> str:
    """`open_skill(anchor_baking)` for an open with a skill, else the intent."""
    return f"{intent}({skill})" if intent == OPEN_SKILL and skill else intent


def compare_slots(expected: Mapping[str, str], got: Mapping[str, str]) -> SlotCounts:
    """Micro counts of one sentence's predicted slot pairs against its labels."""
    hits = sum(1 for name, value in expected.items() if got.get(name) == value)
    return SlotCounts(
        true_positives=hits,
        false_positives=len(got) - hits,
        false_negatives=len(expected) - hits,
    )


# -- reading the data ---------------------------------------------------------------


def load_examples(path: Path) -> list[Example]:
    """The labelled sentences of a JSON-lines file; InputError naming file:line if bad."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        content = path.read_text("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    examples = [
        parse_example(line, str(path), number)
        for number, line in enumerate(content.splitlines(), start=1)
        if line.strip()
    ]
    if not examples:
        raise InputError(f"{path}: no examples (expected one JSON object a line)")
    return examples


def parse_example(line: str, file: str, number: int) -> Example:
    """One line of an evaluation file as an Example."""
    where = f"{file}:{number}"
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: invalid JSON ({exc.msg}, column {exc.colno})") from exc
    if not isinstance(data, dict):
        raise InputError(f'{where}: expected a JSON object like {{"text": ..., "intent": ...}}')
    unknown = [k for k in data if k not in FIELDS and not str(k).startswith("x-")]
    if unknown:
        raise InputError(
            f"{where}: unknown field {unknown[0]!r}; allowed: {', '.join(FIELDS)} (and x-notes)"
        )
    text = required_text(data, "text", where)
    intent = required_text(data, "intent", where)
    slots = data.get("slots", {})
    if not isinstance(slots, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in slots.items()
    ):
        raise InputError(f'{where}: "slots" must map slot names to value ids (strings)')
    return Example(file, number, text, intent, dict(slots))


def required_text(data: Mapping[str, Any], key: str, where: str) -> str:
    """A field that must be a non-empty string."""
    if key not in data:
        raise InputError(f'{where}: missing "{key}"')
    value = data[key]
    if not isinstance(value, str) or not value.strip():
        raise InputError(f'{where}: "{key}" must be a non-empty string')
    return value


def check_labels(examples: Iterable[Example], catalog: Catalog) -> None:
    """InputError at the first label that names no intent, slot or value of the skills."""
    for example in examples:
        problem = label_problem(example, catalog)
        if problem:
            raise InputError(f"{example.where}: {problem}")


def label_problem(example: Example, catalog: Catalog) -> str | None:
    """Why an example's labels cannot be right for these skills, or None."""
    intent, slots = example.intent, example.slots
    if intent == OPEN_SKILL:
        extra = [name for name in slots if name != SKILL_ENTITY]
        if extra:
            return f"an open_skill line only takes the slot 'skill', not {extra[0]!r}"
        skill_id = slots.get(SKILL_ENTITY)
        if skill_id is not None and catalog.get(skill_id) is None:
            return f"unknown skill {skill_id!r}; skills: {skill_ids(catalog)}"
        return None
    if intent in BUILT_IN_INTENTS or intent in ROUTED_AS.values():
        return f"the built-in intent {intent!r} takes no slots" if slots else None
    skill_id, dot, name = intent.partition(".")
    skill = catalog.get(skill_id) if dot else None
    if skill is None:
        return (
            f"unknown intent {intent!r}; use open_skill, <skill id>.<intent> "
            f"or one of {', '.join(BUILT_IN_INTENTS)}"
        )
    if name not in skill.intents:
        return f"skill {skill_id!r} has no intent {name!r}; it has {', '.join(skill.intents)}"
    for slot_name, value in slots.items():
        slot = skill.slots.get(slot_name)
        if slot is None:
            return f"skill {skill_id!r} has no slot {slot_name!r}"
        ids = [v.id for v in slot.values]
        if slot.type == "list" and value not in ids:
            return f"slot {slot_name!r} has no value id {value!r}; value ids: {', '.join(ids)}"
    return None


def skill_ids(catalog: Catalog) -> str:
    return ", ".join(s.id for s in catalog.skills)


# -- running ------------------------------------------------------------------------


def evaluate(
    assistant: Assistant,
    examples: Iterable[Example],
    language: str | None = None,
    data: str = "",
) -> EvalReport:
    """Every example through the assistant in a fresh session (language fixed or detected)."""
    outcomes = tuple(outcome_of(assistant, example, language) for example in examples)
    return EvalReport(data, language, outcomes)


def outcome_of(assistant: Assistant, example: Example, language: str | None) -> Outcome:
    """How the assistant routes one example, starting from a fresh session."""
    try:
        turn = assistant.handle_sync(example.text, Session(language=language))
    except InputError as exc:
        raise InputError(f"{example.where}: {exc}") from exc
    return Outcome(
        example,
        turn.intent,
        turn.skill,
        scored_slots(example, turn),
        turn.confidence,
        turn.language,
    )


def scored_slots(example: Example, turn: Turn) -> dict[str, str]:
    """The turn's slots, plus the skill it opened (unless the line leaves that unlabelled)."""
    slots = dict(turn.slots)
    opened = turn.intent == OPEN_SKILL and turn.skill is not None
    unlabelled = example.intent == OPEN_SKILL and SKILL_ENTITY not in example.slots
    if opened and not unlabelled and turn.skill is not None:
        slots[SKILL_ENTITY] = turn.skill
    return slots


# -- the text report ----------------------------------------------------------------


def format_report(report: EvalReport, top: int = 10) -> str:
    """Metrics, the most frequent confusions and every wrong line, as text."""
    slots = report.slots
    language = report.language or "detected per sentence"
    lines = [
        f"nlu eval: {report.data} ({report.total} sentences, language {language})",
        f"intent accuracy  {report.intent_accuracy:.3f}  "
        f"({report.intent_correct}/{report.total} correct)",
        f"slot precision   {slots.precision:.3f}  recall {slots.recall:.3f}  f1 {slots.f1:.3f}  "
        f"(tp {slots.true_positives}, fp {slots.false_positives}, fn {slots.false_negatives})",
    ]
    confusions = report.confusions[:top]
    lines.append("confusions (expected -> got):" if confusions else "confusions: none")
    lines.extend(f"  {c.count:3d}  {c.expected} -> {c.got}" for c in confusions)
    errors = report.errors
    lines.append(f"misclassified ({len(errors)}):" if errors else "misclassified: none")
    lines.extend(f"  {describe(outcome)}" for outcome in errors)
    return "\n".join(lines)


def describe(outcome: Outcome) -> str:
    """One wrong line: where, the text, what was expected and what came."""
    example = outcome.example
    parts = [f"{example.where}: {example.text!r}"]
    if not outcome.intent_correct:
        parts.append(
            f"intent: expected {example.label}, got {outcome.label} ({outcome.confidence:.2f})"
        )
    if not outcome.slot_counts.perfect:
        parts.append(
            f"slots: expected {format_slots(example.slots)}, got {format_slots(outcome.slots)}"
        )
    return "  ".join(parts)


def format_slots(slots: Mapping[str, str]) -> str:
    """dish=bread, skill=anchor_baking; {} when empty."""
    return ", ".join(f"{k}={v}" for k, v in sorted(slots.items())) or "{}"
