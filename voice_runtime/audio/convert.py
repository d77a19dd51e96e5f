"""Any PCM or float WAV, or FLAC -> the 16 kHz mono 16-bit audio speech recognisers expect.

``wave`` in Python 3.11 reads only plain integer PCM, so WAV files are parsed by
``audio.wav.read_header``: integer PCM of 8 to 32 bits, 32/64-bit float, and
WAVE_FORMAT_EXTENSIBLE (what sox writes for 24-bit or multichannel audio).

A file is judged by its header before its samples are read: a rate outside
``MIN_RATE`` .. ``MAX_RATE``, more than ``MAX_SECONDS`` of audio or no sample at all is
refused at once. The samples are then read, mixed to mono and resampled (the same
streaming polyphase resampler as the microphone path) one chunk at a time, so memory
stays near the size of the 16 kHz result whatever the file's format. Every problem
with a file is a one-line ``InputError`` naming it.
"""

from __future__ import annotations

import io
import os
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from ..errors import InputError
from .flac import open_audio_file
from .resample import Resampler, int16_bytes, to_int16
from .wav import (
    MAX_RATE,
    MAX_SECONDS,
    MIN_RATE,
    Audio,
    Encoding,
    WavError,
    check_length,
    read_header,
)

RATE = 16000
"""The sample rate every recogniser in this package is fed."""

CHUNK_BYTES = 1 << 20
"""Bytes of samples converted at a time."""

__all__ = ["MAX_SECONDS", "RATE", "decode_wav", "load_audio", "to_recognizer_format"]

Samples = npt.NDArray[np.float64]


def load_audio(path: str | os.PathLike[str]) -> Audio:
    """Read a WAV or FLAC file of any common format and return it as 16 kHz mono 16-bit.

    Raises ``InputError("<path>: <problem>")`` for a missing or special file, a header
    that is not WAV or not supported, more than ``MAX_SECONDS`` or no audio at all.
    """
    try:
        file, size = open_audio_file(path)
        with file:
            return _decode(file, size)
    except WavError as exc:
        raise exc.at(path) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read audio file ({exc.strerror or exc})") from None


def decode_wav(data: bytes) -> Audio:
    """A WAV file's bytes (an upload, say) as 16 kHz mono 16-bit; ``InputError`` as above."""
    return _decode(io.BytesIO(data), len(data))


def to_recognizer_format(audio: Audio) -> Audio:
    """``audio`` as 16 kHz mono 16-bit; returned unchanged when it already is."""
    if audio.rate == RATE and audio.width == 2 and audio.channels == 1:
        return audio
    if audio.frames == 0:
        return Audio(b"", RATE)
    converter = _Converter(audio.rate, audio.width, audio.channels, "pcm")
    step = max(1, CHUNK_BYTES // converter.block) * converter.block
    view = memoryview(audio.samples)
    for start in range(0, len(view), step):
        converter.feed(view[start : start + step])
    return converter.finish()


def _decode(file: BinaryIO, size: int) -> Audio:
    """Check the header, then convert the samples chunk by chunk; ``WavError`` if unusable."""
    header = read_header(file, size)
    check_length(header)
    converter = _Converter(header.rate, header.width, header.channels, header.encoding)
    step = max(1, CHUNK_BYTES // header.block) * header.block
    file.seek(header.data_offset)
    remaining = header.data_bytes
    while remaining > 0:
        data = file.read(min(step, remaining))
        whole = len(data) - len(data) % header.block
        if whole:
            converter.feed(data[:whole])
        if whole < min(step, remaining):
            break  # the file shrank while it was read: keep the frames that were there
        remaining -= whole
    audio = converter.finish()
    if audio.frames == 0:
        raise WavError("no audio samples", "the file ended before its first frame")
    return audio


class _Converter:
    """Blocks of one sample format in, 16 kHz mono 16-bit out (mixed, resampled, rounded)."""

    def __init__(self, rate: int, width: int, channels: int, encoding: Encoding) -> None:
        if not MIN_RATE <= rate <= MAX_RATE:
            raise InputError(
                f"unsupported sample rate ({rate} Hz; {MIN_RATE} to {MAX_RATE} Hz is accepted)"
            )
        self.width, self.channels, self.encoding = width, channels, encoding
        self.block = width * channels
        self._resampler = Resampler(rate, RATE)
        self._parts: list[bytes] = []

    def feed(self, raw: bytes | memoryview) -> None:
        """Convert whole frames of raw little-endian samples."""
        frames = _float_frames(raw, self.width, self.channels, self.encoding)
        mono = frames.mean(axis=1) if self.channels > 1 else frames[:, 0]
        self._parts.append(int16_bytes(to_int16(self._resampler.process(mono))))

    def finish(self) -> Audio:
        """Everything converted, including the resampler's tail."""
        self._parts.append(int16_bytes(to_int16(self._resampler.flush())))
        return Audio(b"".join(self._parts), RATE)


def _float_frames(
    raw: bytes | memoryview, width: int, channels: int, encoding: Encoding
) -> Samples:
    """Samples in -1..1 shaped (frames, channels): 8-bit PCM is unsigned, NaN becomes 0."""
    if encoding == "float":
        values = np.frombuffer(raw, dtype="<f4" if width == 4 else "<f8").astype(np.float64)
        np.nan_to_num(values, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)
        np.clip(values, -1.0, 1.0, out=values)
    elif width == 1:
        values = (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) / 128.0
    elif width == 3:
        triples = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        joined = triples[:, 0] | (triples[:, 1] << 8) | (triples[:, 2] << 16)
        joined = np.where(joined >= 1 << 23, joined - (1 << 24), joined)
        values = joined.astype(np.float64) / float(1 << 23)
    else:
        dtype = {2: "<i2", 4: "<i4"}[width]
        values = np.frombuffer(raw, dtype=dtype).astype(np.float64) / float(1 << (8 * width - 1))
    return values.reshape(-1, channels)
