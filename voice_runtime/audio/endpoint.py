"""Find where an utterance starts and ends in 16 kHz mono 16-bit audio.

``Endpointer`` is an energy voice-activity detector with a state machine
(waiting -> speaking -> done). Energy is measured per 10 ms frame after a 150-5000 Hz
band-pass; the speech threshold follows the background level heard while waiting (the
noise floor), so steady noise such as a fan or white noise at 10 dB SNR does not count
as speech. A loud stretch in which the recogniser then hears no words (a pan set down,
a burst of kitchen clatter) was no speech: ``resume`` waits for the person again.
``record_until_enter`` is the push-to-talk alternative.
"""

from __future__ import annotations

import enum
import io
import math
import select
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, TextIO

import numpy as np
import numpy.typing as npt
from scipy.signal import butter, sosfilt

from .microphone import CHUNK_FRAMES, SOURCE_RATE, AudioSource

BYTES_PER_SECOND = SOURCE_RATE * 2

EndReason = Literal["silence", "max_length", "end_of_input"]


@dataclass(frozen=True)
class SpeechStarted:
    """Speech began at ``start`` (stream seconds); noticed at ``time``."""

    start: float
    time: float


@dataclass(frozen=True)
class UtteranceEnded:
    """One utterance: its 16 kHz mono 16-bit ``audio``, which starts at ``start``.

    ``reason`` is "silence" (trailing silence heard), "max_length" (cut at the maximum
    length) or "end_of_input" (the source ended mid-utterance). ``speech_end`` is when
    voice was last heard and ``time`` when the event fired, both in stream seconds.
    """

    audio: bytes
    reason: EndReason
    start: float
    speech_end: float
    time: float

    @property
    def duration(self) -> float:
        """Length of ``audio`` in seconds."""
        return len(self.audio) / BYTES_PER_SECOND


@dataclass(frozen=True)
class NoSpeech:
    """Nothing was said before the timeout (or before the input ended) at ``time``."""

    time: float


Event = SpeechStarted | UtteranceEnded | NoSpeech


class State(enum.Enum):
    """Where the endpointer is."""

    WAITING = "waiting"
    SPEAKING = "speaking"
    DONE = "done"


@dataclass(frozen=True)
class EndpointConfig:
    """Endpointing settings; times in seconds, levels in 16-bit sample units (RMS)."""

    trailing_silence: float = 0.6  # silence that ends an utterance
    max_length: float = 10.0  # longest utterance (audio returned, pre-roll included)
    no_speech_timeout: float = 5.0  # waiting longer than this gives NoSpeech
    start_factor: float = 3.0  # speech starts this far above the noise floor (9.5 dB)
    continue_factor: float = 2.0  # and goes on while above this (6 dB)
    min_rms: float = 150.0  # absolute minimum for speech (about -47 dBFS)
    onset: float = 0.05  # loud frames needed to start speech
    pre_roll: float = 0.15  # audio kept before the detected start
    tail: float = 0.1  # audio kept after the last voiced frame
    calibration: float = 0.2  # first stretch only measures the noise floor
    floor_rise_db_per_s: float = 3.0  # how fast the floor may rise while waiting
    stale_floor: float = 2.0  # no dip this long while speaking means the noise got louder
    frame: float = 0.01  # analysis frame

    def __post_init__(self) -> None:
        """Reject settings the state machine cannot honour."""
        if min(self.trailing_silence, self.max_length, self.no_speech_timeout, self.frame) <= 0:
            raise ValueError("endpoint times must be positive")
        if not 1.0 < self.continue_factor <= self.start_factor:
            raise ValueError("need 1 < continue_factor <= start_factor")


def _frames(seconds: float, frame: float) -> int:
    """Whole analysis frames in ``seconds`` (at least one)."""
    return max(round(seconds / frame), 1)


