"""One utterance heard as a microphone hears it: every chunk goes to a streaming
decoder and to the endpointer at once, so the text is ready when the utterance ends.

The speaker loop (``listen.py``) and ``voice eval speech`` both listen through
``stream_utterance``, so the eval scores what a speaker hears. The decoder is anything
with ``start`` / ``feed`` / ``finish`` whose result tells whether it was ``noise`` (a
``speech.Recognizer`` and its ``Transcript``); audio does not import speech, so these
are protocols here.

An utterance that the decoder found to be noise (no words, or a stray word of no
command from kitchen clatter or a door) was not the person: listening goes on, with a
fresh decoder, until the person speaks or the endpointer's no-speech timeout (counted
from the start).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from .endpoint import Endpointer, NoSpeech, UtteranceEnded


class Decoded(Protocol):
    """A decoder's result: ``noise`` when no person spoke in it."""

    @property
    def noise(self) -> bool: ...


Result = TypeVar("Result", bound=Decoded)
Result_co = TypeVar("Result_co", bound=Decoded, covariant=True)


class StreamingDecoder(Protocol[Result_co]):
    """Decodes one utterance fed chunk by chunk (``speech.Recognizer`` is one)."""

    def start(self) -> None:
        """Begin an utterance."""
        ...

    def feed(self, chunk: bytes) -> object:
        """Decode a chunk of 16 kHz mono 16-bit PCM."""
        ...

    def finish(self) -> Result_co:
        """End the utterance; the final result."""
        ...


@dataclass(frozen=True)
class StreamedUtterance(Generic[Result]):
    """What listening for one utterance gave."""

    result: Result
    """The decoder's final result (a ``Transcript``), taken when listening ended."""
    end: UtteranceEnded | NoSpeech
    """The endpointer's last event: the utterance, or no speech."""
    input_ended: bool
    """The chunks ran out before the endpointer ended listening by itself."""
    finish_seconds: float
    """Time ``finish`` took: the decoding left once the utterance had ended."""

    @property
    def spoke(self) -> bool:
        """Somebody spoke (the endpointer found an utterance)."""
        return isinstance(self.end, UtteranceEnded)


def stream_utterance(
    decoder: StreamingDecoder[Result], endpointer: Endpointer, chunks: Iterable[bytes]
) -> StreamedUtterance[Result]:
    """Feed ``chunks`` to ``decoder`` and ``endpointer`` until the endpointer ends.

    Reads no chunk beyond the one that ended the utterance, so an iterator can go on
    with the next utterance. When the chunks run out first, the endpointer closes an
    open utterance (``end_of_input``) or reports no speech.
    """
    stream = iter(chunks)
    decoder.start()
    while True:
        end: UtteranceEnded | NoSpeech | None = None
        for chunk in stream:
            decoder.feed(chunk)
            end = final_event(endpointer.feed(chunk))
            if end is not None:
                break
        input_ended = end is None
        if end is None:
            end = final_event(endpointer.finish()) or NoSpeech(endpointer.time)
        began = time.perf_counter()
        result = decoder.finish()
        finished = time.perf_counter() - began
        if (
            input_ended
            or not isinstance(end, UtteranceEnded)
            or not listen_on(decoder, endpointer, result)
        ):
            return StreamedUtterance(result, end, input_ended, finished)


def listen_on(decoder: StreamingDecoder[Decoded], endpointer: Endpointer, result: Decoded) -> bool:
    """After an utterance ended: when its ``result`` was noise, wait for the person
    again with a fresh decoder (True); otherwise leave both as they are (False)."""
    if not result.noise:
        return False
    endpointer.resume()
    decoder.start()
    return True


def final_event(events: Iterable[object]) -> UtteranceEnded | NoSpeech | None:
    """The event among ``events`` that ends listening, if any."""
    for event in events:
        if isinstance(event, UtteranceEnded | NoSpeech):
            return event
    return None
