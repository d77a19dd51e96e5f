"""`voice nlu "text" [--lang zh]`: the parse and the routing decision, as JSON."""

from __future__ import annotations

import argparse
import json

from ..dialog.session import Session
from .common import add_language, build_assistant


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", help="the sentence to understand")
    add_language(parser)


def run(args: argparse.Namespace) -> int:
    assistant = build_assistant(args)
    turn = assistant.handle_sync(args.text, Session(language=args.lang))
    assert turn.nlu is not None
    output = {
        "text": turn.text,
        "language": turn.language,
        "intent": turn.nlu.intent,
        "intent_ranking": turn.nlu.ranking[:5],
        "entities": turn.nlu.entities,
        "route": {
            "skill": turn.skill,
            "intent": turn.intent,
            "slots": turn.slots,
            "response": turn.response.speech,
        },
    }
    print(json.dumps(output, default=vars, ensure_ascii=False, indent=2))
    return 0
