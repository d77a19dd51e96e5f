"""Sentence templates: many example sentences written as one, in hassil's style.

    "[can I get | I'd like] (a | an) {size} {drink} [with {milk}]"

``(a | b)`` is one of the alternatives, ``[a | b]`` one of them or nothing, ``{slot}``
any word of a list slot's values (or any sample of a text slot); groups nest. A
template expands into annotated examples (``Example`` with a span per slot word),
so the NLU and the recogniser's skill bias learn them like written examples. When
a template can say more sentences than its share of ``INTENT_SAMPLES``, its share
is sampled fairly (every sentence it can say is equally likely), from a seed made
of the template's text: the same skill always trains on the same sentences.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .examples import Example, Span

INTENT_SAMPLES = 300
"""Most sentences an intent's templates expand into, all templates together."""
MIN_SAMPLES = 3
"""Each template gives at least this many sentences (or all it can say)."""
MAX_DEPTH = 10
"""Groups inside groups, at most."""
_SPECIAL = "()[]{}|"


@dataclass(frozen=True)
class Words:
    text: str


@dataclass(frozen=True)
class SlotRef:
    name: str
    offset: int


@dataclass(frozen=True)
class Choice:
    options: tuple[tuple[Piece, ...], ...]


Piece = Words | SlotRef | Choice
Sequence = tuple[Piece, ...]


