"""Free words for `type: text` slots: cleaning a value, and finding one by template.

A text slot's value is the words as said (case kept: typed text keeps its capitals,
speech transcripts arrive in lowercase), trimmed, spaces collapsed, control
characters dropped, at most ``MAX_FREE_TEXT`` characters; nothing else is changed.

When the model tags no entity for a text slot, ``free_words`` reads it from the
utterance with the intent's templates: the template's own words must be said
around the slot's place (compared ignoring case and punctuation), a list slot's
place takes one of its words, and a text slot's place takes one or more words;
the reading that places the most of the template's own words wins.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator, Mapping

from .model import Slot
from .normalize import normalize
from .templates import Choice, SlotRef, Words, count

MAX_FREE_TEXT = 100
"""Most characters a text slot's value may have."""
MAX_TOKENS = 80
"""Longer utterances are not matched against templates."""
MAX_PATTERNS = 2000
"""Templates that say more shapes of sentence than this are not matched."""

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+(?:['’][^\W_{_CJK}]+)*")


def clean_free_text(text: str) -> str | None:
    """A text slot's value from words said: trimmed, one space between words, no
    control or format characters; None when nothing is left or it is too long."""
    kept = []
    for char in unicodedata.normalize("NFC", text):
        if char.isspace():
            kept.append(" ")
        elif unicodedata.category(char)[0] != "C":
            kept.append(char)
    value = " ".join("".join(kept).split())
    if not value or len(value) > MAX_FREE_TEXT:
        return None
    return value


def free_words(
    templates: tuple[Choice, ...], text: str, slots: Mapping[str, Slot], wanted: set[str]
) -> dict[str, str]:
    """Values of the ``wanted`` text slots from the template the whole ``text`` matches
    with the most of its own words ("播放{artist}的{album}" before "播放{album}"; the
    first of equals); empty when none matches."""
    tokens = [(m.start(), m.end(), _key(m.group())) for m in _TOKEN.finditer(text)]
    if not tokens or len(tokens) > MAX_TOKENS or not wanted:
        return {}
    keys = tuple(key for _, _, key in tokens)
    best: tuple[int, dict[str, str]] = (-1, {})
    for template in templates:
        for pattern in _patterns(template):
            names = {p.name for p in pattern if isinstance(p, SlotRef)}
            if not names & wanted or any(n not in slots for n in names):
                continue
            items = _items(pattern, slots)
            said = sum(kind != "text" for kind, _ in items)
            if said <= best[0]:
                continue
            spans = _match(items, keys)
            if spans is None:
                continue
            found = {}
            for name, (first, last) in spans.items():
                value = clean_free_text(text[tokens[first][0] : tokens[last - 1][1]])
                if name in wanted and value is not None:
                    found[name] = value
            if found:
                best = (said, found)
    return best[1]


# -- matching --------------------------------------------------------------------------

_Item = tuple[str, object]
"""("word", key) | ("list", tuple of word-key tuples) | ("text", slot name)."""


def _items(pattern: tuple[Words | SlotRef, ...], slots: Mapping[str, Slot]) -> list[_Item]:
    items: list[_Item] = []
    for piece in pattern:
        if isinstance(piece, Words):
            items += [("word", key) for key in _keys(piece.text)]
        elif slots[piece.name].type == "text":
            items.append(("text", piece.name))
        else:
            words = {
                _keys(w) for v in slots[piece.name].values for ws in v.synonyms.values() for w in ws
            }
            items.append(("list", tuple(w for w in words if w)))
    return items


def _match(items: list[_Item], keys: tuple[str, ...]) -> dict[str, tuple[int, int]] | None:
    """Token spans of the text slots when ``items`` say exactly ``keys``, else None.
    Earlier text slots take as few words as they can; failures are remembered, so
    this is polynomial in the utterance's length."""
    failed: set[tuple[int, int]] = set()

    def go(i: int, at: int) -> dict[str, tuple[int, int]] | None:
        if i == len(items):
            return {} if at == len(keys) else None
        if (i, at) in failed:
            return None
        kind, arg = items[i]
        result = None
        if kind == "word":
            if at < len(keys) and keys[at] == arg:
                result = go(i + 1, at + 1)
        elif kind == "list":
            assert isinstance(arg, tuple)
            for words in arg:
                if keys[at : at + len(words)] == words:
                    result = go(i + 1, at + len(words))
                    if result is not None:
                        break
        else:
            for end in range(at + 1, len(keys) + 1):
                rest = go(i + 1, end)
                if rest is not None:
                    result = {str(arg): (at, end), **rest}
                    break
        if result is None:
            failed.add((i, at))
        return result

    return go(0, 0)


@functools.lru_cache(maxsize=1024)
def _patterns(template: Choice) -> tuple[tuple[Words | SlotRef, ...], ...]:
    """Each shape of sentence the template can say, its slots left as places."""
    if count(template, lambda _: [""]) > MAX_PATTERNS:
        return ()
    return tuple(tuple(p) for p in _every(template))


def _every(choice: Choice) -> Iterator[list[Words | SlotRef]]:
    for option in choice.options:
        yield from _sequence(option)


def _sequence(pieces: tuple[Words | SlotRef | Choice, ...]) -> Iterator[list[Words | SlotRef]]:
    if not pieces:
        yield []
        return
    first, rest = pieces[0], pieces[1:]
    heads = list(_every(first)) if isinstance(first, Choice) else [[first]]
    for head in heads:
        for tail in _sequence(rest):
            yield head + tail


@functools.lru_cache(maxsize=4096)
def _keys(text: str) -> tuple[str, ...]:
    """The words of a text as compared: a Chinese character or a run of letters and
    digits each, case and width folded."""
    return tuple(_key(m.group()) for m in _TOKEN.finditer(text))


def _key(token: str) -> str:
    return normalize(token.replace("’", "'"))
