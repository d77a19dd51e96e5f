"""Text to speech (espeak-ng through pyttsx3) for English and Chinese."""

from .speaker import Speaker, choose_voice, default_speaker, split_sentences

__all__ = ["Speaker", "choose_voice", "default_speaker", "split_sentences"]
