"""The sparse features `FastNlu` feeds to DIET, computed as Rasa 3.6 does.

`SparseFeaturizer` runs a model's featurizers in their pipeline order, from the
parts `fast_export` writes under ``sequence_features``:

- LexicalSyntacticFeaturizer's window features, per token;
- each CountVectorsFeaturizer (sklearn's word / char / char_wb analyzers), per
  token and, for the sentence, over the joined tokens.

Each part's columns follow the previous part's, in the token rows and (count
vectors only) in the sentence row.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from typing import Any

Token = tuple[str, int, int]  # text, start, end

_NUMBER = re.compile(r"\b[0-9]+\b")  # CountVectorsFeaturizer._process_tokens
_SKLEARN_TOKEN = re.compile(r"(?u)\b\w+\b")
_SKLEARN_SPACES = re.compile(r"\s\s+")
_LEXICAL: dict[str, Callable[[str], object]] = {
    "low": lambda t: t.islower(),
    "title": lambda t: t.istitle(),
    "prefix5": lambda t: t[:5],
    "prefix2": lambda t: t[:2],
    "suffix5": lambda t: t[-5:],
    "suffix3": lambda t: t[-3:],
    "suffix2": lambda t: t[-2:],
    "suffix1": lambda t: t[-1:],
    "pos": lambda t: None,
    "pos2": lambda t: None,
    "upper": lambda t: t.isupper(),
    "digit": lambda t: t.isdigit(),
}


class SparseFeaturizer:
    """One model's featurizers and the column each one's features start at."""

    def __init__(self, parts: list[dict[str, Any]]) -> None:
        self._parts = parts
        offsets, offset = [], 0
        for part in self._parts:
            offsets.append(offset)
            offset += part["size"] or 0
        self._offsets = offsets
        sentence_offsets, offset = [], 0
        for part in self._parts:
            if part["kind"] == "count_vectors":
                sentence_offsets.append(offset)
                offset += part["size"] or 0
            else:
                sentence_offsets.append(-1)
        self._sentence_offsets = sentence_offsets
        for part in self._parts:
            if part["kind"] == "lexical":
                part["_map"] = {
                    (int(key.split("###")[0]), key.split("###")[1]): values
                    for key, values in part["feature_to_idx"].items()
                }

    def features(self, tokens: list[Token]) -> tuple[list[dict[int, float]], dict[int, float]]:
        """A sparse row (column: value) for each token, and the sentence's row."""
        sequence: list[dict[int, float]] = [defaultdict(float) for _ in tokens]
        sentence: dict[int, float] = defaultdict(float)
        for part, offset, sentence_offset in zip(
            self._parts, self._offsets, self._sentence_offsets, strict=True
        ):
            if part["kind"] == "lexical":
                _lexical(part, tokens, offset, sequence)
                continue
            vocabulary = part["vocabulary"]
            if not vocabulary:
                continue
            words = [_NUMBER.sub("__NUMBER__", text) for text, _, _ in tokens]
            if part["lowercase"]:
                words = [w.lower() for w in words]
            for row, word in zip(sequence, words, strict=True):
                for gram in _analyze(part, word):
                    column = vocabulary.get(gram)
                    if column is not None:
                        row[offset + column] += 1.0
            for gram in _analyze(part, " ".join(words)):
                column = vocabulary.get(gram)
                if column is not None:
                    sentence[sentence_offset + column] += 1.0
        return sequence, sentence


def _lexical(
    part: dict[str, Any], tokens: list[Token], offset: int, rows: list[dict[int, float]]
) -> None:
    """LexicalSyntacticFeaturizer's window features, set to 1.0 in `rows` from `offset` on."""
    config: list[list[str]] = part["features"]
    mapping: dict[tuple[int, str], dict[str, int]] = part["_map"]
    window = len(config)
    half = window // 2
    count = len(tokens)
    for anchor in range(count):
        features: dict[tuple[int, str], str] = {}
        for position, relative in enumerate(range(-half, half + window % 2)):
            at = anchor + relative
            if at < 0 or at >= count:
                continue
            text = tokens[at][0]
            for name in config[position]:
                if name == "EOS":
                    value = str(at == count - 1)
                elif name == "BOS":
                    value = str(at == 0)
                else:
                    value = str(_LEXICAL[name](text))
                features[(position, name)] = value
        for key, value in features.items():
            values = mapping.get(key)
            if not values:
                continue
            index = values.get(value, -1)
            if index > -1:
                rows[anchor][offset + index] = 1.0


def _analyze(part: dict[str, Any], document: str) -> list[str]:
    """sklearn CountVectorizer's analyzer (no accents stripping, no stop words)."""
    if part["lowercase"]:
        document = document.lower()
    min_n, max_n = part["min_ngram"], part["max_ngram"]
    analyzer = part["analyzer"]
    if analyzer == "word":
        words = _SKLEARN_TOKEN.findall(document)
        if max_n == 1:
            return list(words)
        grams = list(words) if min_n == 1 else []
        for n in range(max(min_n, 2), min(max_n + 1, len(words) + 1)):
            for i in range(len(words) - n + 1):
                grams.append(" ".join(words[i : i + n]))
        return grams
    document = _SKLEARN_SPACES.sub(" ", document)
    if analyzer == "char":
        length = len(document)
        grams = list(document) if min_n == 1 else []
        for n in range(max(min_n, 2), min(max_n + 1, length + 1)):
            for i in range(length - n + 1):
                grams.append(document[i : i + n])
        return grams
    if analyzer == "char_wb":
        grams = []
        for word in document.split():
            word = " " + word + " "
            length = len(word)
            for n in range(min_n, max_n + 1):
                offset = 0
                grams.append(word[offset : offset + n])
                while offset + n < length:
                    offset += 1
                    grams.append(word[offset : offset + n])
                if offset == 0:
                    break
        return grams
    raise ValueError(f"unknown analyzer {analyzer}")
