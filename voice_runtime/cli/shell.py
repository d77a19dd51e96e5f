"""`voice shell`: a REPL for developers; also reads turns from a pipe.

Each turn shows the intent and confidence, the entities, the routed skill and
the response. Bad input gets a one-line message; the shell never dies on input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ..dialog.dialogtest import recorded_dialog
from ..dialog.turn import Turn
from ..errors import AudioError, InputError, VoiceError
from ..household.home import Household
from ..people import DEVICE_TYPES, Device
from .common import (
    add_demo_services,
    add_language,
    build_household,
    err,
    local_device,
    project_of,
)

if TYPE_CHECKING:
    from ..campaigns.setup import Marketing

COMMANDS_HELP = (
    "/state shows the session, /reset clears it, /save FILE.yaml records a dialog test, "
    "/why explains the sponsored suggestions (with --campaigns), /quit leaves (or Ctrl-D)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_language(parser)
    parser.add_argument(
        "--speak", action="store_true", help="also speak each answer (pyttsx3 / espeak-ng)"
    )
    parser.add_argument("--json", action="store_true", help="print each turn as one JSON line")
    parser.add_argument(
        "--threshold",
        type=confidence,
        default=None,
        help="confidence below which the assistant asks to rephrase (default 0.4)",
    )
    parser.add_argument(
        "--no-train",
        action="store_true",
        help="refuse to start with an out-of-date model instead of retraining",
    )
    parser.add_argument("--user", default="local-user", help="user id (default local-user)")
    parser.add_argument(
        "--device",
        default="speaker",
        choices=DEVICE_TYPES,
        help="the type of device the shell acts as (default speaker)",
    )
    parser.add_argument("--room", default=None, help="the room the device is in, e.g. kitchen")
    parser.add_argument(
        "--campaigns",
        action="store_true",
        help="let the project's campaigns offer sponsored lines (caps kept in the database)",
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=300.0,
        help="seconds of silence after which the conversation starts afresh (default 300)",
    )
    add_demo_services(parser)


def confidence(text: str) -> float:
    """argparse type: a number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1, not {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    household = build_household(
        args, args.threshold, auto_train=not args.no_train, idle_timeout=args.idle_timeout
    )
    engine = household.assistant.nlu
    preload = getattr(engine, "preload", None)
    if preload is not None:
        preload([args.lang] if args.lang else household.assistant.languages)
    device = local_device(args.user, args.device, args.lang, args.room)
    marketing = None
    if args.campaigns:
        from ..campaigns.setup import Marketing
        from ..store.database import database_url

        project = project_of(args)
        marketing = Marketing.attach(household, project, database_url(project.models_dir))
    interactive = sys.stdin.isatty()
    if interactive:
        print(f"voice shell: type a request; {COMMANDS_HELP}")
    voice = Voice() if args.speak else None
    converse(
        household,
        device,
        _lines(interactive),
        sys.stdout,
        as_json=args.json,
        voice=voice,
        marketing=marketing,
    )
    if marketing is not None:
        household.run(marketing.aclose())
    household.close()
    if getattr(engine, "loading", False):
        # A model still loading in the background: leave now. Waiting would make a
        # short session slow, and tearing TensorFlow down mid-load aborts the process.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0


def converse(
    household: Household,
    device: Device,
    lines: Iterable[str | None],
    out: TextIO,
    as_json: bool = False,
    voice: Voice | None = None,
    marketing: Marketing | None = None,
) -> None:
    """Answer each line (None: a line that was not UTF-8) until the input or /quit ends."""
    turns: list[Turn] = []  # since the last /reset, for /save
    talking = False  # a conversation is kept in the store
    for line in lines:
        if line is None:
            err("! input is not valid UTF-8 text; skipped this line")
            continue
        stored = household.run(household.sessions.load(device.id)) is not None
        if talking and not stored:
            err("! the session was idle too long; starting a new conversation")
        if line.strip().startswith("/"):
            if _command(line.strip(), household, device, turns, out, marketing):
                return
            talking = household.run(household.sessions.load(device.id)) is not None
            continue
        try:
            turn = household.turn_sync(device, line, device.language)
        except InputError as exc:
            err(f"! {exc}")
            continue
        talking = True
        turns.append(turn)
        if as_json:
            out.write(json.dumps(_turn_json(turn), ensure_ascii=False) + "\n")
            out.flush()
        else:
            print_turn(turn, out)
        if voice is not None:
            voice.say(turn.response.speech, turn.language)


def print_turn(turn: Turn, out: TextIO) -> None:
    """The readable form of a turn, one line per field whatever the texts hold.

    Every text (the user's, the model's, a service's) is shown terminal-safe:
    control characters (ESC, BEL, NUL, line breaks, C1), lone surrogates, line
    separators and format characters (bidi overrides, zero-width) are written as
    visible escapes (``\\x1b``, ``\\n``, ``\\u202e``), so no text can move the
    cursor, set the terminal title or forge another line.
    """

    import unicodedata

    def safe(value: object) -> str:
        text = str(value)
        if text.isprintable():
            return text
        return "".join(
            c if c.isprintable() or unicodedata.category(c) == "Zs" else ascii(c)[1:-1]
            for c in text
        )

    out.write(f"> {safe(turn.text)}\n")
    how = f", {safe(turn.nlu.source)}" if turn.nlu is not None else ""
    out.write(
        f"  intent    {safe(turn.intent)}  ({turn.confidence:.2f}, {safe(turn.language)}{how})\n"
    )
    if turn.nlu is not None and turn.nlu.entities:
        found = ", ".join(
            f"{safe(e.entity)}={safe(e.value)} ({safe(repr(e.text))})" for e in turn.nlu.entities
        )
        out.write(f"  entities  {found}\n")
    if turn.slots:
        shown = ", ".join(f"{safe(k)}={safe(v)}" for k, v in turn.slots.items())
        out.write(f"  slots     {shown}\n")
    out.write(f"  skill     {safe(turn.skill or '-')}\n")
    waiting = turn.state.get("waiting_for")
    if waiting:
        out.write(f"  waiting   {safe(waiting)}\n")
    if turn.service is not None:
        call = turn.service
        out.write(
            f"  service   {safe(call.service)}: {safe(call.outcome)} ({call.elapsed_ms:.1f} ms)\n"
        )
    out.write(f"  answer    {safe(turn.response.speech)}\n")
    card = turn.response.card
    if card is not None:
        image = f" [{safe(card.image)}]" if card.image else ""
        out.write(f"  card      {safe(card.title)}: {safe(card.text)}{image}\n")
    out.flush()


def _turn_json(turn: Turn) -> dict[str, object]:
    data = turn.to_dict()
    if turn.nlu is not None:
        data["nlu"] = {"intent": data["nlu"]["intent"], "entities": data["nlu"]["entities"]}
    return data


def _lines(interactive: bool) -> Iterator[str | None]:
    """Input lines; None for a line that is not UTF-8. Ends at end of input."""
    if interactive:
        while True:
            try:
                yield input("you> ")
            except EOFError:
                print()
                return
            except UnicodeDecodeError:
                yield None
    for raw in sys.stdin.buffer:
        try:
            yield raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            yield None


def _command(
    command: str,
    household: Household,
    device: Device,
    turns: list[Turn],
    out: TextIO,
    marketing: Marketing | None = None,
) -> bool:
    """Run a /command; True means leave the shell."""
    name, _, argument = command.partition(" ")
    if name in ("/quit", "/exit"):
        return True
    if name == "/state":
        session = household.run(household.session_of(device))
        state = session.to_dict() | {"turns": len(turns)}
        out.write(json.dumps(state, ensure_ascii=False) + "\n")
    elif name == "/reset":
        household.run(household.reset(device))
        turns.clear()
        out.write("session reset\n")
    elif name == "/why":
        if marketing is None:
            err("! no campaigns in this shell: start it with --campaigns")
        else:
            from ..campaigns.why import explain

            session = household.run(household.session_of(device))
            language = device.language or session.language or "en"
            lines = household.run(explain(marketing.placements, device, language, session))
            out.write("\n".join(lines) + "\n")
    elif name == "/save":
        path = Path(argument.strip()) if argument.strip() else None
        _save(path, device.language, turns, out)
    else:
        err(f"! unknown command {name}; {COMMANDS_HELP}")
    return False


def _save(path: Path | None, language: str | None, turns: list[Turn], out: TextIO) -> None:
    """Write the turns since the last /reset as a dialog test `voice test` replays.

    The file appears whole or not at all (written beside it, then renamed), and an
    existing file is never replaced."""
    if path is None or path.suffix not in (".yaml", ".yml"):
        err("! usage: /save FILE.yaml")
        return
    if not turns:
        err("! nothing to save yet: say something first")
        return
    if "\x00" in str(path) or len(path.name.encode()) > 200:
        err("! cannot save there: choose a shorter file name without control characters")
        return
    text = recorded_dialog(turns, language, f"recorded in voice shell ({path.stem})")
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, "utf-8")
        os.link(temporary, path)  # fails if the file exists: never replaces one
    except FileExistsError:
        err(f"! {path} exists; choose another name")
        return
    except OSError as exc:
        err(f"! cannot write {path}: {exc.strerror or exc}")
        return
    finally:
        temporary.unlink(missing_ok=True)
    out.write(f"saved {len(turns)} turn(s) to {path}; replay with: voice test {path}\n")


class Voice:
    """Speaks answers; without an audio device it says so once and goes on silently."""

    def __init__(self) -> None:
        self.enabled = True

    def say(self, text: str, language: str) -> None:
        if not self.enabled:
            return
        try:
            from ..audio.playback import Player
            from ..spoken import speech_audio
            from ..tts.speaker import default_speaker

            player = Player()
            player.require()
            for audio in speech_audio(default_speaker(), text, language):
                player.play(audio)
        except (AudioError, VoiceError) as exc:
            err(f"! not speaking: {exc}")
            self.enabled = False
