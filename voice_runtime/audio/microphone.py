"""Microphone input as 16 kHz mono 16-bit chunks, from a sound card or from WAV files.

Everything reads through the small ``AudioSource`` protocol. ``Microphone`` opens a
sounddevice ``InputStream`` at the device's native rate; ``WavSource`` plays WAV files
(or ``Audio``) block by block into the very same ``BlockConverter.callback`` that the
sound card calls, so conversion, resampling and queueing run for real without a device.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from ..errors import AudioError, InputError
from .resample import Resampler, int16_bytes, pcm_frames, to_float, to_int16
from .wav import Audio, read_wav

SOURCE_RATE = 16000
CHUNK_FRAMES = 480  # 30 ms at 16 kHz

Mixdown = Literal["first", "mean"]


class AudioSource(Protocol):
    """16 kHz mono 16-bit little-endian audio, read in chunks."""

    def read(self, frames: int) -> bytes:
        """Block until ``frames`` frames are ready; fewer only at the end, ``b""`` after it."""
        ...

    def close(self) -> None:
        """Stop producing audio and release the device or thread behind it."""
        ...


def iter_chunks(source: AudioSource, frames: int = CHUNK_FRAMES) -> Iterator[bytes]:
    """The source's chunks of ``frames`` frames until it ends."""
    while chunk := source.read(frames):
        yield chunk


@dataclass(frozen=True)
class InputDevice:
    """A PortAudio device with input channels."""

    index: int
    name: str
    channels: int
    default_rate: int

    def describe(self) -> str:
        """``3 'USB Mic' (1 ch, 48000 Hz)``."""
        return f"{self.index} {self.name!r} ({self.channels} ch, {self.default_rate} Hz)"


class SampleQueue:
    """Thread-safe FIFO of 16 kHz int16 samples from the audio thread to the reader.

    When the reader falls more than ``max_seconds`` behind, the oldest samples are
    dropped (and counted in ``dropped``) so the audio thread never blocks.
    """

    def __init__(self, max_seconds: float = math.inf) -> None:
        """An empty, open queue."""
        self._limit = math.inf if math.isinf(max_seconds) else int(max_seconds * SOURCE_RATE)
        self._parts: deque[npt.NDArray[np.int16]] = deque()
        self._size = 0
        self._closed = False
        self._ready = threading.Condition()
        self.dropped = 0

    @property
    def size(self) -> int:
        """Samples waiting to be read."""
        return self._size

    @property
    def closed(self) -> bool:
        """True once the producer has finished."""
        return self._closed

    def put(self, samples: npt.NDArray[np.int16]) -> None:
        """Append samples (called from the audio thread)."""
        if not samples.size:
            return
        with self._ready:
            self._parts.append(samples)
            self._size += samples.size
            while self._size > self._limit:
                excess = int(self._size - self._limit)
                oldest = self._parts[0]
                if oldest.size <= excess:
                    self._parts.popleft()
                    self._size -= oldest.size
                    self.dropped += oldest.size
                else:
                    self._parts[0] = oldest[excess:]
                    self._size -= excess
                    self.dropped += excess
            self._ready.notify_all()

    def close(self) -> None:
        """Mark the end of the stream; readers get what is left, then ``b""``."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    def take(self, frames: int, timeout: float | None = None) -> bytes | None:
        """Up to ``frames`` samples, waiting for all of them unless the stream has ended.

        Returns None when ``timeout`` seconds pass first.
        """
        with self._ready:
            if not self._ready.wait_for(lambda: self._size >= frames or self._closed, timeout):
                return None
            return self._pop(min(frames, self._size))

    def _pop(self, frames: int) -> bytes:
        """Remove ``frames`` samples from the front (the lock is held)."""
        out: list[npt.NDArray[np.int16]] = []
        needed = frames
        while needed:
            part = self._parts[0]
            if part.size <= needed:
                out.append(self._parts.popleft())
                needed -= part.size
            else:
                out.append(part[:needed])
                self._parts[0] = part[needed:]
                needed = 0
        self._size -= frames
        return int16_bytes(np.concatenate(out)) if out else b""


class BlockConverter:
    """The code a sound card calls: native-rate blocks in, 16 kHz mono int16 out.

    ``callback`` has sounddevice's ``InputStream`` callback signature and accepts the
    arrays it delivers (``(frames, channels)`` of int16, int32, uint8 or float32) or raw
    bytes in ``dtype`` (as a ``RawInputStream`` passes them).
    """

    def __init__(
        self,
        rate: int,
        sink: SampleQueue,
        *,
        channels: int = 1,
        dtype: str = "int16",
        mixdown: Mixdown = "first",
    ) -> None:
        """Convert blocks at ``rate`` Hz into ``sink``; ``mixdown`` picks channel 0 or the mean."""
        self._resampler = Resampler(rate, SOURCE_RATE)
        self._sink = sink
        self._channels = channels
        self._dtype = np.dtype(dtype)
        self._mixdown = mixdown
        self.status_errors = 0  # blocks the driver flagged (overflow and the like)

    def callback(self, indata: Any, frames: int, time: object, status: object) -> None:
        """Convert one block; ``time`` is unused and a true ``status`` is counted."""
        if status:
            self.status_errors += 1
        if isinstance(indata, np.ndarray):
            block: npt.NDArray[Any] = indata
        else:
            block = np.frombuffer(indata, dtype=self._dtype)
        block = block.reshape(block.shape[0], -1) if block.ndim > 1 else block.reshape(-1, 1)
        block = block[:frames]
        samples = to_float(block)
        mono = samples[:, 0] if self._mixdown == "first" else samples.mean(axis=1)
        self._sink.put(to_int16(self._resampler.process(mono)))

    def finish(self) -> None:
        """Pass on the resampler's last samples (call once, after the last block)."""
        self._sink.put(to_int16(self._resampler.flush()))


