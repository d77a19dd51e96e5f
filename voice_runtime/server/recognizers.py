"""The process's speech recognisers, lent to one stream connection at a time.

A recogniser is created and calibrated once per language and reused by later
connections; each connection gives it back, reset, however its socket closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
import weakref
from collections.abc import Callable

from aiohttp import web

from ..audio.wav import Audio
from ..errors import InputError
from ..nlu.engine import NluEngine
from ..project import Project
from ..skills.model import Skill
from ..speech.calibrate import CALIBRATION
from ..speech.recognizer import Recognizer
from ..speech.wake import WAKE_PHRASES
from ..tts.speaker import Speaker, default_speaker
from . import app as server  # its keys, read at run time (app.py imports stream.py)

# -- the recogniser pool -----------------------------------------------------------------

RecognizerFactory = Callable[[str], Recognizer]
"""Makes a ready (calibrated) recogniser for a language; blocking, run in a thread."""


class RecognizerPool:
    """Recognisers per language, made by `factory` once and lent to one connection at a time.

    A fresh recogniser costs a second or two (the decoder, then calibration with
    synthesized speech), so a returned one is kept for the next connection.
    `lent` counts those in use: it is back to 0 when every socket has closed.
    """

    def __init__(self, factory: RecognizerFactory, max_idle: int = 8) -> None:
        self._factory = factory
        self._max_idle = max_idle
        self._idle: dict[str, list[Recognizer]] = {}
        self._lock = threading.Lock()
        self.lent = 0
        self.created = 0

    @classmethod
    def for_project(
        cls, project: Project, skills: list[Skill], speaker: Speaker | None = None
    ) -> RecognizerPool:
        """Recognisers biased to the skills and each language's wake phrase."""
        from ..speech.backends import recognizer_for

        voice = speaker or default_speaker()

        @functools.cache
        def calibration(language: str) -> Audio | None:
            text = CALIBRATION.get(language)
            return voice.synthesize(text, language) if text else None

        making = threading.Lock()

        def make(language: str) -> Recognizer:
            # One at a time: devices connecting at once would otherwise synthesise the
            # calibration speech (pyttsx3 is not thread-safe) and read the skill bias
            # from several threads, and a start could fail with a device's first words.
            with making:
                recognizer = recognizer_for(
                    project, language, skills, wake_phrase=WAKE_PHRASES.get(language)
                )
                audio = calibration(language)
                if audio is not None:
                    recognizer.calibrate(audio)
                return recognizer

        return cls(make)

    def idle(self, language: str) -> int:
        with self._lock:
            return len(self._idle.get(language, []))

    def take(self, language: str) -> Recognizer:
        """A recogniser for `language` (blocking: may create one). ModelError without a model."""
        with self._lock:
            idle = self._idle.get(language)
            if idle:
                self.lent += 1
                return idle.pop()
        recognizer = self._factory(language)
        with self._lock:
            self.created += 1
            self.lent += 1
        return recognizer

    def give_back(self, recognizer: Recognizer) -> None:
        """Reset `recognizer` (an unfinished utterance is dropped) and keep it for reuse."""
        with contextlib.suppress(InputError):  # raised when no utterance was open
            recognizer.finish()
        recognizer.expect(None)  # the next connection's device asked nothing yet
        with self._lock:
            self.lent -= 1
            idle = self._idle.setdefault(recognizer.language, [])
            if len(idle) < self._max_idle:
                idle.append(recognizer)

    async def acquire(self, language: str) -> Recognizer:
        taking = asyncio.ensure_future(asyncio.to_thread(self.take, language))
        try:
            return await asyncio.shield(taking)
        except asyncio.CancelledError:  # the socket went away while a recogniser was made
            loop = asyncio.get_running_loop()

            def returned(done: asyncio.Future[Recognizer]) -> None:
                if not done.cancelled() and done.exception() is None:
                    loop.run_in_executor(None, self.give_back, done.result())

            taking.add_done_callback(returned)
            raise

    async def release(self, recognizer: Recognizer) -> None:
        # shielded: a socket cancelled while closing still returns its recogniser
        await asyncio.shield(asyncio.to_thread(self.give_back, recognizer))

    def prepare(self, language: str) -> None:
        """Make one recogniser ahead of the first connection (at server start)."""
        self.give_back(self.take(language))


# -- the pool of the app ----------------------------------------------------------------

RECOGNIZERS = web.AppKey("recognizers", RecognizerPool)
"""The process's recogniser pool; `create_app` may set it, else it is made on first use."""
_pools: dict[int, RecognizerPool] = {}


def recognizer_pool(app: web.Application) -> RecognizerPool:
    """The app's pool: `app[RECOGNIZERS]`, or one made once for the app on first use."""
    pool = app.get(RECOGNIZERS)
    if pool is not None:
        return pool
    key = id(app)
    if key not in _pools:
        assistant = app[server.ASSISTANT]
        nlu = assistant.nlu
        project = nlu.project if isinstance(nlu, NluEngine) else Project.locate(None)
        _pools[key] = RecognizerPool.for_project(
            project, assistant.catalog.skills, app[server.SPEAKER]
        )
        weakref.finalize(app, _pools.pop, key, None)
    return _pools[key]
