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
class ServiceCall:
    """A brand service call made for a turn: the request sent and how it ended.

    `outcome` is "ok" or the failure reason (timeout, connection, http 500, ...).
    """

    service: str
    request: dict[str, Any]
    outcome: str
    elapsed_ms: float


@dataclass(frozen=True)
class Turn:
    """The result of one user utterance.

    `intent` is what the router acted on: `open_skill`, `<skill>.<intent>`,
    `help`, `stop`, `repeat`, `yes`, `no`, `next`, `go_back`, `start_over`,
    `resume`, `reprompt` (an answer that did not fit the question), `fallback`
    (nothing matched) or `rephrase` (understood too poorly to act on); the
    household adds `handoff` (the conversation moved to the device `handoff`).
    `slots` are the slots of the skill after the turn; `state` the session after it.
    """

    text: str
    language: str
    intent: str
    skill: str | None
    response: SkillResponse
    slots: dict[str, str] = field(default_factory=dict)
    nlu: NluResult | None = None
    confidence: float = 0.0
    service: ServiceCall | None = None
    state: dict[str, Any] = field(default_factory=dict)
    handoff: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
