"""Speech evaluation: labelled recordings through the recogniser and the router, scored.

The labels are one JSON object mapping each WAV file name (in the audio folder) to
what the recording asks for:

    {
      "open.wav":   {"intent": "open_skill", "slots": {"skill": "anchor_baking"}},
      "bread.wav":  {"intent": "anchor_baking.recipe", "slots": {"dish": "bread"}},
      "aurora.wav": {"intent": "star_motors_cars.show_model", "slots": {"model": "aurora"}},
      "help.wav":   {"intent": "help"}
    }

Intent names are the NLU model's, as in ``voice eval nlu``:

- ``open_skill`` opens a skill; its slot ``skill`` is the skill id that must open;
- a skill's intent is ``<skill id>.<intent>``: the ``id`` of the skill file, a dot,
  and the intent's key under ``intents:`` (``anchor_baking.recipe``);
- the built-ins are ``help``, ``stop``, ``repeat``, ``yes``, ``no`` and ``fallback``
  (``out_of_scope`` is accepted for ``fallback``).

Slot values are value ids from the skill file (``bread``, not "loaf"). ``slots`` may
be left out. Fields starting with ``x-`` inside an entry are notes and are ignored.
Every key of the object is a file name: a labelled file that is missing is an error,
a WAV file in the folder without a label is not evaluated.

Each file is read (any rate, width and channels), optionally mixed with noise at a
given SNR (``audio/noise.py``: white noise, or a noise file looped to length, with
``seed + index`` as the seed of the file at that index, so runs repeat), heard by
the skill-biased recogniser, and the transcript goes through ``Assistant.handle`` in
a fresh session. By default the clip is heard as a speaker hears it: streamed in
30 ms microphone chunks through a fresh endpointer and the streaming decoder, with
half a second of the room before it and a second after it (``hearing.py``), and the
transcript is the one the recogniser gives when the endpointer ends the utterance;
``mode="whole"`` decodes the clip at once instead. The recogniser is calibrated once,
on the first file as it is heard (with its noise), because PocketSphinx's cepstral
mean starts cold and mishears the first utterances otherwise.

A file is correct when the routed intent matches (and for ``open_skill`` the opened
skill) and every labelled slot has its value, compared after trimming spaces;
slots the turn has beyond the labelled ones do not count against it. An empty
transcript ("nothing heard") is wrong, but for a file labelled as no command
(``out_of_scope``), where nothing heard and rejected as no command are both right.
Latency is the decoding left after the end of speech plus routing time per file
(streamed: the recogniser's ``finish``; whole: all of the decoding); the NLU model is
loaded before timing starts. A streamed report also counts the clips whose speech the
endpointer cut (``Endpointing.cut``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..audio.convert import load_audio
from ..audio.noise import Reference, mix_at_snr
from ..audio.wav import Audio
from ..dialog.router import Assistant
from ..dialog.session import Session
from ..errors import InputError
from ..skills.catalog import Catalog
from ..speech.recognizer import Recognizer, Transcript
from ..spoken import heard_text
from .hearing import Hearing, Mode, hear_streaming, hear_whole, in_room, speech_span
from .nlu_eval import (
    Example,
    Outcome,
    compare_slots,
    format_slots,
    label_problem,
    outcome_of,
    required_text,
)

LABEL_FIELDS = ("intent", "slots")
PERCENTILES = (50, 90, 99)
NOTHING_HEARD = "nothing heard"
NO_COMMAND = "rejected as no command"
NOT_COMMANDS = ("out_of_scope", "fallback")


# -- the report ---------------------------------------------------------------------


@dataclass(frozen=True)
class SpeechLabel:
    """What one recording asks for. ``example.text`` is the file name, for messages."""

    file: str  # the WAV file's name in the audio folder
    example: Example  # file = the labels file, line = where the key is

    @property
    def where(self) -> str:
        """labels.json:3: "open.wav", for messages."""
        return f'{self.example.where}: "{self.file}"'


@dataclass(frozen=True)
class Clip:
    """A labelled recording, read and converted."""

    label: SpeechLabel
    audio: Audio


@dataclass(frozen=True)
class FileResult:
    """How one recording was heard and routed."""

    label: SpeechLabel
    hearing: Hearing
    outcome: Outcome | None  # None: nothing heard (or no command), so nothing was routed
    nlu_seconds: float

    @property
    def transcript(self) -> Transcript:
        return self.hearing.transcript

    @property
    def cut(self) -> bool:
        """Streamed, and the endpointer missed part of the speech."""
        endpointing = self.hearing.endpointing
        return endpointing is not None and endpointing.cut

    @property
    def correct(self) -> bool:
        """Intent right and every labelled slot right (extra slots are fine); speech
        that is no command is right when it was rejected as none or not heard at all."""
        if self.outcome is None:  # nothing routed: right only when no command was said
            return self.label.example.intent in NOT_COMMANDS
        if not self.outcome.intent_correct:
            return False
        return labelled_slots_match(self.label.example.slots, self.outcome.slots)

    @property
    def latency_seconds(self) -> float:
        """Decoding left after the end of speech, plus routing."""
        return self.hearing.after_end_seconds + self.nlu_seconds

    @property
    def got(self) -> str:
        """What the assistant made of it: intent (and skill) and slots, or nothing heard."""
        if self.outcome is None:
            return NO_COMMAND if self.transcript.rejected else NOTHING_HEARD
        return labelled(self.outcome.label, self.outcome.slots)

    def to_dict(self) -> dict[str, Any]:
        """Labels, transcript, routed intent and timings, for the JSON report."""
        example, outcome = self.label.example, self.outcome
        return {
            "file": self.label.file,
            "expected_intent": example.intent,
            "expected_slots": example.slots,
            "transcript": self.transcript.text,
            "transcript_confidence": self.transcript.confidence,
            "intent": outcome.intent if outcome else None,
            "skill": outcome.skill if outcome else None,
            "slots": outcome.slots if outcome else {},
            "correct": self.correct,
            "audio_seconds": self.transcript.audio_seconds,
            "decode_seconds": self.transcript.decode_seconds,
            "decode_after_end_seconds": self.hearing.after_end_seconds,
            "nlu_seconds": self.nlu_seconds,
            "real_time_factor": self.transcript.real_time_factor,
            "endpointing": self.hearing.endpointing.to_dict() if self.hearing.endpointing else None,
        }


@dataclass(frozen=True)
class RealTimeFactor:
    """Decode time over audio time across files (below 1: faster than real time)."""

    mean: float
    max: float


@dataclass(frozen=True)
class Latency:
    """Per-file decode + routing time percentiles, in milliseconds."""

    p50_ms: float
    p90_ms: float
    p99_ms: float


@dataclass(frozen=True)
class Conditions:
    """How the audio was presented: the language, and the noise mixed in (if any)."""

    language: str
    snr_db: float | None = None  # None: clean audio
    noise: str | None = None  # None with an SNR: white noise
    seed: int = 0
    reference: Reference = "active"  # how the SNR is measured (audio/noise.py)
    mode: Mode = "streaming"  # how the recogniser hears each clip (hearing.py)

    def describe(self) -> str:
        """``clean``, or the noise and its SNR, for the report's first line."""
        if self.snr_db is None:
            return "clean"
        return (
            f"{self.noise or 'white noise'} at {self.snr_db:g} dB SNR "
            f"({self.reference} reference, seed {self.seed})"
        )

    def heard_as(self) -> str:
        """How the clips were decoded, for the report."""
        if self.mode == "whole":
            return "each clip decoded whole (--whole)"
        return "streamed in 30 ms chunks through the endpointer, as from a microphone"


