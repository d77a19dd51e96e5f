"""The speaker loop on real audio: espeak-ng speech played through the microphone path."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from voice_runtime.audio.microphone import WavSource
from voice_runtime.audio.wav import Audio, read_wav
from voice_runtime.cli.common import local_device
from voice_runtime.dialog.router import Assistant
from voice_runtime.household.home import Household
from voice_runtime.listen import SpeakerLoop
from voice_runtime.project import Project
from voice_runtime.speech.backends import recognizer_for
from voice_runtime.speech.recognizer import Transcript
from voice_runtime.speech.wake import split_wake
from voice_runtime.store.sessions import MemorySessionStore
from voice_runtime.tts.speaker import Speaker

ROOT = Path(__file__).resolve().parent.parent


def speech(tmp_path: Path, text: str) -> Audio:
    path = tmp_path / f"{abs(hash(text))}.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), text], check=True)
    return read_wav(path)


def silence(seconds: float) -> Audio:
    return Audio(b"\0\0" * int(16000 * seconds), 16000)


@pytest.mark.parametrize(
    ("text", "woke", "rest"),
    [
        ("hey assistant open baking class", True, "open baking class"),
        ("assistant", False, ""),
        ("assistant manager wanted", False, ""),
        ("Hey, Assistant!", True, ""),
        ("hey there how are you", False, ""),
        ("open baking class", False, ""),
        ("你好助手打开烘焙课堂", True, "打开烘焙课堂"),
    ],
)
def test_split_wake(text: str, woke: bool, rest: str) -> None:
    match = split_wake(text, "你好助手" if "你" in text else "hey assistant")
    assert (match.woke, match.request) == (woke, rest)


def test_wake_listen_answer_and_back_to_waiting(
    tmp_path: Path, assistant: Assistant, project: Project
) -> None:
    source = WavSource(
        silence(1.0),
        speech(tmp_path, "hey assistant"),
        silence(1.0),
        speech(tmp_path, "open baking class"),
        silence(1.0),
        speech(tmp_path, "open car viewing"),  # no wake phrase: ignored
        silence(1.0),
        speech(tmp_path, "hey assistant open car viewing"),
        silence(1.0),
    )
    recognizer = recognizer_for(
        project, "en", assistant.catalog.skills, wake_phrase="hey assistant"
    )
    played: list[Audio] = []
    household = Household(assistant, MemorySessionStore())
    device = local_device(language="en")
    loop = SpeakerLoop(
        household, device, recognizer, Speaker(), played.append, "en", "hey assistant"
    )
    heard = list(loop.run(source))
    summary = [(h.woke, h.turn.skill if h.turn else None, h.reply[:20]) for h in heard]
    assert summary == [
        (True, None, "Yes?"),
        (False, "anchor_baking", "Welcome to Anchor Ba"),
        (False, None, ""),
        (True, "star_motors_cars", heard[3].reply[:20]),
    ], [h.transcript.text for h in heard]
    assert heard[3].turn is not None and heard[3].turn.intent == "open_skill"
    assert len(played) >= 3 and all(a.duration > 0.3 for a in played)


def test_a_noise_burst_before_the_request_is_not_taken_for_it(
    tmp_path: Path, assistant: Assistant, project: Project
) -> None:
    """A clatter loud enough to start an utterance, but without words, does not end
    listening with "Sorry, I didn't catch that": the loop listens on for the person."""
    rng = np.random.default_rng(3)
    clatter = Audio(np.round(rng.standard_normal(4800) * 3000).astype("<i2").tobytes(), 16000)
    source = WavSource(
        silence(0.5), clatter, silence(1.0), speech(tmp_path, "open baking class"), silence(1.0)
    )
    recognizer = recognizer_for(project, "en", assistant.catalog.skills)
    household = Household(assistant, MemorySessionStore())
    loop = SpeakerLoop(
        household, local_device(), recognizer, Speaker(), lambda audio: None, "en", None
    )
    heard = list(loop.run(source))
    assert [h.transcript.text for h in heard] == ["open baking class"]
    assert heard[0].turn is not None and heard[0].turn.skill == "anchor_baking"


def test_spoken_numbers_reach_the_slots(assistant: Assistant, project: Project) -> None:
    """The recogniser writes "thirty minutes"; the loop hands "30 minutes" to the NLU."""
    recognizer = recognizer_for(project, "en", assistant.catalog.skills)
    household = Household(assistant, MemorySessionStore())
    loop = SpeakerLoop(
        household, local_device(), recognizer, Speaker(), lambda audio: None, "en", None
    )
    for text, slots in [
        ("open dreamwell", {}),
        ("set a sleep timer for thirty minutes", {"duration": "min_30"}),
        ("set the timer for fifteen minutes", {"duration": "min_15"}),
    ]:
        heard, _ = loop.respond(Transcript(text, 0.9, "en", 1.0, 0.1), awake=True)
        assert heard.turn is not None, text
        assert heard.turn.slots == slots, (text, heard.turn)
        last = heard.turn
    assert last.intent == "dreamwell_sleep.sleep_timer"
