"""`voice`: the command line. One module per subcommand."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from types import ModuleType

from ..errors import VoiceError

# name -> (summary, module). A command's module (and what it imports: Rasa,
# TensorFlow, SciPy, the speech engines) is loaded only when that command runs.
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("check skill files and report every problem", "validate"),
    "train": ("train the NLU models (skipped when nothing changed)", "train"),
    "nlu": ("print how a sentence is understood, as JSON", "nlu"),
    "shell": ("talk to the assistant in text (a developer REPL)", "shell"),
    "say": ("synthesize speech to a WAV file", "say"),
    "test": ("run dialog test files", "test"),
    "transcribe": ("speech to text from a WAV file", "transcribe"),
    "ask": ("the whole pipeline from a WAV file: hear, understand, answer", "ask"),
    "listen": ("the speaker loop: wake phrase, listen, answer aloud", "listen"),
    "models": ("list, download, verify or remove Vosk speech models", "models"),
    "eval": ("measure accuracy on labelled data", "eval"),
    "adapt": ("adapt the English acoustic model to labelled recordings", "adapt"),
    "bench": ("measure latency and start-up time", "bench"),
    "demo-services": ("run the example brands' services on 127.0.0.1:8790", "demo_services"),
    "serve": ("run the household server for speakers, TVs and phones", "serve"),
    "devices": ("add, list or revoke the devices allowed to use the server", "devices"),
    "device": ("the reference smart-speaker client of a server", "device"),
    "campaigns": ("explain which sponsored content a person would get, and why", "campaigns"),
    "report": ("write a brand's campaign report (HTML and PNG plots)", "report"),
    "privacy": ("export or delete everything kept about a person", "privacy"),
    "people": ("child profiles and marketing opt-outs of a person", "people"),
    "simulate": ("simulate households through the real router and campaigns", "simulate"),
}


def command_module(name: str) -> ModuleType:
    """The module of a subcommand: `add_arguments(parser)` and `run(args) -> int`."""
    return importlib.import_module(f"{__package__}.{COMMANDS[name][1]}")


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    """The parser; only the command named in `argv` gets its full arguments."""
    parser = argparse.ArgumentParser(prog="voice", description=__doc__)
    add_project(parser, default=None)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = next((word for word in argv if word in COMMANDS), None)
    for name, (summary, _) in COMMANDS.items():
        command = sub.add_parser(name, help=summary, description=summary)
        # also after the command (`voice train --project DIR`); SUPPRESS keeps a
        # value given before the command when none is given after it
        add_project(command, default=argparse.SUPPRESS)
        if name == chosen:
            command_module(name).add_arguments(command)
    return parser


def add_project(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "--project",
        type=Path,
        default=default,
        help="project directory with skills/, nlu_data/, models/ "
        "(default: $VOICE_PROJECT or the current directory); before or after the command",
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    try:
        result: int = command_module(args.command).run(args)
        return result
    except VoiceError as exc:
        print(f"voice {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
