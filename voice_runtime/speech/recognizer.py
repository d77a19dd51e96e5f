"""The speech recogniser interface and its typed result.

A recogniser decodes 16 kHz mono 16-bit PCM either as a stream
(``start`` / ``feed`` / ``finish``) or a whole clip at once (``transcribe``).
Decoding is blocking CPU work: from asyncio code use ``transcribe_async``,
which runs it in a worker thread.
"""

from __future__ import annotations

import asyncio
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..audio.convert import RATE, to_recognizer_format
from ..audio.wav import Audio
from ..errors import InputError
from .context import Expectation

CHUNK_BYTES = 4096
"""Bytes fed per call by ``transcribe`` (128 ms of 16 kHz 16-bit audio)."""
MIN_VOICED_SECONDS = 0.04
"""Less voiced sound than this (silence, hiss, hum) is no speech: the transcript is empty."""
NOISE_VOICED_SECONDS = 0.25
"""A rejected transcript (no command) from less voice than this was noise, not a person."""
_FRAME, _HOP, _RUN = 512, 256, 3
_VOICING = 0.35  # normalised autocorrelation peak at a 60-400 Hz pitch lag
_FLOOR = 1e-5  # mean square of a frame (-50 dBFS) below which it is silence


def voiced_seconds(pcm: bytes, rate: int = RATE) -> float:
    """Seconds of periodic (voiced) sound in 16-bit mono PCM.

    A frame is voiced when its autocorrelation peaks at a pitch lag (60-400 Hz) and
    it is louder than -50 dBFS; only runs of three or more voiced frames (48 ms)
    count, so white or pink noise and silence score zero while a vowel does not.
    """
    x = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2").astype(np.float64) / 32768.0
    if x.size < _FRAME:
        return 0.0
    index = np.arange(0, x.size - _FRAME + 1, _HOP)[:, None] + np.arange(_FRAME)
    frames = x[index]
    frames = frames - frames.mean(axis=1, keepdims=True)
    spectrum = np.fft.rfft(frames * np.hanning(_FRAME), n=2 * _FRAME, axis=1)
    autocorrelation = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, :_FRAME]
    peak = autocorrelation[:, rate // 400 : rate // 60].max(axis=1)
    voiced = (peak > _VOICING * np.maximum(autocorrelation[:, 0], 1e-12)) & (
        (frames**2).mean(axis=1) > _FLOOR
    )
    edges = np.diff(np.concatenate([[0], voiced.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    lengths = ends - starts
    return float(lengths[lengths >= _RUN].sum() * _HOP / rate)


@dataclass(frozen=True)
class Transcript:
    """What a recogniser heard.

    ``confidence`` is how sure the backend is of the text as a command (0..1), or
    None when it cannot tell; ``text`` is empty when nothing was heard (silence, or
    noise without voiced sound). ``rejected``: the confidence is below the backend's
    limit for a command, so the speech is taken as no command at all.
    ``voiced_seconds``: how much of the audio was voice (``voiced_seconds()``).
    """

    text: str
    confidence: float | None
    language: str
    audio_seconds: float
    decode_seconds: float
    rejected: bool = False
    voiced_seconds: float = 0.0

    @property
    def real_time_factor(self) -> float:
        """Decode time over audio time (below 1 is faster than real time)."""
        return self.decode_seconds / self.audio_seconds if self.audio_seconds > 0 else 0.0

    @property
    def empty(self) -> bool:
        return not self.text.strip()

    @property
    def noise(self) -> bool:
        """No person spoke: nothing heard, or a word or two of no command decoded from a
        moment of voice (kitchen clatter heard as "what"). A sentence that is no command
        holds more voice than ``NOISE_VOICED_SECONDS``."""
        return self.empty or (self.rejected and self.voiced_seconds < NOISE_VOICED_SECONDS)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"real_time_factor": self.real_time_factor}


class Recognizer(ABC):
    """Streaming speech to text; one utterance at a time per instance.

    Subclasses implement ``_start``, ``_feed`` and ``_finish``; this class keeps
    the stream's state, times the decoding and checks the input.
    """

    language: str
    reject_below = 0.0
    """A transcript less confident than this is no command (`Transcript.rejected`)."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._lock = threading.RLock()
        self._active = False
        self._bytes = 0
        self._busy = 0.0
        self._pending = b""
        self._audio = bytearray()
        self.expected: Expectation | None = None
        """What the next utterances are decoded as likely to say (`expect`)."""

    # -- streaming ---------------------------------------------------------------------

    def start(self) -> None:
        """Begin an utterance (discarding any unfinished one)."""
        with self._lock:
            began = time.perf_counter()
            self._start()
            self._active = True
            self._bytes = 0
            self._pending = b""
            self._audio = bytearray()
            self._busy = time.perf_counter() - began

    def feed(self, chunk: bytes) -> str | None:
        """Decode a chunk of 16 kHz mono 16-bit PCM; the partial text so far, if any."""
        with self._lock:
            if not self._active:
                raise InputError("feed() before start(): begin an utterance first")
            began = time.perf_counter()
            data = self._pending + bytes(chunk)
            whole = len(data) - len(data) % 2
            self._pending = data[whole:]
            self._bytes += whole
            self._audio += data[:whole]
            partial = self._feed(data[:whole]) if whole else None
            self._busy += time.perf_counter() - began
            return partial or None

    def finish(self) -> Transcript:
        """End the utterance and return the final transcript."""
        with self._lock:
            if not self._active:
                raise InputError("finish() before start(): begin an utterance first")
            began = time.perf_counter()
            text, confidence = self._finish()
            voiced = voiced_seconds(bytes(self._audio))
            if voiced < MIN_VOICED_SECONDS:
                text, confidence = "", None  # silence or noise: whatever was decoded is noise
            self._active = False
            self._audio = bytearray()
            self._busy += time.perf_counter() - began
            return Transcript(
                " ".join(text.split()),
                confidence,
                self.language,
                self._bytes / 2 / RATE,
                self._busy,
                bool(text) and confidence is not None and confidence < self.reject_below,
                voiced,
            )

    # -- whole clips -------------------------------------------------------------------

    def transcribe(self, audio: Audio) -> Transcript:
        """Decode a whole clip of any rate, width and channel count."""
        pcm = to_recognizer_format(audio).samples
        with self._lock:
            self.start()
            began = time.perf_counter()
            self._bytes = len(pcm)
            self._audio = bytearray(pcm)
            self._whole(pcm)
            self._busy += time.perf_counter() - began
            return self.finish()

    async def transcribe_async(self, audio: Audio) -> Transcript:
        """``transcribe`` in a worker thread, so the event loop never blocks."""
        return await asyncio.to_thread(self.transcribe, audio)

    def expect(self, expectation: Expectation | None) -> None:
        """Listen first for what the user is expected to say in the next utterances
        (`speech/context.py`); None: every request alike."""
        with self._lock:
            self._expect(expectation)
            self.expected = expectation

    def _expect(self, expectation: Expectation | None) -> None:  # noqa: B027 (optional)
        """Prepare the backend for an expectation (default: nothing changes)."""

    def calibrate(self, audio: Audio) -> None:  # noqa: B027 (optional for backends)
        """Adapt to a voice and channel before the first real utterance (default: nothing)."""

    # -- backends ----------------------------------------------------------------------

    @abstractmethod
    def _start(self) -> None:
        """Reset the decoder for a new utterance."""

    @abstractmethod
    def _feed(self, pcm: bytes) -> str | None:
        """Decode whole 16-bit samples; the partial hypothesis, if any."""

    def _whole(self, pcm: bytes) -> None:
        """Decode a complete utterance; backends may normalise over all of it at once."""
        for offset in range(0, len(pcm), CHUNK_BYTES):
            self._feed(pcm[offset : offset + CHUNK_BYTES])

    @abstractmethod
    def _finish(self) -> tuple[str, float | None]:
        """The final text and its confidence (0..1 or None)."""
