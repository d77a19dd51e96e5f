"""`voice eval nlu --data FILE.jsonl [--lang L] [--json OUT]`: measure understanding;
`voice eval speech --audio DIR --labels labels.json [--lang en] [--noise FILE --snr DB]
[--json OUT] [--seed N]`: measure it from recordings.

One subcommand per kind of evaluation, each registered in EVALUATIONS with its
summary, its arguments and its runner (today: `nlu` and `speech`).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from ..dialog.router import Assistant
from ..errors import InputError
from ..evaluation.nlu_eval import check_labels, evaluate, format_report, load_examples
from ..evaluation.speech_eval import add_speech_arguments, run_speech
from .common import add_language, build_assistant

Runner = Callable[[argparse.Namespace, Assistant | None], int]
Evaluation = tuple[str, Callable[[argparse.ArgumentParser], None], Runner]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One subparser per evaluation in EVALUATIONS."""
    sub = parser.add_subparsers(dest="evaluation", metavar="WHAT", required=True)
    for name, (summary, add, _) in EVALUATIONS.items():
        add(sub.add_parser(name, help=summary, description=summary))


def run(args: argparse.Namespace, assistant: Assistant | None = None) -> int:
    """Run the evaluation named on the command line (`assistant`: reuse a loaded one)."""
    return EVALUATIONS[args.evaluation][2](args, assistant)


# -- voice eval nlu -----------------------------------------------------------------


def add_nlu_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        help='JSON lines: {"text": ..., "intent": ..., "slots": {slot: value id}} a line',
    )
    add_language(parser)
    parser.add_argument("--json", type=Path, default=None, help="also write every metric here")
    parser.add_argument(
        "--top", type=int, default=10, help="how many confusion pairs to print (default: 10)"
    )
    parser.add_argument(
        "--min-accuracy",
        type=float,
        default=None,
        help="exit 1 when the intent accuracy is below this (0..1), e.g. in CI",
    )


def run_nlu(args: argparse.Namespace, assistant: Assistant | None = None) -> int:
    """Score the data file's labels against the routed turns; print, and write JSON."""
    if args.min_accuracy is not None and not 0 <= args.min_accuracy <= 1:
        raise InputError(f"--min-accuracy must be between 0 and 1, not {args.min_accuracy}")
    examples = load_examples(args.data)  # a bad file fails before the model loads
    assistant = assistant or build_assistant(args)
    check_labels(examples, assistant.catalog)
    report = evaluate(assistant, examples, args.lang, str(args.data))
    print(format_report(report, top=args.top), flush=True)
    if args.json is not None:
        write_json(args.json, report.to_dict())
        print(f"wrote {args.json}")
    if args.min_accuracy is not None and report.intent_accuracy < args.min_accuracy:
        print(f"intent accuracy {report.intent_accuracy:.3f} is below {args.min_accuracy}")
        return 1
    return 0


def write_json(path: Path, data: object) -> None:
    """`data` as indented UTF-8 JSON; InputError with the reason if it cannot be written."""
    try:
        path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", "utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from exc


# name -> (summary, add its arguments, run it); a new evaluation adds one entry.
EVALUATIONS: dict[str, Evaluation] = {
    "nlu": (
        "intent accuracy, slot precision/recall/F1 and confusions on labelled sentences",
        add_nlu_arguments,
        run_nlu,
    ),
    "speech": (
        "accuracy, real-time factor and latency from labelled recordings, clean or noisy",
        add_speech_arguments,
        run_speech,
    ),
}
