"""Vosk (Kaldi) recognition from a model directory on disk: never downloads anything.

Two modes:

- command mode (``phrases`` given): the decoder's vocabulary is restricted to the
  words of the phrases (a Vosk grammar: a JSON list of phrases plus the model's
  unknown-word token). Vosk compiles that list into a *loop over its words*, not
  into a list of whole phrases, so the hypothesis is then matched against the
  phrases: a transcript that is not one of them keeps its words but has its
  confidence scaled by how close the nearest phrase is (word edit distance).
  Non-command speech thus comes out empty, unknown or with a low confidence.
- free dictation (``phrases=None``): the model's own language model.

Vosk's JSON strings are parsed once, here, into ``Word`` and ``Hypothesis``. A model
is loaded once per process and path (``load_model``) and shared by recognisers;
its vocabulary is read by ``vosk_vocabulary.py``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..audio.convert import RATE
from ..errors import ModelError
from .context import Expectation
from .recognizer import Recognizer
from .vosk_vocabulary import read_vocabulary

UNKNOWN_TOKENS = ("[unk]", "<UNK>", "<unk>")
"""How Vosk models spell the unknown word; stripped from every transcript."""
MIN_CONFIDENCE = 0.5
"""Below this a command-mode transcript is treated as "not a command"."""
WHOLE_CHUNK = 32000
"""Bytes per decoder call when decoding a whole clip (1 s of 16 kHz 16-bit audio)."""
_MAX_SEGMENT = 8
"""Longest vocabulary word (in characters) tried when segmenting unspaced text."""


def _vosk() -> Any:
    """The vosk module, with its Kaldi logging silenced."""
    try:
        import vosk
    except ImportError as exc:
        raise ModelError(f"vosk is not installed: pip install vosk ({exc})") from exc
    vosk.SetLogLevel(-1)
    return vosk


# -- Vosk's JSON, parsed at the boundary -----------------------------------------------


@dataclass(frozen=True)
class Word:
    """One recognised word, its confidence (0..1) and its time span in seconds."""

    text: str
    confidence: float
    start: float
    end: float

    @property
    def unknown(self) -> bool:
        return self.text in UNKNOWN_TOKENS


@dataclass(frozen=True)
class Hypothesis:
    """A Vosk result: the words with their confidences (when ``SetWords``) and the text."""

    text: str
    words: tuple[Word, ...] = ()

    @classmethod
    def from_json(cls, raw: str) -> Hypothesis:
        """Parse ``Result()`` / ``FinalResult()``; ModelError if it is not Vosk's JSON."""
        try:
            data = json.loads(raw)
            words = tuple(
                Word(str(w["word"]), float(w["conf"]), float(w["start"]), float(w["end"]))
                for w in data.get("result", ())
            )
            return cls(str(data.get("text", "")), words)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ModelError(f"unexpected Vosk result {raw[:80]!r} ({exc})") from exc


def partial_text(raw: str) -> str:
    """The text of a ``PartialResult()`` JSON string, unknown-word tokens removed."""
    try:
        text = str(json.loads(raw).get("partial", ""))
    except (ValueError, AttributeError) as exc:
        raise ModelError(f"unexpected Vosk partial result {raw[:80]!r} ({exc})") from exc
    return " ".join(t for t in text.split() if t not in UNKNOWN_TOKENS)


# -- models ------------------------------------------------------------------------------


def is_vosk_model(directory: Path) -> bool:
    """True when ``directory`` looks like an unpacked Vosk model (``am/final.mdl``)."""
    return (directory / "am" / "final.mdl").is_file()