# ---------------------------------------------------------------- sound card


def _sounddevice() -> Any:
    """The sounddevice module, or ``AudioError`` saying why it cannot be used."""
    try:
        import sounddevice
    except ImportError:
        raise AudioError(
            "no microphone found; the sounddevice package is missing (pip install sounddevice)"
        ) from None
    except OSError:
        raise AudioError(
            "no microphone found; PortAudio is missing (apt-get install libportaudio2)"
        ) from None
    return sounddevice


def _query_inputs() -> tuple[list[InputDevice], int | None]:
    """Input devices and the default input index (None when there is none)."""
    sd = _sounddevice()
    devices = [
        InputDevice(
            index=index,
            name=str(info["name"]),
            channels=int(info["max_input_channels"]),
            default_rate=round(float(info["default_samplerate"])),
        )
        for index, info in enumerate(sd.query_devices())
        if int(info["max_input_channels"]) > 0
    ]
    default = sd.default.device[0]
    return devices, (int(default) if default is not None and int(default) >= 0 else None)


def list_input_devices() -> list[InputDevice]:
    """Every device with input channels; empty when PortAudio is missing or sees none."""
    try:
        return _query_inputs()[0]
    except AudioError:
        return []


def select_input_device(
    devices: list[InputDevice], wanted: int | str | None, default: int | None = None
) -> InputDevice:
    """The device to record from: by index, by name (substring), or the default.

    Raises ``AudioError`` with one line listing the available devices.
    """
    if not devices:
        asked = "" if wanted is None else f" (asked for device {wanted!r})"
        raise AudioError(
            f"no microphone found; sounddevice lists no input device{asked}; "
            "connect one or read a WAV file instead"
        )
    listing = "available input devices: " + "; ".join(d.describe() for d in devices)
    if wanted is None:
        return next((d for d in devices if d.index == default), devices[0])
    if isinstance(wanted, int):
        for device in devices:
            if device.index == wanted:
                return device
        raise AudioError(f"input device {wanted} not found; {listing}")
    matches = [d for d in devices if wanted.lower() in d.name.lower()]
    if len(matches) != 1:
        problem = "matches no input device" if not matches else "matches several devices"
        raise AudioError(f"input device name {wanted!r} {problem}; {listing}")
    return matches[0]


