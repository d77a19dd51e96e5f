"""Microphone input without a sound card: real espeak-ng speech played from WAV files
through the sound-card callback path, resampled, and endpointed."""

from __future__ import annotations

import io
import os
import subprocess
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from scipy.signal import resample_poly

from voice_runtime.audio.endpoint import (
    EndpointConfig,
    Endpointer,
    Event,
    NoSpeech,
    SpeechStarted,
    State,
    UtteranceEnded,
    capture_utterance,
    listen,
    record_until_enter,
)
from voice_runtime.audio.microphone import (
    CHUNK_FRAMES,
    BlockConverter,
    InputDevice,
    Microphone,
    SampleQueue,
    WavSource,
    iter_chunks,
    list_input_devices,
    select_input_device,
)
from voice_runtime.audio.resample import Resampler, to_16k_mono
from voice_runtime.audio.wav import Audio, read_wav
from voice_runtime.errors import AudioError, InputError

Samples = npt.NDArray[np.float64]


class Speech:
    """espeak-ng's "open baking class" with its own leading and trailing silence cut off."""

    def __init__(self, path: Path) -> None:
        subprocess.run(["espeak-ng", "-w", str(path), "open baking class"], check=True)
        audio = read_wav(path)
        assert (audio.rate, audio.width, audio.channels) == (22050, 2, 1)
        samples = np.frombuffer(audio.samples, dtype="<i2").astype(np.float64)
        loud = np.nonzero(np.abs(samples) > 0.02 * np.abs(samples).max())[0]
        self.path = path
        self.rate = audio.rate
        self.samples: Samples = samples[loud[0] : loud[-1] + 1]

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate

    def padded(self, before: float = 1.0, after: float = 1.5) -> Samples:
        """The speech between stretches of digital silence."""
        return np.concatenate(
            (np.zeros(int(before * self.rate)), self.samples, np.zeros(int(after * self.rate)))
        )


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Speech:
    return Speech(tmp_path_factory.mktemp("speech") / "open_baking_class.wav")


def pcm16(samples: Samples, rate: int) -> Audio:
    return Audio(np.clip(np.rint(samples), -32768, 32767).astype("<i2").tobytes(), rate)


def with_noise(samples: Samples, speech: Samples, snr_db: float, seed: int) -> Samples:
    """White noise at ``snr_db`` below the speech's mean power, over the whole signal."""
    power = float(np.mean(speech**2)) / 10 ** (snr_db / 10)
    noise = np.random.default_rng(seed).standard_normal(len(samples)) * np.sqrt(power)
    return samples + noise


def values(data: bytes) -> Samples:
    return np.frombuffer(data, dtype="<i2").astype(np.float64)


def rms(data: Samples) -> float:
    return float(np.sqrt(np.mean(data**2)))


def play(audio: Audio, endpointer: Endpointer | None = None) -> list[Event]:
    return list(listen(WavSource(audio), endpointer))


def utterances(events: list[Event]) -> list[UtteranceEnded]:
    return [event for event in events if isinstance(event, UtteranceEnded)]


# ---------------------------------------------------------------- resampling


def write_variant(path: Path, frames: npt.NDArray[np.float64], rate: int, width: int) -> Path:
    """Write (frames, channels) floats in -1..1 as a ``width``-byte PCM WAV file."""
    if width == 1:
        data = (np.clip(np.rint(frames * 128 + 128), 0, 255)).astype(np.uint8).tobytes()
    elif width == 3:
        ints = np.clip(np.rint(frames * 2**23), -(2**23), 2**23 - 1).astype("<i4")
        data = ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    else:
        scale = 2 ** (8 * width - 1)
        kind = {2: "<i2", 4: "<i4"}[width]
        data = np.clip(np.rint(frames * scale), -scale, scale - 1).astype(kind).tobytes()
    with wave.open(str(path), "wb") as out:
        out.setnchannels(frames.shape[1])
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(data)
    return path


VARIANTS = [  # rate, channels, width
    (8000, 1, 2),
    (44100, 2, 2),
    (22050, 1, 1),
    (22050, 1, 4),
    (48000, 1, 3),
    (11025, 2, 2),
]


