"""`voice ask FILE.wav [--out reply.wav] [--json] [--lang en]`: a spoken request, answered.

The recording is transcribed with the skill-biased recogniser, understood and
routed like typed text, and the answer is printed (and spoken to --out).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..audio.convert import load_audio
from ..audio.wav import Audio, write_wav
from ..spoken import speech_audio, spoken_turn_sync
from ..tts.speaker import Speaker
from .common import build_household, err, local_device
from .transcribe import describe, recognizer


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="WAV file with the spoken request")
    parser.add_argument("--out", type=Path, default=None, help="write the spoken reply here")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "--lang", choices=["en", "zh"], default="en", help="language spoken (default: en)"
    )


def run(args: argparse.Namespace) -> int:
    language = args.lang or "en"
    audio = load_audio(args.file)
    transcript = recognizer(args, language).transcribe(audio)
    if transcript.empty:
        err(f"no command heard in {args.file}: only silence or noise was recognised")
        return 1
    household = build_household(args)
    turn = spoken_turn_sync(household, local_device(language=language), transcript.text, language)
    household.close()
    if args.out is not None:
        sentences = list(speech_audio(Speaker(), turn.response.speech, language))
        first = sentences[0]
        samples = b"".join(a.samples for a in sentences)
        write_wav(args.out, Audio(samples, first.rate, first.width, first.channels))
    if args.json:
        result = {
            "transcript": transcript.to_dict(),
            "intent": turn.intent,
            "skill": turn.skill,
            "slots": turn.slots,
            "confidence": turn.confidence,
            "response": turn.response.speech,
            "out": str(args.out) if args.out is not None else None,
        }
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(f"heard:    {describe(transcript)}")
        print(f"intent:   {turn.intent} ({turn.confidence:.2f})")
        print(f"skill:    {turn.skill or '-'}")
        slots = ", ".join(f"{name}={value}" for name, value in turn.slots.items())
        print(f"slots:    {slots or '-'}")
        print(f"response: {turn.response.speech}")
        if args.out is not None:
            print(f"wrote {args.out}")
    if turn.intent in ("fallback", "rephrase"):
        err("the request was heard but not understood")
        return 1
    return 0