class Endpointer:
    """Feed 16 kHz mono 16-bit chunks of any size; get ``Event``s back.

    One ``SpeechStarted`` is followed by one ``UtteranceEnded``, or a lone ``NoSpeech``
    comes; then the state is ``DONE`` and further audio is ignored until ``reset`` (or
    ``resume``, when the utterance held no words).
    """

    def __init__(self, config: EndpointConfig | None = None) -> None:
        """A fresh endpointer that has heard nothing yet."""
        self.config = config or EndpointConfig()
        c = self.config
        self._frame_samples = max(round(c.frame * SOURCE_RATE), 1)
        self._frame_s = self._frame_samples / SOURCE_RATE
        self._sos = butter(2, [150, 5000], btype="bandpass", fs=SOURCE_RATE, output="sos")
        self._rise = 10 ** (c.floor_rise_db_per_s * self._frame_s / 20)
        self._calibration = _frames(c.calibration, self._frame_s)
        self._onset = _frames(c.onset, self._frame_s)
        self._pre_roll = _frames(c.pre_roll, self._frame_s)
        self._tail = _frames(c.tail, self._frame_s)
        self._stale = _frames(c.stale_floor, self._frame_s)
        self._floor = math.inf
        self._filter_state = np.zeros((self._sos.shape[0], 2))
        self._heard = 0  # frames ever analysed (the floor's calibration counts these)
        self._frame_index = 0  # stream clock, in frames
        self.reset()

    def reset(self) -> None:
        """Listen for the next utterance; the stream clock and noise floor carry on."""
        self._since = self._frame_index
        self._wait()

    def resume(self) -> None:
        """The utterance that just ended held no words (noise): wait for speech again.

        Unlike ``reset``, the no-speech timeout still counts from when listening began,
        so noise that keeps starting utterances cannot keep the endpointer listening.
        """
        if self._state is not State.DONE:
            raise RuntimeError("resume() after an utterance ended, not while listening")
        self._wait()

    def _wait(self) -> None:
        self._state = State.WAITING
        self._pending = b""
        self._recent: deque[tuple[int, bytes]] = deque(maxlen=self._pre_roll + 4 * self._onset)
        self._loud = 0
        self._candidate = 0
        self._utterance: list[bytes] = []
        self._levels: deque[float] = deque(maxlen=self._stale)
        self._utterance_start = 0
        self._last_voiced = 0

    @property
    def state(self) -> State:
        """WAITING, SPEAKING or DONE."""
        return self._state

    @property
    def noise_floor(self) -> float:
        """Current background RMS estimate (16-bit units)."""
        return self._floor

    @property
    def time(self) -> float:
        """Stream seconds analysed so far."""
        return self._frame_index * self._frame_s

    def feed(self, chunk: bytes) -> list[Event]:
        """Analyse a chunk; returns the events it caused (usually none)."""
        if self._state is State.DONE:
            return []
        data = self._pending + chunk
        size = 2 * self._frame_samples
        whole = len(data) - len(data) % size
        self._pending = data[whole:]
        events: list[Event] = []
        for offset in range(0, whole, size):
            events.extend(self._step(data[offset : offset + size]))
            if self._state is State.DONE:
                break
        return events

    def finish(self) -> list[Event]:
        """The input has ended: close an open utterance or report no speech."""
        if self._state is State.SPEAKING:
            return [self._end("end_of_input", self._frame_index)]
        if self._state is State.WAITING:
            self._state = State.DONE
            return [NoSpeech(self.time)]
        return []

    def _level(self, frame: bytes) -> float:
        """Band-passed RMS of one frame."""
        samples: npt.NDArray[np.float64] = np.frombuffer(frame, dtype="<i2").astype(np.float64)
        filtered, self._filter_state = sosfilt(self._sos, samples, zi=self._filter_state)
        return float(np.sqrt(np.mean(filtered * filtered)))

    def _step(self, frame: bytes) -> list[Event]:
        """Advance the state machine by one frame."""
        level = self._level(frame)
        index = self._frame_index
        self._frame_index += 1
        self._heard += 1
        if self._state is State.WAITING:
            return self._waiting(index, frame, level)
        return self._speaking(index, frame, level)

    def _waiting(self, index: int, frame: bytes, level: float) -> list[Event]:
        """Track the noise floor; start when enough frames stand out from it."""
        c = self.config
        self._recent.append((index, frame))
        if self._heard <= self._calibration:
            self._floor = max(min(self._floor, level), 1.0)
        elif level > max(self._floor * c.start_factor, c.min_rms):
            if self._loud == 0:
                self._candidate = index
            self._loud += 1
        else:
            self._loud = max(self._loud - 1, 0)
            if self._loud == 0:
                # Fall quickly, rise slowly: speech bursts barely move the floor.
                target = max(level, 1.0)
                if target < self._floor:
                    self._floor += 0.3 * (target - self._floor)
                else:
                    self._floor = min(target, self._floor * self._rise)
        if self._loud >= self._onset:
            self._state = State.SPEAKING
            first = max(self._candidate - self._pre_roll, self._recent[0][0])
            self._utterance = [f for i, f in self._recent if i >= first]
            self._utterance_start = first
            self._last_voiced = index + 1
            return [SpeechStarted(self._candidate * self._frame_s, self.time)]
        if self.time - self._since * self._frame_s >= c.no_speech_timeout - 1e-9:
            self._state = State.DONE
            return [NoSpeech(self.time)]
        return []

    def _speaking(self, index: int, frame: bytes, level: float) -> list[Event]:
        """Collect audio until trailing silence or the maximum length."""
        c = self.config
        self._utterance.append(frame)
        self._levels.append(level)
        if len(self._levels) == self._stale:
            # Speech dips near the floor between words and in stop closures; a stretch
            # without any dip is a louder background (a fan, a tap), so re-base the floor.
            quietest = min(self._levels)
            if quietest > self._floor * c.continue_factor:
                self._floor = quietest
        continue_at = max(
            self._floor * c.continue_factor, c.min_rms * c.continue_factor / c.start_factor
        )
        if level > continue_at:
            self._last_voiced = index + 1
        if (index + 1 - self._last_voiced) * self._frame_s >= c.trailing_silence - 1e-9:
            return [self._end("silence", min(self._last_voiced + self._tail, index + 1))]
        if (index + 1 - self._utterance_start) * self._frame_s >= c.max_length - 1e-9:
            return [self._end("max_length", index + 1)]
        return []

    def _end(self, reason: EndReason, end: int) -> UtteranceEnded:
        """Finish the utterance with audio up to frame ``end`` (exclusive)."""
        self._state = State.DONE
        audio = b"".join(self._utterance[: end - self._utterance_start])
        return UtteranceEnded(
            audio=audio,
            reason=reason,
            start=self._utterance_start * self._frame_s,
            speech_end=self._last_voiced * self._frame_s,
            time=self.time,
        )