@dataclass
class LoadedModel:
    """A Vosk model in memory, shared by every recogniser of this process."""

    path: Path
    handle: Any
    load_seconds: float
    _vocabulary: frozenset[str] | None = field(default=None, repr=False)
    _read: bool = field(default=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def vocabulary(self) -> frozenset[str] | None:
        """The words the model can output (read once), or None when it cannot tell."""
        with self._lock:
            if not self._read:
                self._vocabulary = read_vocabulary(self.path)
                self._read = True
            return self._vocabulary


_MODELS: dict[Path, LoadedModel] = {}
_MODELS_LOCK = threading.Lock()


def load_model(path: str | Path) -> LoadedModel:
    """The Vosk model at ``path``, loaded on first use and cached for the process."""
    key = Path(path).expanduser().resolve()
    with _MODELS_LOCK:
        cached = _MODELS.get(key)
        if cached is not None:
            return cached
        if not key.is_dir():
            raise ModelError(f"Vosk model not found: {key} is not a directory")
        if not is_vosk_model(key):
            raise ModelError(f"not a Vosk model: {key} has no am/final.mdl")
        vosk = _vosk()
        began = time.perf_counter()
        try:
            handle = vosk.Model(str(key))  # a path, never lang=: that form downloads
        except Exception as exc:  # vosk raises a plain Exception("Failed to create a model")
            raise ModelError(f"cannot load the Vosk model {key}: {exc}") from exc
        loaded = LoadedModel(key, handle, time.perf_counter() - began)
        _MODELS[key] = loaded
        return loaded


# -- phrase lists --------------------------------------------------------------------------


@dataclass(frozen=True)
class PhraseList:
    """Command phrases as the model's words, the unknown token, and words it cannot say."""

    phrases: tuple[tuple[str, ...], ...]
    unknown: str = "[unk]"
    missing: tuple[str, ...] = ()
    """Words (or unspaced runs) not in the model's vocabulary: their phrases are left out."""

    @property
    def grammar(self) -> str:
        """The Vosk grammar: a JSON list of the phrases plus the unknown token."""
        texts = [" ".join(words) for words in self.phrases] + [self.unknown]
        return json.dumps(texts, ensure_ascii=False)

    def match(self, words: Sequence[str]) -> tuple[tuple[str, ...] | None, float]:
        """The nearest phrase and its similarity (1 = identical, 0 = nothing in common)."""
        best: tuple[str, ...] | None = None
        score = 0.0
        for phrase in self.phrases:
            similarity = 1.0 - edit_distance(words, phrase) / max(len(words), len(phrase), 1)
            if similarity > score:
                best, score = phrase, similarity
        return best, score


def build_phrases(phrases: Iterable[str], vocabulary: frozenset[str] | None = None) -> PhraseList:
    """A ``PhraseList`` from plain sentences, spelt in the model's words.

    With a vocabulary, each space-separated token is looked up as is, lower-cased and
    upper-cased, else split into the fewest vocabulary words (unspaced Chinese, say);
    a phrase holding a token nothing can spell is left out and the token reported.
    """
    unknown = next((t for t in UNKNOWN_TOKENS if vocabulary and t in vocabulary), "[unk]")
    kept: dict[tuple[str, ...], None] = {}
    missing: dict[str, None] = {}
    for phrase in phrases:
        words: list[str] = []
        for token in phrase.split():
            spelt = _spell(token, vocabulary)
            if spelt is None:
                missing[token] = None
                words = []
                break
            words += spelt
        if words:
            kept[tuple(words)] = None
    return PhraseList(tuple(kept), unknown, tuple(missing))


def _spell(token: str, vocabulary: frozenset[str] | None) -> list[str] | None:
    """``token`` as vocabulary words, or None when it cannot be spelt."""
    if vocabulary is None:
        return [token]
    for form in (token, token.lower(), token.upper()):
        if form in vocabulary:
            return [form]
    return _segment(token, vocabulary)


def _segment(text: str, vocabulary: frozenset[str]) -> list[str] | None:
    """The split of ``text`` into the fewest vocabulary words, or None."""
    best: list[list[str] | None] = [[]] + [None] * len(text)
    for end in range(1, len(text) + 1):
        for start in range(max(0, end - _MAX_SEGMENT), end):
            before = best[start]
            piece = text[start:end]
            if before is not None and piece in vocabulary:
                candidate = [*before, piece]
                current = best[end]
                if current is None or len(candidate) < len(current):
                    best[end] = candidate
    return best[-1]


def edit_distance(a: Sequence[str], b: Sequence[str]) -> int:
    """Levenshtein distance between two word sequences."""
    row = list(range(len(b) + 1))
    for i, word in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, other in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (word != other))
    return row[-1]


# -- the recogniser ------------------------------------------------------------------------


@dataclass
class _Pass:
    """One decoder over the utterance, its phrase list and its finished segments."""

    decoder: Any
    phrases: PhraseList | None
    segments: list[Hypothesis] = field(default_factory=list)


