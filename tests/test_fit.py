"""Speech that is no command: transcripts unlike anything the skills can say are
rejected (speech/fit.py). Real coffee recordings and espeak-ng speech of everyday
sentences, through the real skill-biased PocketSphinx of the coffee project."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voice_runtime.audio.convert import load_audio
from voice_runtime.cli.common import load_skills
from voice_runtime.project import Project
from voice_runtime.speech.backends import recognizer_for
from voice_runtime.speech.fit import NOT_A_COMMAND, SentenceFit
from voice_runtime.speech.recognizer import Recognizer

COFFEE = Path(__file__).resolve().parent / "coffee"

FIT = SentenceFit.build(
    ["can i get a large latte", "i'd like a small mocha with milk", "stop", "help me"],
    [("large", "size"), ("small", "size"), ("latte", "drink"), ("mocha", "drink")],
)


def test_values_are_read_as_their_slots() -> None:
    assert FIT.classes("can I get a small mocha") == [
        "<s>", "can", "i", "get", "a", "<size>", "<drink>", "</s>"
    ]  # fmt: skip
    assert FIT.score("can i get a small mocha") == 1.0  # never said, but the same windows
    assert FIT.score("stop") == 1.0 and FIT.score("help me") == 1.0


def test_stitched_pieces_fit_poorly_and_edge_words_are_forgiven() -> None:
    assert FIT.score("get a large with milk stop") < NOT_A_COMMAND
    assert FIT.score("mocha") == 0.0 and FIT.score("") == 0.0
    assert FIT.score("for can i get a large latte") == 1.0  # noise heard as "for"
    assert FIT.score("can i get a large latte off") == 1.0


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_has_a_fit_between_0_and_1(text: str) -> None:
    assert 0.0 <= FIT.score(text) <= 1.0


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    project = Project(COFFEE)
    return recognizer_for(project, "en", load_skills(project).skills, backend="pocketsphinx")


def test_everyday_speech_is_rejected_and_real_orders_are_not(
    recognizer: Recognizer, tmp_path: Path
) -> None:
    lines = (COFFEE / "not_commands.txt").read_text("utf-8").splitlines()
    sentences = [line for line in lines if line.strip() and not line.startswith("#")]
    recognizer.calibrate(load_audio(sorted((COFFEE / "clips").glob("*.flac"))[0]))
    heard = []
    for number, sentence in enumerate(sentences):
        path = tmp_path / f"{number}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(path), sentence], check=True)
        heard.append(recognizer.transcribe(load_audio(path)))
    accepted = [t.text for t in heard if t.text and not t.rejected]
    orders = [
        recognizer.transcribe(load_audio(p)) for p in sorted((COFFEE / "clips").glob("*.flac"))
    ]
    refused = [t.text for t in orders if t.rejected]
    print(f"\nnot commands accepted {len(accepted)}/{len(sentences)}: {accepted}")
    print(f"real orders rejected {len(refused)}/{len(orders)}: {refused}")
    assert len(accepted) <= len(sentences) // 4  # measured: 4 of 24 (22 before the fit)
    assert len(refused) <= 1  # measured: 0 of 24
