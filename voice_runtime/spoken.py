"""The spoken turn, one pipeline for every command that hears and answers:

transcript -> spoken numbers to digits ("ten thirty" -> "10:30") -> the
household's turn -> the answer spoken sentence by sentence (the first sentence
plays while the rest is synthesized).

Used by `voice ask`, `voice listen`, `voice shell --speak`, `voice eval speech`,
`voice bench speech` and the server, so what is measured is what people get.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

from .audio.wav import Audio
from .dialog.phrases import NO_WORDS, YES_WORDS
from .dialog.turn import Turn
from .household.home import Household
from .nlu.numbers import normalize_spoken
from .people import Device
from .skills.catalog import Catalog
from .speech.context import Expectation, number_phrases, time_phrases
from .tts.speaker import Speaker, split_sentences


def heard_text(transcript: str, language: str) -> str:
    """What the recogniser heard, as the NLU was trained to read it."""
    return normalize_spoken(transcript.strip(), language)


async def spoken_turn(household: Household, device: Device, transcript: str, language: str) -> Turn:
    """Answer a transcript said on `device`; InputError if it holds nothing usable."""
    return await household.turn(device, heard_text(transcript, language), language)


def spoken_turn_sync(household: Household, device: Device, transcript: str, language: str) -> Turn:
    return household.run(spoken_turn(household, device, transcript, language))


def expected_after(turn: Turn, catalog: Catalog) -> Expectation | None:
    """What the user will most likely say next: the values of the slot the skill asked
    for, or a yes or no to its confirmation; None when it asked nothing."""
    waiting = turn.state.get("waiting_for")
    skill = catalog.get(turn.skill) if turn.skill else None
    if skill is None or not isinstance(waiting, str):
        return None
    language = turn.language
    if waiting == "confirm":
        words = (*YES_WORDS.get(language, ()), *NO_WORDS.get(language, ()))
        return Expectation("confirm", tuple(w.strip() for w in words))
    slot = skill.slots.get(waiting)
    if slot is None:
        return None
    if slot.type == "number":
        phrases = number_phrases(language)
    elif slot.type == "time":
        phrases = time_phrases(language)
    else:
        phrases = [w for value in slot.values for w in value.synonyms.get(language, [])]
    return Expectation(skill.qualified(waiting), tuple(phrases)) if phrases else None


def speech_audio(speaker: Speaker, text: str, language: str) -> Iterator[Audio]:
    """The answer as audio, one sentence at a time."""
    for sentence in split_sentences(text):
        yield speaker.synthesize(sentence, language)


async def speech_audio_async(speaker: Speaker, text: str, language: str) -> AsyncIterator[Audio]:
    """`speech_audio` for an event loop: synthesis runs in a worker thread."""
    for sentence in split_sentences(text):
        yield await asyncio.to_thread(speaker.synthesize, sentence, language)
