"""Example sentences in Rasa's annotation style: `how do I bake [bread](dish)`."""

from __future__ import annotations

import re
from dataclasses import dataclass

_ANNOTATION = re.compile(r"\[([^\[\]()]+)\]\(([^\[\]()]+)\)")


@dataclass(frozen=True)
class Span:
    """An annotated entity: `text` in the sentence, for `slot`."""

    text: str
    slot: str
    start: int
    end: int


@dataclass(frozen=True)
class Example:
    """An example sentence without markup, and its annotated spans."""

    text: str
    spans: tuple[Span, ...] = ()


class ExampleSyntaxError(ValueError):
    """The sentence's brackets do not form `[text](slot)` annotations."""


def parse_example(source: str) -> Example:
    """Parse `how do I bake [bread](dish)` into text and spans."""
    source = source.strip()
    text_parts: list[str] = []
    spans: list[Span] = []
    position = 0
    length = 0
    for match in _ANNOTATION.finditer(source):
        before = source[position : match.start()]
        _check_plain(before)
        text_parts.append(before)
        length += len(before)
        word, slot = match.group(1).strip(), match.group(2).strip()
        spans.append(Span(word, slot, length, length + len(word)))
        text_parts.append(word)
        length += len(word)
        position = match.end()
    rest = source[position:]
    _check_plain(rest)
    text_parts.append(rest)
    return Example("".join(text_parts), tuple(spans))


def _check_plain(text: str) -> None:
    for char in "[]()":
        if char in text:
            raise ExampleSyntaxError(
                f"stray '{char}': mark a slot value as [words](slot_name), "
                "and write other brackets as words"
            )
