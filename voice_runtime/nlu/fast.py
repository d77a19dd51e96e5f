"""Rasa's NLU prediction for the models `voice train` makes, in numpy alone.

`FastNlu` answers like `Agent.parse_message` on the same model (same intent
ranking, confidences to float32 rounding, same entities with synonyms) without
importing TensorFlow or Rasa, from the files `fast_export` writes beside the
model archive. It follows Rasa 3.6 step by step:

- tokens: WhitespaceTokenizer's regular expressions, or jieba with the model's
  user dictionary (on a jieba instance of its own, so Rasa's global one is not
  loaded twice);
- sparse features (`fast_features`): LexicalSyntacticFeaturizer's window
  features, then each CountVectorsFeaturizer (sklearn's word / char / char_wb
  analyzers), per token and, for the sentence, over the joined tokens;
- DIET: sparse-to-dense layers, the sentence features appended as the last
  token, the transformer encoder (pre-norm layers, sinusoidal positions, exact
  GELU), the intent embedding's dot-product similarity with the saved label
  embeddings, softmax, ranking; entities by the CRF's Viterbi decode with
  Rasa's confidence values, BILOU clean-up and synonym mapping.

Texts Rasa treats specially (empty, or starting with "/") are declined
(`parse_raw` returns None) so the caller asks Rasa.
"""

from __future__ import annotations

import io
import json
import math
import re
import threading
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from .fast_export import FORMAT, Array, archive_digest, cache_paths
from .fast_features import SparseFeaturizer, Token
from .result import NluResult

# WhitespaceTokenizer (rasa/nlu/tokenizers/whitespace_tokenizer.py), needs `regex`
_WHITESPACE_SPLIT = (
    r"[^\w#@&]+(?=\s|$)|"
    r"(\s|^)[^\w#@&]+(?=[^0-9\s])|"
    r"(?<=[^0-9\s])[^\w._~:/?#\[\]()@!$&*+,;=-]+(?=[^0-9\s])"
)
_EMOJI = re.compile(
    "["
    "\U0001f600-\U0001f64f"
    "\U0001f300-\U0001f5ff"
    "\U0001f680-\U0001f6ff"
    "\U0001f1e0-\U0001f1ff"
    "\U00002702-\U000027b0"
    "\U000024c2-\U0001f251"
    "\u200d"
    "\u200c"
    "]+",
    flags=re.UNICODE,
)
_BILOU = ("B-", "I-", "L-", "U-")
NO_ENTITY = "O"


