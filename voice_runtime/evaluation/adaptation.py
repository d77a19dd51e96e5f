"""Adapting the acoustic model to labelled recordings, and measuring it honestly.

``voice adapt`` and ``voice eval speech --cross-adapt K`` share these steps:

- what was said in each recording comes from the recording itself: it is decoded as
  ``voice eval speech`` decodes it, and the transcripts of those fully understood
  (intent and every slot) are what the model learns (labels hold no other words);
- each of those is learned clean and, with a noise file, mixed in at each SNR, with
  noise seeds apart from the eval's (``SEED`` + index);
- a model adapted on recordings and scored on the same ones says too much: with
  ``cross_folds`` every recording is scored by a model adapted on the others only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..audio.convert import to_recognizer_format
from ..audio.floor import NoiseFloor
from ..audio.noise import Reference, mix_at_snr
from ..audio.wav import Audio
from ..dialog.router import Assistant
from ..speech.adapt import Adaptation, AdaptationClip, adapt_model
from ..speech.recognizer import Recognizer
from .speech_eval import Clip, Conditions, evaluate_speech

SEED = 1000
"""Noise seeds of adaptation (``SEED`` + index), apart from the eval's (0 + index)."""
NOISY_SNRS: tuple[float | None, ...] = (None, 24.0, 12.0, 6.0)
"""What a recording is learned as when a noise is given: clean and at these SNRs."""


@dataclass(frozen=True)
class Learning:
    """How to turn understood recordings into adaptation clips."""

    noise: Audio | None = None
    snrs: tuple[float | None, ...] = (None,)
    seed: int = SEED
    reference: Reference = "active"
    keep_variances: bool = True


def understood(
    assistant: Assistant, recognizer: Recognizer, clips: Sequence[Clip]
) -> list[tuple[Clip, str]]:
    """The clips fully understood when heard clean, with the words heard in each."""
    report = evaluate_speech(assistant, recognizer, clips, Conditions(recognizer.language))
    return [
        (clip, result.transcript.text)
        for clip, result in zip(clips, report.results, strict=True)
        if result.correct and result.transcript.text
    ]


def training_clips(heard: Sequence[tuple[Clip, str]], learning: Learning) -> list[AdaptationClip]:
    """Every understood clip at every SNR of ``learning``, as the recogniser hears it."""
    clips = []
    for index, (clip, words) in enumerate(heard):
        for snr in learning.snrs:
            audio = (
                to_recognizer_format(clip.audio)
                if snr is None
                else mix_at_snr(
                    clip.audio, learning.noise, snr, learning.seed + index, learning.reference
                )
            )
            pcm = NoiseFloor().add(audio.samples)  # the floor every recogniser adds
            clips.append(AdaptationClip(clip.label.file, pcm, words))
    return clips


def adapt_to(
    assistant: Assistant,
    recognizer: Recognizer,
    clips: Sequence[Clip],
    learning: Learning,
    dictionary: Path,
    out: Path,
) -> tuple[int, Adaptation]:
    """Adapt a model on ``clips`` into ``out``; (clips understood, what was built)."""
    heard = understood(assistant, recognizer, clips)
    training = training_clips(heard, learning)
    return len(heard), adapt_model(training, dictionary, out, learning.keep_variances)


def cross_folds(count: int, folds: int) -> list[tuple[list[int], list[int]]]:
    """(learn on, score on) as clip indices, one pair per fold: fold k scores every
    ``folds``-th clip from the k-th and learns from all the others."""
    return [
        (
            [index for index in range(count) if index % folds != fold],
            list(range(fold, count, folds)),
        )
        for fold in range(folds)
    ]
