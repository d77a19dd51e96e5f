"""Routing: an understood utterance and the session decide which skill answers and how."""

from __future__ import annotations

import asyncio
import difflib
import unicodedata
from collections.abc import Coroutine
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from ..errors import InputError
from ..languages import detect_language
from ..nlu.calibrate import DEFAULT_THRESHOLD
from ..nlu.compile import OPEN_SKILL, SKILL_ENTITY
from ..nlu.result import IntentScore, NluResult
from ..skills.catalog import Catalog
from ..skills.model import Skill
from ..skills.normalize import normalize
from .conversation import Conversation, Outcome, needed_slots, render
from .phrases import join_choices, phrase
from .ports import ServiceGateway, Understander
from .session import Session
from .slots import extract_slots
from .turn import SkillResponse, Turn

T = TypeVar("T")
MAX_UTTERANCE = 500
CONTROLS = ("stop", "help", "repeat", "go_back", "start_over", "next")
# Built-ins that yield to a skill intent when the utterance carries that skill's value.
YIELDING_BUILT_INS = ("yes", "no", "help", "repeat", "next", "go_back", "start_over")
UNDOABLE = ("repeat", "go_back", "help", "rephrase", "fallback", "reprompt")
# A follow-up ("how about cookies?") yields to another intent of the skill this sure.
FOLLOW_UP_OVERRIDE = 0.8
# While a question is pending, a command (stop, help, ...) this sure wins over an answer.
CONTROL_OVER_ANSWER = 0.8
# ... and a request for another skill's intent with a value of its own this sure leaves it.
LEAVE_QUESTION = 0.9


