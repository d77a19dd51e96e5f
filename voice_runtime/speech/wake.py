"""The wake phrase, spotted offline by the skill-biased recogniser.

The recogniser's language model knows the wake phrase ("hey assistant"),
alone and before commands; an utterance that starts with it wakes the
assistant, and whatever follows it is the first request. PocketSphinx's own
keyphrase search was tried first and never fired on espeak-ng speech here.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..languages import detect_language
from ..skills.normalize import normalize

WAKE_PHRASES = {"en": "hey assistant", "zh": "你好助手"}


@dataclass(frozen=True)
class WakeMatch:
    """Whether a transcript starts with the wake phrase, and the request after it."""

    woke: bool
    request: str = ""


def split_wake(text: str, phrase: str) -> WakeMatch:
    """Find the wake phrase at the start of `text`; what follows is the request.

    The whole phrase must open the transcript: accepting it without its first
    word ("assistant ...") woke on "assistant manager wanted" in `voice bench speech`.
    """
    if detect_language(phrase) == "zh":  # Chinese: compare characters, spaces dropped
        said, key = normalize(text), normalize(phrase)
        return WakeMatch(True, said[len(key) :]) if said.startswith(key) else WakeMatch(False)
    wanted = normalize(phrase).split()
    heard = normalize(text).split()
    if wanted and heard[: len(wanted)] == wanted:
        return WakeMatch(True, " ".join(heard[len(wanted) :]))
    return WakeMatch(False)
