"""PCM audio in memory, and WAV files on disk read without trusting them.

Only regular files are opened: a FIFO, a device such as ``/dev/zero`` or a directory
is refused before anything is read, so nothing hangs. The header is parsed chunk by
chunk from the file (``read_header``), and its sample rate and duration are checked
before a single sample is read, so a hostile or huge file costs neither time nor
memory. Every problem is a one-line ``InputError``.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import stat
import struct
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from ..errors import InputError

MIN_RATE = 4000
"""Lowest sample rate accepted from a file (telephone audio is 8000 Hz)."""
MAX_RATE = 192000
"""Highest sample rate accepted from a file (studio audio goes up to 192 kHz)."""
MAX_SECONDS = 600.0
"""Longest audio accepted from a file (a spoken command lasts seconds, not hours)."""
MAX_CHUNKS = 1000
"""Chunks looked at before the 'data' chunk (real files have a handful)."""
MAX_FMT_BYTES = 1024
"""Bytes of a 'fmt ' chunk that are read (no real one has more than 40)."""

_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE
_WIDTHS = {8: 1, 16: 2, 24: 3, 32: 4, 64: 8}

Encoding = Literal["pcm", "float"]


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


class WavError(InputError):
    """A WAV file that cannot be used: a short ``summary`` and an optional ``detail``.

    ``str()`` is ``summary (detail)``; ``at(path)`` puts the file's name in front.
    """

    def __init__(self, summary: str, detail: str = "") -> None:
        self.summary = summary
        self.detail = detail
        super().__init__(f"{summary} ({detail})" if detail else summary)

    def at(self, path: str | os.PathLike[str]) -> InputError:
        """``<path>: <summary> (<detail>)``, the form the command line prints."""
        return InputError(f"{path}: {self}")


@dataclass(frozen=True)
class WavHeader:
    """A WAV file's format and where its samples are, checked against the file's size."""

    encoding: Encoding
    channels: int
    rate: int
    width: int
    """Bytes per sample: 1 (unsigned), 2, 3 or 4 (signed) for PCM; 4 or 8 for float."""
    data_offset: int
    data_bytes: int
    """Bytes of whole frames present in the file (a truncated chunk keeps what is there)."""
    declared_frames: int
    """Frames the 'data' chunk's size claims (more than ``frames`` when truncated)."""

    @property
    def block(self) -> int:
        """Bytes per frame."""
        return self.width * self.channels

    @property
    def frames(self) -> int:
        """Frames present in the file."""
        return self.data_bytes // self.block

    @property
    def duration(self) -> float:
        """Seconds of audio present in the file."""
        return self.frames / self.rate


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """``path`` opened for binary reading; ``WavError`` unless it is a readable regular file.

    The file is opened without blocking and checked with ``fstat`` before any read,
    so a FIFO (which would wait for a writer), a device or a directory is refused at once.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise WavError("audio file not found") from None
    except IsADirectoryError:
        raise WavError("not a WAV file", "a directory") from None
    except OSError as exc:
        raise WavError("cannot read audio file", str(exc.strerror or exc)) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise WavError("not a WAV file", f"{_kind(mode)}, not a regular file")
        return open(fd, "rb", closefd=True)
    except BaseException:
        os.close(fd)
        raise


def _kind(mode: int) -> str:
    """What a non-regular file is, for an error message."""
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "a special file")


def read_header(file: BinaryIO, size: int) -> WavHeader:
    """Parse the RIFF/WAVE header of ``file`` (``size`` bytes long) without reading samples.

    Reads at most ``MAX_CHUNKS`` chunk headers and ``MAX_FMT_BYTES`` of the format chunk,
    seeking over everything else, and stops at the 'data' chunk. Raises ``WavError``
    for anything but integer PCM (8 to 32 bits) or float (32/64 bits) at ``MIN_RATE`` to
    ``MAX_RATE`` Hz; the duration and emptiness are for the caller to judge.
    """
    head = file.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise WavError("not a WAV file", "no RIFF/WAVE header")
    fmt: bytes | None = None
    position = 12
    for _ in range(MAX_CHUNKS):
        file.seek(position)
        chunk = file.read(8)
        if len(chunk) < 8:
            break
        chunk_id, (chunk_size,) = chunk[:4], struct.unpack("<I", chunk[4:])
        if chunk_id == b"fmt ":
            fmt = file.read(min(chunk_size, MAX_FMT_BYTES))
        elif chunk_id == b"data":
            if fmt is None or len(fmt) < 16:
                break
            return _header(fmt, position + 8, chunk_size, size)
        position += 8 + chunk_size + (chunk_size & 1)
    else:
        raise WavError("corrupt WAV file", f"no 'data' chunk in its first {MAX_CHUNKS} chunks")
    if fmt is None or len(fmt) < 16:
        raise WavError("corrupt WAV file", "no valid 'fmt ' chunk")
    raise WavError("corrupt WAV file", "no 'data' chunk")


def _header(fmt: bytes, offset: int, declared: int, size: int) -> WavHeader:
    """The checked header from a 'fmt ' chunk's bytes and where the 'data' chunk is."""
    tag, channels, rate, _, block, bits = struct.unpack_from("<HHIIHH", fmt)
    if tag == _EXTENSIBLE and len(fmt) >= 26:
        (tag,) = struct.unpack_from("<H", fmt, 24)  # first two bytes of the sub-format GUID
    if channels < 1:
        raise WavError("corrupt WAV file", "0 channels")
    if bits not in _WIDTHS:
        raise WavError("unsupported WAV format", f"{bits} bits per sample")
    if not MIN_RATE <= rate <= MAX_RATE:
        raise WavError(
            "unsupported sample rate",
            f"{rate} Hz; WAV files of {MIN_RATE} to {MAX_RATE} Hz are accepted",
        )
    width = _WIDTHS[bits]
    if block != width * channels:
        raise WavError("corrupt WAV file", f"block size {block} for {channels} x {bits} bits")
    if tag == _PCM and bits != 64:
        encoding: Encoding = "pcm"
    elif tag == _FLOAT and bits in (32, 64):
        encoding = "float"
    else:
        raise WavError(
            "unsupported WAV encoding", f"format tag {tag}, {bits} bits: use PCM or float samples"
        )
    present = max(0, min(declared, size - offset))
    return WavHeader(
        encoding, channels, rate, width, offset, present - present % block, declared // block
    )


