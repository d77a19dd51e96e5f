"""Any PCM or float WAV -> the 16 kHz mono 16-bit audio speech recognisers expect.

``wave`` in Python 3.11 reads only plain integer PCM, so WAV files are parsed here
chunk by chunk: integer PCM of 8 to 32 bits, 32/64-bit float, and
WAVE_FORMAT_EXTENSIBLE (what sox writes for 24-bit or multichannel audio).
Every problem with a file is a one-line ``InputError``.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ..audio.wav import Audio
from ..errors import InputError

RATE = 16000
"""The sample rate every recogniser in this package is fed."""

_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE
MAX_SECONDS = 600.0
"""Longest audio accepted (a spoken command lasts seconds, not hours)."""

Samples = npt.NDArray[np.float64]


def load_audio(path: str | os.PathLike[str]) -> Audio:
    """Read a WAV file of any common format and return it as 16 kHz mono 16-bit."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"audio file not found: {path}") from None
    except IsADirectoryError:
        raise InputError(f"not a WAV file: {path} is a directory") from None
    except OSError as exc:
        raise InputError(f"cannot read audio file {path}: {exc.strerror or exc}") from None
    try:
        samples, rate = decode_wav(data)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    return _to_audio(samples, rate)


def to_recognizer_format(audio: Audio) -> Audio:
    """``audio`` as 16 kHz mono 16-bit; returned unchanged when it already is."""
    if audio.rate == RATE and audio.width == 2 and audio.channels == 1:
        return audio
    samples = _integer_samples(audio.samples, audio.width, audio.channels)
    return _to_audio(samples, audio.rate)


def decode_wav(data: bytes) -> tuple[Samples, int]:
    """Samples in -1..1, shaped (frames, channels), and the rate of a WAV file's bytes."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise InputError("not a WAV file (no RIFF/WAVE header)")
    fmt: bytes | None = None
    body: bytes | None = None
    position = 12
    while position + 8 <= len(data):
        chunk_id = data[position : position + 4]
        (size,) = struct.unpack_from("<I", data, position + 4)
        content = data[position + 8 : position + 8 + size]
        if chunk_id == b"fmt ":
            fmt = content
        elif chunk_id == b"data":
            body = content  # a truncated data chunk keeps the frames that are there
            break
        position += 8 + size + (size & 1)
    if fmt is None or len(fmt) < 16:
        raise InputError("corrupt WAV file: no valid 'fmt ' chunk")
    if body is None:
        raise InputError("corrupt WAV file: no 'data' chunk")
    tag, channels, rate, _, block, bits = struct.unpack_from("<HHIIHH", fmt)
    if tag == _EXTENSIBLE and len(fmt) >= 26:
        (tag,) = struct.unpack_from("<H", fmt, 24)  # first two bytes of the sub-format GUID
    if channels < 1 or rate < 1000 or bits not in (8, 16, 24, 32, 64):
        raise InputError(f"unsupported WAV format: {channels} ch, {rate} Hz, {bits} bits")
    width = bits // 8
    if block != width * channels:
        raise InputError(f"corrupt WAV file: block size {block} for {channels} x {bits} bits")
    body = body[: len(body) - len(body) % block]
    if tag == _PCM and bits != 64:
        return _integer_samples(body, width, channels), rate
    if tag == _FLOAT and bits in (32, 64):
        floats = np.frombuffer(body, dtype="<f4" if bits == 32 else "<f8")
        return np.clip(floats.astype(np.float64), -1.0, 1.0).reshape(-1, channels), rate
    raise InputError(f"unsupported WAV encoding (format tag {tag}): use PCM or float samples")


def _integer_samples(raw: bytes, width: int, channels: int) -> Samples:
    """Little-endian integer PCM (8-bit is unsigned) as floats in -1..1, (frames, channels)."""
    if width == 1:
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


def resample(mono: Samples, rate: int, target: int = RATE) -> Samples:
    """Band-limited resampling of a whole clip through the FFT (no aliasing)."""
    if rate == target or mono.size == 0:
        return mono
    frames = int(round(mono.size * target / rate))
    spectrum = np.fft.rfft(mono)
    keep = frames // 2 + 1
    if keep <= spectrum.size:
        spectrum = spectrum[:keep]
    else:
        spectrum = np.concatenate([spectrum, np.zeros(keep - spectrum.size, spectrum.dtype)])
    result: Samples = np.fft.irfft(spectrum, n=frames) * (frames / mono.size)
    return result


def _to_audio(samples: Samples, rate: int) -> Audio:
    """Mix to mono, resample to ``RATE`` and quantise to 16 bits."""
    if samples.shape[0] / rate > MAX_SECONDS:
        raise InputError(
            f"audio too long ({samples.shape[0] / rate:.0f} s; the limit is {MAX_SECONDS:.0f} s)"
        )
    mono = samples.mean(axis=1) if samples.shape[1] > 1 else samples[:, 0]
    mono = resample(mono, rate)
    pcm = np.clip(np.round(mono * 32767.0), -32768, 32767).astype("<i2")
    return Audio(pcm.tobytes(), RATE)
