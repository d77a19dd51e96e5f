"""Which campaign, if any, to offer now, and why each one was or was not chosen.

`CampaignEngine.decide` checks every campaign against the moment and the
person, in this order: the person (child profile, opt-outs), the platform
(waiting for an answer, quiet rules such as sleep at night, the flight), a
creative for the device kind in the language, the scenes, and the ledger
(budget, pacing, caps). Among the eligible ones it prefers scene relevance,
then the campaign furthest behind its even schedule, then priority, then a
tie-break derived from the seed. The first whose ledger reservation succeeds
is chosen; a refusal (another process took the last slot meanwhile) moves on
to the next. `explain` gives the same verdicts and reserves nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ..skills.normalize import normalize
from .ledger import Ledger, LedgerState, pacing_ratio, refusal
from .model import Campaign, Creative, PersonProfile
from .scene import (
    DEFAULT_QUIET_RULES,
    QuietRule,
    SceneContext,
    creative_kind,
    platform_exclusion,
    scene_match,
)


@dataclass(frozen=True)
class Verdict:
    """Why one campaign was (`chosen`) or was not chosen, e.g. "capped: 1 a day"."""

    campaign_id: str
    chosen: bool
    reason: str


@dataclass(frozen=True)
class Decision:
    """The campaign chosen (None: no sponsored line), its creative and scene, and one
    verdict per campaign, in the engine's campaign order."""

    campaign: Campaign | None
    creative: Creative | None
    scene: str | None
    verdicts: tuple[Verdict, ...]

    def verdict(self, campaign_id: str) -> Verdict:
        return next(v for v in self.verdicts if v.campaign_id == campaign_id)


@dataclass(frozen=True)
class _Candidate:
    campaign: Campaign
    creative: Creative
    scene: str
    relevance: float
    pacing: float
    tie: int

    def key(self) -> tuple[float, float, int, int]:
        """Ascending sort key: relevance high, pacing ratio low, priority high, tie."""
        return (-self.relevance, self.pacing, -self.campaign.priority, self.tie)


def _separated_by(loser: _Candidate, winner: _Candidate) -> str:
    if loser.relevance != winner.relevance:
        return "relevance"
    if loser.pacing != winner.pacing:
        return "pacing"
    if loser.campaign.priority != winner.campaign.priority:
        return "priority"
    return "tie-break"


def _now() -> datetime:
    return datetime.now(UTC)


class CampaignEngine:
    """Chooses at most one campaign per moment; caps and budget held by `ledger`.

    `seed` decides ties deterministically; `quiet_rules` are the platform's
    "never in or right after this skill at these hours" rules; `clock` is
    what `now()` returns (callers building a `SceneContext` use it; tests and
    the simulation pass a fake).
    """

    def __init__(
        self,
        campaigns: Sequence[Campaign],
        ledger: Ledger,
        seed: int = 0,
        quiet_rules: Sequence[QuietRule] = DEFAULT_QUIET_RULES,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        ids = [c.id for c in campaigns]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate campaign ids: {', '.join(duplicates)}")
        self.campaigns = tuple(campaigns)
        self.ledger = ledger
        self.seed = seed
        self.quiet_rules = tuple(quiet_rules)
        self.clock = clock

    def now(self) -> datetime:
        return self.clock()

    def _tie(self, campaign: Campaign, subject: str) -> int:
        digest = hashlib.blake2b(
            f"{self.seed}\0{subject}\0{campaign.id}".encode(), digest_size=8
        ).digest()
        return int.from_bytes(digest, "big")

    async def _rank(
        self, context: SceneContext, profile: PersonProfile, subject: str
    ) -> tuple[dict[str, str], list[_Candidate]]:
        """Reasons of the campaigns out of the running, and the eligible ones, best first."""
        reasons: dict[str, str] = {}
        in_scene: list[tuple[Campaign, Creative, str, float]] = []
        asked = normalize(context.asked) if context.asked else None
        kind = creative_kind(context.device)
        for campaign in self.campaigns:
            why = profile.excluded(campaign.brand) or platform_exclusion(
                campaign, context, self.quiet_rules
            )
            if why:
                reasons[campaign.id] = why
                continue
            creative = campaign.creatives.get(kind, {}).get(context.language)
            if creative is None:
                reasons[campaign.id] = f"no creative in {context.language}"
                continue
            relevance, scene, why = scene_match(campaign, context, asked)
            if scene is None:
                reasons[campaign.id] = why
                continue
            in_scene.append((campaign, creative, scene, relevance))
        states: list[LedgerState] = await self.ledger.states(
            [c for c, _, _, _ in in_scene], subject, context.now
        )
        eligible: list[_Candidate] = []
        for (campaign, creative, scene, relevance), state in zip(in_scene, states, strict=True):
            why = refusal(campaign, state, context.now)
            if why:
                reasons[campaign.id] = why
                continue
            pacing = pacing_ratio(campaign, state.total_spent, context.now)
            tie = self._tie(campaign, subject)
            eligible.append(_Candidate(campaign, creative, scene, relevance, pacing, tie))
        eligible.sort(key=_Candidate.key)
        return reasons, eligible

    def _decision(
        self, reasons: dict[str, str], ranked: list[_Candidate], winner: _Candidate | None
    ) -> Decision:
        for candidate in ranked if winner is not None else ():
            if candidate.campaign.id in reasons:  # refused by the ledger meanwhile
                continue
            if candidate is winner:
                reasons[candidate.campaign.id] = f"chosen (scene {candidate.scene})"
            else:
                assert winner is not None
                by = _separated_by(candidate, winner)
                reasons[candidate.campaign.id] = f"lost to {winner.campaign.id} ({by})"
        verdicts = tuple(
            Verdict(c.id, winner is not None and c is winner.campaign, reasons[c.id])
            for c in self.campaigns
        )
        if winner is None:
            return Decision(None, None, None, verdicts)
        return Decision(winner.campaign, winner.creative, winner.scene, verdicts)

    async def decide(
        self, context: SceneContext, profile: PersonProfile, subject: str | None = None
    ) -> Decision:
        """Choose and reserve at most one campaign. `subject` is whose caps count:
        the person (`profile.user`, the default), or a device id for a per-device baseline."""
        who = subject or profile.user
        reasons, ranked = await self._rank(context, profile, who)
        for candidate in ranked:
            why = await self.ledger.reserve(candidate.campaign, who, context.now)
            if why is None:
                return self._decision(reasons, ranked, candidate)
            reasons[candidate.campaign.id] = why
        return self._decision(reasons, ranked, None)

    async def explain(
        self, context: SceneContext, profile: PersonProfile, subject: str | None = None
    ) -> Decision:
        """What `decide` would choose now, and why; reserves nothing."""
        reasons, ranked = await self._rank(context, profile, subject or profile.user)
        return self._decision(reasons, ranked, ranked[0] if ranked else None)
