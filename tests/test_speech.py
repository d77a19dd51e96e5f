"""Speech to text with real espeak-ng audio and the real PocketSphinx decoder (no mocks)."""

from __future__ import annotations

import argparse
import asyncio
import io
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from voice_runtime.audio.wav import Audio, read_wav
from voice_runtime.cli import ask
from voice_runtime.dialog.router import Assistant
from voice_runtime.dialog.session import Session
from voice_runtime.errors import InputError, ModelError
from voice_runtime.project import Project
from voice_runtime.skills.catalog import Catalog
from voice_runtime.speech import (
    RATE,
    PocketSphinxRecognizer,
    Transcript,
    bias_for,
    load_audio,
    to_recognizer_format,
    voiced_seconds,
)
from voice_runtime.speech.bias import tokenize, witten_bell_arpa
from voice_runtime.speech.calibrate import calibrate

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def recognizer(project: Project, catalog: Catalog) -> PocketSphinxRecognizer:
    return PocketSphinxRecognizer(bias_for(project, catalog.skills))


def espeak(folder: Path, text: str, voice: str = "en-us", speed: int = 150) -> Path:
    """A WAV file of espeak-ng speaking ``text`` (22.05 kHz mono 16-bit)."""
    path = folder / f"{voice}-{speed}-{'_'.join(text.split())}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text], check=True)
    return path


def samples(audio: Audio) -> np.ndarray:
    return np.frombuffer(audio.samples, dtype="<i2").astype(np.float64)


def with_noise(audio: Audio, snr_db: float, seed: int = 7) -> Audio:
    """``audio`` plus white noise ``snr_db`` below its mean power."""
    clean = samples(audio)
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, np.sqrt(np.mean(clean**2) / 10 ** (snr_db / 10)), clean.size)
    return Audio(np.clip(clean + noise, -32768, 32767).astype("<i2").tobytes(), audio.rate)


def wav_file(path: Path, data: bytes, rate: int, width: int, channels: int) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(data)
    return path


# -- recognition ---------------------------------------------------------------------------


COMMANDS = [
    ("open baking class", "en-us", 150, "baking class"),
    ("how do i bake croissants", "en-us", 150, "how do i bake croissants"),
    ("what is the next lesson", "en-us", 130, "what is the next lesson"),
    ("start dreamwell sleep sounds", "en-gb", 150, "dreamwell sleep sounds"),
    ("open star motors car viewing", "en-us", 130, "star motors car viewing"),
]


@pytest.mark.parametrize(("text", "voice", "speed", "expected"), COMMANDS)
def test_biased_recognition_of_commands(
    recognizer: PocketSphinxRecognizer,
    tmp_path: Path,
    text: str,
    voice: str,
    speed: int,
    expected: str,
) -> None:
    transcript = recognizer.transcribe(load_audio(espeak(tmp_path, text, voice, speed)))
    assert expected in transcript.text
    assert transcript.language == "en"
    assert transcript.confidence is not None and 0.0 < transcript.confidence <= 1.0
    assert 0.5 < transcript.audio_seconds < 4.0
    assert transcript.real_time_factor < 1.0


def test_open_baking_class_routes_and_replies(
    assistant: Assistant, tmp_path: Path, recognizer: PocketSphinxRecognizer
) -> None:
    audio = load_audio(espeak(tmp_path, "open baking class"))
    turn = assistant.handle_sync(recognizer.transcribe(audio).text, Session(language="en"))
    assert (turn.skill, turn.intent) == ("anchor_baking", "open_skill")


def test_noisy_command_still_routes(
    assistant: Assistant, tmp_path: Path, recognizer: PocketSphinxRecognizer
) -> None:
    audio = with_noise(load_audio(espeak(tmp_path, "open baking class")), snr_db=10)
    transcript = recognizer.transcribe(audio)
    turn = assistant.handle_sync(transcript.text, Session(language="en"))
    assert (turn.skill, turn.intent) == ("anchor_baking", "open_skill"), transcript.text


