"""Text to speech in English and Chinese: pyttsx3 over espeak-ng, fully offline."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from ..audio.wav import Audio, read_wav
from ..errors import AudioError, InputError
from ..languages import LANGUAGE_NAMES, LANGUAGES

INSTALL_HINT = "install espeak-ng (apt-get install espeak-ng)"

# espeak language tags to look for, best first ("cmn" is Mandarin; "yue" is not wanted).
VOICE_TAGS: dict[str, tuple[str, ...]] = {
    "en": ("en-us", "en", "en-gb"),
    "zh": ("cmn", "zh-cmn", "zh"),
}

# A sentence ends at 。！？ (with any closing quote), or at . ! ? followed by a space or
# the end of the line. A "." right after a digit does not end one, so "3.5" and the
# "1." of a numbered list stay inside their sentence. A line break always ends one.
_ASCII_END = r"(?:(?<!\d)\.|[!?])[.!?]*[\"'”’)\]]*(?=\s|$)"
_CJK_END = r"[。！？][。！？.!?]*[”’」』）]*"
_SENTENCE = re.compile(rf"[^\n]*?(?:{_ASCII_END}|{_CJK_END})|[^\n]+", re.MULTILINE)

# pyttsx3 and espeak-ng keep one engine per process and are not thread-safe, so the
# engine and its lock are module globals shared by every Speaker.
_LOCK = threading.Lock()
_engine: Any = None
_engine_errors: list[BaseException] = []


def split_sentences(text: str) -> list[str]:
    """Split text into sentences (on . ! ? 。！？ and line breaks), stripped, none empty."""
    pieces = (match.group().strip() for match in _SENTENCE.finditer(text))
    return [piece for piece in pieces if piece]


def _discard(*_args: object, **_kwargs: object) -> None:
    """Stand-in for ``print`` inside pyttsx3's espeak driver."""


def _record_error(**event: Any) -> None:
    """pyttsx3 reports failed commands (e.g. an unknown voice) only as an event."""
    exception = event.get("exception")
    if isinstance(exception, BaseException):
        _engine_errors.append(exception)


def _engine_locked() -> Any:
    """The process-wide pyttsx3 engine, created on first use (hold ``_LOCK``)."""
    global _engine
    if _engine is None:
        try:
            import pyttsx3

            engine = pyttsx3.init("espeak")
        except (ImportError, OSError, RuntimeError) as exc:
            raise AudioError(f"text to speech unavailable: {INSTALL_HINT} ({exc})") from exc
        engine.connect("error", _record_error)
        # pyttsx3 2.99 prints "Audio saved to ..." on every save_to_file. Shadowing print
        # in the driver module only silences that module; sys.stdout stays untouched, so
        # other threads can still print while speech is being synthesized.
        driver = sys.modules.get("pyttsx3.drivers.espeak")
        if driver is not None:
            vars(driver)["print"] = _discard
        _engine = engine
    return _engine


def _voice_tags(voice: Any) -> list[str]:
    """Lower-case language tags of a pyttsx3 voice, plus the last part of its id."""
    tags = [str(tag).lower() for tag in getattr(voice, "languages", None) or []]
    return [*tags, str(voice.id).lower().rsplit("/", 1)[-1]]


def choose_voice(voices: list[Any], language: str) -> str:
    """Id of the espeak voice that best speaks ``language`` ("en" or "zh")."""
    for wanted in VOICE_TAGS[language]:
        for voice in voices:
            if wanted in _voice_tags(voice):
                return str(voice.id)
    name = LANGUAGE_NAMES.get(language, language)
    raise AudioError(f"no espeak-ng voice for {name}: reinstall espeak-ng and espeak-ng-data")


def _check_language(language: str) -> None:
    """``InputError`` unless ``language`` is one of ``LANGUAGES``."""
    if language not in LANGUAGES:
        raise InputError(f"unsupported language {language!r}: use one of {', '.join(LANGUAGES)}")


def _check_request(text: str, language: str) -> str:
    """The text to speak, stripped; ``InputError`` for empty text or unknown language."""
    _check_language(language)
    text = text.strip()
    if not text:
        raise InputError("nothing to say: the text is empty")
    return text


def _render_locked(engine: Any, voice: str, text: str) -> Audio:
    """Synthesize ``text`` with ``voice`` through a temporary WAV file (hold ``_LOCK``)."""
    _engine_errors.clear()
    with tempfile.TemporaryDirectory(prefix="voice-tts-") as folder:
        path = Path(folder) / "speech.wav"
        try:
            engine.setProperty("voice", voice)
            engine.save_to_file(text, str(path))
            engine.runAndWait()
        except (OSError, RuntimeError) as exc:
            with contextlib.suppress(RuntimeError):
                engine.endLoop()  # leave the engine usable for the next call
            raise AudioError(f"text to speech failed: {exc}") from exc
        if _engine_errors:
            raise AudioError(f"text to speech failed: {_engine_errors[0]}")
        if not path.exists():
            raise AudioError(f"text to speech produced no audio: {INSTALL_HINT}")
        try:
            audio = read_wav(path)
        except InputError as exc:
            raise AudioError(f"text to speech produced bad audio: {exc}") from exc
    if audio.width != 2 or audio.channels != 1:
        raise AudioError("text to speech produced audio that is not 16-bit mono")
    return audio


class Speaker:
    """Speaks English and Chinese text; one instance per process is enough.

    The espeak engine is created on the first synthesis, once per process, and every
    call is serialized with a lock because pyttsx3 is not thread-safe.
    """

    def __init__(self) -> None:
        """Nothing is loaded until the first call."""
        self._voices: dict[str, str] = {}

    def voice_id(self, language: str) -> str:
        """The espeak voice id used for ``language`` (e.g. "gmw/en-us", "sit/cmn")."""
        _check_language(language)
        with _LOCK:
            return self._voice_locked(_engine_locked(), language)

    def _voice_locked(self, engine: Any, language: str) -> str:
        """Voice id for ``language``, chosen once from the installed voices."""
        if language not in self._voices:
            self._voices[language] = choose_voice(list(engine.getProperty("voices")), language)
        return self._voices[language]

    def synthesize(self, text: str, language: str) -> Audio:
        """16-bit mono PCM speech for ``text`` in ``language`` ("en" or "zh")."""
        text = _check_request(text, language)
        with _LOCK:
            engine = _engine_locked()
            return _render_locked(engine, self._voice_locked(engine, language), text)

    async def synthesize_async(self, text: str, language: str) -> Audio:
        """``synthesize`` in a worker thread, so the event loop never blocks."""
        return await asyncio.to_thread(self.synthesize, text, language)


@functools.cache
def default_speaker() -> Speaker:
    """The process-wide ``Speaker`` (the engine is still created only on first synthesis)."""
    return Speaker()