@dataclass(frozen=True)
class SpeechReport:
    """Every file's result, and the metrics over them."""

    audio_dir: str
    labels: str
    conditions: Conditions
    results: tuple[FileResult, ...]

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def correct(self) -> int:
        return sum(r.correct for r in self.results)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def errors(self) -> list[FileResult]:
        return [r for r in self.results if not r.correct]

    @property
    def cut(self) -> list[FileResult]:
        """The streamed clips whose speech the endpointer cut (none when decoded whole)."""
        return [r for r in self.results if r.cut]

    @property
    def no_speech(self) -> int:
        """Streamed clips in which the endpointer found no speech at all."""
        return sum(
            r.hearing.endpointing is not None and r.hearing.endpointing.utterance is None
            for r in self.results
        )

    @property
    def real_time_factor(self) -> RealTimeFactor:
        factors = [r.transcript.real_time_factor for r in self.results] or [0.0]
        return RealTimeFactor(float(np.mean(factors)), float(np.max(factors)))

    @property
    def latency(self) -> Latency:
        values = [r.latency_seconds * 1e3 for r in self.results] or [0.0]
        p50, p90, p99 = (float(v) for v in np.percentile(values, PERCENTILES))
        return Latency(p50, p90, p99)

    def to_dict(self) -> dict[str, Any]:
        """Every metric and every file's result, for ``--json``."""
        conditions = self.conditions
        return {
            "audio": self.audio_dir,
            "labels": self.labels,
            "language": conditions.language,
            "noise": conditions.noise or ("white" if conditions.snr_db is not None else None),
            "snr_db": conditions.snr_db,
            "snr_reference": conditions.reference,
            "seed": conditions.seed,
            "mode": conditions.mode,
            "files": self.total,
            "accuracy": self.accuracy,
            "correct": self.correct,
            "real_time_factor": vars(self.real_time_factor),
            "latency_ms": vars(self.latency),
            "speech_cut": len(self.cut) if conditions.mode == "streaming" else None,
            "no_speech": self.no_speech if conditions.mode == "streaming" else None,
            "errors": [r.to_dict() for r in self.errors],
            "results": [r.to_dict() for r in self.results],
        }