class FastNlu:
    """One language's exported model; thread-safe (read-only after loading)."""

    def __init__(self, meta: dict[str, Any], arrays: dict[str, Array], language: str):
        self.language = language
        self.meta = meta
        self.w = arrays
        diet = meta["diet"]
        self._labels = [diet["labels"][str(i)] for i in range(len(diet["labels"]))]
        self._tags = {int(k): v for k, v in diet["entity_tags"].items()}
        self._synonyms: dict[str, str] = meta.get("synonyms") or {}
        self._split: dict[str, bool] = diet["split_entities"]
        tokenizer = meta["tokenizer"]
        self._jieba: Any = None
        self._jieba_lock = threading.Lock()
        self._jieba_dictionary: str | None = (
            tokenizer.get("dictionary", "") if tokenizer["kind"] == "jieba" else None
        )
        self._regex: Any = None
        self._featurizer = SparseFeaturizer(meta["sequence_features"])

    @classmethod
    def load(cls, model_path: Path, language: str, check: bool = True) -> FastNlu | None:
        """The export beside `model_path`, or None if there is none for this archive."""
        json_path, npz_path = cache_paths(model_path)
        try:
            meta = json.loads(json_path.read_text("utf-8"))
            if meta.get("format") != FORMAT:
                return None
            if check and meta.get("model_sha256") != archive_digest(model_path):
                return None
            with np.load(npz_path) as data:
                arrays = {name: data[name] for name in data.files}
        except (OSError, ValueError, KeyError):
            return None
        return cls(meta, arrays, language)

    def warm_up(self) -> None:
        """Do the one-off work (jieba's dictionary, regex compilation) before a first parse."""
        self._tokenize("hello" if self._jieba_dictionary is None else "你好")

    # -- the result -------------------------------------------------------

    def parse(self, text: str) -> NluResult | None:
        raw = self.parse_raw(text)
        return None if raw is None else NluResult.from_rasa(raw, self.language)

    def parse_raw(self, text: str) -> dict[str, Any] | None:
        """Rasa's `Agent.parse_message` dict, or None for a text only Rasa can answer."""
        text = text.strip()  # UserMessage strips the text
        if not text or text.startswith("/"):
            return None
        tokens = self._tokenize(text)
        if not tokens:
            return None
        sequence, sentence = self._featurizer.features(tokens)
        hidden = self._encode(sequence, sentence)
        intent, ranking = self._intents(hidden[len(tokens)])
        entities = self._entities(text, tokens, hidden)
        return {
            "text": text,
            "intent": intent,
            "entities": entities,
            "text_tokens": [(start, end) for _, start, end in tokens],
            "intent_ranking": ranking,
        }

    # -- tokens -----------------------------------------------------------

    def _tokenize(self, text: str) -> list[Token]:
        if self._jieba_dictionary is not None:
            jieba = self._jieba_tokenizer()
            return [(w, s, e) for w, s, e in jieba.tokenize(text)]
        if self._regex is None:
            import regex  # type: ignore[import-untyped]

            self._regex = regex.compile(_WHITESPACE_SPLIT)
        words = self._regex.sub(" ", text).split()
        words = [w for w in words if _EMOJI.fullmatch(w) is None]
        if not words:
            words = [text]
        tokens, running = [], 0
        for word in words:
            start = text.index(word, running)
            running = start + len(word)
            tokens.append((word, start, running))
        return tokens

    def _jieba_tokenizer(self) -> Any:
        with self._jieba_lock:
            if self._jieba is None:
                import logging

                import jieba

                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                if self._jieba_dictionary:
                    tokenizer.load_userdict(io.BytesIO(self._jieba_dictionary.encode("utf-8")))
                self._jieba = tokenizer
            return self._jieba

    # -- DIET -------------------------------------------------------------

    def _sparse_dense(self, name: str, features: dict[int, float]) -> Array:
        kernel = self.w[f"sparse_to_dense.{name}.kernel"]
        if features:
            columns = np.fromiter(features.keys(), dtype=np.int64, count=len(features))
            values = np.fromiter(features.values(), dtype=np.float32, count=len(features))
            out = values @ kernel[columns]
        else:
            out = np.zeros(kernel.shape[1], dtype=np.float32)
        bias = self.w.get(f"sparse_to_dense.{name}.bias")
        result: Array = out if bias is None else out + bias
        return result

    def _dense(self, name: str, x: Array) -> Array:
        out = x @ self.w[name + ".kernel"]
        bias = self.w.get(name + ".bias")
        result: Array = out if bias is None else out + bias
        return result

    def _encode(self, sequence: list[dict[int, float]], sentence: dict[int, float]) -> Array:
        """RasaSequenceLayer's output for one message: (tokens + 1, units)."""
        diet = self.meta["diet"]
        rows = [self._sparse_dense("sequence", row) for row in sequence]
        rows.append(self._sparse_dense("sentence", sentence))
        x = np.stack(rows).astype(np.float32)
        for i in range(diet["ffnn_layers"]):
            x = _gelu(self._dense(f"ffnn.{i}", x))
        units = diet["transformer_size"]
        heads = diet["num_heads"]
        eps = iter(diet["layer_norm_epsilons"])
        x = self._dense("encoder.embedding", x) * np.float32(math.sqrt(units))
        x = x + _positions(x.shape[0], units)
        length = x.shape[0]
        depth = units // heads
        for i in range(diet["num_layers"]):
            p = f"encoder.{i}"
            normed = self._norm(f"{p}.norm_attention", x, next(eps))
            q = self._dense(f"{p}.query", normed).reshape(length, heads, depth).transpose(1, 0, 2)
            k = self._dense(f"{p}.key", normed).reshape(length, heads, depth).transpose(1, 0, 2)
            v = self._dense(f"{p}.value", normed).reshape(length, heads, depth).transpose(1, 0, 2)
            logits = (q @ k.transpose(0, 2, 1)) / np.float32(math.sqrt(depth))
            weights = _softmax(logits)
            attention = (weights @ v).transpose(1, 0, 2).reshape(length, units)
            x = x + self._dense(f"{p}.output", attention)
            ffn = self._norm(f"{p}.norm_ffn", x, next(eps))
            ffn = _gelu(self._dense(f"{p}.ffn_1", ffn))
            x = x + self._dense(f"{p}.ffn_2", ffn)
        x = self._norm("encoder.norm", x, next(eps))
        return _gelu(x)

    def _norm(self, name: str, x: Array, epsilon: float) -> Array:
        mean = x.mean(axis=-1, keepdims=True)
        variance = np.square(x - mean).mean(axis=-1, keepdims=True)
        normed = (x - mean) / np.sqrt(variance + np.float32(epsilon))
        result: Array = (normed * self.w[name + ".gamma"] + self.w[name + ".beta"]).astype(
            np.float32
        )
        return result

    def _intents(self, sentence_vector: Array) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        diet = self.meta["diet"]
        embedded = self._dense("embed.text", sentence_vector)
        labels = self.w["labels_embed"]
        if diet["similarity_type"] == "cosine":
            embedded = embedded / max(float(np.linalg.norm(embedded)), 1e-12)
            labels = labels / np.maximum(np.linalg.norm(labels, axis=-1, keepdims=True), 1e-12)
        similarities = (labels * embedded).sum(axis=-1).astype(np.float32)
        confidences = _softmax(similarities)
        # train_utils.rank_and_mask
        indices = confidences.argsort()[::-1]
        confidences = confidences.copy()
        ranking_length = diet["ranking_length"]
        if 0 < ranking_length < len(confidences):
            confidences[indices[ranking_length:]] = 0
            if diet["renormalize_confidences"] and np.sum(confidences) > 0:
                confidences = confidences / np.sum(confidences)
            indices = indices[:ranking_length]
        values: list[float] = confidences.tolist()
        top = int(indices[0])
        intent = {"name": self._labels[top], "confidence": values[top]}
        ranking = [{"name": self._labels[int(i)], "confidence": values[int(i)]} for i in indices]
        return intent, ranking

    # -- entities ---------------------------------------------------------

    def _entities(self, text: str, tokens: list[Token], hidden: Array) -> list[dict[str, Any]]:
        if not self._tags:
            return []
        logits = self._dense("entity.logits", hidden).astype(np.float32)
        ids, scores = _crf_decode(logits, self.w["entity.transitions"], len(tokens))
        if not np.any(ids):
            return []
        tags = [self._tags[int(i)] for i in ids]
        confidences = [float(c) for c in scores]
        tags, confidences = _consistent_bilou(tags, confidences)
        entities = self._convert(text, tokens, tags, confidences)
        for entity in entities:
            entity["extractor"] = "DIETClassifier"
        if self._synonyms is not None:
            for entity in entities:
                value = str(entity["value"])
                if value.lower() in self._synonyms:
                    entity["value"] = self._synonyms[value.lower()]
                    entity.setdefault("processors", []).append("EntitySynonymMapper")
        return entities

    def _convert(
        self, text: str, tokens: list[Token], tags: list[str], confidences: list[float]
    ) -> list[dict[str, Any]]:
        """EntityExtractorMixin.convert_predictions_into_entities, entity tags only."""
        entities: list[dict[str, Any]] = []
        last_tag = NO_ENTITY
        last_end = -1
        for idx, (_, start, end) in enumerate(tokens):
            tag = tags[idx]
            if tag == NO_ENTITY:
                last_tag = NO_ENTITY
                last_end = end
                continue
            prefix = tag[:2] if tag[:2] in _BILOU else None
            if prefix:
                new_bilou = last_tag != tag and prefix not in ("L-", "I-")
                new_unit = last_tag == NO_ENTITY or prefix == "U-"
                new_tag = new_bilou or new_unit
                last_tag = tag
                tag = tag[2:]
            else:
                new_tag = last_tag != tag
                last_tag = tag
            if new_tag:
                entities.append(
                    {
                        "entity": tag,
                        "start": start,
                        "end": end,
                        "confidence_entity": confidences[idx],
                    }
                )
            elif self._single_entity(text, start, last_end, tag):
                entities[-1]["end"] = end
                entities[-1]["confidence_entity"] = min(
                    entities[-1]["confidence_entity"], confidences[idx]
                )
            else:
                entities.append(
                    {
                        "entity": tag,
                        "start": start,
                        "end": end,
                        "confidence_entity": confidences[idx],
                    }
                )
            last_end = end
        for entity in entities:
            entity["value"] = text[entity["start"] : entity["end"]]
        return entities

    def _single_entity(self, text: str, start: int, last_end: int, tag: str) -> bool:
        if start - last_end <= 1:
            return True
        # Rasa also checks that only ".", "," and spaces lie between, with
        # `all(filter(...))`, which is true for any text: not repeated here
        within = start - last_end <= 3
        split = self._split.get(tag, self._split["split_entities_by_comma"])
        return within and not split


