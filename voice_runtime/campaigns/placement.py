"""Sponsored lines in conversations: where they are offered and how people answer them.

`Placements` attaches to the household in two places:

- `observe` (a turn observer) looks at each answered turn for a placement: after
  a skill's goodbye, "what can you do" outside a skill, the fallback to an open
  question a scene names ("what should I cook"). The engine decides (scene,
  caps, budget, pacing); the chosen creative is added to the answer, always
  starting with the disclosure and ending with the call to action. At most one
  sponsored line per turn; never while a question waits for an answer.
- `intercept` (before the router) takes the answers to an offer on the device
  it was made on: "yes" / "好的" opens the promoted skill (at its intent and
  slots: the deep link), "no" declines. "stop suggesting that" / "别再推荐了"
  opts the person out of that brand, "no more suggestions" / "不要再推荐了" out
  of all; an opt-out is the person's, so it holds on every device at once.

Every step is recorded as an event (decision, exposure, accepted, declined,
opted_out, opened, converted) under the person's per-brand pseudonym.
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from ..dialog.phrases import says_no, says_yes
from ..dialog.router import Assistant
from ..dialog.session import Session
from ..dialog.turn import SkillResponse, Turn
from ..nlu.compile import OPEN_SKILL, SKILL_ENTITY
from ..nlu.result import EntityMatch, IntentScore, NluResult
from ..people import Device
from ..skills.model import Card
from ..skills.normalize import normalize
from ..store.sessions import SessionStore, update_person
from .engine import CampaignEngine, Decision
from .events import Event, EventKind, EventStore
from .model import Campaign, Placement
from .people import PeopleStore
from .scene import SceneContext

OFFER_SECONDS = 120.0  # an offer not answered within this long lapses
DISCLOSURE = {"en": "Sponsored:", "zh": "广告："}
PHRASES = {
    "en": {
        "call_to_action": "Say yes to start.",
        "declined": "Okay, maybe another time.",
        "opted_out_brand": "Okay, I won't suggest {skill} again.",
        "opted_out_all": "Okay, no more suggestions.",
    },
    "zh": {
        "call_to_action": "说“好的”开始。",
        "declined": "好的，下次再说。",
        "opted_out_brand": "好的，以后不再推荐{skill}。",
        "opted_out_all": "好的，以后不再为你推荐任何内容。",
    },
}
_OPT_OUT_BRAND = {
    "en": re.compile(
        r"\b(?:stop|don't|do not|quit) (?:suggesting|recommending|advertising|offering)"
        r"(?: (?:that|this|it|them|me that))?\b"
    ),
    "zh": re.compile(r"^(?:别再推荐了|别再推荐这个了?|不要再推荐这个了?|别推荐这个了?)$"),
}
_OPT_OUT_ALL = {
    "en": re.compile(
        r"\bno more (?:suggestions|recommendations|ads|adverts)\b"
        r"|\b(?:stop|don't|do not) (?:suggest|recommend)\w* (?:anything|things)\b"
    ),
    "zh": re.compile(r"^(?:不要再推荐了|以后别推荐了|不要任何推荐了?|别再给我推荐任何东西了?)$"),
}
CREATIVE_KIND = {"speaker": "speaker", "car": "speaker", "tv": "screen", "phone": "screen"}


def disclosure(language: str) -> str:
    """The words that start every sponsored line: $VOICE_DISCLOSURE_EN / _ZH may reword
    them, never remove them (an empty setting keeps the default)."""
    configured = os.environ.get(f"VOICE_DISCLOSURE_{language.upper()}", "").strip()
    return configured or DISCLOSURE.get(language, DISCLOSURE["en"])


def opt_out_request(text: str, language: str) -> str | None:
    """ "all" for "no more suggestions", "brand" for "stop suggesting that", else None."""
    key = normalize(text).replace(" ", "") if language == "zh" else normalize(text)
    if _OPT_OUT_ALL[language].search(key):
        return "all"
    if _OPT_OUT_BRAND[language].search(key):
        return "brand"
    return None


@dataclass(frozen=True)
class Offer:
    """A sponsored line waiting for its answer on one device."""

    campaign: str
    brand: str
    device: str
    scene: str
    placement: str
    at: float

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def joined(language: str, *parts: str) -> str:
    """Sentences one after another: spaced in English, not in Chinese."""
    return ("" if language == "zh" else " ").join(p.strip() for p in parts if p.strip())


def sponsored_line(decision: Decision, language: str) -> str:
    assert decision.creative is not None
    cta = PHRASES[language]["call_to_action"]
    return joined(language, disclosure(language), decision.creative.speech, cta)


class Placements:
    """The household's sponsored lines: an interceptor and an observer (see the module)."""

    def __init__(
        self,
        assistant: Assistant,
        engine: CampaignEngine,
        people: PeopleStore,
        events: EventStore,
        sessions: SessionStore,
        cap_scope: str = "person",
    ) -> None:
        self.assistant = assistant
        self.engine = engine
        self.people = people
        self.events = events
        self.sessions = sessions
        self.cap_scope = cap_scope  # "device": caps counted per device (the baseline)
        self.campaigns: dict[str, Campaign] = {c.id: c for c in engine.campaigns}
        self._before: dict[str, tuple[str | None, str | None]] = {}

    # -- before the router: answers to an offer --------------------------------------

    async def intercept(
        self, text: str, language: str, device: Device, session: Session
    ) -> Turn | None:
        self._before[device.id] = (session.skill, session.state.intent)
        person = await self.sessions.load_person(device.user)
        offer = _offer_of(person)
        opt_out = opt_out_request(text, language)
        if opt_out is not None:
            return await self._opt_out(opt_out, offer, text, language, device)
        if offer is None or offer.device != device.id:
            return None
        await self._drop_offer(device.user, offer)  # answered or not, good for one turn
        if self.clock() - offer.at > OFFER_SECONDS or session.state.waiting:
            return None
        campaign = self.campaigns.get(offer.campaign)
        if campaign is None:
            return None
        if says_yes(text, language):
            return await self._accept(campaign, offer, text, language, device, session)
        if says_no(text, language):
            await self._record("declined", campaign, device, offer.scene, offer.placement)
            return Turn(
                text,
                language,
                "no",
                session.skill,
                SkillResponse(PHRASES[language]["declined"]),
                state=session.to_dict(),
            )
        return None

    async def _accept(
        self,
        campaign: Campaign,
        offer: Offer,
        text: str,
        language: str,
        device: Device,
        session: Session,
    ) -> Turn:
        """The deep link: the promoted skill, at its intent and slots when the campaign says."""
        await self._record("accepted", campaign, device, offer.scene, offer.placement)
        skill = self.assistant.catalog.get(campaign.skill)
        assert skill is not None
        if campaign.intent is not None and campaign.intent in skill.intents:
            entities = tuple(
                EntityMatch(
                    f"{skill.id}.{name}",
                    value,
                    skill.slots[name].display(value, language),
                    0,
                    0,
                    1.0,
                )
                for name, value in campaign.slots.items()
                if name in skill.slots
            )
            intent = IntentScore(skill.qualified(campaign.intent), 1.0)
        else:
            name = skill.invocations.get(language, [skill.id])[0]
            entities = (EntityMatch(SKILL_ENTITY, skill.id, name, 0, 0, 1.0),)
            intent = IntentScore(OPEN_SKILL, 1.0)
        nlu = NluResult(text, language, intent, (intent,), entities, source="campaign")
        turn = await self.assistant.route(nlu, session)
        opened = {"campaign": campaign.id, "skill": skill.id, "at": self.clock()}
        await update_person(self.sessions, device.user, lambda p: p.update(opened=opened))
        await self._record("opened", campaign, device, offer.scene, offer.placement)
        return turn

    async def _opt_out(
        self,
        scope: str,
        offer: Offer | None,
        text: str,
        language: str,
        device: Device,
    ) -> Turn:
        if offer is not None:
            await self._drop_offer(device.user, offer)
        offered = self.campaigns.get(offer.campaign) if offer is not None else None
        brand = offered.brand if scope == "brand" and offered is not None else None
        await asyncio.to_thread(self.people.opt_out, device.user, brand)
        if brand is None:
            speech = PHRASES[language]["opted_out_all"]
            one_per_brand = {c.brand: c for c in self.campaigns.values()}
            for campaign in one_per_brand.values():
                await self._record("opted_out", campaign, device, None, None, detail="all")
        else:
            assert offered is not None and offer is not None
            skill = self.assistant.catalog.get(offered.skill)
            name = skill.name.get(language, offered.skill) if skill else offered.skill
            speech = PHRASES[language]["opted_out_brand"].format(skill=name)
            await self._record(
                "opted_out", offered, device, offer.scene, offer.placement, detail="brand"
            )
        return Turn(text, language, "opt_out", None, SkillResponse(speech))

    # -- after the router: placing an offer ------------------------------------------

    async def observe(self, turn: Turn, device: Device, session: Session) -> Turn:
        before_skill, before_intent = self._before.pop(device.id, (None, None))
        await self._converted(turn, device)
        placement, finished = _placement_of(turn, before_skill, before_intent)
        if placement is None or session.state.waiting:
            return turn
        decision = await self.decide(device, turn.language, placement, finished, turn.text, session)
        if decision.campaign is None or decision.creative is None:
            return turn
        creative = decision.creative
        await self._offered(decision, device, placement)
        line = sponsored_line(decision, turn.language)
        card = turn.response.card
        if device.has_screen and creative.card_title:
            title = joined(turn.language, disclosure(turn.language), creative.card_title)
            card = Card(title, creative.card_text or "", creative.image)
        speech = joined(turn.language, turn.response.speech, line)
        return replace(turn, response=SkillResponse(speech, card))

    async def poster(self, device: Device, session: Session | None = None) -> Turn | None:
        """An idle-screen poster for `device` (placement `idle_screen`), or None.

        None for a device without a screen, while its conversation (`session`)
        waits for an answer, or when the engine chooses nothing (scenes, caps,
        budget). A chosen poster is recorded (decision, exposure) and kept as the
        person's offer on this device, so "yes" on that screen deep-links.
        """
        if not device.has_screen or (session is not None and session.state.waiting):
            return None
        person = await self.sessions.load_person(device.user)
        said = person.get("language")
        language = device.language or (said if said in PHRASES else None) or "en"
        decision = await self.decide(device, language, "idle_screen", session=session)
        if decision.campaign is None or decision.creative is None:
            return None
        campaign, creative = decision.campaign, decision.creative
        await self._offered(decision, device, "idle_screen")
        skill = self.assistant.catalog.get(campaign.skill)
        name = skill.name.get(language, campaign.skill) if skill else campaign.skill
        title = joined(language, disclosure(language), creative.card_title or name)
        card = Card(title, creative.card_text or "", creative.image)
        response = SkillResponse(sponsored_line(decision, language), card)
        state = session.to_dict() if session is not None else {}
        return Turn("", language, "poster", None, response, state=state)

    async def decide(
        self,
        device: Device,
        language: str,
        placement: Placement,
        finished: str | None = None,
        asked: str | None = None,
        session: Session | None = None,
        explain: bool = False,
    ) -> Decision:
        """The engine's choice for this person and device now (`explain`: reserve nothing)."""
        context = SceneContext(
            now=datetime.fromtimestamp(self.clock(), UTC),
            device=device,
            language=language,
            placement=placement,
            finished=finished,
            asked=asked,
            waiting=bool(session and session.state.waiting),
            current_skill=session.skill if session else None,
        )
        profile = await asyncio.to_thread(self.people.profile, device.user)
        subject = device.id if self.cap_scope == "device" else device.user
        if explain:
            return await self.engine.explain(context, profile, subject)
        return await self.engine.decide(context, profile, subject)

    async def _converted(self, turn: Turn, device: Device) -> None:
        """A brand service answered in a skill opened through a campaign: a conversion."""
        if turn.service is None or turn.service.outcome != "ok":
            return
        person = await self.sessions.load_person(device.user)
        opened = person.get("opened")
        if not isinstance(opened, dict) or opened.get("skill") != turn.skill:
            return
        campaign = self.campaigns.get(str(opened.get("campaign")))
        if campaign is not None:
            await self._record("converted", campaign, device, None, None, detail=turn.intent)

    async def _offered(self, decision: Decision, device: Device, placement: str) -> None:
        """A line is offered: recorded (decision, exposure) and kept as the person's offer
        on this device, for the answer on the next turn."""
        campaign = decision.campaign
        assert campaign is not None
        scene = decision.scene or ""
        await self._record("decision", campaign, device, scene, placement)
        await self._record("exposure", campaign, device, scene, placement)
        offer = Offer(campaign.id, campaign.brand, device.id, scene, placement, self.clock())
        await update_person(self.sessions, device.user, lambda p: p.update(offer=offer.to_json()))

    async def _drop_offer(self, user: str, offer: Offer) -> None:
        """Forget `offer` (unless another device has made a newer one meanwhile)."""

        def drop(person: dict[str, Any]) -> None:
            if _offer_of(person) == offer:
                person.pop("offer", None)

        await update_person(self.sessions, user, drop)

    def clock(self) -> float:
        """Now, as the engine sees it (tests and the simulation move its clock)."""
        return self.engine.now().timestamp()

    async def _record(
        self,
        kind: EventKind,
        campaign: Campaign,
        device: Device,
        scene: str | None,
        placement: str | None,
        detail: str | None = None,
    ) -> None:
        event = Event(
            kind=kind,
            campaign=campaign.id,
            brand=campaign.brand,
            user=device.user,
            device_type=device.type,
            scene=scene,
            placement=placement,
            at=datetime.fromtimestamp(self.clock(), UTC),
            detail=detail,
        )
        await asyncio.to_thread(self.events.record, event)


def _offer_of(person: dict[str, Any]) -> Offer | None:
    data = person.get("offer")
    if not isinstance(data, dict):
        return None
    try:
        return Offer(**data)
    except TypeError:
        return None


def _placement_of(
    turn: Turn, before_skill: str | None, before_intent: str | None
) -> tuple[Placement | None, str | None]:
    """Which placement this turn is, and what the person just finished."""
    if turn.intent == "stop" and before_skill is not None:
        finished = f"{before_skill}.{before_intent}" if before_intent else before_skill
        return "after_goodbye", finished
    if turn.skill is None and turn.intent == "help":
        return "what_can_you_do", None
    if turn.skill is None and turn.intent in ("fallback", "rephrase"):
        return "open_question", None
    return None, None
