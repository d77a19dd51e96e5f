"""Audio in memory, WAV files and playback."""

from .playback import Player
from .wav import Audio, read_wav, wav_bytes, write_wav

__all__ = ["Audio", "Player", "read_wav", "wav_bytes", "write_wav"]