_erf = np.frompyfunc(math.erf, 1, 1)


def _gelu(x: Array) -> Array:
    """tf.nn.gelu(approximate=False)."""
    erf = _erf(x.astype(np.float64) / math.sqrt(2.0)).astype(np.float64)
    result: Array = (0.5 * x.astype(np.float64) * (1.0 + erf)).astype(np.float32)
    return result


def _softmax(x: Array) -> Array:
    shifted = x - x.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    result: Array = (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)
    return result


_POSITIONS: dict[tuple[int, int], Array] = {}


def _positions(length: int, units: int) -> Array:
    """TransformerEncoder._positional_encoding: sin on even, cos on odd dimensions."""
    key = (length, units)
    if key not in _POSITIONS:
        dims = np.arange(units)[np.newaxis, :]
        angles = (1 / np.power(10000, (2 * (dims // 2)) / np.float32(units))).astype(np.float32)
        rads = np.arange(length, dtype=np.float32)[:, np.newaxis] * angles
        encoding = np.zeros_like(rads)
        encoding[:, 0::2] = np.sin(rads[:, 0::2])
        encoding[:, 1::2] = np.cos(rads[:, 1::2])
        _POSITIONS[key] = encoding.astype(np.float32)
    return _POSITIONS[key]


def _crf_decode(
    potentials: Array, transitions: Array, length: int
) -> tuple[list[int], list[float]]:
    """rasa.utils.tensorflow.crf.crf_decode + CRF.call for one sequence.

    `potentials` has a row per token plus the sentence row (which the mask drops).
    Returns tag ids and confidences for every row (0 past `length`), as Rasa does,
    including how its backward scan of scores indexes with the previous score.
    """
    rows = potentials.shape[0]
    ids = [0] * rows
    scores = [0.0] * rows
    if rows == 1:  # _single_seq_fn (no tokens: never reached with a sentence row)
        ids[0] = int(np.argmax(potentials[0])) if length > 0 else 0
        scores[0] = float(_softmax(potentials[0]).max()) if length > 0 else 0.0
        return ids, scores
    if length == 0:
        return ids, scores
    state = potentials[0].astype(np.float32)
    backpointers: list[Array] = []
    step_scores: list[Array] = []
    for t in range(1, length):
        transition_scores = state[:, np.newaxis] + transitions  # [previous, current]
        backpointers.append(np.argmax(transition_scores, axis=0))
        step_scores.append(_softmax(transition_scores.T).max(axis=1))
        state = (potentials[t] + transition_scores.max(axis=0)).astype(np.float32)
    last = int(np.argmax(state))
    path = [last]
    tag = last
    for pointers in reversed(backpointers):
        tag = int(pointers[tag])
        path.append(tag)
    path.reverse()
    # scores: the first backward step indexes with the last tag, every later one
    # with int(previous score) (tf.scan's state is the previous output)
    backward: list[float] = []
    index = last
    for step in reversed(step_scores):
        value = float(step[index])
        backward.append(value)
        index = int(np.float32(value))  # truncation, as tf.cast(float -> int32)
    initial = float(_softmax(state).max())
    decoded = [initial] + backward  # reversed order, then reverse_sequence(length)
    decoded = decoded[:length][::-1]
    for i in range(length):
        ids[i] = path[i]
        scores[i] = decoded[i]
    return ids, scores


def _consistent_bilou(tags: list[str], confidences: list[float]) -> tuple[list[str], list[float]]:
    """rasa.nlu.utils.bilou_utils.ensure_consistent_bilou_tagging."""
    for idx, predicted in enumerate(tags):
        prefix = predicted[:2] if predicted[:2] in _BILOU else None
        tag = _strip(predicted)
        if prefix == "B-":
            last = _bilou_end(idx, tags)
            relevant_conf = confidences[idx : last + 1]
            relevant = [_strip(t) for t in tags[idx : last + 1]]
            if not all(relevant[0] == t for t in relevant):
                tag, score = _tag_to_use(relevant, relevant_conf)
                for i in range(idx, last + 1):
                    confidences[i] = round(score, 2) if _strip(tags[i]) != tag else confidences[i]
            if last == idx:
                tags[idx] = f"U-{tag}"
            elif last - idx == 1:
                tags[idx] = f"B-{tag}"
                tags[last] = f"L-{tag}"
            else:
                tags[idx] = f"B-{tag}"
                tags[last] = f"L-{tag}"
                for i in range(idx + 1, last):
                    tags[i] = f"I-{tag}"
    return tags, confidences


def _strip(tag: str) -> str:
    return tag[2:] if tag[:2] in _BILOU else tag


def _tag_to_use(tags: list[str], confidences: list[float]) -> tuple[str, float]:
    grouped: dict[str, list[float]] = defaultdict(list)
    for tag, confidence in zip(tags, confidences, strict=True):
        grouped[tag].append(confidence)
    average = {tag: round(sum(c) / len(c), 2) for tag, c in grouped.items()}
    share = {tag: round(count / len(tags), 2) for tag, count in Counter(tags).items()}
    score = {tag: 2 * (average[tag] * p) / (average[tag] + p) for tag, p in share.items()}
    best = max(score.items(), key=lambda item: item[1])
    return best[0], best[1]


def _bilou_end(start: int, tags: list[str]) -> int:
    current = start + 1
    while True:
        if current >= len(tags):
            return current - 1
        prefix = tags[current][:2] if tags[current][:2] in _BILOU else None
        if prefix == "L-":
            return current
        if prefix == "I-":
            current += 1
        else:
            return current - 1
