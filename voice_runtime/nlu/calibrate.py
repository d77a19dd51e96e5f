"""The rephrase threshold of a language, calibrated on held-in labelled sentences.

Below the threshold the assistant asks to rephrase instead of acting on its best
guess. One fixed number does not suit every model: with a dozen intents the right
intent can come first at 0.3 (a bare film title), while a model of three intents
is rarely that unsure. So each language's threshold is chosen on sentences the
project holds in for the purpose (`nlu_data/<lang>.calibration.jsonl`: neither
training nor test sentences), one JSON object a line in `voice eval nlu`'s format:

    {"text": "sourdough", "intent": "anchor_baking.recipe"}
    {"text": "the weather is nice today", "intent": "out_of_scope"}

A sentence counts as handled right at threshold t when the model's top intent is
its label with confidence >= t, or, for an `out_of_scope` label, when the top
intent is `out_of_scope` or below t (asking to rephrase is not forcing a
command). A threshold may cost at most 3% of the requests the model gets right
(`KEEP`); of those thresholds, the longest run with the most sentences handled
right is kept, and its middle chosen (robust to one sentence more or less).
The result is cached beside the model, keyed by the model's and the data's
fingerprints, so a process reads it instead of parsing the sentences again.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import InputError
from .result import NluResult

DEFAULT_THRESHOLD = 0.4
CANDIDATES = tuple(round(0.05 * step, 2) for step in range(1, 17))  # 0.05 .. 0.80
CALIBRATION_VERSION = 1
KEEP = 0.97
"""The share of the requests the model gets right that the threshold must keep."""
CALIBRATION_CACHE = "calibration.json"
OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True)
class Labelled:
    """A held-in sentence and the model intent it means."""

    where: str
    text: str
    intent: str


@dataclass(frozen=True)
class Calibration:
    """The chosen threshold, how many sentences it handles right, and the default's count."""

    language: str
    threshold: float
    correct: int
    total: int
    default_correct: int
    data: str
    key: str  # the fingerprints of the model and the data it was computed for

    def describe(self) -> str:
        return (
            f"{self.language}: rephrase threshold {self.threshold:.2f}, calibrated on "
            f"{self.data} ({self.correct}/{self.total} handled right; "
            f"{DEFAULT_THRESHOLD:.2f} would give {self.default_correct}/{self.total})"
        )


def calibration_file(nlu_data_dir: Path, language: str) -> Path:
    return nlu_data_dir / f"{language}.calibration.jsonl"


def load_labelled(path: Path) -> list[Labelled]:
    """The sentences of a calibration file; InputError naming file:line if one is bad."""
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the calibration sentences ({exc})") from exc
    found = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: invalid JSON ({exc.msg}, column {exc.colno})") from exc
        text = data.get("text") if isinstance(data, dict) else None
        intent = data.get("intent") if isinstance(data, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise InputError(f'{where}: expected {{"text": "...", "intent": "..."}}')
        if not isinstance(intent, str) or not intent.strip():
            raise InputError(f'{where}: "intent" must be a model intent name')
        found.append(Labelled(where, text.strip(), intent.strip()))
    if not found:
        raise InputError(f"{path}: no calibration sentences (one JSON object a line)")
    return found


def handled(result: NluResult, intent: str, threshold: float) -> bool:
    """Whether acting on `result` at `threshold` does what the label asks."""
    top = result.intent
    sure = top.confidence >= threshold
    if intent == OUT_OF_SCOPE:
        return not sure or top.name == OUT_OF_SCOPE
    return sure and top.name == intent


def choose_threshold(results: Sequence[tuple[NluResult, str]]) -> tuple[float, int]:
    """The threshold to use, and how many sentences it handles right.

    Admissible are the candidates that keep at least `KEEP` of the requests the
    model already gets right (a threshold exists to catch doubtful guesses, not to
    turn right answers into "please rephrase"); of those, the middle of the longest
    run with the most sentences handled right."""
    right = [r.intent.confidence for r, i in results if i != OUT_OF_SCOPE and r.intent.name == i]
    allowed = math.floor(len(right) * (1 - KEEP))
    admissible = [t for t in CANDIDATES if sum(c < t for c in right) <= allowed] or [CANDIDATES[0]]
    scores = [sum(handled(r, i, t) for r, i in results) for t in admissible]
    best = max(scores)
    runs: list[tuple[int, int]] = []  # [start, end) of each run of best scores
    start: int | None = None
    for index, score in enumerate([*scores, -1]):
        if score == best and start is None:
            start = index
        elif score != best and start is not None:
            runs.append((start, index))
            start = None
    first, end = max(runs, key=lambda run: run[1] - run[0])  # the lowest of the longest
    return admissible[(first + end - 1) // 2], best


def calibrate(
    language: str,
    sentences: Sequence[Labelled],
    parse: Callable[[str], NluResult],
    data: str,
    key: str,
) -> Calibration:
    """Parse every sentence once and choose the threshold."""
    results = [(parse(s.text), s.intent) for s in sentences]
    threshold, correct = choose_threshold(results)
    default = sum(handled(r, i, DEFAULT_THRESHOLD) for r, i in results)
    return Calibration(language, threshold, correct, len(results), default, data, key)


def cache_key(model_fingerprint: str, sentences: Sequence[Labelled]) -> str:
    digest = hashlib.sha256(f"{CALIBRATION_VERSION}\0{model_fingerprint}".encode())
    for sentence in sentences:
        digest.update(f"\0{sentence.text}\0{sentence.intent}".encode())
    return digest.hexdigest()[:16]


def read_cached(model_dir: Path, key: str) -> Calibration | None:
    """The calibration stored beside the model, if it was made for this key."""
    try:
        data = json.loads((model_dir / CALIBRATION_CACHE).read_text("utf-8"))
        cached = Calibration(**data)
    except (OSError, ValueError, TypeError):
        return None
    return cached if cached.key == key else None


def write_cached(model_dir: Path, calibration: Calibration) -> None:
    """Store the calibration beside the model (atomically: a reader sees old or new)."""
    target = model_dir / CALIBRATION_CACHE
    partial = target.with_suffix(".tmp")
    partial.write_text(json.dumps(asdict(calibration), indent=2) + "\n", "utf-8")
    partial.replace(target)
