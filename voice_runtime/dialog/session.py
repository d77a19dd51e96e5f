"""Conversation state: one `Session` per user and device, kept by a `SessionStore`.

A session holds the open skill and its `SkillState` (the intent in progress, its
filled slots, what the assistant is waiting for, the current step), the states
of skills that were interrupted and may be resumed, and checkpoints for
"go back". A session left idle longer than the store's timeout starts afresh.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from .turn import SkillResponse

Waiting = Literal["slot", "confirm"]
MAX_CHECKPOINTS = 20


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

    def to_dict(self) -> dict[str, Any]:
        """What `/state` shows."""
        return {
            "session": self.id,
            "user": self.user,
            "device": self.device,
            "language": self.language,
            "open_skill": self.skill,
            **self.state.to_dict(),
            "suspended": sorted(self.suspended),
            "last_response": self.last.speech if self.last else None,
        }


class SessionStore:
    """Sessions by (user, device); one idle longer than `idle_timeout` seconds is renewed."""

    def __init__(
        self,
        idle_timeout: float = 300.0,
        language: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.idle_timeout = idle_timeout
        self.language = language
        self._clock = clock
        self._sessions: dict[tuple[str, str], tuple[Session, float]] = {}

    def get(self, user: str, device: str) -> Session:
        """The session of `user` on `device`, new if there was none or it went idle."""
        now = self._clock()
        found = self._sessions.get((user, device))
        if found is None or now - found[1] > self.idle_timeout:
            session = Session(language=self.language, user=user, device=device)
        else:
            session = found[0]
        self._sessions[(user, device)] = (session, now)
        self._expire(now)
        return session

    def _expire(self, now: float) -> None:
        for key, (_, seen) in list(self._sessions.items()):
            if now - seen > self.idle_timeout:
                del self._sessions[key]

    def __len__(self) -> int:
        return len(self._sessions)
