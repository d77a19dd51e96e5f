"""`voice transcribe FILE.wav [--free] [--json] [--lang]`: speech to text.

By default the recogniser is biased towards the installed skills' sentences (built
once and cached under models/bias/<lang>/); --free is unbiased dictation.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..audio.convert import load_audio
from ..speech.backends import recognizer_for
from ..speech.calibrate import calibrate
from ..speech.recognizer import Recognizer, Transcript
from .common import add_language, load_skills, project_of


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="WAV file (any rate, width, channels)")
    parser.add_argument(
        "--free", action="store_true", help="free dictation instead of the skills' sentences"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    add_language(parser)


def recognizer(args: argparse.Namespace, language: str = "en", free: bool = False) -> Recognizer:
    """The recogniser for a language: Vosk when its model is installed, else PocketSphinx
    (English); skill-biased (compiled when stale) unless `free`."""
    project = project_of(args)
    skills = [] if free else load_skills(project).skills
    return calibrate(recognizer_for(project, language, skills, free=free))


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
    transcript = recognizer(args, args.lang or "en", free=args.free).transcribe(audio)
    if args.json:
        print(json.dumps(transcript.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(describe(transcript))
    return 0
