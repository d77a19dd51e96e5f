"""The microphone noise floor under PocketSphinx's input, on real recorded speech.

The clips in tests/coffee/clips/ are 24 of the coffee dev set's real recordings
(every tenth by name; Picovoice's speech-to-intent benchmark, Apache License 2.0),
with the slot words each speaker said.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voice_runtime.audio.convert import load_audio
from voice_runtime.audio.floor import FLOOR_RMS, NoiseFloor
from voice_runtime.cli.common import load_skills
from voice_runtime.project import Project
from voice_runtime.speech.pocketsphinx_backend import PocketSphinxRecognizer, bias_for

COFFEE = Path(__file__).parent / "coffee"
CLIPS = COFFEE / "clips"


def samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def test_the_floor_has_its_level_and_repeats_after_a_restart() -> None:
    floor = NoiseFloor()
    silence = bytes(2 * 16000)
    first = floor.add(silence)
    assert abs(np.sqrt((samples(first) ** 2).mean()) - FLOOR_RMS) < 1.0
    assert floor.add(silence) != first  # the noise goes on
    floor.restart()
    assert floor.add(silence) == first


def test_the_floor_never_wraps_around_at_full_scale() -> None:
    loud = np.array([32767, -32768] * 4000, dtype="<i2").tobytes()
    out = samples(NoiseFloor().add(loud))
    assert out.max() <= 32767 and out.min() >= -32768
    assert (out[::2] > 30000).all() and (out[1::2] < -30000).all()


def test_no_floor_leaves_the_audio_alone() -> None:
    pcm = np.arange(-500, 500, dtype="<i2").tobytes()
    assert NoiseFloor(0.0).add(pcm) == pcm


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=700), min_size=1, max_size=12))
def test_chunks_of_any_size_hear_the_floor_one_clip_hears(sizes: list[int]) -> None:
    pcm = (np.sin(np.arange(sum(sizes)) / 7) * 3000).astype("<i2").tobytes()
    whole = NoiseFloor().add(pcm)
    streamed, offset, floor = b"", 0, NoiseFloor()
    for size in sizes:
        streamed += floor.add(pcm[2 * offset : 2 * (offset + size)])
        offset += size
    assert streamed == whole


@pytest.fixture(scope="module")
def recognizers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, PocketSphinxRecognizer]:
    root = tmp_path_factory.mktemp("coffee")
    shutil.copytree(COFFEE / "skills", root / "skills")
    shutil.copytree(COFFEE / "nlu_data", root / "nlu_data")  # follows the symlink
    project = Project(root)
    bias = bias_for(project, load_skills(project).skills, "en")
    return {
        "floor": PocketSphinxRecognizer(bias),
        "none": PocketSphinxRecognizer(bias, noise_floor=0.0),
    }


def heard_every_slot(recognizer: PocketSphinxRecognizer) -> list[str]:
    """The clips whose transcript holds every slot value the speaker said."""
    spoken: dict[str, dict[str, str]] = json.loads((CLIPS / "spoken.json").read_text())
    heard = []
    for name, slots in sorted(spoken.items()):
        text = f" {recognizer.transcribe(load_audio(CLIPS / name)).text} "
        if all(f" {value} " in text for value in slots.values()):
            heard.append(name)
    return heard


def test_real_recordings_are_heard_better_over_the_floor(
    recognizers: dict[str, PocketSphinxRecognizer],
) -> None:
    with_floor = heard_every_slot(recognizers["floor"])
    without = heard_every_slot(recognizers["none"])
    assert len(with_floor) >= 20, with_floor  # of 24 (21 here; 17 without the floor)
    assert len(with_floor) >= len(without) + 3, (with_floor, without)
