"""`voice bench speech`: real-time factor, end-of-speech latencies and wake accuracy.

Test speech is synthesized with espeak-ng in several voices and speeds. Times
are measured as `voice listen` works: the recogniser is fed while the person
speaks, and the clock starts when the endpointer has decided the utterance
ended (its trailing-silence wait, 0.6 s by default, comes on top and is printed).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from ..audio.convert import to_recognizer_format
from ..audio.endpoint import EndpointConfig
from ..audio.wav import Audio, read_wav
from ..errors import VoiceError
from ..household.home import Household
from ..speech.backends import available_backends, recognizer_for
from ..speech.calibrate import calibrate
from ..speech.recognizer import Recognizer, Transcript
from ..speech.wake import WAKE_PHRASES, split_wake
from ..spoken import speech_audio, spoken_turn_sync
from ..tts.speaker import Speaker
from .common import build_household, local_device, nlu_engine, project_of

COMMANDS = [
    "open baking class",
    "how do i bake bread",
    "what is the next lesson",
    "open car viewing",
    "help",
    "stop",
    "open golden wok kitchen",
    "play rain sounds",
]
NOT_WAKE = [
    "hey there how are you",
    "assistant manager wanted",
    "open baking class",
    "the weather is nice today",
]
VOICES = [("en-us", 150), ("en-us", 130), ("en-gb", 150)]
CHUNK_BYTES = 960  # 30 ms, as the microphone delivers them


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def espeak(text: str, voice: str, speed: int, directory: Path) -> Audio:
    """espeak-ng speech of `text`, converted to 16 kHz mono."""
    if shutil.which("espeak-ng") is None:
        raise VoiceError("espeak-ng is not installed (apt-get install espeak-ng)")
    path = directory / f"{voice}-{speed}-{len(list(directory.iterdir()))}.wav"
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text],
        check=True,
        capture_output=True,
    )
    return to_recognizer_format(read_wav(path))


def with_noise(audio: Audio, snr_db: float, seed: int) -> Audio:
    samples = np.frombuffer(audio.samples, np.int16).astype(np.float64)
    noise = np.random.default_rng(seed).normal(0.0, 1.0, samples.size)
    power = np.mean(samples**2) / (10 ** (snr_db / 10))
    mixed = np.clip(samples + noise * np.sqrt(power), -32768, 32767).astype(np.int16)
    return Audio(mixed.tobytes(), audio.rate)


def bench_speech(args: argparse.Namespace) -> int:
    language = args.lang
    if language != "en":
        raise VoiceError("the speech bench synthesizes English test speech; use --lang en")
    household = build_household(args)
    nlu_engine(household.assistant).parse("warm up the model", language)  # loaded before timing
    project, skills = project_of(args), household.assistant.catalog.skills
    wake = WAKE_PHRASES[language]
    speaker = Speaker()
    with tempfile.TemporaryDirectory(prefix="voice-bench-") as tmp:
        folder = Path(tmp)
        clips = [(t, espeak(t, v, s, folder)) for t in COMMANDS for v, s in VOICES]
        wakes = [
            espeak(f"{wake} {t}" if i % 2 else wake, v, s, folder)
            for i, t in enumerate(COMMANDS[:4])
            for v, s in VOICES
        ]
        others = [espeak(t, v, s, folder) for t in NOT_WAKE for v, s in VOICES]
    print(
        f"speech bench ({language}): {len(clips)} command clips "
        f"({len(COMMANDS)} sentences x {len(VOICES)} espeak-ng voices/speeds)"
    )
    for info in available_backends(project):
        if info.language != language:
            continue
        recognizer = recognizer_for(
            project,
            language,
            skills,
            backend=info.backend,
            model_path=info.path if info.backend == "vosk" else None,
            wake_phrase=wake,
        )
        calibrate(recognizer, speaker)
        print(f"\n[{info.describe()}]")
        _latencies(recognizer, clips, household, speaker, language)
        _wake_accuracy(recognizer, wakes, others, wake, args.rounds)
    silence = EndpointConfig().trailing_silence
    print(f"\n(the endpointer waits {silence:.1f} s of silence before these clocks start)")
    return 0


def _latencies(
    recognizer: Recognizer,
    clips: list[tuple[str, Audio]],
    household: Household,
    speaker: Speaker,
    language: str,
) -> None:
    device = local_device(language=language)
    rtf: list[float] = []
    to_text: list[float] = []
    to_audio: list[float] = []
    exact = 0
    for text, clip in clips:
        transcript, start = stream(recognizer, clip)
        household.run(household.reset(device))  # each clip starts a new conversation
        turn = (
            spoken_turn_sync(household, device, transcript.text, language)
            if transcript.text
            else None
        )
        answered = time.perf_counter()
        next(speech_audio(speaker, turn.response.speech if turn else "Sorry.", language))
        spoken = time.perf_counter()
        rtf.append(transcript.real_time_factor)
        to_text.append(answered - start)
        to_audio.append(spoken - start)
        exact += transcript.text == text
    print(f"real-time factor       mean {np.mean(rtf):.3f}   max {max(rtf):.3f}")
    print(f"exact transcripts      {exact}/{len(clips)}")
    print(
        f"end of speech -> response text        p50 {percentile(to_text, 0.5) * 1e3:6.0f} ms"
        f"   p90 {percentile(to_text, 0.9) * 1e3:6.0f} ms   (target p50 <= 150 ms)"
    )
    print(
        f"end of speech -> first reply sample   p50 {percentile(to_audio, 0.5) * 1e3:6.0f} ms"
        f"   p90 {percentile(to_audio, 0.9) * 1e3:6.0f} ms   (target p50 <= 250 ms)"
    )


def _wake_accuracy(
    recognizer: Recognizer, wakes: list[Audio], others: list[Audio], phrase: str, seed: int
) -> None:
    for label, snr in (("clean", None), ("10 dB SNR", 10.0)):
        noisy = [(c if snr is None else with_noise(c, snr, seed)) for c in wakes + others]
        woke = [split_wake(stream(recognizer, clip)[0].text, phrase).woke for clip in noisy]
        misses = woke[: len(wakes)].count(False)
        false = woke[len(wakes) :].count(True)
        print(
            f"wake {phrase!r} ({label}): missed {misses}/{len(wakes)}, "
            f"false wakes {false}/{len(others)}"
        )


def stream(recognizer: Recognizer, clip: Audio) -> tuple[Transcript, float]:
    """Decode as `voice listen` does: chunks fed while the person speaks, then `finish`.

    Returns the transcript and the moment speech ended (the clock start).
    """
    recognizer.start()
    for offset in range(0, len(clip.samples), CHUNK_BYTES):
        recognizer.feed(clip.samples[offset : offset + CHUNK_BYTES])
    ended = time.perf_counter()
    return recognizer.finish(), ended
