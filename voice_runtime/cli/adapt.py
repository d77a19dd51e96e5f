"""`voice adapt --audio DIR --labels FILE [--noise FILE --snr clean 24 12 6] [--out DIR]`.

Adapts the English acoustic model to labelled recordings of the people and rooms a
project's speakers will hear (``speech/adapt.py``). What was said comes from the
recordings themselves: each is decoded as ``voice eval speech`` decodes it, and the
transcripts of those fully understood are what the model learns from (the labels
hold only intents and slots, not every word). With ``--noise`` each recording is
also learned mixed with that noise (``--snr``, default clean 24 12 6).

The model goes to ``models/acoustic/en/`` of the project, where every English
PocketSphinx recogniser of the project then loads it (``--out`` elsewhere, for
``voice eval speech --model``). Measure it on recordings it was not adapted on.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..audio.convert import load_audio
from ..audio.wav import Audio
from ..errors import InputError
from ..evaluation.adaptation import NOISY_SNRS, SEED, Learning, adapt_to
from ..evaluation.speech_eval import check_speech_labels, load_clips, load_labels
from ..speech.adapt import acoustic_dir
from ..speech.backends import recognizer_for
from ..speech.pocketsphinx_backend import bias_for
from .common import add_snr_arguments, build_assistant, project_of


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--audio", type=Path, required=True, help="folder with the recordings")
    parser.add_argument(
        "--labels", type=Path, required=True, help="their labels, as for 'voice eval speech'"
    )
    parser.add_argument("--noise", type=Path, default=None, help="noise to learn with too")
    add_snr_arguments(
        parser, "learn each recording at these SNRs (default with --noise: clean 24 12 6)"
    )
    parser.add_argument("--seed", type=int, default=SEED, help=f"noise seed (default: {SEED})")
    add_learning_arguments(parser)
    parser.add_argument(
        "--out", type=Path, default=None, help="where to write it (default: models/acoustic/en)"
    )


def add_learning_arguments(parser: argparse.ArgumentParser) -> None:
    """The options ``voice adapt`` and ``voice eval speech --cross-adapt`` share."""
    parser.add_argument(
        "--adapt-variances",
        action="store_true",
        help="adapt the variances too (sharper: measured worse in kitchen noise)",
    )


def learning_of(
    args: argparse.Namespace,
    noise: Audio | None,
    snrs: list[float | None] | None,
    seed: int = SEED,
) -> Learning:
    """How to learn, from the arguments: with ``noise`` at ``snrs`` (default clean,
    24, 12 and 6 dB) or clean alone, adapting the variances or not."""
    keep_variances = not args.adapt_variances
    if noise is None:
        if any(snr is not None for snr in snrs or ()):
            raise InputError("--snr with a level needs --noise (the noise to learn with)")
        return Learning(keep_variances=keep_variances)
    levels = tuple(snrs) if snrs else NOISY_SNRS
    return Learning(noise, levels, seed, args.snr_reference, keep_variances)


def run(args: argparse.Namespace) -> int:
    noise = load_audio(args.noise) if args.noise is not None else None
    learning = learning_of(args, noise, args.snr, args.seed)
    labels = load_labels(args.labels)
    clips = load_clips(args.audio, labels)
    project = project_of(args)
    assistant = build_assistant(args)
    check_speech_labels(labels, assistant.catalog)
    skills = assistant.catalog.skills
    recognizer = recognizer_for(project, "en", skills, backend="pocketsphinx")
    out = args.out or acoustic_dir(project.models_dir, "en")
    dictionary = bias_for(project, skills, "en").dict_path
    heard, adaptation = adapt_to(assistant, recognizer, clips, learning, dictionary, out)
    print(f"understood {heard}/{len(clips)} recordings: learned from their words")
    print(
        f"adapted the acoustic model on {adaptation.aligned}/{adaptation.clips} clips "
        f"({adaptation.audio_seconds:.0f} s of audio) in {adaptation.build_seconds:.0f} s"
    )
    print(f"wrote {out}")
    return 0
