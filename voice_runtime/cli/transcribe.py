"""`voice transcribe FILE.wav [--free] [--json]`: speech to text with PocketSphinx.

By default the recogniser is biased towards the installed skills' sentences (built
once and cached under models/asr/en/); --free uses the general English model.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..speech.convert import load_audio
from ..speech.pocketsphinx_backend import PocketSphinxRecognizer, bias_for
from ..speech.recognizer import Transcript
from .common import err, load_skills, project_of


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="WAV file (any rate, width, channels)")
    parser.add_argument(
        "--free", action="store_true", help="free dictation instead of the skills' sentences"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def recognizer(args: argparse.Namespace, free: bool = False) -> PocketSphinxRecognizer:
    """An English recogniser: skill-biased (compiled when stale) or free dictation."""
    if free:
        return PocketSphinxRecognizer()
    project = project_of(args)
    bias = bias_for(project, load_skills(project).skills)
    if bias.missing:
        err(f"no pronunciation for: {', '.join(bias.missing)} (sentences left out)")
    return PocketSphinxRecognizer(bias)


def describe(transcript: Transcript) -> str:
    """One line: the text, its confidence and the real-time factor."""
    confidence = "-" if transcript.confidence is None else f"{transcript.confidence:.2f}"
    text = transcript.text or "(nothing recognised)"
    return (
        f"{text}  [confidence {confidence}, {transcript.audio_seconds:.2f} s audio, "
        f"decoded in {transcript.decode_seconds:.2f} s, RTF {transcript.real_time_factor:.3f}]"
    )


def run(args: argparse.Namespace) -> int:
    audio = load_audio(args.file)
    transcript = recognizer(args, free=args.free).transcribe(audio)
    if args.json:
        print(json.dumps(transcript.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(describe(transcript))
    return 0
