"""Routing: an understood utterance and the session decide which skill answers and how."""

from __future__ import annotations

import difflib
import string
import unicodedata
from dataclasses import dataclass

from ..errors import InputError
from ..languages import detect_language
from ..nlu.compile import OPEN_SKILL, SKILL_ENTITY, slot_word_forms
from ..nlu.engine import NluEngine
from ..nlu.result import NluResult
from ..skills.catalog import Catalog
from ..skills.model import Card, Response, Skill
from ..skills.normalize import normalize
from .phrases import join_choices, phrase
from .turn import Session, SkillResponse, Turn

MAX_UTTERANCE = 500


@dataclass(frozen=True)
class RouterSettings:
    """`threshold`: below this top-intent confidence the assistant asks to rephrase.
    `follow_up`: while a skill is open, its best intent wins when at least this confident."""

    threshold: float = 0.4
    follow_up: float = 0.2


def check_utterance(text: str) -> str:
    """The utterance, trimmed; InputError with a one-line reason if it cannot be used."""
    text = text.strip()
    if not text:
        raise InputError("empty input: say or type a request")
    if len(text) > MAX_UTTERANCE:
        raise InputError(f"input too long ({len(text)} characters; the limit is {MAX_UTTERANCE})")
    if any(unicodedata.category(c) == "Cc" for c in text):
        raise InputError("input contains control characters; type plain text")
    return text


