"""The typed result of understanding one utterance (parsed once from Rasa's dict)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class IntentScore:
    name: str
    confidence: float


@dataclass(frozen=True)
class EntityMatch:
    """An entity found in the text; `value` is after synonym mapping."""

    entity: str
    value: str
    text: str
    start: int
    end: int
    confidence: float


@dataclass(frozen=True)
class NluResult:
    text: str
    language: str
    intent: IntentScore
    ranking: tuple[IntentScore, ...]
    entities: tuple[EntityMatch, ...]
    source: str = "model"  # "model" (Rasa) or "exact" (a training sentence, word for word)

    @classmethod
    def from_rasa(cls, data: dict[str, Any], language: str) -> NluResult:
        text = str(data.get("text", ""))
        top = data.get("intent") or {}
        intent = IntentScore(
            str(top.get("name") or "nlu_fallback"), float(top.get("confidence") or 0.0)
        )
        ranking = tuple(
            IntentScore(str(item["name"]), float(item["confidence"]))
            for item in data.get("intent_ranking") or []
        )
        entities = tuple(
            EntityMatch(
                entity=str(item["entity"]),
                value=str(item.get("value", "")),
                text=text[int(item["start"]) : int(item["end"])],
                start=int(item["start"]),
                end=int(item["end"]),
                confidence=float(item.get("confidence_entity") or 0.0),
            )
            for item in data.get("entities") or []
        )
        return cls(text, language, intent, ranking, entities)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
