"""`voice adapt --audio DIR --labels FILE [--noise FILE --snr clean 24 12 6] [--out DIR]`.

Adapts the English acoustic model to labelled recordings of the people and rooms a
project's speakers will hear (``speech/adapt.py``). What was said comes from the
recordings themselves: each is decoded as ``voice eval speech`` decodes it, and the
transcripts of those fully understood are what the model learns from (the labels
hold only intents and slots, not every word). With ``--noise`` each recording is
also learned mixed with that noise at each ``--snr``.

The model goes to ``models/acoustic/en/`` of the project, where every English
PocketSphinx recogniser of the project then loads it (``--out`` elsewhere, for
``voice eval speech --model``). Measure it on recordings it was not adapted on.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..audio.convert import load_audio, to_recognizer_format
from ..audio.floor import NoiseFloor
from ..audio.noise import REFERENCES, mix_at_snr
from ..errors import InputError
from ..evaluation.speech_eval import (
    Conditions,
    check_speech_labels,
    evaluate_speech,
    load_clips,
    load_labels,
)
from ..speech.adapt import AdaptationClip, acoustic_dir, adapt_model
from ..speech.backends import recognizer_for
from ..speech.pocketsphinx_backend import bias_for
from .common import build_assistant, project_of
from .eval import snr_value

SEED = 1000
"""Noise seeds of adaptation (seed + index), apart from the eval's (0 + index)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--audio", type=Path, required=True, help="folder with the recordings")
    parser.add_argument(
        "--labels", type=Path, required=True, help="their labels, as for 'voice eval speech'"
    )
    parser.add_argument("--noise", type=Path, default=None, help="noise to learn with (--snr)")
    parser.add_argument(
        "--snr",
        type=snr_value,
        nargs="+",
        default=None,
        metavar="DB",
        help="learn each recording at these SNRs: --snr clean 24 12 6 (default: clean)",
    )
    parser.add_argument(
        "--snr-reference", choices=REFERENCES, default="active", help="as for voice eval speech"
    )
    parser.add_argument("--seed", type=int, default=SEED, help=f"noise seed (default: {SEED})")
    parser.add_argument(
        "--adapt-variances",
        action="store_true",
        help="adapt the variances too (sharper: better in quiet, worse in loud noise)",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="where to write it (default: models/acoustic/en)"
    )


def run(args: argparse.Namespace) -> int:
    snrs: list[float | None] = list(args.snr) if args.snr else [None]
    if args.noise is None and any(snr is not None for snr in snrs):
        raise InputError("--snr with a level needs --noise (the noise to learn with)")
    labels = load_labels(args.labels)
    clips = load_clips(args.audio, labels)
    noise = load_audio(args.noise) if args.noise is not None else None
    project = project_of(args)
    assistant = build_assistant(args)
    check_speech_labels(labels, assistant.catalog)
    skills = assistant.catalog.skills
    recognizer = recognizer_for(project, "en", skills, backend="pocketsphinx")
    report = evaluate_speech(assistant, recognizer, clips, Conditions("en"))
    understood = [
        (clip, result.transcript.text)
        for clip, result in zip(clips, report.results, strict=True)
        if result.correct and result.transcript.text
    ]
    print(f"understood {len(understood)}/{len(clips)} recordings: learning from their words")
    training = []
    for index, (clip, words) in enumerate(understood):
        for snr in snrs:
            audio = (
                to_recognizer_format(clip.audio)
                if snr is None
                else mix_at_snr(clip.audio, noise, snr, args.seed + index, args.snr_reference)
            )
            pcm = NoiseFloor().add(audio.samples)  # as the recogniser hears it
            training.append(AdaptationClip(clip.label.file, pcm, words))
    out = args.out or acoustic_dir(project.models_dir, "en")
    dictionary = bias_for(project, skills, "en").dict_path
    adaptation = adapt_model(training, dictionary, out, keep_variances=not args.adapt_variances)
    print(
        f"adapted the acoustic model on {adaptation.aligned}/{adaptation.clips} clips "
        f"({adaptation.audio_seconds:.0f} s of audio) in {adaptation.build_seconds:.0f} s"
    )
    print(f"wrote {out}")
    return 0