def labelled_slots_match(expected: Mapping[str, str], got: Mapping[str, str]) -> bool:
    """Every labelled slot has its value (spaces trimmed); extra slots do not matter."""
    return compare_slots(trimmed(expected), trimmed(got)).false_negatives == 0


def labelled(intent: str, slots: Mapping[str, str]) -> str:
    """``anchor_baking.recipe (dish=bread)``; the intent alone without slots."""
    return f"{intent} ({format_slots(slots)})" if slots else intent


def trimmed(slots: Mapping[str, str]) -> dict[str, str]:
    """Slot names and values without surrounding spaces."""
    return {name.strip(): value.strip() for name, value in slots.items()}


# -- reading the labels and the audio -------------------------------------------------


def load_labels(path: Path) -> list[SpeechLabel]:
    """The labels file as SpeechLabels; InputError naming file:line (and key) if bad."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        content = path.read_text("utf-8")
        data = json.loads(content)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}:{exc.lineno}: invalid JSON ({exc.msg}, column {exc.colno})"
        ) from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    if not isinstance(data, dict):
        raise InputError(f'{path}: expected a JSON object {{"file.wav": {{"intent": ...}}, ...}}')
    labels = [parse_label(key, value, path, key_line(content, key)) for key, value in data.items()]
    if not labels:
        raise InputError(f"{path}: no labelled files")
    return labels


def parse_label(name: str, value: object, path: Path, line: int) -> SpeechLabel:
    """One ``"file.wav": {"intent": ..., "slots": {...}}`` entry."""
    where = f'{path}:{line}: "{name}"'
    if not isinstance(value, dict):
        raise InputError(f'{where}: expected {{"intent": ..., "slots": {{...}}}}')
    unknown = [k for k in value if k not in LABEL_FIELDS and not str(k).startswith("x-")]
    if unknown:
        raise InputError(f"{where}: unknown field {unknown[0]!r}; allowed: intent, slots")
    intent = required_text(value, "intent", where).strip()
    slots = value.get("slots", {})
    if not isinstance(slots, dict) or not all(
        isinstance(v, str) and v.strip() for v in slots.values()
    ):
        raise InputError(f'{where}: "slots" must map slot names to value ids (strings)')
    return SpeechLabel(name, Example(str(path), line, name, intent, trimmed(slots)))


def key_line(content: str, key: str) -> int:
    """The line where ``"key":`` first appears in the JSON text (1 if not found)."""
    position = content.find(json.dumps(key, ensure_ascii=False))
    if position < 0:
        position = content.find(json.dumps(key))
    return content.count("\n", 0, position) + 1 if position >= 0 else 1


def check_speech_labels(labels: Iterable[SpeechLabel], catalog: Catalog) -> None:
    """InputError at the first label naming no intent, slot or value of the skills."""
    for label in labels:
        problem = label_problem(label.example, catalog)
        if problem:
            raise InputError(f"{label.where}: {problem}")


def load_clips(audio_dir: Path, labels: Sequence[SpeechLabel]) -> list[Clip]:
    """Every labelled file, read and converted; InputError naming the first bad one."""
    if not audio_dir.is_dir():
        raise InputError(f"{audio_dir}: no such directory")
    for label in labels:
        if not (audio_dir / label.file).is_file():
            raise InputError(f"{audio_dir / label.file}: no such file (labelled at {label.where})")
    return [Clip(label, load_audio(audio_dir / label.file)) for label in labels]


# -- running ------------------------------------------------------------------------


def evaluate_speech(
    assistant: Assistant,
    recognizer: Recognizer,
    clips: Sequence[Clip],
    conditions: Conditions,
    noise: Audio | None = None,
    audio_dir: str = "",
    labels: str = "",
    indices: Sequence[int] | None = None,
) -> SpeechReport:
    """Every clip through (noise,) the recogniser and the assistant, in a fresh session.

    ``noise`` is the noise clip when ``conditions.snr_db`` is set (None: white noise).
    ``indices`` are the clips' places in the whole set, when these are part of it:
    each clip's noise seed is ``conditions.seed`` + its index, as in a whole run.
    """
    if clips:
        recognizer.calibrate(present(clips[0].audio, conditions, noise, (indices or [0])[0]))
    assistant.handle_sync("warm up the model", Session(language=conditions.language))  # loaded
    results = tuple(
        result_of(
            assistant,
            clip.label,
            hear(recognizer, clip.audio, conditions, noise, index),
            conditions.language,
        )
        for index, clip in zip(indices or range(len(clips)), clips, strict=True)
    )
    return SpeechReport(audio_dir, labels, conditions, results)


def present(audio: Audio, conditions: Conditions, noise: Audio | None, index: int) -> Audio:
    """The clip as the recogniser hears it: clean, or with noise (seed + index)."""
    if conditions.snr_db is None:
        return audio
    return mix_at_snr(
        audio, noise, conditions.snr_db, conditions.seed + index, conditions.reference
    )


def hear(
    recognizer: Recognizer, clip: Audio, conditions: Conditions, noise: Audio | None, index: int
) -> Hearing:
    """The clip decoded as ``conditions.mode`` says: streamed in its room, or whole."""
    if conditions.mode == "whole":
        return hear_whole(recognizer, present(clip, conditions, noise, index))
    heard = present(in_room(clip), conditions, noise, index)  # the noise fills the room too
    return hear_streaming(recognizer, heard, speech_span(clip))


def result_of(
    assistant: Assistant, label: SpeechLabel, hearing: Hearing, language: str
) -> FileResult:
    """Route what was heard (nothing heard: nothing routed)."""
    transcript = hearing.transcript
    if transcript.empty or transcript.rejected:
        return FileResult(label, hearing, None, 0.0)
    began = time.perf_counter()
    heard = heard_text(transcript.text, language)  # as every spoken turn: "ten" -> "10"
    outcome = outcome_of(assistant, replace(label.example, text=heard), language)
    return FileResult(label, hearing, outcome, time.perf_counter() - began)


# -- the text report ----------------------------------------------------------------


def format_speech_report(report: SpeechReport) -> str:
    """Accuracy, every wrong file, real-time factor and latency, as text."""
    rtf, latency = report.real_time_factor, report.latency
    lines = [
        f"speech eval: {report.audio_dir} ({report.total} files, "
        f"language {report.conditions.language}, {report.conditions.describe()})",
        f"heard            {report.conditions.heard_as()}",
        f"accuracy         {report.accuracy:.3f}  ({report.correct}/{report.total} correct)",
        f"real-time factor mean {rtf.mean:.3f}  max {rtf.max:.3f}",
        f"latency          p50 {latency.p50_ms:.0f} ms  p90 {latency.p90_ms:.0f} ms  "
        f"p99 {latency.p99_ms:.0f} ms  (decode after the end of speech + NLU per file)",
    ]
    if report.conditions.mode == "streaming":
        lines.append(
            f"endpointer       speech cut in {len(report.cut)}/{report.total} files "
            f"(no speech found in {report.no_speech})"
        )
    errors = report.errors
    lines.append(f"errors ({len(errors)}):" if errors else "errors: none")
    lines.extend(f"  {describe_error(result)}" for result in errors)
    return "\n".join(lines)


def describe_error(result: FileResult) -> str:
    """One wrong file: its name, what was expected, what came, and the transcript."""
    example = result.label.example
    expected = labelled(example.label, example.slots)
    cut = "  (the endpointer cut the speech)" if result.cut else ""
    if result.outcome is None and result.transcript.rejected:
        heard = result.transcript.text
        return f"{result.label.file}: expected {expected}, {NO_COMMAND}  heard {heard!r}{cut}"
    if result.outcome is None:
        return f"{result.label.file}: expected {expected}, {NOTHING_HEARD}{cut}"
    heard = result.transcript.text
    return f"{result.label.file}: expected {expected}, got {result.got}  heard {heard!r}{cut}"
