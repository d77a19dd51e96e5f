"""Sentences the training data holds word for word are understood without the model.

Like hassil's template matching in Home Assistant: a known sentence ("open
baking class") gets its intent and entities at once and deterministically,
even while the Rasa model is still loading; everything else goes to the model.
"""

from __future__ import annotations

import json
import re

from ..skills.normalize import normalize
from .compile import TrainingData
from .result import EntityMatch, IntentScore, NluResult

_INTENT = re.compile(r'^- intent: "(.+)"$')
_EXAMPLE = re.compile(r"^    - (.+)$")
_ANNOTATION = re.compile(r"\[([^\[\]]+)\](\{[^{}]*\})")

Entities = tuple[tuple[str, str, str], ...]  # (entity, value, words as written)


class ExactMatcher:
    """Normalised training sentence -> (intent, [(entity, value, words)])."""

    def __init__(
        self, language: str, table: dict[str, tuple[str, tuple[tuple[str, str, str], ...]]]
    ):
        self.language = language
        self._table = table

    @classmethod
    def from_training_data(cls, data: TrainingData) -> ExactMatcher:
        table: dict[str, tuple[str, Entities]] = {}
        ambiguous: set[str] = set()
        intent = ""
        for line in data.nlu.splitlines():
            if found := _INTENT.match(line):
                intent = found.group(1)
            elif (found := _EXAMPLE.match(line)) and intent:
                text, entities = _plain(found.group(1))
                key = normalize(text)
                if key in table and table[key][0] != intent:
                    ambiguous.add(key)
                table[key] = (intent, entities)
        for key in ambiguous:  # taught to two intents: let the model weigh it
            del table[key]
        return cls(data.language, table)

    def match(self, text: str) -> NluResult | None:
        entry = self._table.get(normalize(text))
        if entry is None:
            return None
        intent, entities = entry
        score = IntentScore(intent, 1.0)
        lowered = text.casefold()
        matches = []
        for entity, value, words in entities:
            start = lowered.find(words.casefold())
            start, end = (start, start + len(words)) if start >= 0 else (0, 0)
            matches.append(EntityMatch(entity, value, words, start, end, 1.0))
        return NluResult(text, self.language, score, (score,), tuple(matches), source="exact")

    def __len__(self) -> int:
        return len(self._table)


def _plain(example: str) -> tuple[str, Entities]:
    """Rasa's annotated example -> its plain text and (entity, value, words) triples."""
    entities: list[tuple[str, str, str]] = []

    def strip(found: re.Match[str]) -> str:
        words = found.group(1)
        annotation = json.loads(found.group(2))
        entities.append((annotation["entity"], annotation.get("value", words), words))
        return words

    return _ANNOTATION.sub(strip, example), tuple(entities)