class Microphone:
    """A sound-card input as an ``AudioSource`` of 16 kHz mono 16-bit chunks.

    The device is chosen (and checked) at construction; the stream opens on ``start``
    or the first ``read``, at the device's native rate, mono (or its first channel).
    """

    def __init__(
        self,
        device: int | str | None = None,
        *,
        block_ms: float = 20.0,
        max_buffer_s: float = 10.0,
        read_timeout: float = 2.0,
    ) -> None:
        """Pick ``device`` (index, name part, or the default); ``AudioError`` when missing."""
        devices, default = _query_inputs()
        self.device = select_input_device(devices, device, default)
        self._block_ms = block_ms
        self._read_timeout = read_timeout
        self._queue = SampleQueue(max_buffer_s)
        self._converter: BlockConverter | None = None
        self._stream: Any = None

    @property
    def dropped_frames(self) -> int:
        """16 kHz frames lost because the reader fell behind."""
        return self._queue.dropped

    def start(self) -> None:
        """Open and start the input stream (once)."""
        if self._stream is not None or self._queue.closed:
            return
        sd = _sounddevice()
        rate = self.device.default_rate
        blocksize = max(int(rate * self._block_ms / 1000), 1)
        problem: Exception | None = None
        # Mono where the device allows it, else all its channels and keep the first.
        for channels in dict.fromkeys((1, self.device.channels)):
            converter = BlockConverter(rate, self._queue, channels=channels, mixdown="first")
            try:
                stream = sd.InputStream(
                    device=self.device.index,
                    samplerate=rate,
                    channels=channels,
                    dtype="int16",
                    blocksize=blocksize,
                    callback=converter.callback,
                )
                stream.start()
            except sd.PortAudioError as exc:
                problem = exc
                continue
            self._converter, self._stream = converter, stream
            return
        raise AudioError(f"cannot open microphone {self.device.describe()}: {problem}")

    def read(self, frames: int) -> bytes:
        """The next ``frames`` frames; ``AudioError`` when the device goes silent."""
        if self._queue.closed and not self._queue.size:
            return b""
        self.start()
        chunk = self._queue.take(frames, self._read_timeout)
        if chunk is None:
            raise AudioError(
                f"microphone {self.device.name!r} delivered no audio for {self._read_timeout:g} s"
            )
        return chunk

    def chunks(self, frames: int = CHUNK_FRAMES) -> Iterator[bytes]:
        """Chunks of ``frames`` frames until ``close``."""
        return iter_chunks(self, frames)

    def close(self) -> None:
        """Stop and close the stream; later reads return what was left, then ``b""``."""
        stream, self._stream = self._stream, None
        if stream is not None:
            sd = _sounddevice()
            self._queue.close()
            try:
                stream.stop()
                stream.close()
            except sd.PortAudioError as exc:
                raise AudioError(f"cannot close microphone {self.device.name!r}: {exc}") from exc
        self._queue.close()

    def __enter__(self) -> Microphone:
        """Start recording."""
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        """Stop recording."""
        self.close()


# ---------------------------------------------------------------- WAV files


class WavSource:
    """WAV files (or ``Audio``) played, one after another, as if from a sound card.

    Blocks of ``block_ms`` at the file's own rate and sample type go through
    ``BlockConverter.callback`` exactly as a ``Microphone`` stream's blocks do. With
    ``realtime`` a thread paces them like a device (and old audio is dropped when the
    reader falls ``max_buffer_s`` behind); without it blocks are converted on demand.
    """

    def __init__(
        self,
        *audio: Audio | str | os.PathLike[str],
        realtime: bool = False,
        block_ms: float = 20.0,
        max_buffer_s: float = 10.0,
    ) -> None:
        """Read every file now, so a bad one raises ``InputError`` here."""
        if not audio:
            raise InputError("no audio to play: WavSource needs at least one WAV file")
        self._items = [item if isinstance(item, Audio) else read_wav(item) for item in audio]
        self._block_ms = block_ms
        self._realtime = realtime
        self._queue = SampleQueue(max_buffer_s if realtime else math.inf)
        self._steps = self._play()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.status_errors = 0

    @property
    def dropped_frames(self) -> int:
        """16 kHz frames lost because a real-time reader fell behind."""
        return self._queue.dropped

    def _play(self) -> Iterator[float]:
        """Feed one block per step; yields each block's duration in seconds."""
        for audio in self._items:
            blocks = pcm_frames(audio.samples, audio.width, audio.channels)
            converter = BlockConverter(audio.rate, self._queue, mixdown="mean")
            size = max(int(audio.rate * self._block_ms / 1000), 1)
            for first in range(0, len(blocks), size):
                block = blocks[first : first + size]
                converter.callback(block, len(block), None, None)
                yield len(block) / audio.rate
            converter.finish()
            self.status_errors += converter.status_errors
        self._queue.close()

    def _pace(self) -> None:
        """The real-time thread: one block per block duration, like a sound card."""
        deadline = time.monotonic()
        for seconds in self._steps:
            deadline += seconds
            if self._stop.wait(max(deadline - time.monotonic(), 0.0)):
                break
        self._queue.close()

    def start(self) -> None:
        """Start the real-time thread (reads start it too); nothing to do otherwise."""
        if self._realtime and self._thread is None and not self._stop.is_set():
            self._thread = threading.Thread(target=self._pace, name="wav-source", daemon=True)
            self._thread.start()

    def read(self, frames: int) -> bytes:
        """The next ``frames`` frames; fewer at the end of the last file, then ``b""``."""
        if self._realtime:
            self.start()
        else:
            while self._queue.size < frames and not self._queue.closed:
                next(self._steps, None)
        return self._queue.take(frames) or b""

    def chunks(self, frames: int = CHUNK_FRAMES) -> Iterator[bytes]:
        """Chunks of ``frames`` frames until the last file ends."""
        return iter_chunks(self, frames)

    def close(self) -> None:
        """Stop playing; later reads return what was already converted, then ``b""``."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._queue.close()

    def __enter__(self) -> WavSource:
        """Nothing to open."""
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        """Stop playing."""
        self.close()
