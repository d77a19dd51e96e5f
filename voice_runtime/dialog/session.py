"""Conversation state: one `Session` per device, kept between turns by a store (`store/`).

A session holds the open skill and its `SkillState` (the intent in progress, its
filled slots, what the assistant is waiting for, the current step), the states
of skills that were interrupted and may be resumed, and checkpoints for
"go back". `to_json` and `from_json` convert it losslessly, for the stores.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ..skills.model import Card
from .turn import SkillResponse

Waiting = Literal["slot", "confirm"]
MAX_CHECKPOINTS = 20
SESSION_FORMAT = 1


def response_to_json(response: SkillResponse | None) -> dict[str, Any] | None:
    if response is None:
        return None
    card = response.card
    return {
        "speech": response.speech,
        "card": None
        if card is None
        else {"title": card.title, "text": card.text, "image": card.image},
    }


def response_from_json(data: dict[str, Any] | None) -> SkillResponse | None:
    if data is None:
        return None
    card = data["card"]
    return SkillResponse(
        str(data["speech"]),
        None if card is None else Card(card["title"], card["text"], card["image"]),
    )


@dataclass
class SkillState:
    """Where a conversation with one skill stands.

    `waiting` is "slot" (for `slot`) or "confirm" while the assistant waits for
    an answer; `attempts` counts unusable answers to it; `step` is the index of
    the step last spoken when the intent has steps, which can be walked once the
    intent is `done` (carried out); `said` is what the skill
    said last (repeated when the skill is resumed).
    """

    intent: str | None = None
    slots: dict[str, str] = field(default_factory=dict)
    waiting: Waiting | None = None
    slot: str | None = None
    attempts: int = 0
    step: int | None = None
    done: bool = False
    said: SkillResponse | None = None

    def copy(self) -> SkillState:
        return replace(self, slots=dict(self.slots))

    def clear_waiting(self) -> None:
        self.waiting, self.slot, self.attempts = None, None, 0

    def to_json(self) -> dict[str, Any]:
        """Everything, losslessly (`from_json` gives it back)."""
        return {
            "intent": self.intent,
            "slots": dict(self.slots),
            "waiting": self.waiting,
            "slot": self.slot,
            "attempts": self.attempts,
            "step": self.step,
            "done": self.done,
            "said": response_to_json(self.said),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SkillState:
        return cls(
            intent=data["intent"],
            slots={str(k): str(v) for k, v in data["slots"].items()},
            waiting=data["waiting"],
            slot=data["slot"],
            attempts=int(data["attempts"]),
            step=data["step"],
            done=bool(data["done"]),
            said=response_from_json(data["said"]),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "intent": self.intent,
            "slots": dict(self.slots),
            "waiting_for": self.slot if self.waiting == "slot" else self.waiting,
            "attempts": self.attempts,
            "step": self.step,
        }


@dataclass(frozen=True)
class Checkpoint:
    """A copy of the conversation after a turn, and what was said then ("go back")."""

    skill: str | None
    state: SkillState
    response: SkillResponse


@dataclass
class Session:
    """Dialog state of one user on one device."""

    language: str | None = None
    skill: str | None = None
    last: SkillResponse | None = None
    state: SkillState = field(default_factory=SkillState)
    suspended: dict[str, SkillState] = field(default_factory=dict)
    checkpoints: list[Checkpoint] = field(default_factory=list)
    user: str = "local-user"
    device: str = "speaker"
    device_type: str = "speaker"
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def reset(self) -> None:
        """Forget the conversation (the user, device and language stay)."""
        self.skill = None
        self.last = None
        self.state = SkillState()
        self.suspended.clear()
        self.checkpoints.clear()
        self.id = uuid.uuid4().hex

    def open(self, skill_id: str | None, state: SkillState | None = None) -> None:
        """Make `skill_id` the open skill with `state` (default: a fresh one)."""
        self.skill = skill_id
        self.state = state if state is not None else SkillState()

    def checkpoint(self, response: SkillResponse) -> None:
        self.checkpoints.append(Checkpoint(self.skill, self.state.copy(), response))
        del self.checkpoints[:-MAX_CHECKPOINTS]

    def go_back(self) -> SkillResponse | None:
        """Return to the conversation as it was one turn earlier; None if there is none."""
        if len(self.checkpoints) < 2:
            return None
        self.checkpoints.pop()
        previous = self.checkpoints[-1]
        self.open(previous.skill, previous.state.copy())
        return previous.response

    def to_json(self) -> dict[str, Any]:
        """The whole session as JSON-ready data, losslessly (see `from_json`)."""
        return {
            "version": SESSION_FORMAT,
            "id": self.id,
            "user": self.user,
            "device": self.device,
            "device_type": self.device_type,
            "language": self.language,
            "skill": self.skill,
            "last": response_to_json(self.last),
            "state": self.state.to_json(),
            "suspended": {k: v.to_json() for k, v in self.suspended.items()},
            "checkpoints": [
                {
                    "skill": c.skill,
                    "state": c.state.to_json(),
                    "response": response_to_json(c.response),
                }
                for c in self.checkpoints
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Session:
        """A session saved by `to_json`; ValueError if the data is not one."""
        if not isinstance(data, dict) or data.get("version") != SESSION_FORMAT:
            raise ValueError("not a saved session of this format")
        try:
            return cls(
                language=data["language"],
                skill=data["skill"],
                last=response_from_json(data["last"]),
                state=SkillState.from_json(data["state"]),
                suspended={k: SkillState.from_json(v) for k, v in data["suspended"].items()},
                checkpoints=[
                    Checkpoint(
                        c["skill"],
                        SkillState.from_json(c["state"]),
                        response_from_json(c["response"]) or SkillResponse(""),
                    )
                    for c in data["checkpoints"]
                ],
                user=data["user"],
                device=data["device"],
                device_type=data["device_type"],
                id=data["id"],
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed saved session: {exc!r}") from exc

    def to_dict(self) -> dict[str, Any]:
        """What `/state` shows."""
        return {
            "session": self.id,
            "user": self.user,
            "device": self.device,
            "device_type": self.device_type,
            "language": self.language,
            "open_skill": self.skill,
            **self.state.to_dict(),
            "suspended": sorted(self.suspended),
            "last_response": self.last.speech if self.last else None,
        }