def check_length(header: WavHeader, max_seconds: float = MAX_SECONDS) -> None:
    """``WavError`` when the file holds no sample or more than ``max_seconds`` of audio."""
    if header.duration > max_seconds:
        raise WavError(
            "audio too long", f"{header.duration:.0f} s; the limit is {max_seconds:.0f} s"
        )
    if header.frames == 0:
        detail = (
            "the data chunk is empty"
            if header.declared_frames == 0
            else f"the file ends before the first of {header.declared_frames} frames"
        )
        raise WavError("no audio samples", detail)


def read_wav(path: str | os.PathLike[str]) -> Audio:
    """Read an integer PCM WAV (or a FLAC) file as it is (any rate, width and channels).

    Any problem becomes a one-line ``InputError`` of the form ``<problem>: <path>
    (<detail>)``: a missing, special or unreadable file, a header that is not WAV,
    float samples, a rate outside ``MIN_RATE`` .. ``MAX_RATE``, more than
    ``MAX_SECONDS`` of audio, or fewer frames than the header declares.
    """
    from .flac import open_audio_file  # flac reads its header with this module's parts

    try:
        file, size = open_audio_file(path)
        with file:
            header = read_header(file, size)
            if header.encoding != "pcm":
                raise WavError("unsupported WAV encoding", "float samples: use integer PCM")
            if header.duration > MAX_SECONDS:
                check_length(header)
            file.seek(header.data_offset)
            samples = file.read(header.data_bytes)
    except WavError as exc:
        where = f"{exc.summary}: {path}"
        raise InputError(f"{where} ({exc.detail})" if exc.detail else where) from None
    except OSError as exc:
        raise InputError(f"cannot read audio file {path}: {exc.strerror or exc}") from None
    audio = Audio(
        samples[: len(samples) - len(samples) % header.block],
        header.rate,
        header.width,
        header.channels,
    )
    if audio.frames < header.declared_frames:
        raise InputError(
            f"truncated WAV file {path}: {audio.frames} of {header.declared_frames} frames present"
        )
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