def test_silence_and_noise_are_no_command(recognizer: PocketSphinxRecognizer) -> None:
    silence = Audio(bytes(2 * RATE * 2), RATE)
    rng = np.random.default_rng(1)
    white = Audio((rng.normal(0, 6000, 2 * RATE)).astype("<i2").tobytes(), RATE)
    pink_spectrum = np.fft.rfft(rng.normal(0, 1, 2 * RATE))
    pink_spectrum /= np.sqrt(np.arange(1, pink_spectrum.size + 1))
    shaped = np.fft.irfft(pink_spectrum)
    pink = Audio((shaped / np.abs(shaped).max() * 12000).astype("<i2").tobytes(), RATE)
    for audio in (silence, white, pink):
        transcript = recognizer.transcribe(audio)
        assert transcript.empty and transcript.confidence is None, transcript
        assert voiced_seconds(audio.samples) == 0.0


def test_streaming_gives_partials_and_a_transcript(
    recognizer: PocketSphinxRecognizer, tmp_path: Path
) -> None:
    pcm = load_audio(espeak(tmp_path, "how do i bake croissants")).samples
    recognizer.start()
    partials = [recognizer.feed(pcm[i : i + 3201]) for i in range(0, len(pcm), 3201)]
    transcript = recognizer.finish()
    assert any(partials)
    # One live pass (no look at the whole clip first) is less exact than transcribe().
    assert transcript.text.startswith("how do i"), transcript
    assert transcript.audio_seconds == pytest.approx(len(pcm) / 2 / RATE)
    with pytest.raises(InputError, match="before start"):
        recognizer.feed(b"\0\0")


def test_transcribe_async(recognizer: PocketSphinxRecognizer, tmp_path: Path) -> None:
    audio = load_audio(espeak(tmp_path, "open baking class"))
    transcript = asyncio.run(recognizer.transcribe_async(audio))
    assert isinstance(transcript, Transcript) and "baking class" in transcript.text


def test_other_languages_name_the_vosk_model() -> None:
    with pytest.raises(ModelError, match="vosk-model-small-cn-0.22"):
        PocketSphinxRecognizer(language="zh")


# -- the skill bias --------------------------------------------------------------------------


def test_bias_is_cached_and_spells_every_word(project: Project, catalog: Catalog) -> None:
    first = bias_for(project, catalog.skills)
    again = bias_for(project, catalog.skills)
    assert again.fingerprint == first.fingerprint
    assert first.lm_path.is_file() and first.dict_path.is_file()
    assert first.directory == ROOT / "models" / "bias" / "en"
    assert not first.missing
    assert "dreamwell" in first.guessed  # not in cmudict: spelt from its parts
    words = {line.split()[0] for line in first.dict_path.read_text("utf-8").splitlines()}
    assert {"open", "baking", "class", "croissants"} <= words


def test_tokenize_and_arpa() -> None:
    assert tokenize("What's the warm-up, Coach?") == ["what's", "the", "warm-up", "coach"]
    arpa = witten_bell_arpa(["open baking class", "open golden wok"])
    assert "ngram 3=" in arpa and "\n\\end\\" in arpa
    assert "open baking class" in arpa


# -- conversion ------------------------------------------------------------------------------


def test_formats_are_converted(tmp_path: Path) -> None:
    seconds, tone = 0.5, 440.0
    for rate, width, channels in [(8000, 2, 1), (44100, 2, 2), (22050, 1, 1), (48000, 4, 2)]:
        t = np.arange(int(rate * seconds)) / rate
        wave_ = 0.5 * np.sin(2 * np.pi * tone * t)
        if width == 1:
            data = np.round(wave_ * 127 + 128).astype(np.uint8)
        else:
            data = np.round(wave_ * (2 ** (8 * width - 1) - 1)).astype(f"<i{width}")
        frames = np.repeat(data[:, None], channels, axis=1).tobytes()
        path = wav_file(tmp_path / f"{rate}-{width}-{channels}.wav", frames, rate, width, channels)
        audio = load_audio(path)
        assert (audio.rate, audio.width, audio.channels) == (RATE, 2, 1)
        assert audio.duration == pytest.approx(seconds, abs=0.01)
        peak = np.abs(samples(audio)).max() / 32768
        assert peak == pytest.approx(0.5, abs=0.03), (rate, width, channels)
        assert to_recognizer_format(read_wav(path)).rate == RATE