class VoskRecognizer(Recognizer):
    """A Vosk decoder over a model directory; command mode with ``phrases``, else free.

    With an expectation (``expect``), a second decoder restricted to the expected
    phrases hears the same audio; its transcript wins when it is exactly one of
    them and either the first decoder heard no whole command phrase or the answer
    is at least as sure (and at least ``MIN_CONFIDENCE``); else the first stands.
    """

    def __init__(
        self,
        model_path: str | Path,
        language: str,
        phrases: Iterable[str] | PhraseList | None = None,
    ) -> None:
        """Load (or reuse) the model; with phrases, restrict the decoder to their words."""
        super().__init__(language)
        self.model = load_model(model_path)
        self.phrases: PhraseList | None
        if phrases is None:
            self.phrases = None
        elif isinstance(phrases, PhraseList):
            self.phrases = phrases
        else:
            self.phrases = build_phrases(phrases, self.model.vocabulary())
        if self.phrases is not None and not self.phrases.phrases:
            missing = ", ".join(self.phrases.missing[:5]) or "none given"
            raise ModelError(
                f"no command phrase can be said with {self.model.path.name} "
                f"(words it lacks: {missing})"
            )
        if self.phrases is not None:
            self.reject_below = MIN_CONFIDENCE
        self._expected: PhraseList | None = None
        self._contexts: dict[str, PhraseList | None] = {}
        self._passes = [_Pass(self._new_decoder(self.phrases), self.phrases)]
        self._fed_seconds = 0.0
        self._origin = 0.0
        self._open = False
        self.last: Hypothesis | None = None
        """The words of the last finished utterance, with their confidences and times."""
        self.last_match: tuple[tuple[str, ...] | None, float] = (None, 0.0)
        """The phrase nearest to the last utterance and its similarity (command mode)."""

    @property
    def free(self) -> bool:
        return self.phrases is None

    def _expect(self, expectation: Expectation | None) -> None:
        """Decode the next utterances against the expected phrases too (see the class)."""
        if expectation is None:
            self._expected = None
            return
        key = expectation.fingerprint
        if key not in self._contexts:
            listed = build_phrases(expectation.phrases, self.model.vocabulary())
            self._contexts[key] = listed if listed.phrases else None
        self._expected = self._contexts[key]

    def _new_decoder(self, phrases: PhraseList | None) -> Any:
        """A Kaldi recogniser over the shared model (a few ms; 60 ms without grammar)."""
        vosk = _vosk()
        try:
            if phrases is None:
                decoder = vosk.KaldiRecognizer(self.model.handle, float(RATE))
            else:
                decoder = vosk.KaldiRecognizer(self.model.handle, float(RATE), phrases.grammar)
        except Exception as exc:  # vosk raises a plain Exception("Failed to create ...")
            raise ModelError(f"cannot create a Vosk recogniser: {exc}") from exc
        decoder.SetWords(True)
        return decoder

    def _start(self) -> None:
        # New decoders for every utterance: Vosk's Reset keeps the online speaker
        # adaptation (i-vectors) of earlier audio, so one utterance's result would depend
        # on what this recogniser heard before (another test, another person).
        self._passes = [_Pass(self._new_decoder(self.phrases), self.phrases)]
        if self._expected is not None:
            self._passes.append(_Pass(self._new_decoder(self._expected), self._expected))
        self._fed_seconds = 0.0
        self._origin = self._fed_seconds
        self._open = True

    def _accept(self, pcm: bytes) -> bool:
        """Decode with every pass; a pass at an endpoint (a pause) keeps its segment.
        True when the first pass is at one."""
        self._fed_seconds += len(pcm) / 2 / RATE
        ended = []
        for one in self._passes:
            ended.append(bool(one.decoder.AcceptWaveform(pcm)))
            if ended[-1]:
                one.segments.append(self._result(one.decoder.Result()))
        return ended[0]

    def _result(self, raw: str) -> Hypothesis:
        """Parse a result, its word times made relative to the utterance's start.

        Vosk counts time over the decoder's whole life, across ``Reset`` calls.
        """
        hypothesis = Hypothesis.from_json(raw)
        words = tuple(
            replace(w, start=round(w.start - self._origin, 3), end=round(w.end - self._origin, 3))
            for w in hypothesis.words
        )
        return Hypothesis(hypothesis.text, words)

    def _feed(self, pcm: bytes) -> str | None:
        first = self._passes[0]
        partial = "" if self._accept(pcm) else partial_text(first.decoder.PartialResult())
        done = [w.text for seg in first.segments for w in seg.words if not w.unknown]
        return " ".join([*done, partial]).strip() or None

    def _whole(self, pcm: bytes) -> None:
        for offset in range(0, len(pcm), WHOLE_CHUNK):
            self._accept(pcm[offset : offset + WHOLE_CHUNK])

    def _finish(self) -> tuple[str, float | None]:
        self._open = False
        results = []
        for one in self._passes:
            one.segments.append(self._result(one.decoder.FinalResult()))
            words = tuple(w for seg in one.segments for w in seg.words)
            results.append((words, *self._score(words, one.phrases)))
        words, text, confidence, match = results[0]
        if len(results) > 1:
            context = results[1]
            answer = context[2] or 0.0
            surer = answer >= (confidence or 0.0) or match[1] < 1.0
            if context[3][1] == 1.0 and answer >= MIN_CONFIDENCE and surer:
                words, text, confidence, match = context
        self.last = Hypothesis(" ".join(w.text for w in words), words)
        self.last_match = match
        return text, confidence

    def _score(
        self, words: tuple[Word, ...], phrases: PhraseList | None
    ) -> tuple[str, float | None, tuple[tuple[str, ...] | None, float]]:
        """The text without unknown tokens; the mean word confidence (unknown = 0),
        scaled in command mode by the similarity of the nearest phrase; and that phrase."""
        match: tuple[tuple[str, ...] | None, float] = (None, 0.0)
        if not words:
            return "", None, match
        heard = [w for w in words if not w.unknown]
        if not heard:
            return "", 0.0, match
        confidence = sum(w.confidence for w in heard) / len(words)
        if phrases is not None:
            match = phrases.match([w.text for w in heard])
            confidence *= match[1]
        return " ".join(w.text for w in heard), min(max(confidence, 0.0), 1.0), match
