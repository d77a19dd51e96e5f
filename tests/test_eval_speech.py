"""`voice eval speech`: espeak-ng recordings through the real recogniser and router
(streamed through the endpointer, as the command does by default).

The labelled set is synthesised at test time: eight commands across skills and
built-ins, in two voices (en-us at 150 and 130 words a minute).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from voice_runtime.audio.convert import RATE, load_audio
from voice_runtime.audio.noise import mix_at_snr, samples_of, snr_db
from voice_runtime.audio.wav import Audio, write_wav
from voice_runtime.cli import eval as eval_command
from voice_runtime.cli.main import main
from voice_runtime.dialog.router import Assistant
from voice_runtime.errors import InputError
from voice_runtime.evaluation.speech_eval import (
    Conditions,
    SpeechReport,
    evaluate_speech,
    format_speech_report,
    load_clips,
    load_labels,
)
from voice_runtime.project import Project
from voice_runtime.skills.catalog import Catalog
from voice_runtime.speech.backends import recognizer_for
from voice_runtime.speech.recognizer import Recognizer

ROOT = Path(__file__).resolve().parent.parent

COMMANDS: list[tuple[str, str, dict[str, str]]] = [
    ("open baking class", "open_skill", {"skill": "anchor_baking"}),
    ("how do i bake bread", "anchor_baking.recipe", {"dish": "bread"}),
    ("open car viewing", "open_skill", {"skill": "star_motors_cars"}),
    ("help", "help", {}),
    ("stop", "stop", {}),
    ("show me the nova", "star_motors_cars.show_model", {"model": "nova"}),
    ("what is the next lesson", "anchor_baking.next_lesson", {}),
    ("teach me to bake croissants", "anchor_baking.recipe", {"dish": "croissant"}),
]
SPEEDS = (150, 130)

# Measured with PocketSphinx, streamed through the endpointer (the default): clean 0.875
# (14/16), white noise at 10 dB SNR, seed 3: 0.500 (8/16; the noise after the speech,
# before the endpointer ends, is heard as "for"). Decoded whole (--whole): 0.938 and
# 0.625. Since transcripts unlike the skills' sentences are rejected as no command
# (speech/fit.py), the noisy run gives 0.375 (6/16: two garbled transcripts that the
# NLU used to route right are rejected). The floors sit below.
MIN_CLEAN_ACCURACY = 0.75
MIN_NOISY_ACCURACY = 0.3


@dataclass(frozen=True)
class Dataset:
    audio: Path
    labels: Path


def espeak(path: Path, text: str, speed: int) -> Path:
    subprocess.run(
        ["espeak-ng", "-v", "en-us", "-s", str(speed), "-w", str(path), text], check=True
    )
    return path


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """The commands in both voices, and labels.json next to the folder."""
    root = tmp_path_factory.mktemp("speech_eval")
    audio = root / "audio"
    audio.mkdir()
    labels: dict[str, object] = {}
    for speed in SPEEDS:
        for number, (text, intent, slots) in enumerate(COMMANDS):
            name = f"{speed}-{number}-{'_'.join(text.split())}.wav"
            espeak(audio / name, text, speed)
            labels[name] = {"intent": intent, "slots": slots, "x-text": text}
    path = root / "labels.json"
    path.write_text(json.dumps(labels, indent=2), "utf-8")
    return Dataset(audio, path)


@pytest.fixture(scope="module")
def recognizer(project: Project, catalog: Catalog) -> Recognizer:
    return recognizer_for(project, "en", catalog.skills)


@pytest.fixture(scope="module")
def clean_report(assistant: Assistant, recognizer: Recognizer, dataset: Dataset) -> SpeechReport:
    clips = load_clips(dataset.audio, load_labels(dataset.labels))
    return evaluate_speech(
        assistant, recognizer, clips, Conditions("en"), audio_dir=str(dataset.audio)
    )


def parse_args(*argv: str) -> argparse.Namespace:
    """`voice --project ROOT eval ...` as main.py would parse it."""
    parser = argparse.ArgumentParser(prog="voice")
    parser.add_argument("--project", type=Path, default=None)
    sub = parser.add_subparsers(dest="command", required=True)
    eval_command.add_arguments(sub.add_parser("eval"))
    return parser.parse_args(["--project", str(ROOT), "eval", *argv])


def dataset_args(dataset: Dataset, *extra: str) -> argparse.Namespace:
    return parse_args(
        "speech", "--audio", str(dataset.audio), "--labels", str(dataset.labels), *extra
    )


# -- accuracy and timing ------------------------------------------------------------


def test_clean_speech_is_understood(clean_report: SpeechReport) -> None:
    report = clean_report
    print(format_speech_report(report))  # shown with pytest -s
    assert report.total == len(COMMANDS) * len(SPEEDS)
    assert report.accuracy >= MIN_CLEAN_ACCURACY, format_speech_report(report)
    rtf, latency = report.real_time_factor, report.latency
    assert 0 < rtf.mean <= rtf.max < 2
    assert 0 < latency.p50_ms <= latency.p90_ms <= latency.p99_ms < 5000
    data = json.loads(json.dumps(report.to_dict()))
    assert data["correct"] == report.correct and len(data["results"]) == report.total
    assert set(data["latency_ms"]) == {"p50_ms", "p90_ms", "p99_ms"}


def test_report_lists_errors_with_transcripts(clean_report: SpeechReport) -> None:
    text = format_speech_report(clean_report)
    assert re.search(r"^accuracy\s+[0-9.]+\s+\(\d+/16 correct\)", text, re.MULTILINE), text
    assert "real-time factor mean" in text and "p99" in text
    for result in clean_report.errors:
        assert f"{result.label.file}: expected {result.label.example.label}" in text


def test_noisy_run_through_the_command(
    assistant: Assistant, dataset: Dataset, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "noisy.json"
    args = dataset_args(dataset, "--snr", "10", "--seed", "3", "--json", str(out))
    assert eval_command.run(args, assistant) == 0
    printed = capsys.readouterr().out
    data = json.loads(out.read_text("utf-8"))
    print(printed)
    assert "white noise at 10 dB SNR" in printed
    assert data["snr_db"] == 10 and data["noise"] == "white" and data["files"] == 16
    assert data["accuracy"] >= MIN_NOISY_ACCURACY, printed
    assert 0 < data["real_time_factor"]["mean"] < 2


def test_nothing_heard_counts_as_wrong(
    assistant: Assistant, recognizer: Recognizer, tmp_path: Path
) -> None:
    write_wav(tmp_path / "silence.wav", Audio(bytes(RATE * 2), RATE))
    labels = tmp_path / "labels.json"
    labels.write_text('{"silence.wav": {"intent": "stop"}}', "utf-8")
    clips = load_clips(tmp_path, load_labels(labels))
    report = evaluate_speech(assistant, recognizer, clips, Conditions("en"))
    assert report.accuracy == 0.0 and report.errors[0].outcome is None
    assert "silence.wav: expected stop, nothing heard" in format_speech_report(report)


# -- noise --------------------------------------------------------------------------


def test_mix_at_snr_hits_the_requested_snr(dataset: Dataset) -> None:
    loud = samples_of(load_audio(next(dataset.audio.glob("150-0-*.wav"))))
    quiet = np.round(loud * 0.3).astype("<i2")  # room for the noise: nothing is scaled
    speech = Audio(quiet.tobytes(), RATE)
    rng = np.random.default_rng(5)
    hum = np.sin(np.arange(RATE // 3) * 2 * np.pi * 120 / RATE) * 3000 + rng.normal(
        0, 500, RATE // 3
    )
    noise_file = Audio(hum.astype("<i2").tobytes(), RATE)  # shorter than the speech: looped
    for noise in (None, noise_file):
        for target in (0.0, 10.0, 20.0):
            mixed = mix_at_snr(speech, noise, target, seed=1)
            assert mixed.frames == speech.frames
            added = samples_of(mixed) - samples_of(speech)
            measured = snr_db(speech, Audio(added.astype("<i2").tobytes(), RATE))
            assert measured == pytest.approx(target, abs=0.5), (noise is None, target)
    assert mix_at_snr(speech, None, 10, seed=1) == mix_at_snr(speech, None, 10, seed=1)
    assert mix_at_snr(speech, None, 10, seed=1) != mix_at_snr(speech, None, 10, seed=2)


def test_loud_mix_is_scaled_not_clipped() -> None:
    tone = (np.sin(np.arange(RATE) * 2 * np.pi * 200 / RATE) * 32000).astype("<i2")
    mixed = samples_of(mix_at_snr(Audio(tone.tobytes(), RATE), None, 0.0, seed=0))
    assert np.abs(mixed).max() <= 32767
    assert np.corrcoef(mixed, tone)[0, 1] > 0.6  # no wrap-around
    silent = Audio(bytes(RATE), RATE)
    assert mix_at_snr(silent, None, 10.0, seed=0) == silent


# -- bad input ----------------------------------------------------------------------


def one_line_error(args: argparse.Namespace, assistant: Assistant) -> str:
    with pytest.raises(InputError) as caught:
        eval_command.run(args, assistant)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_bad_labels_json(assistant: Assistant, dataset: Dataset, tmp_path: Path) -> None:
    labels = tmp_path / "labels.json"
    labels.write_text('{\n  "a.wav": {"intent": "stop"},\n  "b.wav": \n}\n', "utf-8")
    args = parse_args("speech", "--audio", str(dataset.audio), "--labels", str(labels))
    assert re.fullmatch(
        rf"{re.escape(str(labels))}:4: invalid JSON .*", one_line_error(args, assistant)
    )
    labels.write_text('{\n  "a.wav": {"intent": "stop", "slot": {}}\n}\n', "utf-8")
    assert one_line_error(args, assistant).startswith(f'{labels}:2: "a.wav": unknown field')


def test_unknown_intent(assistant: Assistant, dataset: Dataset, tmp_path: Path) -> None:
    name = next(dataset.audio.glob("*.wav")).name
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({name: {"intent": "baking.recipe"}}, indent=1), "utf-8")
    args = parse_args("speech", "--audio", str(dataset.audio), "--labels", str(labels))
    message = one_line_error(args, assistant)
    assert message.startswith(f"{labels}:2: \"{name}\": unknown intent 'baking.recipe'")


def test_missing_and_corrupt_files(assistant: Assistant, tmp_path: Path) -> None:
    labels = tmp_path / "labels.json"
    labels.write_text('{"gone.wav": {"intent": "stop"}}', "utf-8")
    args = parse_args("speech", "--audio", str(tmp_path), "--labels", str(labels))
    assert one_line_error(args, assistant).startswith(f"{tmp_path / 'gone.wav'}: no such file")
    (tmp_path / "gone.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk")
    assert one_line_error(args, assistant).startswith(f"{tmp_path / 'gone.wav'}: corrupt WAV")
    args = parse_args("speech", "--audio", str(tmp_path / "nope"), "--labels", str(labels))
    assert "no such directory" in one_line_error(args, assistant)


def test_command_line_error_exits_1_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = tmp_path / "labels.json"
    labels.write_text("not json", "utf-8")
    argv = ["--project", str(ROOT), "eval", "speech", "--audio", str(tmp_path)]
    assert main([*argv, "--labels", str(labels)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"voice eval: error: {labels}:1: invalid JSON") and err.count("\n") == 1
    assert main([*argv, "--labels", str(labels), "--noise", str(labels)]) == 1
    assert "--noise needs --snr" in capsys.readouterr().err


def test_speech_that_is_no_command_is_right_unless_it_became_one() -> None:
    """For a file labelled out_of_scope, nothing heard or rejected is right; for an
    order, nothing heard is wrong."""
    from voice_runtime.evaluation.hearing import Hearing
    from voice_runtime.evaluation.nlu_eval import Example
    from voice_runtime.evaluation.speech_eval import FileResult, SpeechLabel
    from voice_runtime.speech.recognizer import Transcript

    def result(intent: str, transcript: Transcript) -> FileResult:
        label = SpeechLabel("x.wav", Example("labels.json", 1, "x.wav", intent, {}))
        return FileResult(label, Hearing(transcript, 0.0, None), None, 0.0)

    nothing = Transcript("", None, "en", 1.0, 0.1)
    rejected = Transcript("the weather", 0.1, "en", 1.0, 0.1, rejected=True)
    assert result("out_of_scope", nothing).correct
    assert result("out_of_scope", rejected).correct
    assert not result("coffee_maker.order_drink", nothing).correct
    assert not result("coffee_maker.order_drink", rejected).correct


def test_a_transcript_is_noise_when_nothing_or_a_stray_rejected_word_was_heard() -> None:
    from voice_runtime.speech.recognizer import NOISE_VOICED_SECONDS, Transcript

    def heard(text: str, rejected: bool, voiced: float) -> Transcript:
        return Transcript(text, 0.1 if rejected else 1.0, "en", 2.0, 0.1, rejected, voiced)

    assert heard("", False, 0.0).noise
    assert heard("what", True, NOISE_VOICED_SECONDS / 2).noise  # clatter heard as a word
    assert not heard("the weather is nice today", True, 1.2).noise  # a person, no command
    assert not heard("what", False, 0.1).noise  # a command ("stop") is never noise