class TemplateError(ValueError):
    """A template that cannot be read; ``offset`` is where in its text."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


def parse_template(text: str) -> Choice:
    """The template as a choice of sequences (top-level ``|`` allowed)."""
    parser = _Parser(text)
    choice = parser.choice(end=None)
    if not any(_has_words(option) for option in choice.options):
        raise TemplateError("the template says nothing", 0)
    return choice


def slot_refs(template: Choice) -> Iterator[SlotRef]:
    """Every ``{slot}`` of the template, in order."""
    for option in template.options:
        for piece in option:
            if isinstance(piece, SlotRef):
                yield piece
            elif isinstance(piece, Choice):
                yield from slot_refs(piece)


WordsOf = Callable[[str], list[str]]
"""A slot's words in the template's language, by slot name."""


def count(template: Choice, words_of: WordsOf) -> int:
    """How many sentences the template can say."""
    return sum(_count_sequence(option, words_of) for option in template.options)


def expand(template: Choice, words_of: WordsOf, limit: int, seed: str) -> list[Example]:
    """Every sentence of the template if there are at most ``limit``, else ``limit``
    sentences drawn fairly (distinct, seeded by ``seed``)."""
    total = count(template, words_of)
    if total <= limit:
        found = [_example(p) for p in _every(template, words_of)]
        return list(dict.fromkeys(found))
    rng = random.Random(hashlib.sha256(seed.encode()).digest())
    chosen: dict[Example, None] = {}
    for _ in range(limit * 20):
        if len(chosen) >= limit:
            break
        chosen.setdefault(_example(_draw(template, words_of, rng)), None)
    return list(chosen)


def shares(sizes: list[int], total: int = INTENT_SAMPLES) -> list[int]:
    """How many sentences each template of an intent gives: in proportion to what it
    can say, at least ``MIN_SAMPLES``, never more than it can say."""
    whole = sum(sizes) or 1
    return [min(size, max(MIN_SAMPLES, math.floor(total * size / whole))) for size in sizes]


def adjacent_slots(
    template: Choice, is_free: Callable[[str], bool]
) -> list[tuple[SlotRef, SlotRef]]:
    """Pairs of free-word (text) slots that some sentence of the template says one
    right after the other, with no words between them ("{album} [by] {artist}")."""
    return _follows(template, is_free)[3]


def says_words(template: Choice | Sequence, is_free: Callable[[str], bool]) -> bool:
    """Whether every sentence of the template has a word besides free-word slots."""
    if isinstance(template, Choice):
        return all(says_words(option, is_free) for option in template.options)
    return any(
        (isinstance(p, Words) and _is_said(p.text))
        or (isinstance(p, SlotRef) and not is_free(p.name))
        or (isinstance(p, Choice) and says_words(p, is_free))
        for p in template
    )


_Ends = set[SlotRef | None]
"""What a stretch of template can start or end with: a free slot, or None (a word)."""


def _follows(
    piece: Piece | Sequence, is_free: Callable[[str], bool]
) -> tuple[bool, _Ends, _Ends, list[tuple[SlotRef, SlotRef]]]:
    """(can say nothing, what it can start with, end with, free slots side by side)."""
    if isinstance(piece, Words):
        said = _is_said(piece.text)
        return (not said, {None} if said else set(), {None} if said else set(), [])
    if isinstance(piece, SlotRef):
        end: _Ends = {piece if is_free(piece.name) else None}
        return (False, end, set(end), [])
    firsts: _Ends = set()
    lasts: _Ends = set()
    pairs: list[tuple[SlotRef, SlotRef]] = []
    if isinstance(piece, Choice):
        empty = False
        for option in piece.options:
            e, f, last, p = _follows(option, is_free)
            empty, firsts, lasts, pairs = empty or e, firsts | f, lasts | last, pairs + p
        return (empty, firsts, lasts, pairs)
    empty = True
    for part in piece:
        e, f, last, p = _follows(part, is_free)
        pairs += p
        pairs += [(a, b) for a in lasts for b in f if a is not None and b is not None]
        if empty:
            firsts |= f
        lasts = last | (lasts if e else set())
        empty = empty and e
    return (empty, firsts, lasts, pairs)


def _is_said(text: str) -> bool:
    """Words that are heard: not only spaces and punctuation (speech has none)."""
    return any(c.isalnum() for c in text)


# -- parsing ---------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0
        self.depth = 0

    def choice(self, end: str | None) -> Choice:
        start = self.at
        if end is not None:
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise TemplateError(
                    f"groups nest deeper than {MAX_DEPTH}: write simpler templates", start - 1
                )
        options = [self.sequence()]
        while self.at < len(self.text) and self.text[self.at] == "|":
            self.at += 1
            options.append(self.sequence())
        if end is None:
            if self.at < len(self.text):
                raise TemplateError(
                    f"'{self.text[self.at]}' without an opening bracket before it", self.at
                )
        elif self.at >= len(self.text):
            opening = "(" if end == ")" else "["
            raise TemplateError(f"'{opening}' is never closed with '{end}'", start - 1)
        elif self.text[self.at] != end:
            raise TemplateError(f"expected '{end}' here, not '{self.text[self.at]}'", self.at)
        else:
            self.at += 1
        if end == ")" and any(not _has_words(o) for o in options):
            raise TemplateError(
                "an alternative in '( | )' is empty; write optional words in '[ ]'", start - 1
            )
        if end is not None:
            self.depth -= 1
        return Choice(tuple(options))

    def sequence(self) -> Sequence:
        pieces: list[Piece] = []
        while self.at < len(self.text):
            char = self.text[self.at]
            if char in "|)]":
                break
            if char == "(":
                self.at += 1
                pieces.append(self.choice(")"))
            elif char == "[":
                self.at += 1
                optional = self.choice("]")
                pieces.append(Choice((*optional.options, ())))
            elif char == "{":
                pieces.append(self.slot())
            elif char == "}":
                raise TemplateError("'}' without '{' before it", self.at)
            else:
                start = self.at
                while self.at < len(self.text) and self.text[self.at] not in _SPECIAL:
                    self.at += 1
                pieces.append(Words(self.text[start : self.at]))
        return tuple(pieces)

    def slot(self) -> SlotRef:
        start = self.at
        close = self.text.find("}", start)
        if close < 0:
            raise TemplateError("'{' is never closed with '}'", start)
        name = self.text[start + 1 : close].strip()
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise TemplateError(
                f"'{{{name}}}' is no slot name: write {{slot}} with a slot declared "
                "under 'slots:' (lowercase letters, digits, _)",
                start,
            )
        self.at = close + 1
        return SlotRef(name, start)


def _has_words(sequence: Sequence) -> bool:
    """Whether the sequence can say anything at all."""
    return any(
        isinstance(p, SlotRef)
        or (isinstance(p, Words) and p.text.strip())
        or (isinstance(p, Choice) and any(_has_words(o) for o in p.options))
        for p in sequence
    )


# -- expanding -------------------------------------------------------------------------

_Part = tuple[str, str | None]
"""A run of text and the slot it is a word of (None: the template's own words)."""


def _count_sequence(sequence: Sequence, words_of: WordsOf) -> int:
    total = 1
    for piece in sequence:
        if isinstance(piece, SlotRef):
            total *= len(words_of(piece.name))
        elif isinstance(piece, Choice):
            total *= count(piece, words_of)
    return total


def _every(template: Choice, words_of: WordsOf) -> Iterator[list[_Part]]:
    for option in template.options:
        yield from _every_sequence(option, words_of)


def _every_sequence(sequence: Sequence, words_of: WordsOf) -> Iterator[list[_Part]]:
    if not sequence:
        yield []
        return
    first, rest = sequence[0], sequence[1:]
    heads: list[list[_Part]]
    if isinstance(first, Words):
        heads = [[(first.text, None)]]
    elif isinstance(first, SlotRef):
        heads = [[(word, first.name)] for word in words_of(first.name)]
    else:
        heads = list(_every(first, words_of))
    for head in heads:
        for tail in _every_sequence(rest, words_of):
            yield head + tail


def _draw(template: Choice, words_of: WordsOf, rng: random.Random) -> list[_Part]:
    weights = [_count_sequence(o, words_of) for o in template.options]
    option = rng.choices(template.options, weights=weights)[0]
    parts: list[_Part] = []
    for piece in option:
        if isinstance(piece, Words):
            parts.append((piece.text, None))
        elif isinstance(piece, SlotRef):
            parts.append((rng.choice(words_of(piece.name)), piece.name))
        else:
            parts += _draw(piece, words_of, rng)
    return parts


def _example(parts: list[_Part]) -> Example:
    """The sentence of the parts, spaces collapsed, with a span per slot word."""
    text, spans = "", []
    for run, slot in parts:
        if slot is None:
            run = re.sub(r"\s+", " ", run)
            if not text or text.endswith(" "):
                run = run.lstrip()
            text += run
        else:
            spans.append(Span(run, slot, len(text), len(text) + len(run)))
            text += run
    return Example(text.rstrip(), tuple(spans))
