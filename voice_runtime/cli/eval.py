"""`voice eval nlu --data FILE.jsonl [--lang L] [--json OUT]`: measure understanding;
`voice eval speech --audio DIR --labels labels.json [--lang en] [--noise FILE --snr DB]
[--json OUT] [--seed N] [--whole] [--model DIR | --cross-adapt K]`: measure it from
recordings, streamed through the endpointer as from a microphone (``--whole``: each
clip decoded at once; ``--cross-adapt``: by acoustic models adapted on other folds).

One subcommand per kind of evaluation, each registered in EVALUATIONS with its
summary, its arguments and its runner (today: `nlu` and `speech`).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..audio.convert import load_audio
from ..audio.wav import Audio
from ..dialog.router import Assistant
from ..errors import InputError
from ..evaluation.adaptation import adapt_to, cross_folds
from ..evaluation.hearing import Mode
from ..evaluation.nlu_eval import check_labels, evaluate, format_report, load_examples
from ..evaluation.speech_eval import (
    Clip,
    Conditions,
    FileResult,
    SpeechReport,
    check_speech_labels,
    evaluate_speech,
    format_speech_report,
    load_clips,
    load_labels,
)
from ..evaluation.speech_report import format_table, write_report
from ..speech.backends import recognizer_for
from ..speech.pocketsphinx_backend import PocketSphinxRecognizer, bias_for
from .adapt import add_learning_arguments, learning_of
from .common import add_language, add_snr_arguments, build_assistant, project_of

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


# -- voice eval speech ----------------------------------------------------------------


def add_speech_arguments(parser: argparse.ArgumentParser) -> None:
    """--audio DIR --labels FILE [--lang] [--noise FILE] [--snr DB] [--seed N] [--whole]
    [--model DIR | --cross-adapt K [--adapt-variances]] [--json OUT] [--report DIR]."""
    parser.add_argument("--audio", type=Path, required=True, help="folder with the WAV files")
    parser.add_argument(
        "--labels",
        type=Path,
        required=True,
        help='JSON: {"file.wav": {"intent": ..., "slots": {slot: value id}}, ...}',
    )
    parser.add_argument(
        "--lang", choices=["en", "zh"], default="en", help="language spoken (default: en)"
    )
    parser.add_argument(
        "--noise", type=Path, default=None, help="noise WAV to mix in (needs --snr)"
    )
    add_snr_arguments(
        parser,
        "mix noise in at this SNR in dB (white noise unless --noise); several "
        "values (and 'clean') run one evaluation each: --snr clean 24 18 12 6",
    )
    parser.add_argument("--seed", type=int, default=0, help="noise seed (default: 0)")
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        metavar="DIR",
        help="decode with this speech model: a Vosk model, or an acoustic model made by "
        "'voice adapt' (default: the project's, as the speaker would)",
    )
    parser.add_argument(
        "--cross-adapt",
        type=int,
        default=None,
        metavar="K",
        help="score an acoustic model adapted to these recordings (voice adapt) honestly: "
        "K folds, each scored by a model adapted on the other folds only",
    )
    add_learning_arguments(parser)
    parser.add_argument(
        "--whole",
        action="store_true",
        help="decode each clip at once, for comparison; by default each clip is streamed "
        "in 30 ms microphone chunks through the endpointer, as a speaker hears it",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write every metric here")
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        metavar="DIR",
        help="write report.json, per-slot accuracy and confusions (slots.txt) and, for "
        "several SNRs, accuracy_vs_snr.png into DIR",
    )


def run_speech(args: argparse.Namespace, assistant: Assistant | None = None) -> int:
    """Check every input, then score the recordings under each condition; print, write."""
    snrs: list[float | None] = list(args.snr) if args.snr else [None]
    if args.noise is not None and all(snr is None for snr in snrs):
        raise InputError("--noise needs --snr (the SNR to mix it in at, in dB)")
    labels = load_labels(args.labels)  # bad inputs fail before any model loads
    clips = load_clips(args.audio, labels)
    noise = load_audio(args.noise) if args.noise is not None else None
    assistant = assistant or build_assistant(args)
    check_speech_labels(labels, assistant.catalog)
    noise_name = str(args.noise) if args.noise else None
    mode: Mode = "whole" if args.whole else "streaming"
    conditions = [
        Conditions(args.lang, snr, noise_name, args.seed, args.snr_reference, mode) for snr in snrs
    ]
    if args.cross_adapt is not None:
        reports = cross_adapted(args, assistant, clips, noise, conditions)
        for report in reports:
            print(format_speech_report(report), flush=True)
    else:
        recognizer = recognizer_for(
            project_of(args), args.lang, assistant.catalog.skills, model_path=args.model
        )
        if isinstance(recognizer, PocketSphinxRecognizer) and recognizer.acoustic:
            print(f"acoustic model: {recognizer.acoustic}", flush=True)
        reports = []
        for condition in conditions:
            report = evaluate_speech(
                assistant, recognizer, clips, condition, noise, str(args.audio), str(args.labels)
            )
            print(format_speech_report(report), flush=True)
            reports.append(report)
    if len(reports) > 1:
        print(format_table(reports), flush=True)
    if args.json is not None:
        data = reports[0].to_dict() if len(reports) == 1 else [r.to_dict() for r in reports]
        write_json(args.json, data)
        print(f"wrote {args.json}")
    if args.report is not None:
        for path in write_report(args.report, reports):
            print(f"wrote {path}")
    return 0


def cross_adapted(
    args: argparse.Namespace,
    assistant: Assistant,
    clips: list[Clip],
    noise: Audio | None,
    conditions: list[Conditions],
) -> list[SpeechReport]:
    """``--cross-adapt K``: each fold of the clips scored, under every condition, by an
    acoustic model adapted (as ``voice adapt`` does) on the other folds only."""
    folds = int(args.cross_adapt)
    if args.lang != "en" or args.model is not None:
        raise InputError("--cross-adapt adapts the English model itself: --lang en, no --model")
    if not 2 <= folds <= len(clips):
        raise InputError(f"--cross-adapt needs 2 to {len(clips)} folds (the clips), not {folds}")
    learning = learning_of(args, noise, None)
    project, skills = project_of(args), assistant.catalog.skills
    base = recognizer_for(project, "en", skills, backend="pocketsphinx")
    dictionary = bias_for(project, skills, "en").dict_path
    scored: list[list[tuple[int, FileResult]]] = [[] for _ in conditions]
    with tempfile.TemporaryDirectory(prefix="voice-cross-adapt-") as temp:
        for fold, (learn, score) in enumerate(cross_folds(len(clips), folds), 1):
            out = Path(temp) / f"fold-{fold}"
            heard, _ = adapt_to(
                assistant, base, [clips[i] for i in learn], learning, dictionary, out
            )
            print(
                f"fold {fold}/{folds}: adapted on the {heard} of {len(learn)} other "
                f"recordings understood, scoring {len(score)}",
                flush=True,
            )
            adapted = recognizer_for(project, "en", skills, model_path=out)
            fold_clips = [clips[i] for i in score]
            for place, condition in enumerate(conditions):
                report = evaluate_speech(
                    assistant, adapted, fold_clips, condition, noise, indices=score
                )
                scored[place] += zip(score, report.results, strict=True)
    return [
        SpeechReport(
            str(args.audio),
            str(args.labels),
            condition,
            tuple(r for _, r in sorted(results, key=lambda pair: pair[0])),
        )
        for condition, results in zip(conditions, scored, strict=True)
    ]


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
