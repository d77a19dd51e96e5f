"""What the dialog package needs from the outside, declared here and implemented elsewhere.

The router understands text through an `Understander` (the NLU engine, or a fake
in tests) and reaches brand services through a `ServiceGateway` (the signed
aiohttp client in `services/`). Neither is imported by the dialog package.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from ..nlu.result import NluResult
from ..skills.model import Service, Skill
from .session import Session
from .turn import ServiceCall, SkillResponse


class Understander(Protocol):
    """Turns text in a language into an `NluResult`; blocking work stays off the loop."""

    async def understand(self, text: str, language: str) -> NluResult: ...

    def threshold(self, language: str) -> float | None:
        """The rephrase threshold calibrated for the language, None for the default."""


@dataclass(frozen=True)
class ServiceResult:
    """How a brand service call ended: the call as made, and the reply if there was one.

    `response` None means the skill's fallback is spoken; `slots` are new slot
    values the service returned (already checked against the skill's slots).
    """

    call: ServiceCall
    response: SkillResponse | None = None
    slots: Mapping[str, str] = field(default_factory=dict)


class ServiceGateway(Protocol):
    """Calls the service an intent declares; never raises for what the service does."""

    async def call(
        self,
        skill: Skill,
        service: Service,
        intent: str,
        slots: Mapping[str, str],
        session: Session,
        language: str,
    ) -> ServiceResult: ...

    async def close(self) -> None:
        """Release connections (on the loop the calls ran on)."""
