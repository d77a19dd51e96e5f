"""Convert PCM audio of any rate, width and channel count to 16 kHz mono 16-bit.

The heart is ``Resampler``, a streaming polyphase FIR resampler: it gives the same
samples whether the input arrives in one piece (``to_16k_mono``) or in sound-card
blocks of any size (the microphone path), and the same samples as
``scipy.signal.resample_poly`` (Kaiser-windowed sinc, zero phase, no delay).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.signal import firwin

from ..errors import InputError
from .wav import Audio

TARGET_RATE = 16000

FloatArray = npt.NDArray[np.float64]

# Filter half length in samples of the faster of the two rates, as resample_poly uses.
_HALF_LEN_FACTOR = 10
# Outputs computed per vectorized step, so a long file never builds a huge index matrix.
_BATCH = 8192


def pcm_frames(samples: bytes, width: int, channels: int) -> npt.NDArray[Any]:
    """Little-endian PCM bytes as a ``(frames, channels)`` array, as sounddevice delivers it.

    8-bit samples stay unsigned (``uint8``), 16-bit become ``int16``, and 24- and 32-bit
    become ``int32`` (24-bit values are shifted to the top of the word, like PortAudio).
    """
    if width == 1:
        flat: npt.NDArray[Any] = np.frombuffer(samples, dtype=np.uint8)
    elif width == 2:
        flat = np.frombuffer(samples, dtype="<i2").astype(np.int16)
    elif width == 3:
        raw = np.frombuffer(samples, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        flat = (raw[:, 0] << 8) | (raw[:, 1] << 16) | (raw[:, 2] << 24)
    elif width == 4:
        flat = np.frombuffer(samples, dtype="<i4").astype(np.int32)
    else:
        raise InputError(f"unsupported sample width: {width} bytes")
    return flat.reshape(-1, channels)


def to_float(block: npt.NDArray[Any]) -> FloatArray:
    """Integer or float samples of any sounddevice dtype scaled to -1.0 .. 1.0."""
    kind = block.dtype
    if kind == np.uint8:
        return (block.astype(np.float64) - 128.0) / 128.0
    if kind.kind == "f":
        return block.astype(np.float64)
    if kind.kind == "i":
        return block.astype(np.float64) / float(2 ** (8 * kind.itemsize - 1))
    raise InputError(f"unsupported sample type: {kind}")


def to_int16(samples: FloatArray) -> npt.NDArray[np.int16]:
    """Float samples (-1.0 .. 1.0) as rounded, clipped 16-bit integers."""
    return np.clip(np.rint(samples * 32768.0), -32768, 32767).astype(np.int16)


def int16_bytes(samples: npt.NDArray[np.int16]) -> bytes:
    """16-bit samples as little-endian bytes, whatever the machine's byte order."""
    return samples.astype("<i2").tobytes()


@lru_cache(maxsize=16)
def _polyphase_table(up: int, down: int) -> tuple[int, FloatArray]:
    """(K, table): table[phase, i] weighs input ``base - K + 1 + i`` for that phase."""
    fastest = max(up, down)
    half = -(-_HALF_LEN_FACTOR * fastest // up)  # K, in input samples, rounded up
    taps = firwin(2 * half * up + 1, 1.0 / fastest, window=("kaiser", 5.0)) * up
    # Output n sits at upsampled time n*down; input k at k*up. With base = n*down // up,
    # phase = n*down % up and k = base + j (j = -K+1 .. K), the weight is
    # taps[phase + (K - j) * up]; the unused j = -K tap falls on a zero of the sinc.
    offsets = (2 * half - 1 - np.arange(2 * half)) * up
    table = np.stack([taps[phase + offsets] for phase in range(up)])
    return half, table


class Resampler:
    """Streaming resampler for one mono signal: feed blocks, then ``flush`` once at the end.

    The output holds ``ceil(input_frames * rate_out / rate_in)`` samples in all, so the
    duration is kept; each block's output lags its input by K input samples (under 2 ms).
    """

    def __init__(self, rate_in: int, rate_out: int = TARGET_RATE) -> None:
        """Design (or reuse) the polyphase filter for ``rate_in`` to ``rate_out``."""
        if rate_in <= 0 or rate_out <= 0:
            raise InputError(f"invalid sample rate: {rate_in} Hz to {rate_out} Hz")
        common = math.gcd(rate_in, rate_out)
        self.up = rate_out // common
        self.down = rate_in // common
        self._identity = self.up == self.down
        self._half, self._table = (
            (0, np.zeros((1, 1))) if self._identity else _polyphase_table(self.up, self.down)
        )
        # Inputs before the first sample are zeros: K - 1 of them are needed for output 0.
        self._buffer: FloatArray = np.zeros(max(self._half - 1, 0))
        self._buffer_start = -(self._half - 1) if self._half else 0
        self._next = 0  # index of the next output sample
        self._received = 0  # input samples seen
        self._flushed = False

    def process(self, samples: FloatArray) -> FloatArray:
        """Resample the next block; returns every output sample it makes computable."""
        if self._flushed:
            raise ValueError("Resampler.process after flush")
        samples = np.asarray(samples, dtype=np.float64).reshape(-1)
        if self._identity:
            self._received += samples.size
            return samples.copy()
        self._buffer = np.concatenate((self._buffer, samples))
        self._received += samples.size
        ready = self._received - self._half  # inputs that have their K successors
        return self._emit(-(-ready * self.up // self.down) if ready > 0 else 0)

    def flush(self) -> FloatArray:
        """The remaining output, treating the input after its end as silence."""
        if self._flushed:
            return np.zeros(0)
        self._flushed = True
        if self._identity:
            return np.zeros(0)
        self._buffer = np.concatenate((self._buffer, np.zeros(self._half)))
        return self._emit(-(-self._received * self.up // self.down))

    def _emit(self, end: int) -> FloatArray:
        """Outputs ``self._next`` .. ``end - 1``, then drop the inputs no longer needed."""
        if end <= self._next:
            return np.zeros(0)
        width = 2 * self._half
        window = np.arange(width)
        parts = []
        for first in range(self._next, end, _BATCH):
            n = np.arange(first, min(first + _BATCH, end), dtype=np.int64) * self.down
            base = n // self.up
            phase = n - base * self.up
            index = (base - (self._half - 1) - self._buffer_start)[:, None] + window[None, :]
            parts.append(np.einsum("ij,ij->i", self._buffer[index], self._table[phase]))
        self._next = end
        keep_from = (end * self.down) // self.up - (self._half - 1)
        cut = max(keep_from - self._buffer_start, 0)
        self._buffer = self._buffer[cut:]
        self._buffer_start += cut
        return np.concatenate(parts)


def to_16k_mono(audio: Audio) -> Audio:
    """``audio`` as 16 kHz mono 16-bit PCM: channels averaged, then resampled.

    Raises ``InputError`` for audio without samples.
    """
    if audio.frames == 0:
        raise InputError("audio is empty: there are no samples to convert")
    if (audio.rate, audio.width, audio.channels) == (TARGET_RATE, 2, 1):
        return audio
    mono = to_float(pcm_frames(audio.samples, audio.width, audio.channels)).mean(axis=1)
    resampler = Resampler(audio.rate)
    out = np.concatenate((resampler.process(mono), resampler.flush()))
    return Audio(int16_bytes(to_int16(out)), TARGET_RATE)
