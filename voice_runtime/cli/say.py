"""`voice say "text" [--lang zh] --out reply.wav`: speech synthesis to a WAV file."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..audio.wav import write_wav
from ..languages import detect_language
from ..tts.speaker import Speaker
from .common import add_language


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", help="what to say")
    add_language(parser)
    parser.add_argument("--out", type=Path, required=True, help="WAV file to write")


def run(args: argparse.Namespace) -> int:
    language = args.lang or detect_language(args.text)
    audio = Speaker().synthesize(args.text, language)
    write_wav(args.out, audio)
    print(f"wrote {args.out} ({audio.duration:.2f} s, {audio.rate} Hz, {language})")
    return 0
