"""The flow inside one skill: ask for missing slots, confirm, act, walk steps.

An intent runs in four stages, each declared in the skill's YAML:

1. every slot it needs is asked for with the slot's prompt (an unusable
   answer gets the reprompt; after `max_attempts` the skill lets it go);
2. with `confirm`, the assistant reads the request back and waits for yes or
   no; naming a new value ("no, Sunday") changes it and asks again;
3. it acts: the brand service answers (its fallback when it fails), or the
   intent's response is spoken;
4. with `steps`, "next step" walks them one at a time.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from ..nlu.result import NluResult
from ..skills.model import Card, Intent, Response, Skill
from .phrases import phrase, says_no, says_yes
from .ports import ServiceGateway
from .session import Session
from .slots import extract_slots, value_in_text
from .turn import ServiceCall, SkillResponse


@dataclass(frozen=True)
class Outcome:
    """What the router reports for a turn: the intent acted on and the answer."""

    intent: str
    response: SkillResponse
    service: ServiceCall | None = None


class Conversation:
    """Runs intents of a skill against the session's `SkillState`."""

    def __init__(self, services: ServiceGateway | None = None) -> None:
        self.services = services

    async def start(
        self, skill: Skill, intent: str, slots: dict[str, str], session: Session, language: str
    ) -> Outcome:
        """Begin (or re-run with new slot values) an intent of the open skill."""
        state = session.state
        if state.intent != intent or slots:
            state.step = None
        state.intent = intent
        state.slots.update(slots)
        state.clear_waiting()
        state.done = False
        return await self.progress(skill, session, language)

    async def progress(self, skill: Skill, session: Session, language: str) -> Outcome:
        """Ask for the next missing slot, or for confirmation, or act."""
        state = session.state
        assert state.intent is not None
        intent = skill.intents[state.intent]
        name = skill.qualified(intent.name)
        missing = [s for s in needed_slots(intent, language) if s not in state.slots]
        if missing:
            state.clear_waiting()
            state.waiting, state.slot = "slot", missing[0]
            return self._say(session, name, self.slot_prompt(skill, missing[0], language))
        if intent.confirm:
            state.clear_waiting()
            state.waiting = "confirm"
            return self._say(session, name, self.confirm_prompt(skill, session, language))
        return await self.act(skill, session, language)

    async def act(self, skill: Skill, session: Session, language: str) -> Outcome:
        """Carry the intent out: its service, else its response."""
        state = session.state
        assert state.intent is not None
        intent = skill.intents[state.intent]
        state.clear_waiting()
        words = slot_words(skill, state.slots, language)
        call = None
        response = render(intent.response, language, words) if intent.response else None
        if intent.service is not None:
            service = skill.services[intent.service]
            result = None
            if self.services is not None:
                result = await self.services.call(
                    skill, service, intent.name, state.slots, session, language
                )
                call = result.call
            if result is not None and result.response is not None:
                state.slots.update({k: v for k, v in result.slots.items() if k in skill.slots})
                response = result.response
            else:
                response = render(Response(service.fallback), language, words)
        assert response is not None
        state.done, state.said = True, response
        return Outcome(skill.qualified(intent.name), response, call)

    async def answer(
        self, skill: Skill, session: Session, nlu: NluResult, threshold: float
    ) -> Outcome | None:
        """The answer to what the assistant is waiting for; None if it is no answer.

        A yes or no from the model counts from `threshold` on; yes and no words
        at the start of the answer always count."""
        state = session.state
        if state.intent is None or state.intent not in skill.intents:
            return None
        intent = skill.intents[state.intent]
        language = nlu.language
        given = extract_slots(skill, nlu, needed_slots(intent, language))
        asked = skill.slots.get(state.slot or "") if state.waiting == "slot" else None
        if asked is not None and asked.type == "text":
            # the whole answer names the free words asked for, and nothing else
            value = value_in_text(asked, nlu.text, language, whole=True)
            given = {} if value is None else {asked.name: value}
        elif state.waiting == "slot" and state.slot is not None and state.slot not in given:
            value = value_in_text(skill.slots[state.slot], nlu.text, language, whole=True)
            if value is not None:
                given[state.slot] = value
        changed = {k: v for k, v in given.items() if state.slots.get(k) != v}
        if state.waiting == "slot" and (state.slot in given or changed):
            state.slots.update(given)  # also a value for a later question, kept for it
            return await self.progress(skill, session, language)
        if state.waiting == "confirm":
            changed = {  # free words tagged in "yes please" are no new value
                k: v
                for k, v in changed.items()
                if skill.slots[k].type != "text"
                or not (says_yes(v, language) or says_no(v, language))
            }
            if changed:  # a change of mind: "no, Sunday"
                state.slots.update(changed)
                return await self.progress(skill, session, language)
            sure = nlu.intent.confidence >= threshold
            if says_no(nlu.text, language) or (nlu.intent.name == "no" and sure):
                state.clear_waiting()
                return self._say(session, "no", SkillResponse(phrase(language, "cancelled")))
            if says_yes(nlu.text, language) or (nlu.intent.name == "yes" and sure):
                return await self.act(skill, session, language)
        return None

    def reprompt(self, skill: Skill, session: Session, language: str) -> Outcome:
        """Ask again after an answer that did not fit; give up after `max_attempts`."""
        state = session.state
        state.attempts += 1
        if state.attempts >= skill.max_attempts:
            state.clear_waiting()
            state.intent = None
            help_text = render(skill.help, language, {}).speech
            return self._say(
                session, "reprompt", SkillResponse(phrase(language, "gave_up", help=help_text))
            )
        if state.waiting == "slot" and state.slot is not None:
            slot = skill.slots[state.slot]
            prompt = self.slot_prompt(skill, slot.name, language).speech
            speech = slot.reprompt.get(language) or phrase(language, "reprompt", prompt=prompt)
        else:
            prompt = self.confirm_prompt(skill, session, language).speech
            speech = phrase(language, "confirm_again", prompt=prompt)
        return Outcome("reprompt", SkillResponse(speech))

    @staticmethod
    def steps_of(skill: Skill | None, session: Session, language: str) -> list[str]:
        """The steps of the intent in progress, once it has been carried out."""
        state = session.state
        intent = skill.intents.get(state.intent or "") if skill else None
        if intent is None or intent.steps is None or not state.done:
            return []
        return intent.steps.for_slots(state.slots, language)

    def has_steps(self, skill: Skill | None, session: Session, language: str) -> bool:
        """Whether "next step" means something now (steps to walk, or a pending question)."""
        if skill is None:
            return False
        return bool(session.state.waiting or self.steps_of(skill, session, language))

    def next_step(self, skill: Skill | None, session: Session, language: str) -> Outcome:
        """Speak the next step of the intent in progress."""
        state = session.state
        if skill is not None and state.waiting:  # "next step" before the question is answered
            return Outcome("reprompt", self.waiting_prompt(skill, session, language))
        steps = self.steps_of(skill, session, language)
        if skill is None or not steps:
            help_text = render(skill.help, language, {}).speech if skill else ""
            return Outcome("next", SkillResponse(phrase(language, "no_steps", help=help_text)))
        number = 0 if state.step is None else state.step + 1
        if number >= len(steps):
            return Outcome("next", SkillResponse(phrase(language, "last_step_done")))
        state.step = number
        text = steps[number].format_map(_Blank(slot_words(skill, state.slots, language)))
        speech = phrase(language, "step", number=str(number + 1), total=str(len(steps)), text=text)
        return self._say(session, "next", SkillResponse(speech))

    def waiting_prompt(self, skill: Skill, session: Session, language: str) -> SkillResponse:
        """What the skill is waiting for, asked again (after help, or on resume)."""
        state = session.state
        if state.waiting == "slot" and state.slot is not None:
            return self.slot_prompt(skill, state.slot, language)
        if state.waiting == "confirm":
            return self.confirm_prompt(skill, session, language)
        return SkillResponse("")

    # -- prompts -------------------------------------------------------------------------

    @staticmethod
    def slot_prompt(skill: Skill, slot_name: str, language: str) -> SkillResponse:
        slot = skill.slots[slot_name]
        return SkillResponse(
            slot.prompt.get(language) or phrase(language, "ask_slot", slot=slot.name)
        )

    @staticmethod
    def confirm_prompt(skill: Skill, session: Session, language: str) -> SkillResponse:
        intent = skill.intents[session.state.intent or ""]
        words = slot_words(skill, session.state.slots, language)
        return SkillResponse(intent.confirm.get(language, "").format(**words))

    @staticmethod
    def _say(session: Session, intent: str, response: SkillResponse) -> Outcome:
        session.state.said = response
        return Outcome(intent, response)


