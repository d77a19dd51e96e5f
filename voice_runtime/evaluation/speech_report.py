"""What ``voice eval speech --report DIR`` writes: a table per condition, per-slot
accuracy with the confusions, and a PNG of accuracy against SNR.

- ``report.json``: the table, every condition's metrics (its mode, streaming or
  whole, and the clips whose speech the endpointer cut) and per-slot figures (every
  file's result too, as ``--json`` writes them);
- ``slots.txt``: per condition, each labelled slot's accuracy, how often it was missing
  or wrong, and the most frequent confusions (expected -> got);
- ``accuracy_vs_snr.png`` (when at least one condition has noise): command accuracy
  against SNR, the clean score as a dashed line, the SNR reference in the title.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from .speech_eval import SpeechReport, trimmed

TOP_CONFUSIONS = 10
MISSING = "(missing)"


@dataclass(frozen=True)
class SlotScore:
    """How one slot's labelled values came out under one condition."""

    slot: str
    labelled: int
    correct: int
    missing: int
    wrong: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.labelled if self.labelled else 0.0


def condition_name(report: SpeechReport) -> str:
    """``clean`` or ``6 dB`` for table rows and plot labels."""
    snr = report.conditions.snr_db
    return "clean" if snr is None else f"{snr:g} dB"


def slot_scores(report: SpeechReport) -> tuple[list[SlotScore], Counter[tuple[str, str, str]]]:
    """Per-slot scores and the (slot, expected, got) confusions of one condition."""
    counts: dict[str, list[int]] = {}
    confusions: Counter[tuple[str, str, str]] = Counter()
    for result in report.results:
        got = trimmed(result.outcome.slots) if result.outcome else {}
        for slot, expected in trimmed(result.label.example.slots).items():
            row = counts.setdefault(slot, [0, 0, 0, 0])
            row[0] += 1
            value = got.get(slot)
            if value == expected:
                row[1] += 1
            elif value is None:
                row[2] += 1
                confusions[(slot, expected, MISSING)] += 1
            else:
                row[3] += 1
                confusions[(slot, expected, value)] += 1
    scores = [SlotScore(slot, *row) for slot, row in sorted(counts.items())]
    return scores, confusions


def format_table(reports: Sequence[SpeechReport]) -> str:
    """One line per condition: accuracy, correct/total, intent accuracy, real-time factor
    and (streamed) the files whose speech the endpointer cut; the mode on the last line."""
    reference = next(
        (r.conditions.reference for r in reports if r.conditions.snr_db is not None), None
    )
    title = "condition" + (f" ({reference} SNR)" if reference else "")
    lines = [f"{title:24} {'accuracy':>9} {'correct':>9} {'intent':>7} {'RTF':>6} {'cut':>5}"]
    for report in reports:
        intents = sum(bool(r.outcome and r.outcome.intent_correct) for r in report.results)
        cut = str(len(report.cut)) if report.conditions.mode == "streaming" else "-"
        lines.append(
            f"{condition_name(report):24} {report.accuracy:9.3f} "
            f"{f'{report.correct}/{report.total}':>9} "
            f"{intents / report.total if report.total else 0.0:7.3f} "
            f"{report.real_time_factor.mean:6.3f} {cut:>5}"
        )
    modes = sorted({r.conditions.heard_as() for r in reports})
    lines += [f"heard: {mode}" for mode in modes]
    return "\n".join(lines)


def format_slots(report: SpeechReport) -> str:
    """Per-slot accuracy and the top confusions of one condition, as text."""
    scores, confusions = slot_scores(report)
    conditions = report.conditions
    lines = [f"== {condition_name(report)}: {conditions.describe()}, {conditions.mode}"]
    lines += [
        f"  {s.slot:20} {s.accuracy:6.3f}  ({s.correct}/{s.labelled}; "
        f"missing {s.missing}, wrong {s.wrong})"
        for s in scores
    ]
    if confusions:
        lines.append("  confusions (expected -> got):")
        lines += [
            f"    {count:4} x {slot}: {expected} -> {got}"
            for (slot, expected, got), count in confusions.most_common(TOP_CONFUSIONS)
        ]
    return "\n".join(lines)


def report_dict(report: SpeechReport) -> dict[str, Any]:
    scores, confusions = slot_scores(report)
    return report.to_dict() | {
        "slots": [vars(s) | {"accuracy": s.accuracy} for s in scores],
        "confusions": [
            {"slot": slot, "expected": expected, "got": got, "count": count}
            for (slot, expected, got), count in confusions.most_common()
        ],
    }


def write_report(directory: Path, reports: Sequence[SpeechReport]) -> list[Path]:
    """Write the report files into ``directory`` (made if missing); the paths written."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        written = [directory / "report.json", directory / "slots.txt"]
        data = {"table": format_table(reports), "conditions": [report_dict(r) for r in reports]}
        written[0].write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", "utf-8")
        text = format_table(reports) + "\n\n" + "\n\n".join(format_slots(r) for r in reports)
        written[1].write_text(text + "\n", "utf-8")
        if any(r.conditions.snr_db is not None for r in reports):
            written.append(plot_accuracy(directory / "accuracy_vs_snr.png", reports))
    except OSError as exc:
        raise InputError(f"cannot write the report to {directory}: {exc.strerror}") from exc
    return written


def plot_accuracy(path: Path, reports: Sequence[SpeechReport]) -> Path:
    """Accuracy (%) against SNR; clean as a dashed line. Returns ``path``."""
    import matplotlib  # type: ignore[import-untyped]

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # type: ignore[import-untyped]

    noisy = sorted(
        (r for r in reports if r.conditions.snr_db is not None),
        key=lambda r: float(r.conditions.snr_db or 0.0),
    )
    clean = [r for r in reports if r.conditions.snr_db is None]
    reference = noisy[0].conditions.reference
    figure, axes = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    snrs = [float(r.conditions.snr_db or 0.0) for r in noisy]
    axes.plot(snrs, [100 * r.accuracy for r in noisy], marker="o", label="with noise")
    for snr, report in zip(snrs, noisy, strict=True):
        axes.annotate(
            f"{100 * report.accuracy:.1f}",
            (snr, 100 * report.accuracy),
            textcoords="offset points",
            xytext=(0, 6),
            ha="center",
            fontsize=8,
        )
    if clean:
        axes.axhline(
            100 * clean[0].accuracy,
            linestyle="--",
            color="grey",
            label=f"clean {100 * clean[0].accuracy:.1f}%",
        )
    axes.set_xlabel(f"SNR (dB, {reference} reference)")
    axes.set_ylabel("commands fully understood (%)")
    axes.set_ylim(0, 100)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    noise = noisy[0].conditions.noise or "white noise"
    mode = noisy[0].conditions.mode
    axes.set_title(f"{Path(noise).name}: {noisy[0].total} files, {mode}", fontsize=10)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path
