"""Speech to text: a recogniser interface, PocketSphinx, and skill-biased language models."""

from __future__ import annotations

from ..audio.convert import RATE, load_audio, to_recognizer_format
from .bias import BiasModel, compile_bias
from .pocketsphinx_backend import PocketSphinxRecognizer, bias_for, check_language
from .recognizer import Recognizer, Transcript, voiced_seconds

__all__ = [
    "RATE",
    "BiasModel",
    "PocketSphinxRecognizer",
    "Recognizer",
    "Transcript",
    "bias_for",
    "check_language",
    "compile_bias",
    "load_audio",
    "to_recognizer_format",
    "voiced_seconds",
]
