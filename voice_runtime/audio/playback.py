"""Play audio through the default output device (sounddevice / PortAudio)."""

from __future__ import annotations

from ..errors import AudioError
from .wav import Audio

# sounddevice dtype for each sample width in bytes (8-bit WAV samples are unsigned).
_DTYPES = {1: "uint8", 2: "int16", 3: "int24", 4: "int32"}


def _output_problem() -> str | None:
    """None when PortAudio has a default output device, else the reason it has none."""
    try:
        import sounddevice
    except ImportError:
        return "the sounddevice package is missing (pip install sounddevice)"
    except OSError:
        return "PortAudio is missing (apt-get install libportaudio2)"
    try:
        device = sounddevice.query_devices(kind="output")
    except sounddevice.PortAudioError:
        return "sounddevice lists no output device"
    if device["max_output_channels"] < 1:
        return f"default device {device['name']!r} has no output channels"
    return None


class Player:
    """Plays ``Audio`` on the default output device, if the machine has one.

    The device check runs once, on first use. Without a device ``available`` is False
    and ``play`` raises ``AudioError`` with one line to show the user.
    """

    def __init__(self) -> None:
        """Nothing is probed until ``available`` or ``play`` is used."""
        self._checked = False
        self._problem: str | None = None

    @property
    def available(self) -> bool:
        """True when a default output device exists."""
        return self._missing() is None

    def _missing(self) -> str | None:
        """Why there is no output device (None when there is one); probed once."""
        if not self._checked:
            self._problem = _output_problem()
            self._checked = True
        return self._problem

    def require(self) -> None:
        """Raise ``AudioError("no audio output device; ...")`` unless one is available."""
        problem = self._missing()
        if problem is not None:
            raise AudioError(f"no audio output device; speech output is off ({problem})")

    def play(self, audio: Audio) -> None:
        """Play ``audio`` and return when it has been heard."""
        self.require()
        import sounddevice

        try:
            with sounddevice.RawOutputStream(
                samplerate=audio.rate, channels=audio.channels, dtype=_DTYPES[audio.width]
            ) as stream:
                stream.write(audio.samples)
        except sounddevice.PortAudioError as exc:
            raise AudioError(f"audio playback failed: {exc}") from exc
