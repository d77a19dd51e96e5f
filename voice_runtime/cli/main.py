"""`voice`: the command line. One module per subcommand."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from ..errors import VoiceError
from . import ask, bench, listen, models, nlu, say, shell, test, train, transcribe, validate
from . import eval as eval_cmd

COMMANDS: dict[
    str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]
] = {
    "validate": (
        "check skill files and report every problem",
        validate.add_arguments,
        validate.run,
    ),
    "train": (
        "train the NLU models (skipped when nothing changed)",
        train.add_arguments,
        train.run,
    ),
    "nlu": ("print how a sentence is understood, as JSON", nlu.add_arguments, nlu.run),
    "shell": ("talk to the assistant in text (a developer REPL)", shell.add_arguments, shell.run),
    "say": ("synthesize speech to a WAV file", say.add_arguments, say.run),
    "test": ("run dialog test files", test.add_arguments, test.run),
    "transcribe": (
        "speech to text from a WAV file",
        transcribe.add_arguments,
        transcribe.run,
    ),
    "ask": (
        "the whole pipeline from a WAV file: hear, understand, answer",
        ask.add_arguments,
        ask.run,
    ),
    "listen": (
        "the speaker loop: wake phrase, listen, answer aloud",
        listen.add_arguments,
        listen.run,
    ),
    "models": (
        "list, download, verify or remove Vosk speech models",
        models.add_arguments,
        models.run,
    ),
    "eval": ("measure accuracy on labelled data", eval_cmd.add_arguments, eval_cmd.run),
    "bench": ("measure latency and start-up time", bench.add_arguments, bench.run),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voice", description=__doc__)
    parser.add_argument(
        "--project",
        type=Path,
        default=None,
        help="project directory with skills/, nlu_data/, models/ "
        "(default: $VOICE_PROJECT or the current directory)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (summary, add_arguments, _) in COMMANDS.items():
        add_arguments(sub.add_parser(name, help=summary, description=summary))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command][2](args)
    except VoiceError as exc:
        print(f"voice {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
