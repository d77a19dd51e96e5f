"""One exchange: what the user said, how it was understood, what the assistant answered."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..nlu.result import NluResult
from ..skills.model import Card


@dataclass(frozen=True)
class SkillResponse:
    """Speech to say, and a card for devices with a screen."""

    speech: str
    card: Card | None = None


@dataclass(frozen=True)
class Turn:
    """The result of one user utterance.

    `intent` is what the router acted on: `open_skill`, `<skill>.<intent>`,
    `help`, `stop`, `repeat`, `yes`, `no`, `fallback` (nothing matched) or
    `rephrase` (understood too poorly to act on).
    """

    text: str
    language: str
    intent: str
    skill: str | None
    response: SkillResponse
    slots: dict[str, str] = field(default_factory=dict)
    nlu: NluResult | None = None
    confidence: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Session:
    """Dialog state of one user on one device."""

    language: str | None = None
    skill: str | None = None
    last: SkillResponse | None = None

    def reset(self) -> None:
        self.skill = None
        self.last = None