@pytest.mark.parametrize(("rate", "channels", "width"), VARIANTS)
def test_to_16k_mono_keeps_duration_and_energy(
    speech: Speech, tmp_path: Path, rate: int, channels: int, width: int
) -> None:
    floats = speech.padded(0.2, 0.2) / 32768
    at_rate = resample_poly(floats, rate, speech.rate) if rate != speech.rate else floats
    # Stereo: the same speech on both channels, the right one at half level.
    frames = np.stack([at_rate, at_rate * 0.5][:channels], axis=1)
    source = read_wav(write_variant(tmp_path / "variant.wav", frames, rate, width))
    assert (source.rate, source.channels, source.width) == (rate, channels, width)

    out = to_16k_mono(source)

    assert (out.rate, out.channels, out.width) == (16000, 1, 2)
    assert out.duration == pytest.approx(len(floats) / speech.rate, rel=0.02)
    expected = frames.mean(axis=1) * 32768
    # Narrowband (8/11 kHz) copies lost the speech above 4/5.5 kHz; the rest keep it all.
    assert rms(values(out.samples)) == pytest.approx(rms(expected), rel=0.03)
    reference = resample_poly(speech.padded(0.2, 0.2), 16000, speech.rate)
    reference *= 0.75 if channels == 2 else 1.0
    correlation = np.corrcoef(values(out.samples)[: len(reference)], reference)[0, 1]
    assert correlation > (0.9 if rate < 16000 else 0.999)


def test_to_16k_mono_rejects_empty_audio() -> None:
    with pytest.raises(InputError, match="empty"):
        to_16k_mono(Audio(b"", 44100))


def test_to_16k_mono_leaves_16k_mono_alone(speech: Speech) -> None:
    audio = pcm16(speech.samples[:16000], 16000)
    assert to_16k_mono(audio) is audio


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_streamed_resampling_matches_one_shot(rate: int) -> None:
    signal = np.random.default_rng(rate).standard_normal(rate) * 0.1
    whole = Resampler(rate)
    one_shot = np.concatenate((whole.process(signal), whole.flush()))
    blocks = Resampler(rate)
    cuts = [0, 1, 7, 300, 301, 5000, 9999, rate]
    parts = [blocks.process(signal[a:b]) for a, b in zip(cuts, cuts[1:], strict=False)]
    streamed = np.concatenate([*parts, blocks.flush()])
    assert np.array_equal(one_shot, streamed)
    reference = resample_poly(signal, 16000, rate)
    assert len(one_shot) == len(reference)
    assert np.max(np.abs(one_shot - reference)) < 1e-3


# ---------------------------------------------------------------- the callback path


def test_wav_source_gives_what_to_16k_mono_gives(speech: Speech, tmp_path: Path) -> None:
    """Blocks through the sound-card callback equal the one-shot conversion exactly."""
    stereo = np.stack([speech.samples, speech.samples * 0.3], axis=1) / 32768
    path = write_variant(tmp_path / "stereo.wav", stereo, 22050, 2)
    streamed = b"".join(iter_chunks(WavSource(path)))
    assert streamed == to_16k_mono(read_wav(path)).samples


def test_raw_byte_blocks_convert_like_arrays(speech: Speech) -> None:
    """A RawInputStream hands over bytes; an InputStream arrays: same result."""
    block = speech.samples[:4410].astype(np.int16).reshape(-1, 1)
    from_array, from_bytes = SampleQueue(), SampleQueue()
    for queue, data in ((from_array, block), (from_bytes, block.tobytes())):
        converter = BlockConverter(22050, queue)
        converter.callback(data, len(block), None, None)
        converter.finish()
        queue.close()
    assert from_array.take(10**6) == from_bytes.take(10**6)
    assert from_array.take(1) == b""


def test_a_slow_reader_loses_the_oldest_audio() -> None:
    queue = SampleQueue(max_seconds=0.1)
    queue.put(np.arange(3200, dtype=np.int16))
    assert (queue.size, queue.dropped) == (1600, 1600)
    assert queue.take(1) == np.array([1600], dtype="<i2").tobytes()


def test_wav_source_plays_files_in_turn_and_ends(speech: Speech) -> None:
    audio = pcm16(speech.samples, speech.rate)
    source = WavSource(speech.path, audio)
    chunks = list(source.chunks())
    assert all(len(chunk) == 2 * CHUNK_FRAMES for chunk in chunks[:-1])
    total = sum(len(chunk) for chunk in chunks) / 32000
    assert total == pytest.approx(read_wav(speech.path).duration + speech.duration, abs=0.01)
    assert source.read(CHUNK_FRAMES) == b""
    with pytest.raises(InputError, match="not found"):
        WavSource(speech.path.with_name("missing.wav"))


