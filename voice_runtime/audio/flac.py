"""FLAC files: the header read here, the samples decoded by ``sox`` into WAV bytes.

No FLAC decoder is in the lock (soundfile is not), and ``sox`` is already one of the
project's Debian packages (the Makefile's ``APT_PACKAGES``), so a FLAC file is judged
by its STREAMINFO block first (rate, channels, bits, length: a file of hours or a
rate nobody records at is refused before anything is decoded), then decoded by
``sox`` to 16-bit or 24-bit WAV in memory, which the one WAV parser then reads. Every
problem is a one-line ``WavError``.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import BinaryIO

from .wav import MAX_RATE, MAX_SECONDS, MIN_RATE, WavError, open_regular

MAGIC = b"fLaC"
DECODE_TIMEOUT = 60.0
"""Seconds ``sox`` may take for one file (a 10-minute file decodes in well under one)."""
_STREAMINFO = 0


@dataclass(frozen=True)
class FlacInfo:
    """What a FLAC file's STREAMINFO block says."""

    rate: int
    channels: int
    bits: int
    frames: int
    """Total samples per channel (0: the encoder did not know)."""

    @property
    def duration(self) -> float:
        return self.frames / self.rate


def read_streaminfo(file: BinaryIO) -> FlacInfo:
    """The STREAMINFO of a file positioned at its start; ``WavError`` if it is not FLAC."""
    head = file.read(4 + 4 + 34)
    if len(head) < 4 or head[:4] != MAGIC:
        raise WavError("not a FLAC file", "no fLaC marker")
    if len(head) < 42 or head[4] & 0x7F != _STREAMINFO:
        raise WavError("corrupt FLAC file", "no STREAMINFO block")
    info = int.from_bytes(head[18:26], "big")  # rate 20 bits, channels 3, bits 5, frames 36
    rate = info >> 44
    channels = ((info >> 41) & 0x7) + 1
    bits = ((info >> 36) & 0x1F) + 1
    frames = info & ((1 << 36) - 1)
    if not MIN_RATE <= rate <= MAX_RATE:
        raise WavError(
            "unsupported sample rate",
            f"{rate} Hz; files of {MIN_RATE} to {MAX_RATE} Hz are accepted",
        )
    if frames / rate > MAX_SECONDS:
        raise WavError("audio too long", f"{frames / rate:.0f} s; the limit is {MAX_SECONDS:.0f} s")
    return FlacInfo(rate, channels, bits, frames)


def decode_flac(data: bytes) -> bytes:
    """A whole FLAC file's bytes as a WAV file's bytes (16-bit, or 24-bit for deeper)."""
    info = read_streaminfo(io.BytesIO(data))
    binary = shutil.which("sox")
    if binary is None:
        raise WavError("cannot decode FLAC", "sox is not installed: apt-get install sox")
    bits = "16" if info.bits <= 16 else "24"
    try:
        done = subprocess.run(
            [binary, "-q", "-t", "flac", "-", "-t", "wav", "-e", "signed-integer", "-b", bits, "-"],
            input=data,
            capture_output=True,
            timeout=DECODE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise WavError("cannot decode FLAC", f"sox took over {DECODE_TIMEOUT:.0f} s") from None
    except OSError as exc:
        raise WavError("cannot decode FLAC", f"sox: {exc.strerror or exc}") from None
    if done.returncode != 0 or len(done.stdout) <= 44:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = reason[-1].removeprefix("sox FAIL ").strip() if reason else "no samples"
        raise WavError("corrupt FLAC file", detail or "sox could not decode it")
    return done.stdout


def open_audio_file(path: str | os.PathLike[str]) -> tuple[BinaryIO, int]:
    """A WAV or FLAC file as a readable WAV stream and its size; ``WavError`` if unusable.

    The one way files come in (``wav.read_wav``, ``convert.load_audio``): only
    regular files are opened (``open_regular``); a FLAC file, known by its marker, is
    checked by its header and decoded into memory; anything else is parsed as WAV.
    """
    file = open_regular(path)
    try:
        flac = file.read(4) == MAGIC
        file.seek(0)
        if not flac:
            return file, os.fstat(file.fileno()).st_size
        read_streaminfo(file)
        file.seek(0)
        data = file.read()
    except BaseException:
        file.close()
        raise
    file.close()
    wav = decode_flac(data)
    return io.BytesIO(wav), len(wav)
