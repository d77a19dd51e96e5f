"""How ``voice eval speech`` hears one clip: streamed as a microphone hears it, or whole.

Streaming (the default) is the speaker's path. The clip is placed in a stretch of
room: ``LEAD_IN_SECONDS`` before it and ``TRAIL_SECONDS`` after it, digital silence
that the recogniser hears as its microphone noise floor (``audio/floor.py``), and the
noise condition is mixed over all of it, so the endpointer learns the background while
it waits, as it does before a person speaks, and hears the room go on after the
speech. That audio is read as 30 ms microphone chunks (``WavSource``, the sound card's
callback path) through a fresh ``Endpointer`` and the streaming recogniser
(``audio/utterance.py``, the loop ``listen.py`` runs); the transcript is the
recogniser's when the endpointer ends the utterance, or when the audio ends.

Whole (``--whole``) decodes the clip at once with ``Recognizer.transcribe``, as the
eval did before it streamed.

The endpointer *cut* a clip's speech when it found no speech, or its utterance ended
before the clip's speech ended (by more than ``CUT_TOLERANCE``): the recogniser stopped
listening early. (An utterance that starts late cuts nothing: the recogniser hears
everything from the start of listening.) The clip's speech is where its clean audio is
within ``SPEECH_RANGE_DB`` of its loudest 10 ms frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..audio.convert import RATE, to_recognizer_format
from ..audio.endpoint import EndpointConfig, Endpointer, UtteranceEnded
from ..audio.microphone import CHUNK_FRAMES, WavSource
from ..audio.utterance import stream_utterance
from ..audio.wav import Audio
from ..speech.recognizer import Recognizer, Transcript

Mode = Literal["streaming", "whole"]
MODES: tuple[Mode, ...] = ("streaming", "whole")
LEAD_IN_SECONDS = 0.5
"""Room heard before the clip (the endpointer learns the background in its first 0.2 s)."""
TRAIL_SECONDS = 1.0
"""Room heard after the clip: more than the endpointer's 0.6 s of trailing silence."""
SPEECH_RANGE_DB = 30.0
"""10 ms frames this close to the loudest frame of the clean clip are its speech."""
CUT_TOLERANCE = 0.05
"""Seconds of the clip's speech the utterance may miss at its end before it counts as cut."""
_FRAME = RATE // 100


@dataclass(frozen=True)
class Span:
    """A stretch of a clip, in seconds from the clip's start."""

    start: float
    end: float


@dataclass(frozen=True)
class Endpointing:
    """What the endpointer did with one streamed clip (times in clip seconds)."""

    reason: str  # "silence", "max_length", "end_of_input" or "no_speech"
    utterance: Span | None  # the audio it ended with; None: no speech found
    speech: Span | None  # the clip's speech; None: the clean clip is silent

    @property
    def cut(self) -> bool:
        """It found no speech, or ended before the clip's speech ended."""
        if self.speech is None:
            return False
        return self.utterance is None or self.utterance.end < self.speech.end - CUT_TOLERANCE

    def to_dict(self) -> dict[str, object]:
        return {
            "reason": self.reason,
            "utterance": vars(self.utterance) if self.utterance else None,
            "speech": vars(self.speech) if self.speech else None,
            "cut": self.cut,
        }


@dataclass(frozen=True)
class Hearing:
    """One clip as the recogniser heard it."""

    transcript: Transcript
    after_end_seconds: float
    """Decoding left once the speech had ended (whole: all of it; streaming: ``finish``)."""
    endpointing: Endpointing | None  # None: decoded whole, no endpointer


def hear_whole(recognizer: Recognizer, audio: Audio) -> Hearing:
    """The clip decoded at once."""
    transcript = recognizer.transcribe(audio)
    return Hearing(transcript, transcript.decode_seconds, None)


def in_room(clean: Audio) -> Audio:
    """``clean`` at 16 kHz mono with the lead-in and trail of digital silence around it."""
    pcm = to_recognizer_format(clean).samples
    lead, trail = (bytes(2 * round(s * RATE)) for s in (LEAD_IN_SECONDS, TRAIL_SECONDS))
    return Audio(lead + pcm + trail, RATE)


def hear_streaming(
    recognizer: Recognizer,
    heard: Audio,
    speech: Span | None,
    endpoint: EndpointConfig | None = None,
) -> Hearing:
    """``heard`` (``in_room`` audio, noise mixed in) streamed through the endpointer.

    ``speech`` is the clip's speech (``speech_span`` of the clean clip), for ``cut``.
    """
    chunks = WavSource(heard).chunks(CHUNK_FRAMES)  # as the sound card delivers them
    streamed = stream_utterance(recognizer, Endpointer(endpoint), chunks)
    end = streamed.end
    if isinstance(end, UtteranceEnded):
        start = end.start - LEAD_IN_SECONDS
        utterance: Span | None = Span(start, start + end.duration)
        reason: str = end.reason
    else:
        utterance, reason = None, "no_speech"
    return Hearing(streamed.result, streamed.finish_seconds, Endpointing(reason, utterance, speech))


def speech_span(clean: Audio) -> Span | None:
    """Where the clean clip speaks: its 10 ms frames within ``SPEECH_RANGE_DB`` of the
    loudest. None for a silent clip."""
    samples = np.frombuffer(to_recognizer_format(clean).samples, dtype="<i2").astype(np.float64)
    frames = samples[: samples.size - samples.size % _FRAME].reshape(-1, _FRAME)
    if frames.shape[0] == 0:
        return None
    energy = (frames**2).mean(axis=1)
    if energy.max() == 0.0:
        return None
    loud = np.flatnonzero(energy >= energy.max() * 10 ** (-SPEECH_RANGE_DB / 10))
    return Span(float(loud[0] * _FRAME / RATE), float((loud[-1] + 1) * _FRAME / RATE))
