"""How much a transcript looks like something the skills can say.

A language model biased toward the skills turns any speech into the skills'
words: "the weather is nice today" comes out as "i'd like a dark" or "get repeat
roast latte". Such a transcript is stitched from short pieces of the skills'
sentences, while a command follows one sentence for most of its length. So the
fit of a transcript is the share of its 4-word windows (with the sentence's start
and end as words) that occur in some sentence the skills can produce, with every
slot value read as its slot ("a large latte" and "a small mocha" are the same
window), as Rhasspy and Rhino read slot values as classes. A transcript shorter
than a window fits when it is a whole sentence of the skills ("cake", "yes").

The recogniser reports the fit as the transcript's confidence; below
`NOT_A_COMMAND` the spoken pipeline treats the speech as no command.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

ORDER = 4
NOT_A_COMMAND = 0.35
START, END = "<s>", "</s>"


@dataclass(frozen=True)
class SentenceFit:
    """The windows of the skills' sentences, slot values read as their slots."""

    windows: frozenset[tuple[str, ...]]
    wholes: frozenset[tuple[str, ...]]
    values: dict[tuple[str, ...], str]  # a value's words -> its slot's class token
    longest: int

    @classmethod
    def build(cls, sentences: Iterable[str], values: Iterable[tuple[str, str]]) -> SentenceFit:
        """From the sentences (lower-case words) and (value phrase, slot) pairs."""
        classes = {tuple(v.lower().split()): f"<{slot}>" for v, slot in values if v.split()}
        longest = max((len(words) for words in classes), default=0)
        fit = cls(frozenset(), frozenset(), classes, longest)
        windows: set[tuple[str, ...]] = set()
        wholes: set[tuple[str, ...]] = set()
        for sentence in sentences:
            words = fit.classes(sentence)
            if len(words) < ORDER:
                wholes.add(tuple(words))
            windows.update(_windows(words))
        return cls(frozenset(windows), frozenset(wholes), classes, longest)

    def classes(self, text: str) -> list[str]:
        """The words of `text` between start and end marks, each value as its slot
        (the longest value at each place)."""
        words, out, index = text.lower().split(), [START], 0
        while index < len(words):
            for size in range(min(self.longest, len(words) - index), 0, -1):
                token = self.values.get(tuple(words[index : index + size]))
                if token is not None:
                    out.append(token)
                    index += size
                    break
            else:
                out.append(words[index])
                index += 1
        return [*out, END]

    def score(self, text: str) -> float:
        """1.0: every window is the skills'; 0.0: none is (or nothing was said). A word
        at either edge may be left out (noise around speech is often heard as a word:
        "fold the baking class", "show me the nova for")."""
        words = text.split()
        trimmed = [words[a : len(words) - b] for a in (0, 1) for b in (0, 1)]
        return max(self._share(" ".join(w)) for w in trimmed if w) if words else 0.0

    def _share(self, text: str) -> float:
        words = self.classes(text)
        if len(words) <= 2:
            return 0.0
        if len(words) < ORDER:
            return 1.0 if tuple(words) in self.wholes else 0.0
        windows = _windows(words)
        return sum(w in self.windows for w in windows) / len(windows)


def _windows(words: list[str]) -> list[tuple[str, ...]]:
    return [tuple(words[i : i + ORDER]) for i in range(len(words) - ORDER + 1)]