@dataclass(frozen=True)
class RouterSettings:
    """`threshold`: below this top-intent confidence the assistant asks to rephrase;
    None takes each language's calibrated threshold (`nlu/calibrate.py`), else 0.4.
    `follow_up`: while a skill is open, its best intent wins when at least this confident."""

    threshold: float | None = None
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
    """Understands an utterance and answers it, keeping context in a `Session`.

    Routing order for one utterance: built-in controls (stop, help, repeat, go
    back, start over, next step) work anywhere; then the answer to what the open
    skill is waiting for (a slot value, yes or no, a changed value); then opening,
    switching to or resuming a skill; then a follow-up that reuses the intent in
    progress with a new slot value; then any skill intent; else a fallback.
    """

    def __init__(
        self,
        catalog: Catalog,
        nlu: Understander,
        settings: RouterSettings | None = None,
        services: ServiceGateway | None = None,
    ) -> None:
        self.catalog = catalog
        self.nlu = nlu
        self.settings = settings or RouterSettings()
        self.conversation = Conversation(services)
        self._invocations: dict[str, dict[str, Skill]] = {}
        self._runner: asyncio.Runner | None = None

    @property
    def languages(self) -> list[str]:
        """The languages the installed skills speak, English first."""
        found = {language for skill in self.catalog.skills for language in skill.invocations}
        return sorted(found, key=lambda language: (language != "en", language))

    async def handle(self, text: str, session: Session) -> Turn:
        """Understand `text` and answer it, updating `session`; InputError for unusable text."""
        text = check_utterance(text)
        language = session.language or detect_language(text)
        return await self.route(await self.nlu.understand(text, language), session)

    def handle_sync(self, text: str, session: Session) -> Turn:
        """`handle` for code without an event loop (one loop per assistant, reused)."""
        return self.run(self.handle(text, session))

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine of this assistant from synchronous code, on its own loop."""
        if self._runner is None:
            self._runner = asyncio.Runner()
        return self._runner.run(coroutine)

    def close(self) -> None:
        """Close the brand service connections and the loop `run` uses (synchronous callers)."""
        if self._runner is not None:
            services = self.conversation.services
            if services is not None:
                self._runner.run(services.close())
            self._runner.close()
            self._runner = None

    async def route(self, result: NluResult, session: Session) -> Turn:
        """Act on an understood utterance: answer it and update the session."""
        outcome = await self.decide(result, session)
        if outcome.intent not in UNDOABLE:
            session.checkpoint(outcome.response)
        if outcome.intent != "repeat":
            session.last = outcome.response
        return Turn(
            result.text,
            result.language,
            outcome.intent,
            session.skill,
            outcome.response,
            dict(session.state.slots),
            result,
            result.intent.confidence,
            outcome.service,
            session.to_dict(),
        )

    # -- routing ---------------------------------------------------------------------

    async def decide(self, nlu: NluResult, session: Session) -> Outcome:
        language = nlu.language
        current = self.catalog.get(session.skill) if session.skill else None
        if current is None:
            session.open(None)
        threshold = self.threshold(language)
        confident = nlu.intent.confidence >= threshold
        name = nlu.intent.name if confident else None
        named = self.named_skill(nlu)
        if name == "next" and not self.conversation.has_steps(current, session, language):
            return await self.decide(without_top(nlu), session)  # "which class is next"
        sure_control = name in CONTROLS and nlu.intent.confidence >= CONTROL_OVER_ANSWER
        switching = name == OPEN_SKILL and named is not None
        if current is not None and session.state.waiting and not (sure_control or switching):
            answer = await self.conversation.answer(current, session, nlu, threshold)
            if answer is not None:  # "Nova" answers the question even if it sounds like stop
                return answer
            if name not in CONTROLS and not self.is_new_request(nlu, current, session, named):
                return self.conversation.reprompt(current, session, language)
        if name in YIELDING_BUILT_INS:
            explained = self.explained_by_skill(nlu)
            if explained is not None:  # "好的，给我看看极光": the request, not a bare yes
                return await self.skill_intent(explained, session, current, named)
        if name in CONTROLS:
            return self.control(name, nlu, session, current)
        may_follow_up = name is None or "." in name or name == "out_of_scope"
        if current is not None and session.state.intent and not session.state.waiting:
            follow_up = await self.follow_up(nlu, current, session) if may_follow_up else None
            if follow_up is not None:
                return follow_up
        if name is None:
            return Outcome("rephrase", SkillResponse(phrase(language, "rephrase")))
        if name == OPEN_SKILL:
            if named is None:
                suggestions = self.suggestions(language, heard=nlu.text)
                speech = phrase(language, "which_skill", suggestions=suggestions)
                return Outcome("fallback", SkillResponse(speech))
            return self.open_skill(named, session, language)
        if "." in name:
            return await self.skill_intent(nlu, session, current, named)
        if name in ("yes", "no"):
            return Outcome(name, SkillResponse(phrase(language, "nothing_to_confirm")))
        return self.fallback(nlu, current)

    def control(
        self, name: str, nlu: NluResult, session: Session, current: Skill | None
    ) -> Outcome:
        """stop, help, repeat, go back, start over, next step: the same in every skill."""
        language = nlu.language
        if name == "stop":
            session.open(None)
            if current is None or current.stop is None:
                return Outcome("stop", SkillResponse(phrase(language, "goodbye")))
            return Outcome("stop", render(current.stop, language, {}))
        if name == "help":
            if current is None:
                suggestions = self.suggestions(language, limit=None)
                return Outcome(
                    "help", SkillResponse(phrase(language, "help", suggestions=suggestions))
                )
            reply = render(current.help, language, {})
            if session.state.waiting:
                prompt = self.conversation.waiting_prompt(current, session, language).speech
                speech = phrase(language, "help_then_prompt", help=reply.speech, prompt=prompt)
                reply = SkillResponse(speech, reply.card)
            return Outcome("help", reply)
        if name == "repeat":
            return Outcome(
                "repeat", session.last or SkillResponse(phrase(language, "nothing_to_repeat"))
            )
        if name == "go_back":
            previous = session.go_back()
            return Outcome(
                "go_back", previous or SkillResponse(phrase(language, "nothing_to_go_back"))
            )
        if name == "start_over":
            if current is None:
                return self.control("help", nlu, session, None)
            session.open(current.id)
            launch = render(current.launch, language, {})
            speech = phrase(language, "started_over", launch=launch.speech)
            return Outcome("start_over", SkillResponse(speech, launch.card))
        return self.conversation.next_step(current, session, language)

    def current_prompt(self, session: Session, language: str) -> SkillResponse | None:
        """What the open skill is waiting for, else what it said last (None: no skill)."""
        skill = self.catalog.get(session.skill) if session.skill else None
        if skill is None:
            return None
        if session.state.waiting:
            return self.conversation.waiting_prompt(skill, session, language)
        return session.state.said or render(skill.launch, language, {})

    def open_skill(self, skill: Skill, session: Session, language: str) -> Outcome:
        """Open `skill`: resume it if it was interrupted and may be, else launch it."""
        if skill.id == session.skill and not session.state.waiting:
            return Outcome(OPEN_SKILL, render(skill.launch, language, {}))
        if skill.id != session.skill:
            self.leave_current(session)
            resumed = session.suspended.pop(skill.id, None)
            session.open(skill.id, resumed)
            if resumed is None:
                return Outcome(OPEN_SKILL, render(skill.launch, language, {}))
        state = session.state
        said = (
            self.conversation.waiting_prompt(skill, session, language)
            if state.waiting
            else state.said or render(skill.launch, language, {})
        )
        name = skill.name.get(language, skill.id)
        speech = phrase(language, "resumed", skill=name, said=said.speech)
        return Outcome("resume", SkillResponse(speech, said.card))

    def leave_current(self, session: Session) -> None:
        """Keep the open skill's conversation for later if its YAML allows resuming."""
        current = self.catalog.get(session.skill) if session.skill else None
        if current is not None and current.resumable and session.state.intent:
            session.suspended[current.id] = session.state

    def is_new_request(
        self, nlu: NluResult, current: Skill, session: Session, named: Skill | None
    ) -> bool:
        """While a skill waits for an answer, only a clear request leaves the question:
        another intent of the same skill, one that names another skill (opening a skill
        by name is handled before), or a sure request for another skill's intent that
        carries a value of that skill ("我想学做蛋糕" during a sleep timer's "Shall I?").
        A bare value ("twenty") is an answer, never a new request."""
        top = nlu.intent
        if top.confidence < self.threshold(nlu.language) or "." not in top.name:
            return False
        if top.name.startswith(f"{current.id}."):
            return top.name != current.qualified(session.state.intent or "")
        if named is not None and named.id != current.id:
            return True
        other = top.name.partition(".")[0]
        carries_value = any(e.entity.startswith(f"{other}.") for e in nlu.entities)
        return carries_value and top.confidence >= LEAVE_QUESTION

    async def follow_up(self, nlu: NluResult, current: Skill, session: Session) -> Outcome | None:
        """ "How about cookies?": the intent in progress again, with a new slot value."""
        state = session.state
        assert state.intent is not None
        intent = current.intents.get(state.intent)
        if intent is None:
            return None
        given = extract_slots(current, nlu, needed_slots(intent, nlu.language))
        changed = {k: v for k, v in given.items() if state.slots.get(k) != v}
        top = nlu.intent.name
        other = top.startswith(f"{current.id}.") and top != current.qualified(intent.name)
        if not changed or (other and nlu.intent.confidence >= FOLLOW_UP_OVERRIDE):
            return None
        return await self.conversation.start(current, intent.name, changed, session, nlu.language)

    async def skill_intent(
        self, nlu: NluResult, session: Session, current: Skill | None, named: Skill | None
    ) -> Outcome:
        skill_id, _, intent_name = nlu.intent.name.partition(".")
        target = named or current
        if target is not None and target.id != skill_id:
            best = self.best_intent_of(target, nlu)
            if best is not None:
                intent_name, skill_id = best, target.id
            elif named is not None:  # the user named a skill that cannot do this: open it
                return self.open_skill(named, session, nlu.language)
        skill = self.catalog.get(skill_id)
        if skill is None or intent_name not in skill.intents:
            return self.fallback(nlu, current)
        if skill.id != session.skill:
            self.leave_current(session)
            session.open(skill.id, session.suspended.pop(skill.id, None))
        intent = skill.intents[intent_name]
        # every value word said is kept for later turns; numbers and times only when needed
        names = needed_slots(intent, nlu.language)
        names += tuple(n for n, s in skill.slots.items() if s.type == "list" and n not in names)
        slots = extract_slots(skill, nlu, names)
        return await self.conversation.start(skill, intent_name, slots, session, nlu.language)

    def fallback(self, nlu: NluResult, current: Skill | None) -> Outcome:
        """Inside a skill: what it can do. Outside: the skills whose names are closest."""
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
        return Outcome("fallback", SkillResponse(speech))

    # -- helpers ---------------------------------------------------------------------

    def threshold(self, language: str) -> float:
        """The rephrase threshold: the one set, else the language's calibrated one."""
        if self.settings.threshold is not None:
            return self.settings.threshold
        calibrated = self.nlu.threshold(language)
        return DEFAULT_THRESHOLD if calibrated is None else calibrated

    def explained_by_skill(self, nlu: NluResult) -> NluResult | None:
        """The reading as a skill intent, when the model found a value of that skill and
        ranks one of its intents at least `follow_up`; None when no skill explains it."""
        skills = {e.entity.partition(".")[0] for e in nlu.entities if "." in e.entity}
        for score in nlu.ranking:
            skill, dot, _ = score.name.partition(".")
            if dot and skill in skills and score.confidence >= self.settings.follow_up:
                return replace(nlu, intent=score)
        return None

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
        """Normalised invocation name -> skill, built once per language."""
        index = self._invocations.get(language)
        if index is None:
            index = self._invocations[language] = {
                normalize(name): skill
                for skill in self.catalog.skills
                for name in skill.invocations.get(language, [])
            }
        return index


def without_top(nlu: NluResult) -> NluResult:
    """The same result with its top intent removed (the next-best reading)."""
    ranking = nlu.ranking[1:] or (IntentScore("out_of_scope", 0.0),)
    return replace(nlu, intent=ranking[0], ranking=ranking)


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
