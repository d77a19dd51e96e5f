"""`voice listen`: the speaker loop on the microphone (or on WAV files, --from-wav)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..audio.endpoint import record_until_enter
from ..audio.microphone import AudioSource, Microphone, WavSource
from ..audio.playback import Player
from ..audio.wav import Audio
from ..listen import SpeakerLoop, describe
from ..speech.backends import recognizer_for
from ..speech.wake import WAKE_PHRASES
from ..tts.speaker import Speaker
from .common import build_household, err, local_device, project_of


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lang", choices=["en", "zh"], default="en", help="language spoken")
    parser.add_argument("--device", default=None, help="input device index or name part")
    parser.add_argument(
        "--push-to-talk", action="store_true", help="press Enter to start and to stop talking"
    )
    parser.add_argument("--wake", default=None, help="wake phrase (default per language)")
    parser.add_argument(
        "--from-wav",
        type=Path,
        nargs="+",
        default=None,
        help="play these WAV files as the microphone (for trying the loop without one)",
    )


def run(args: argparse.Namespace) -> int:
    household = build_household(args)
    assistant = household.assistant
    wake = None if args.push_to_talk else (args.wake or WAKE_PHRASES[args.lang])
    recognizer = recognizer_for(
        project_of(args), args.lang, assistant.catalog.skills, wake_phrase=wake
    )
    source: AudioSource = WavSource(*args.from_wav) if args.from_wav else Microphone(args.device)
    player = Player()
    output = player.play if player.available else _silent
    if not player.available:
        err("! no audio output device: answers are printed, not spoken")
    device = local_device(language=args.lang)
    loop = SpeakerLoop(household, device, recognizer, Speaker(), output, args.lang, wake)
    try:
        if args.push_to_talk:
            _push_to_talk(loop, source)
        else:
            err(f"listening; say {wake!r} (Ctrl-C to stop)")
            for heard in loop.run(source):
                describe(heard, sys.stdout)
    finally:
        source.close()
        household.close()
    return 0


def _push_to_talk(loop: SpeakerLoop, source: AudioSource) -> None:
    while True:
        err("press Enter, speak, press Enter again (Ctrl-D to stop)")
        if not sys.stdin.readline():
            return
        pcm = record_until_enter(source, sys.stdin)
        if not pcm:
            return
        heard, _ = loop.handle(pcm, awake=True)
        describe(heard, sys.stdout)


def _silent(audio: Audio) -> None:
    """Without a speaker the answer is only printed."""
