"""Audio in memory, WAV files and playback."""

from .playback import Player, speak
from .wav import Audio, read_wav, wav_bytes, write_wav

__all__ = ["Audio", "Player", "read_wav", "speak", "wav_bytes", "write_wav"]