def listen(
    source: AudioSource, endpointer: Endpointer | None = None, chunk_frames: int = CHUNK_FRAMES
) -> Iterator[Event]:
    """Feed ``source`` to ``endpointer`` and yield its events until it is done."""
    endpointer = endpointer or Endpointer()
    while endpointer.state is not State.DONE:
        chunk = source.read(chunk_frames)
        yield from endpointer.feed(chunk) if chunk else endpointer.finish()


def capture_utterance(
    source: AudioSource, endpointer: Endpointer | None = None
) -> UtteranceEnded | NoSpeech:
    """Listen until one utterance ends (or nothing is said); returns that final event."""
    final: UtteranceEnded | NoSpeech = NoSpeech(0.0)
    for event in listen(source, endpointer):
        if not isinstance(event, SpeechStarted):
            final = event
    return final


def _input_fd(stream: TextIO) -> int | None:
    """The stream's file descriptor, or None for an in-memory stream."""
    try:
        return stream.fileno()
    except (io.UnsupportedOperation, OSError, AttributeError):
        return None


def _line_arrived(stream: TextIO, fd: int | None) -> bool:
    """True (and the line consumed) once a line or end of file is there, without blocking.

    A stream with a descriptor (a terminal, a pipe) is polled with ``select``; an
    in-memory stream (``io.StringIO``) already holds all its input, so it is read directly.
    """
    if fd is not None and not select.select([fd], [], [], 0)[0]:
        return False
    stream.readline()
    return True


def record_until_enter(
    source: AudioSource,
    stdin: TextIO,
    *,
    max_seconds: float = 30.0,
    chunk_frames: int = CHUNK_FRAMES,
) -> bytes:
    """Push to talk: record until a line (Enter) or end of file arrives on ``stdin``.

    Recording also stops when the source ends or after ``max_seconds``. Returns the
    16 kHz mono 16-bit audio; at least the first chunk is always kept.
    """
    limit = int(max_seconds * SOURCE_RATE) * 2
    recorded = bytearray()
    fd = _input_fd(stdin)
    while len(recorded) < limit:
        chunk = source.read(min(chunk_frames, (limit - len(recorded)) // 2))
        recorded += chunk
        if not chunk or _line_arrived(stdin, fd):
            break
    return bytes(recorded)
