"""Calibrate a fresh recogniser with a few seconds of synthesized speech.

A cold PocketSphinx decoder starts from the model's default cepstral mean and
mishears its first utterances ("open baking class" -> "the keep was",
"hey assistant" -> "to the sea"); a sentence of speech settles it.
"""

from __future__ import annotations

from ..tts.speaker import Speaker
from .recognizer import Recognizer

CALIBRATION = {
    "en": "hey assistant, please open the class and tell me what I can say.",
    "zh": "你好助手，请打开课堂，告诉我可以说什么。",
}


def calibrate(recognizer: Recognizer, speaker: Speaker | None = None) -> Recognizer:
    """Let `recognizer` adapt to speech before its first real utterance; returns it."""
    language = recognizer.language
    if language in CALIBRATION:
        voice = speaker or Speaker()
        recognizer.calibrate(voice.synthesize(CALIBRATION[language], language))
    return recognizer
