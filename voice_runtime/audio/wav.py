"""PCM audio in memory and 16-bit WAV files on disk (stdlib ``wave`` only)."""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import wave
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError


@dataclass(frozen=True)
class Audio:
    """Interleaved little-endian PCM samples (16-bit mono unless stated)."""

    samples: bytes
    rate: int
    width: int = 2
    channels: int = 1

    def __post_init__(self) -> None:
        """Reject shapes that no WAV file or sound card could hold."""
        if self.rate <= 0 or self.width not in (1, 2, 3, 4) or self.channels < 1:
            raise ValueError(
                f"invalid audio format: {self.rate} Hz, {self.width} bytes, {self.channels} ch"
            )
        if len(self.samples) % (self.width * self.channels):
            raise ValueError("audio samples do not hold a whole number of frames")

    @property
    def frames(self) -> int:
        """Number of sample frames (one sample per channel each)."""
        return len(self.samples) // (self.width * self.channels)

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.rate


def read_wav(path: str | os.PathLike[str]) -> Audio:
    """Read a PCM WAV file; any problem becomes a one-line ``InputError``."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"audio file not found: {path}") from None
    except OSError as exc:
        raise InputError(f"cannot read audio file {path}: {exc.strerror or exc}") from None
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise InputError(f"not a WAV file: {path}")
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            expected = wav.getnframes()
            audio = Audio(
                wav.readframes(expected), wav.getframerate(), wav.getsampwidth(), wav.getnchannels()
            )
    except (wave.Error, EOFError, ValueError) as exc:
        raise InputError(
            f"corrupt WAV file {path}: {str(exc) or 'unexpected end of file'}"
        ) from None
    if audio.frames < expected:
        raise InputError(f"truncated WAV file {path}: {audio.frames} of {expected} frames present")
    return audio


def wav_bytes(audio: Audio) -> bytes:
    """The complete WAV file for ``audio``."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(audio.channels)
        wav.setsampwidth(audio.width)
        wav.setframerate(audio.rate)
        wav.writeframes(audio.samples)
    return buffer.getvalue()


def write_wav(path: str | os.PathLike[str], audio: Audio) -> None:
    """Write ``audio`` atomically: a temporary file in the same folder, then ``os.replace``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        # os.open with 0o666 lets the umask decide the permissions, as a plain open() would.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with open(fd, "wb") as out:
            out.write(wav_bytes(audio))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write audio file {path}: {exc.strerror or exc}") from None