def needed_slots(intent: Intent, language: str) -> tuple[str, ...]:
    """The slots an intent needs, in asking order: its `slots`, then those its templates use."""
    texts = [intent.confirm.get(language, "")]
    if intent.response is not None:
        texts += [
            intent.response.speech.get(language, ""),
            intent.response.card_title.get(language, ""),
            intent.response.card_text.get(language, ""),
        ]
    used = [f for t in texts for _, f, _, _ in string.Formatter().parse(t) if f]
    return tuple(dict.fromkeys([*intent.slots, *used]))


def slot_words(skill: Skill, slots: dict[str, str], language: str) -> dict[str, str]:
    """Slot values as words to say in `language` (a value's first synonym)."""
    return {
        name: skill.slots[name].display(value, language) if name in skill.slots else value
        for name, value in slots.items()
    }


def render(response: Response, language: str, words: dict[str, str]) -> SkillResponse:
    """Fill a response's templates with slot words in one language."""
    speech = response.speech.get(language, "").format_map(_Blank(words))
    card = None
    if response.card_title.get(language):
        card = Card(
            response.card_title[language].format_map(_Blank(words)),
            response.card_text.get(language, "").format_map(_Blank(words)),
            response.card_image,
        )
    return SkillResponse(speech, card)


class _Blank(dict[str, str]):
    """Template words; a slot with no value (a fallback that names one) reads as blank."""

    def __missing__(self, key: str) -> str:
        return ""