class Assistant:
    """Understands an utterance and answers it, keeping context in a `Session`."""

    def __init__(
        self, catalog: Catalog, nlu: NluEngine, settings: RouterSettings | None = None
    ) -> None:
        self.catalog = catalog
        self.nlu = nlu
        self.settings = settings or RouterSettings()

    @property
    def languages(self) -> list[str]:
        """The languages the installed skills speak, English first."""
        found = {language for skill in self.catalog.skills for language in skill.invocations}
        return sorted(found, key=lambda language: (language != "en", language))

    def handle(self, text: str, session: Session) -> Turn:
        text = check_utterance(text)
        language = session.language or detect_language(text)
        result = self.nlu.parse(text, language)
        turn = self.route(result, session)
        if turn.intent != "repeat":
            session.last = turn.response
        return turn

    # -- routing ---------------------------------------------------------------------

    def route(self, nlu: NluResult, session: Session) -> Turn:
        language = nlu.language
        top = nlu.intent
        current = self.catalog.get(session.skill) if session.skill else None
        if top.confidence < self.settings.threshold:
            return self._turn(nlu, "rephrase", current, SkillResponse(phrase(language, "rephrase")))
        named = self.named_skill(nlu)
        name = top.name
        if name == OPEN_SKILL:
            if named is None:
                return self._turn(
                    nlu,
                    "fallback",
                    current,
                    SkillResponse(
                        phrase(
                            language,
                            "which_skill",
                            suggestions=self.suggestions(language, heard=nlu.text),
                        )
                    ),
                )
            session.skill = named.id
            return self._turn(nlu, OPEN_SKILL, named, render(named.launch, language, {}))
        if "." in name:
            return self.skill_intent(nlu, session, current, named)
        if name == "stop":
            session.skill = None
            if current is None:
                return self._turn(nlu, "stop", None, SkillResponse(phrase(language, "goodbye")))
            reply = (
                render(current.stop, language, {})
                if current.stop
                else SkillResponse(phrase(language, "goodbye"))
            )
            return self._turn(nlu, "stop", current, reply)
        if name == "help":
            if current is not None:
                return self._turn(nlu, "help", current, render(current.help, language, {}))
            return self._turn(
                nlu,
                "help",
                None,
                SkillResponse(
                    phrase(language, "help", suggestions=self.suggestions(language, limit=None))
                ),
            )
        if name == "repeat":
            last = session.last or SkillResponse(phrase(language, "nothing_to_repeat"))
            return self._turn(nlu, "repeat", current, last)
        if name in ("yes", "no"):
            return self._turn(
                nlu, name, current, SkillResponse(phrase(language, "nothing_to_confirm"))
            )
        return self.fallback(nlu, current)

    def skill_intent(
        self, nlu: NluResult, session: Session, current: Skill | None, named: Skill | None
    ) -> Turn:
        skill_id, _, intent_name = nlu.intent.name.partition(".")
        target = named or current
        if target is not None and target.id != skill_id:
            best = self.best_intent_of(target, nlu)
            if best is not None:
                intent_name, skill_id = best, target.id
            elif named is not None:  # the user named a skill that cannot do this: open it
                session.skill = named.id
                return self._turn(nlu, OPEN_SKILL, named, render(named.launch, nlu.language, {}))
        skill = self.catalog.get(skill_id)
        if skill is None or intent_name not in skill.intents:
            return self.fallback(nlu, current)
        session.skill = skill.id
        slots = self.slots_for(skill, nlu)
        words = {
            n: skill.slots[n].display(v, nlu.language) if n in skill.slots else v
            for n, v in slots.items()
        }
        intent = skill.intents[intent_name]
        missing = [n for n in template_slots(intent.response, nlu.language) if n not in words]
        if missing:
            slot = skill.slots[missing[0]]
            speech = slot.prompt.get(nlu.language) or phrase(
                nlu.language, "ask_slot", slot=slot.name
            )
            reply = SkillResponse(speech)
        else:
            reply = render(intent.response, nlu.language, words)
        return self._turn(nlu, skill.qualified(intent_name), skill, reply, slots)

    def fallback(self, nlu: NluResult, current: Skill | None) -> Turn:
        language = nlu.language
        if current is not None:
            help_text = render(current.help, language, {}).speech
            speech = phrase(
                language,
                "fallback_in_skill",
                skill=current.name.get(language, current.id),
                help=help_text,
            )
        else:
            speech = phrase(
                language, "fallback", suggestions=self.suggestions(language, heard=nlu.text)
            )
        return self._turn(nlu, "fallback", current, SkillResponse(speech))

    # -- helpers ---------------------------------------------------------------------

    def best_intent_of(self, skill: Skill, nlu: NluResult) -> str | None:
        prefix = f"{skill.id}."
        for score in nlu.ranking:
            if score.name.startswith(prefix) and score.confidence >= self.settings.follow_up:
                return score.name[len(prefix) :]
        return None

    def named_skill(self, nlu: NluResult) -> Skill | None:
        """The skill the user named: from the `skill` entity, else an invocation in the text."""
        names = self._invocation_index(nlu.language)
        for entity in nlu.entities:
            if entity.entity != SKILL_ENTITY:
                continue
            skill = self.catalog.get(entity.value)
            if skill is not None:
                return skill
            key = normalize(entity.text)
            close = difflib.get_close_matches(key, list(names), n=1, cutoff=0.75)
            if key in names or close:
                return names[key if key in names else close[0]]
        text = normalize(nlu.text)
        for key in sorted(names, key=len, reverse=True):
            if key and key in text:
                return names[key]
        return None

    def slots_for(self, skill: Skill, nlu: NluResult) -> dict[str, str]:
        """Slot values (value ids) from the entities, else from slot words in the text.

        A word that is no known value (the model found part of "one hour") yields
        to a value word found in the whole text, and is kept as said otherwise.
        """
        language = nlu.language
        found: dict[str, str] = {}
        unresolved: dict[str, str] = {}  # entity text that is no known value: kept as said
        prefix = f"{skill.id}."
        for entity in nlu.entities:
            if not entity.entity.startswith(prefix):
                continue
            name = entity.entity[len(prefix) :]
            slot = skill.slots.get(name)
            if slot is None:
                continue
            ids = {v.id for v in slot.values}
            words = {
                form: v.id
                for v in slot.values
                for form in slot_word_forms(v.synonyms.get(language, []), language)
            }
            key = normalize(entity.text)
            close = difflib.get_close_matches(key, list(words), n=1, cutoff=0.8)
            if entity.value in ids:
                found[name] = entity.value
            elif key in words or close:
                found[name] = words[key if key in words else close[0]]
            else:
                unresolved[name] = entity.text
        text = normalize(nlu.text)
        for name, slot in skill.slots.items():
            if name in found:
                continue
            hits = {
                v.id
                for v in slot.values
                for form in slot_word_forms(v.synonyms.get(language, []), language)
                if form and form in text
            }
            if len(hits) == 1:
                found[name] = hits.pop()
        return unresolved | found

    def suggestions(self, language: str, limit: int | None = 3, heard: str = "") -> str:
        """'open x', 'open y' or 'open z': the skills whose names are closest to what was
        heard (did-you-mean), in catalog order when nothing is close."""
        skills = [s for s in self.catalog.skills if language in s.invocations]
        if heard:
            text = normalize(heard)
            skills.sort(
                key=lambda s: -max(_closeness(text, normalize(n)) for n in s.invocations[language])
            )
        items = [
            phrase(language, "open_suggestion", name=s.invocations[language][0])
            for s in skills[:limit]
        ]
        return join_choices(language, items)

    def _invocation_index(self, language: str) -> dict[str, Skill]:
        return {
            normalize(name): skill
            for skill in self.catalog.skills
            for name in skill.invocations.get(language, [])
        }

    @staticmethod
    def _turn(
        nlu: NluResult,
        intent: str,
        skill: Skill | None,
        response: SkillResponse,
        slots: dict[str, str] | None = None,
    ) -> Turn:
        return Turn(
            nlu.text,
            nlu.language,
            intent,
            skill.id if skill else None,
            response,
            slots or {},
            nlu,
            nlu.intent.confidence,
        )


def _closeness(text: str, name: str) -> float:
    """How much of a skill name was heard (0..1): the share of its words found in the
    text (spelling slips allowed); for Chinese, its longest run of 2+ characters."""
    if detect_language(name) == "zh":
        run = difflib.SequenceMatcher(None, text, name).find_longest_match(
            0, len(text), 0, len(name)
        )
        return run.size / len(name) if run.size >= 2 else 0.0
    heard, words = text.split(), name.split()
    found = [w for w in words if difflib.get_close_matches(w, heard, n=1, cutoff=0.8)]
    return len(found) / len(words) if words else 0.0


def template_slots(response: Response, language: str) -> list[str]:
    """The slot names a response's templates use in a language."""
    texts = [
        response.speech.get(language, ""),
        response.card_title.get(language, ""),
        response.card_text.get(language, ""),
    ]
    return [f for t in texts for _, f, _, _ in string.Formatter().parse(t) if f]


def render(response: Response, language: str, words: dict[str, str]) -> SkillResponse:
    """Fill a response's templates with slot words in one language."""
    speech = response.speech.get(language, "").format(**words)
    card = None
    if response.card_title.get(language):
        card = Card(
            response.card_title[language].format(**words),
            response.card_text.get(language, "").format(**words),
            response.card_image,
        )
    return SkillResponse(speech, card)