def test_real_time_wav_source_is_paced_like_a_device(speech: Speech) -> None:
    source = WavSource(pcm16(speech.samples[: speech.rate // 2], speech.rate), realtime=True)
    started = time.monotonic()
    data = b"".join(iter_chunks(source))
    elapsed = time.monotonic() - started
    source.close()
    assert len(data) == 16000
    assert 0.4 < elapsed < 1.0


# ---------------------------------------------------------------- endpointing


def test_one_utterance_between_silences(speech: Speech) -> None:
    events = play(pcm16(speech.padded(1.0, 1.5), speech.rate))
    assert [type(event) for event in events] == [SpeechStarted, UtteranceEnded]
    started, ended = events
    assert isinstance(started, SpeechStarted) and isinstance(ended, UtteranceEnded)
    assert ended.reason == "silence"
    assert ended.duration == pytest.approx(speech.duration, abs=0.4)
    assert started.start == pytest.approx(1.0, abs=0.1)
    # Latency in audio time: the trailing silence (0.6 s) plus at most one frame.
    latency = ended.time - (1.0 + speech.duration)
    assert 0.55 <= latency <= 0.7
    assert rms(values(ended.audio)) > 1000


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_speech_in_white_noise_at_10_db_snr(speech: Speech, seed: int) -> None:
    noisy = with_noise(speech.padded(1.0, 1.5), speech.samples, 10.0, seed)
    events = play(pcm16(noisy, speech.rate))
    [ended] = utterances(events)
    assert ended.reason == "silence"
    assert ended.duration == pytest.approx(speech.duration, abs=0.4)
    assert ended.start == pytest.approx(1.0 - 0.15, abs=0.2)
    assert 0.3 <= ended.time - (1.0 + speech.duration) <= 0.7


def test_white_noise_alone_is_no_speech(speech: Speech) -> None:
    noise = with_noise(np.zeros(6 * speech.rate), speech.samples, 0.0, seed=7)
    endpointer = Endpointer()
    assert play(pcm16(noise, speech.rate), endpointer) == [NoSpeech(5.0)]
    assert endpointer.noise_floor > 500  # the floor followed the noise


def test_silence_times_out(speech: Speech) -> None:
    assert play(pcm16(np.zeros(7 * speech.rate), speech.rate)) == [NoSpeech(5.0)]
    short = EndpointConfig(no_speech_timeout=1.0)
    assert play(pcm16(np.zeros(7 * speech.rate), speech.rate), Endpointer(short)) == [NoSpeech(1.0)]


def test_endless_speech_is_cut_at_the_maximum_length(speech: Speech) -> None:
    repeats = int(np.ceil(15 * speech.rate / len(speech.samples)))
    loop = np.concatenate([np.zeros(speech.rate // 2)] + [speech.samples] * repeats)
    events = play(pcm16(loop, speech.rate))
    [ended] = utterances(events)
    assert ended.reason == "max_length"
    assert ended.duration == pytest.approx(10.0, abs=0.01)


def test_a_background_that_gets_louder_ends_the_utterance(speech: Speech) -> None:
    """Noise switching on mid-listen starts an utterance, but it does not last 10 s."""
    step = np.concatenate(
        (np.zeros(speech.rate), with_noise(np.zeros(6 * speech.rate), speech.samples, 0.0, 3))
    )
    [ended] = utterances(play(pcm16(step, speech.rate)))
    assert ended.reason == "silence"
    assert ended.duration < 3.5


def test_input_ending_mid_utterance(speech: Speech) -> None:
    audio = pcm16(np.concatenate((np.zeros(speech.rate), speech.samples)), speech.rate)
    final = capture_utterance(WavSource(audio))
    assert isinstance(final, UtteranceEnded) and final.reason == "end_of_input"
    assert final.time == pytest.approx(1.0 + speech.duration, abs=0.03)


def test_endpointer_is_done_until_reset(speech: Speech) -> None:
    chunk = pcm16(speech.padded(1.0, 1.5), speech.rate)
    endpointer = Endpointer()
    first = capture_utterance(WavSource(chunk, chunk), endpointer)
    assert isinstance(first, UtteranceEnded)
    assert endpointer.state is State.DONE
    assert endpointer.feed(b"\0" * 3200) == []
    endpointer.reset()
    assert endpointer.state is State.WAITING
    assert endpointer.feed(b"\1") == []  # half a sample waits for the rest


def test_resume_waits_for_speech_again_on_the_same_clock(speech: Speech) -> None:
    """After an utterance that was noise, ``resume`` listens on: the next utterance is
    the speech, and the no-speech timeout still counts from when listening began."""
    rate = speech.rate
    burst = np.random.default_rng(5).standard_normal(int(0.3 * rate)) * 3000
    noise_then_speech = np.concatenate(
        (np.zeros(rate // 2), burst, np.zeros(rate), speech.samples, np.zeros(rate))
    )
    endpointer = Endpointer()
    source = WavSource(pcm16(noise_then_speech, rate))
    first = capture_utterance(source, endpointer)
    assert isinstance(first, UtteranceEnded) and first.duration < 1.0  # the burst
    with pytest.raises(RuntimeError):
        Endpointer().resume()  # nothing ended yet
    endpointer.resume()
    assert endpointer.state is State.WAITING
    second = capture_utterance(source, endpointer)
    assert isinstance(second, UtteranceEnded)
    assert second.start == pytest.approx(0.5 + 0.3 + 1.0 - 0.15, abs=0.1)
    assert second.duration == pytest.approx(speech.duration, abs=0.4)

    short = Endpointer(EndpointConfig(no_speech_timeout=2.0))
    burst_then_silence = pcm16(
        np.concatenate((np.zeros(rate // 2), burst, np.zeros(4 * rate))), rate
    )
    source = WavSource(burst_then_silence)
    assert isinstance(capture_utterance(source, short), UtteranceEnded)
    short.resume()
    assert capture_utterance(source, short) == NoSpeech(2.0)  # not 2 s after the resume


def test_odd_chunk_sizes_give_the_same_events(speech: Speech) -> None:
    data = to_16k_mono(pcm16(speech.padded(1.0, 1.5), speech.rate)).samples
    whole = Endpointer().feed(data)

    def pieces() -> Iterator[bytes]:
        for offset in range(0, len(data), 333):
            yield data[offset : offset + 333]

    endpointer = Endpointer()
    assert [event for piece in pieces() for event in endpointer.feed(piece)] == whole


# ---------------------------------------------------------------- push to talk


def test_push_to_talk_stops_at_the_first_line(speech: Speech) -> None:
    audio = pcm16(speech.samples, speech.rate)
    assert len(record_until_enter(WavSource(audio), io.StringIO("\n"))) == 2 * CHUNK_FRAMES
    assert len(record_until_enter(WavSource(audio), io.StringIO(""))) == 2 * CHUNK_FRAMES


def test_push_to_talk_records_until_enter_on_a_pipe(speech: Speech) -> None:
    source = WavSource(pcm16(speech.padded(0.0, 3.0), speech.rate), realtime=True)
    read_end, write_end = os.pipe()
    with os.fdopen(read_end) as stdin, os.fdopen(write_end, "w") as keyboard:

        def press_enter() -> None:
            keyboard.write("\n")
            keyboard.flush()

        timer = threading.Timer(0.5, press_enter)
        timer.start()
        recorded = record_until_enter(source, stdin)
        timer.join()
        source.close()
    assert len(recorded) / 32000 == pytest.approx(0.5, abs=0.1)


def test_push_to_talk_ends_with_the_source_or_the_limit(speech: Speech) -> None:
    audio = pcm16(speech.samples, speech.rate)
    read_end, write_end = os.pipe()
    with os.fdopen(read_end) as stdin, os.fdopen(write_end, "w"):
        whole = record_until_enter(WavSource(audio), stdin)
        limited = record_until_enter(WavSource(audio), stdin, max_seconds=0.5)
    assert len(whole) / 32000 == pytest.approx(speech.duration, abs=0.01)
    assert len(limited) == 16000


# ---------------------------------------------------------------- devices


def test_list_input_devices_is_a_list() -> None:
    devices = list_input_devices()
    assert isinstance(devices, list)
    assert all(isinstance(device, InputDevice) for device in devices)


def test_microphone_with_a_missing_device_index() -> None:
    devices = list_input_devices()
    with pytest.raises(AudioError) as error:
        Microphone(9999)
    message = str(error.value)
    assert "\n" not in message
    if devices:
        assert "9999 not found" in message and devices[0].name in message
    else:
        assert message.startswith("no microphone found; ")


def test_device_selection_lists_what_there_is() -> None:
    devices = [InputDevice(0, "HDA Intel: ALC", 2, 44100), InputDevice(4, "USB Mic", 1, 48000)]
    assert select_input_device(devices, None, default=4).name == "USB Mic"
    assert select_input_device(devices, None).index == 0
    assert select_input_device(devices, "usb").index == 4
    with pytest.raises(AudioError) as error:
        select_input_device(devices, 7)
    assert str(error.value) == (
        "input device 7 not found; available input devices: "
        "0 'HDA Intel: ALC' (2 ch, 44100 Hz); 4 'USB Mic' (1 ch, 48000 Hz)"
    )
    with pytest.raises(AudioError, match="matches no input device"):
        select_input_device(devices, "bluetooth")
    with pytest.raises(AudioError, match="^no microphone found; "):
        select_input_device([], None)
