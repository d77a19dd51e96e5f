"""The household: one assistant for every device of every person in it.

`Household.turn(device, text)` is the one way a request is answered, whoever
asks: the shell, the speaker loop, the server. Under the device's lock it
loads the device's session from the store, lets the router answer (or moves
the conversation to another device of the person: "continue on the TV", or
lets an interceptor answer, e.g. "yes" to a sponsored offer), runs the turn
observers in order (scene marketing and analytics attach here, the
router does not know them), saves the session and the person's shared state.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, Protocol, TypeVar

from ..dialog.phrases import phrase
from ..dialog.router import Assistant, check_utterance
from ..dialog.session import Session
from ..dialog.turn import SkillResponse, Turn
from ..languages import detect_language
from ..people import Device
from ..store.sessions import SessionStore, StoreUnavailable, update_person
from .handoff import device_type_named, handoff_request, pick_device

T = TypeVar("T")
TurnObserver = Callable[[Turn, Device, Session], Awaitable[Turn]]
"""Called after each turn, in order; returns the turn (changed or not) to pass on."""
TurnInterceptor = Callable[[str, str, Device, Session], Awaitable[Turn | None]]
"""Called before routing with (text, language, device, session), in order; a turn it
returns answers the utterance instead of the router (an answer to a sponsored offer)."""
Notifier = Callable[[Device, Turn], Awaitable[None]]
"""Tells a device something it did not ask for (a conversation handed to it)."""
TYPE_NAMES = {
    "en": {"tv": "a TV", "phone": "a phone", "speaker": "a speaker", "car": "a car"},
    "zh": {"tv": "电视", "phone": "手机", "speaker": "音箱", "car": "车"},
}


class DeviceDirectory(Protocol):
    """The devices of a person (the device registry, or a fixed list)."""

    def devices_of(self, user: str) -> list[Device]: ...


class FixedDevices:
    """A directory of a few known devices (the shell, tests, the demo)."""

    def __init__(self, devices: Sequence[Device] = ()) -> None:
        self.devices = list(devices)

    def devices_of(self, user: str) -> list[Device]:
        return [d for d in self.devices if d.user == user]


async def _nobody(device: Device, turn: Turn) -> None:
    return None


class Household:
    def __init__(
        self,
        assistant: Assistant,
        sessions: SessionStore,
        directory: DeviceDirectory | None = None,
        observers: Sequence[TurnObserver] = (),
        interceptors: Sequence[TurnInterceptor] = (),
        notify: Notifier = _nobody,
        lock_wait: float = 10.0,
    ) -> None:
        self.assistant = assistant
        self.sessions = sessions
        self.directory = directory or FixedDevices()
        self.observers = list(observers)
        self.interceptors = list(interceptors)
        self.notify = notify
        self.lock_wait = lock_wait

    async def session_of(self, device: Device) -> Session:
        """The device's conversation as stored (a new one if none); no lock is taken."""
        found = await self.sessions.load(device.id)
        if found is not None and found.user == device.user:
            return found
        return Session(
            language=device.language, user=device.user, device=device.id, device_type=device.type
        )

    async def turn(self, device: Device, text: str, language: str | None = None) -> Turn:
        """Answer `text` said on `device`; InputError for unusable text."""
        text = check_utterance(text)
        async with self._locked(device.id):
            session = await self.session_of(device)
            session.language = language or device.language
            said_in = session.language or detect_language(text)
            target = handoff_request(text, said_in)
            turn = None
            if target is not None:
                turn = await self._handoff(device, session, target, text, said_in)
            for interceptor in self.interceptors:
                turn = turn or await interceptor(text, said_in, device, session)
            if turn is None:
                turn = await self.assistant.handle(text, session)
            for observer in self.observers:
                turn = await observer(turn, device, session)
            await self.sessions.save(session)
            await self._remember(device, turn)
        return turn

    @asynccontextmanager
    async def _locked(self, key: str) -> AsyncIterator[None]:
        """Hold a conversation's lock; StoreUnavailable if it stays busy `lock_wait` s."""
        async with AsyncExitStack() as stack:
            try:
                async with asyncio.timeout(self.lock_wait):
                    await stack.enter_async_context(self.sessions.lock(key))
            except TimeoutError:
                raise StoreUnavailable(
                    f"conversation {key} is busy (waited {self.lock_wait:g} s)"
                ) from None
            yield

    async def reset(self, device: Device) -> None:
        """Forget the device's conversation."""
        async with self._locked(device.id):
            await self.sessions.forget(device.id)

    async def _remember(self, device: Device, turn: Turn) -> None:
        """The person's shared state: where and what they last talked about."""
        latest = {
            "last_device": device.id,
            "last_skill": turn.skill,
            "last_intent": turn.intent,
            "language": turn.language,
            "at": time.time(),
        }
        await update_person(self.sessions, device.user, lambda person: person.update(latest))

    async def _handoff(
        self, device: Device, session: Session, words: str, text: str, language: str
    ) -> Turn:
        """Move the open conversation (skill, slots, pending question) to another device."""
        devices = await asyncio.to_thread(self.directory.devices_of, device.user)
        others = [d for d in devices if d.id != device.id]
        target = pick_device(words, others)
        prompt = self.assistant.current_prompt(session, language)
        if prompt is None or session.skill is None:
            speech = phrase(language, "handoff_nothing")
        elif target is None:
            named = device_type_named(words)
            if named == device.type and not others:
                speech = phrase(language, "handoff_same")
            else:
                wanted = TYPE_NAMES[language].get(named or "", words)
                speech = phrase(language, "handoff_no_device", device=wanted)
        else:
            moved = await self._move(session, target, language, prompt)
            session.open(None)
            session.suspended.clear()
            await self.notify(target, moved)
            speech = phrase(language, "handoff_done", device=target.name or target.type)
            response = SkillResponse(speech)
            session.last = response
            return Turn(
                text,
                language,
                "handoff",
                None,
                response,
                state=session.to_dict(),
                handoff=target.id,
            )
        return Turn(
            text,
            language,
            "handoff",
            session.skill,
            SkillResponse(speech),
            dict(session.state.slots),
            state=session.to_dict(),
        )

    async def _move(
        self, session: Session, target: Device, language: str, prompt: SkillResponse
    ) -> Turn:
        async with self._locked(target.id):
            other = await self.session_of(target)
            other.open(session.skill, session.state.copy())
            other.suspended.update(session.suspended)
            other.checkpoints = list(session.checkpoints)
            other.language = target.language or session.language
            other.last = prompt
            await self.sessions.save(other)
        return Turn(
            "",
            language,
            "handoff",
            other.skill,
            prompt,
            dict(other.state.slots),
            state=other.to_dict(),
        )

    # -- for code without an event loop (the CLI) ---------------------------------------

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine from synchronous code, on the assistant's loop."""
        return self.assistant.run(coroutine)

    def turn_sync(self, device: Device, text: str, language: str | None = None) -> Turn:
        return self.run(self.turn(device, text, language))

    def close(self) -> None:
        """Close the store and the brand service client (synchronous callers)."""
        self.run(self.sessions.close())
        self.assistant.close()

    async def aclose(self) -> None:
        """Close the store and the brand service client (on the loop that used them)."""
        await self.sessions.close()
        if self.assistant.conversation.services is not None:
            await self.assistant.conversation.services.close()
