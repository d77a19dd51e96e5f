"""Text to speech with the real espeak-ng, WAV files, and playback without a sound card."""

from __future__ import annotations

import array
import asyncio
import io
import math
import sys
import wave
from pathlib import Path

import pytest

from voice_runtime.audio import Audio, Player, read_wav, wav_bytes, write_wav
from voice_runtime.errors import AudioError, InputError
from voice_runtime.tts import Speaker, default_speaker, split_sentences

ENGLISH = "Hello, how are you today?"
CHINESE = "你好，今天天气怎么样？"


@pytest.fixture(scope="module")
def speaker() -> Speaker:
    """The process-wide speaker, as the shell uses it."""
    assert default_speaker() is default_speaker()
    return default_speaker()


def rms(audio: Audio) -> float:
    """Root mean square of 16-bit samples (full scale is 32768)."""
    samples = array.array("h", audio.samples)
    if sys.byteorder == "big":
        samples.byteswap()
    return math.sqrt(sum(s * s for s in samples) / max(len(samples), 1))


def similar(first: Audio, second: Audio) -> bool:
    """Lengths within 2% (espeak output varies by a few samples from run to run)."""
    return abs(first.frames - second.frames) <= 0.02 * max(first.frames, second.frames)


def assert_speech(audio: Audio) -> None:
    """16-bit mono, a plausible length, and not silence; its WAV file is valid too."""
    assert (audio.width, audio.channels) == (2, 1)
    assert audio.rate >= 8000
    assert 0.3 < audio.duration < 10.0
    assert rms(audio) > 300.0
    with wave.open(io.BytesIO(wav_bytes(audio)), "rb") as wav:
        assert (wav.getsampwidth(), wav.getnchannels()) == (2, 1)
        assert wav.getnframes() == audio.frames


def test_english_speech(speaker: Speaker) -> None:
    assert_speech(speaker.synthesize(ENGLISH, "en"))


def test_chinese_speech_uses_a_mandarin_voice(speaker: Speaker) -> None:
    assert "cmn" in speaker.voice_id("zh")
    assert_speech(speaker.synthesize(CHINESE, "zh"))


def test_voices_differ_per_language(speaker: Speaker) -> None:
    assert speaker.voice_id("en") != speaker.voice_id("zh")
    # Texts of the same length in each language give different speech.
    english, chinese = speaker.synthesize("Good day", "en"), speaker.synthesize("你好世界", "zh")
    assert english.samples != chinese.samples
    # espeak adds a little random noise, so compare lengths: the same digits read in English
    # and in Mandarin differ clearly, which shows the voice really switched.
    assert not similar(speaker.synthesize("123", "en"), speaker.synthesize("123", "zh"))


def test_voice_switches_back(speaker: Speaker) -> None:
    first = speaker.synthesize("One two three", "en")
    speaker.synthesize("一二三", "zh")
    assert similar(speaker.synthesize("One two three", "en"), first)


def test_synthesize_async(speaker: Speaker) -> None:
    async def both() -> tuple[Audio, Audio]:
        return await asyncio.gather(
            speaker.synthesize_async("One.", "en"), speaker.synthesize_async("二。", "zh")
        )

    for audio in asyncio.run(both()):
        assert audio.duration > 0.1 and rms(audio) > 300.0


@pytest.mark.parametrize("text", ["", "   \n"])
def test_empty_text_is_rejected(speaker: Speaker, text: str) -> None:
    with pytest.raises(InputError, match="text is empty"):
        speaker.synthesize(text, "en")


def test_unknown_language_is_rejected(speaker: Speaker) -> None:
    with pytest.raises(InputError, match="unsupported language 'fr'"):
        speaker.synthesize("Bonjour", "fr")


def test_no_print_from_synthesis(speaker: Speaker, capsys: pytest.CaptureFixture[str]) -> None:
    speaker.synthesize("Quiet please.", "en")
    assert capsys.readouterr().out == ""


def test_wav_round_trip(tmp_path: Path) -> None:
    audio = Audio(bytes(range(256)) * 10, 16000)
    path = tmp_path / "out.wav"
    write_wav(path, audio)
    assert read_wav(path) == audio
    assert audio.duration == pytest.approx(1280 / 16000)
    assert [p.name for p in tmp_path.iterdir()] == ["out.wav"]  # no temporary file left


def test_write_wav_replaces_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "out.wav"
    path.write_text("old")
    write_wav(path, Audio(b"\x01\x00" * 8, 8000))
    assert read_wav(path).frames == 8


def test_write_wav_to_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot write audio file"):
        write_wav(tmp_path / "nope" / "out.wav", Audio(b"\x00\x00", 8000))


def test_read_wav_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="audio file not found"):
        read_wav(tmp_path / "missing.wav")


def test_read_wav_text_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("this is text, not audio\n")
    with pytest.raises(InputError, match="^not a WAV file: "):
        read_wav(path)


@pytest.mark.parametrize(
    ("keep", "message"), [(30, "corrupt WAV file"), (60, "truncated WAV file")]
)
def test_read_wav_truncated_file(tmp_path: Path, keep: int, message: str) -> None:
    path = tmp_path / "cut.wav"
    path.write_bytes(wav_bytes(Audio(b"\x10\x00" * 100, 8000))[:keep])
    with pytest.raises(InputError, match=message) as caught:
        read_wav(path)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello world. How are you? Fine!", ["Hello world.", "How are you?", "Fine!"]),
        ("你好。今天天气怎么样？很好！", ["你好。", "今天天气怎么样？", "很好！"]),
        ("先和面。Then bake it!", ["先和面。", "Then bake it!"]),
        ("Version 3.5 is out. Yes", ["Version 3.5 is out.", "Yes"]),
        ("1. Mix flour.\n2. Knead it!", ["1. Mix flour.", "2. Knead it!"]),
        ("Really?! Wait... what", ["Really?!", "Wait...", "what"]),
        ("你好！！我来了", ["你好！！", "我来了"]),
        ('He said "hi." Then left.', ['He said "hi."', "Then left."]),
        ("他说：“好的。”然后走了", ["他说：“好的。”", "然后走了"]),
        ("No punctuation here", ["No punctuation here"]),
        ("  \n ", []),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def sounddevice_lists_output() -> bool:
    """What sounddevice itself reports: is any output device listed?"""
    try:
        import sounddevice
    except OSError:  # PortAudio is missing
        return False
    return any(device["max_output_channels"] > 0 for device in sounddevice.query_devices())


def test_player_without_output_device(speaker: Speaker) -> None:
    player = Player()
    if sounddevice_lists_output():
        pytest.skip("this machine has an audio output device; the no-device path is not testable")
    assert not player.available
    audio = Audio(b"\x00\x00" * 100, 8000)
    with pytest.raises(AudioError, match="^no audio output device; ") as caught:
        player.play(audio)
    assert "\n" not in str(caught.value)
    with pytest.raises(AudioError, match="^no audio output device; "):
        player.require()
