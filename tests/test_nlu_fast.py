"""FastNlu answers like Rasa's Agent.parse_message on the same model, without Rasa.

Compared on every sentence of tests/eval/nlu_{en,zh}.jsonl, every user line of the
dialog tests and some awkward extra texts: same intent ranking and entities,
confidences within 1e-4.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from voice_runtime.nlu import fast_export
from voice_runtime.nlu.engine import load_model
from voice_runtime.nlu.fast import FastNlu, _consistent_bilou, _crf_decode
from voice_runtime.nlu.fast_features import _analyze
from voice_runtime.nlu.model import NluModel
from voice_runtime.project import Project

ROOT = Path(__file__).resolve().parent.parent
TOLERANCE = 1e-4
EXTRA = {
    "en": [
        "  Open the BAKING class!!  ",
        "set a timer for 15 minutes",
        "i want 2 croissants, please",
        "hello :)",
        "play rain sounds for 20 minutes",
        "hmm... sure, why not",
        "a-b c.d e,f",
        "#hashtag @me & you",
        "😀",
        "10'000.00 dollars to blabla@gmail.com",
        "http://x.y/z?q=1",
    ],
    "zh": [
        "我想学做蛋糕",
        "  你好！ ",
        "hello 你好",
        "我要15分钟的",
        "不要了，谢谢",
        "帮我订一辆红色的车",
    ],
}


def sentences(language: str) -> list[str]:
    found = [
        json.loads(line)["text"]
        for line in (ROOT / "tests" / "eval" / f"nlu_{language}.jsonl")
        .read_text("utf-8")
        .splitlines()
        if line.strip()
    ]
    for path in sorted((ROOT / "tests" / "dialogs").glob("*.yaml")):
        for dialog in yaml.safe_load(path.read_text("utf-8")).get("dialogs", []):
            if dialog.get("language", "en") == language:
                found += [str(t["user"]) for t in dialog.get("turns", []) if "user" in t]
    return list(dict.fromkeys(found)) + EXTRA[language]


def model_path(project: Project, language: str) -> Path:
    return project.nlu_model_dir(language) / "model.tar.gz"


@pytest.fixture(scope="module", params=["en", "zh"])
def pair(request: pytest.FixtureRequest, project: Project) -> tuple[NluModel, FastNlu]:
    language = request.param
    path = model_path(project, language)
    rasa = load_model(path, language)
    meta, arrays = fast_export.export(rasa.agent, path, language)
    meta = json.loads(json.dumps(meta, ensure_ascii=False))  # as stored
    return rasa, FastNlu(meta, arrays, language)


def _entities(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k != "confidence_entity"} for e in result["entities"]]


def test_same_answers_as_rasa(pair: tuple[NluModel, FastNlu]) -> None:
    rasa, fast = pair
    texts = sentences(fast.language)
    assert len(texts) > 100
    for text in texts:
        expected = rasa.parse_raw(text)
        got = fast.parse_raw(text)
        assert got is not None, text
        assert got["text"] == expected["text"]
        assert got["text_tokens"] == [tuple(t) for t in expected["text_tokens"]], text
        assert got["intent"]["name"] == expected["intent"]["name"], text
        assert [r["name"] for r in got["intent_ranking"]] == [
            r["name"] for r in expected["intent_ranking"]
        ], text
        for mine, theirs in zip(got["intent_ranking"], expected["intent_ranking"], strict=True):
            assert abs(mine["confidence"] - theirs["confidence"]) <= TOLERANCE, text
        assert _entities(got) == _entities(expected), text
        for mine, theirs in zip(got["entities"], expected["entities"], strict=True):
            assert abs(mine["confidence_entity"] - theirs["confidence_entity"]) <= TOLERANCE


def test_declines_what_only_rasa_answers(pair: tuple[NluModel, FastNlu]) -> None:
    _, fast = pair
    for text in ["", "   ", "/stop", '/open_skill{"skill": "anchor_baking"}']:
        assert fast.parse_raw(text) is None


def test_export_beside_the_model_is_tied_to_the_archive(project: Project, tmp_path: Path) -> None:
    source = model_path(project, "en")
    copy = tmp_path / "model.tar.gz"
    shutil.copyfile(source, copy)
    rasa = load_model(source, "en")
    assert FastNlu.load(copy, "en") is None  # nothing exported yet
    assert fast_export.export_beside(rasa.agent, copy, "en")
    assert fast_export.is_current(copy)
    fast = FastNlu.load(copy, "en")
    assert fast is not None
    text = "would you kindly open the baking class for me"
    answer = fast.parse(text)
    assert answer is not None
    expected = rasa.parse(text)
    assert answer.intent.name == expected.intent.name
    assert abs(answer.intent.confidence - expected.intent.confidence) <= TOLERANCE
    assert [(e.entity, e.value, e.start, e.end) for e in answer.entities] == [
        (e.entity, e.value, e.start, e.end) for e in expected.entities
    ]

    # answers in a process that never imports TensorFlow or Rasa
    script = (
        "import sys; from pathlib import Path; from voice_runtime.nlu.fast import FastNlu\n"
        f"fast = FastNlu.load(Path({str(copy)!r}), 'en')\n"
        f"print(fast.parse({text!r}).intent.name)\n"
        "assert not any(m.split('.')[0] in ('tensorflow', 'rasa', 'keras') for m in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected.intent.name

    with open(copy, "ab") as handle:  # another archive: the export no longer applies
        handle.write(b"\0")
    assert not fast_export.is_current(copy)
    assert FastNlu.load(copy, "en") is None


def test_analyzers_match_sklearn() -> None:
    from sklearn.feature_extraction.text import CountVectorizer  # type: ignore[import-untyped]

    texts = ["Hello  World", "don't __number__ x", "你好 世界", "a", "", "ab  cd\tef", "ÉCOLE été"]
    for analyzer, low, high in [("word", 1, 1), ("word", 1, 2), ("char", 1, 3), ("char_wb", 1, 4)]:
        vectorizer = CountVectorizer(
            analyzer=analyzer,
            ngram_range=(low, high),
            token_pattern=r"(?u)\b\w+\b" if analyzer == "word" else None,
        )
        reference = vectorizer.build_analyzer()
        part = {"analyzer": analyzer, "min_ngram": low, "max_ngram": high, "lowercase": True}
        for text in texts:
            assert _analyze(part, text) == reference(text), (analyzer, text)


def test_bilou_clean_up_matches_rasa() -> None:
    from rasa.nlu.utils.bilou_utils import ensure_consistent_bilou_tagging

    rng = random.Random(7)
    tags = ["O", "B-a", "I-a", "L-a", "U-a", "B-b", "I-b", "L-b", "U-b"]
    for _ in range(2000):
        length = rng.randint(1, 7)
        predicted = [rng.choice(tags) for _ in range(length)]
        confidences = [round(rng.random(), 3) for _ in range(length)]
        expected = ensure_consistent_bilou_tagging(list(predicted), list(confidences))
        assert _consistent_bilou(list(predicted), list(confidences)) == expected, predicted


def test_crf_decode_matches_rasa() -> None:
    import tensorflow as tf  # type: ignore[import-untyped]
    from rasa.utils.tensorflow.crf import crf_decode

    rng = np.random.default_rng(3)
    for trial in range(60):
        tags = int(rng.integers(2, 9))
        length = int(rng.integers(1, 7))
        scale = 1.0 if trial % 3 else 30.0  # large scales make confidences of exactly 1.0
        potentials = (rng.normal(size=(length + 1, tags)) * scale).astype(np.float32)
        transitions = (rng.normal(size=(tags, tags)) * scale).astype(np.float32)
        ids, scores, _ = crf_decode(
            tf.constant(potentials[np.newaxis]), tf.constant(transitions), tf.constant([length])
        )
        mask = np.arange(length + 1) < length
        expected_ids = (ids.numpy()[0] * mask).tolist()
        expected_scores = scores.numpy()[0] * mask
        got_ids, got_scores = _crf_decode(potentials, transitions, length)
        assert got_ids == expected_ids
        # Rasa indexes each backward step's scores with int(previous score): 0, or 1
        # when a float32 softmax rounds to exactly 1.0, which numpy and TensorFlow
        # do not always agree on within an ulp. Only confidences can differ then.
        near_one = max(max(got_scores), float(expected_scores.max())) > 1 - 1e-6
        if not near_one:
            assert np.allclose(got_scores, expected_scores, atol=1e-5)