def test_float_and_24_bit_wav_via_sox(tmp_path: Path) -> None:
    source = espeak(tmp_path, "stop")
    for options in (["-b", "24", "-c", "2"], ["-e", "floating-point", "-b", "32"]):
        out = tmp_path / f"converted{len(options)}{options[1]}.wav"
        subprocess.run(["sox", str(source), *options, str(out)], check=True)
        audio = load_audio(out)
        assert audio.rate == RATE and audio.duration == pytest.approx(
            read_wav(source).duration, abs=0.01
        )


def test_bad_files_are_input_errors(tmp_path: Path) -> None:
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio\n")
    with pytest.raises(InputError, match="not a WAV file"):
        load_audio(text)
    good = io.BytesIO()
    with wave.open(good, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(bytes(RATE))
    broken = tmp_path / "broken.wav"
    broken.write_bytes(good.getvalue()[:20])
    with pytest.raises(InputError, match="corrupt"):
        load_audio(broken)
    with pytest.raises(InputError, match="not found"):
        load_audio(tmp_path / "missing.wav")


# -- voice ask -------------------------------------------------------------------------------


def ask_args(path: Path, out: Path | None, json: bool = False) -> argparse.Namespace:
    return argparse.Namespace(project=ROOT, file=path, out=out, json=json, lang="en")


def test_voice_ask_end_to_end(
    assistant: Assistant, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reply.wav"
    assert ask.run(ask_args(espeak(tmp_path, "open baking class"), out, json=True)) == 0
    printed = capsys.readouterr().out
    assert '"skill": "anchor_baking"' in printed and '"intent": "open_skill"' in printed
    reply = read_wav(out)
    assert reply.duration > 1.0


def test_voice_ask_rejects_silence_and_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    silence = wav_file(tmp_path / "silence.wav", bytes(RATE * 2), RATE, 2, 1)
    assert ask.run(ask_args(silence, None)) == 1
    assert "no command heard" in capsys.readouterr().err
    text = tmp_path / "text.wav"
    text.write_text("hello")
    with pytest.raises(InputError, match="not a WAV file"):
        ask.run(ask_args(text, None))


def test_voice_ask_in_a_fresh_process_on_espeak_default_voice(tmp_path: Path) -> None:
    """The acceptance line: a cold process hears espeak-ng's default voice correctly."""
    import sys

    clip = tmp_path / "open.wav"
    subprocess.run(["espeak-ng", "-w", str(clip), "open baking class"], check=True)
    reply = tmp_path / "reply.wav"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "voice_runtime.cli.main",
            "--project",
            str(ROOT),
            "ask",
            str(clip),
            "--out",
            str(reply),
        ],
        capture_output=True,
        timeout=300,
        check=False,
    )
    out = done.stdout.decode()
    assert done.returncode == 0, (out, done.stderr.decode())
    assert out.startswith("heard:    open baking class")
    assert "skill:    anchor_baking" in out
    assert read_wav(reply).duration > 1.0


def test_an_utterance_does_not_depend_on_what_came_before(
    project: Project, catalog: Catalog, tmp_path: Path
) -> None:
    """A pooled recogniser serves many devices: silence, noise or an abandoned half utterance
    before must not change how the next one is heard (nor may a restart raise)."""
    recognizer = calibrate(PocketSphinxRecognizer(bias_for(project, catalog.skills)))
    speech = load_audio(espeak(tmp_path, "continue on the TV", "en-us", 150))
    pcm = to_recognizer_format(speech).samples

    def streamed() -> str:
        recognizer.start()
        for offset in range(0, len(pcm), 3200):
            recognizer.feed(pcm[offset : offset + 3200])
        return recognizer.finish().text

    first = streamed()
    noise = np.random.default_rng(3).normal(0, 9000, 16000 * 8).astype("<i2").tobytes()
    for junk in (bytes(16000 * 2 * 3), noise):
        recognizer.start()
        recognizer.feed(junk)
        recognizer.finish()
    recognizer.start()
    recognizer.feed(pcm[: len(pcm) // 2])  # abandoned: the next start drops it
    assert streamed() == first == "continue on the tv"
