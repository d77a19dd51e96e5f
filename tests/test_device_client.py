"""`voice device`, the reference speaker client, against the real server on loopback:
espeak-ng WAV files played as the microphone, streamed over GET /v1/stream."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_stream import LiveServer, live_assistant

from voice_runtime.cli.device import expects_answer, stream_url
from voice_runtime.errors import InputError
from voice_runtime.project import Project
from voice_runtime.services.demo import DemoServices
from voice_runtime.skills.catalog import Catalog

VOICE = [sys.executable, "-m", "voice_runtime.cli.main"]
NO_OUTPUT = "no audio output device: answers are printed, not spoken"


@pytest.fixture(scope="module")
def live(
    project: Project,
    catalog: Catalog,
    demo_services: DemoServices,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    server = LiveServer(
        live_assistant(project, catalog, demo_services), tmp_path_factory.mktemp("device")
    )
    yield server
    server.close()


def wav(directory: Path, text: str) -> Path:
    path = directory / (text.replace(" ", "_") + ".wav")
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(path), text], check=True)
    return path


def device(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*VOICE, "device", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_push_to_talk_from_a_wav_prints_the_answer(live: LiveServer, tmp_path: Path) -> None:
    _, token = live.add_device("client-alice", "speaker", name="Kitchen speaker")
    spoken = wav(tmp_path, "open baking class")
    done = device(
        "--server", live.url, "--token", token, "--from-wav", str(spoken), "--push-to-talk"
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "heard: 'open baking class'" in lines, done.stdout
    assert any(line.strip().startswith("-> open_skill [anchor_baking]") for line in lines)
    assert (
        "  answer: Welcome to Anchor Baking Class! "
        "Ask me how to bake bread, cookies, cake or croissants." in lines
    ), done.stdout
    assert done.stderr.count(NO_OUTPUT) == 1
    assert "connected to ws://127.0.0.1:" in done.stderr


def test_hands_free_needs_the_wake_phrase(live: LiveServer, tmp_path: Path) -> None:
    """Hands-free: the WAV files play in real time, the server endpoints each utterance."""
    _, token = live.add_device("client-bob", "speaker")
    ignored = wav(tmp_path, "open car viewing")
    woken = wav(tmp_path, "hey assistant open baking class")
    silence = tmp_path / "silence.wav"
    subprocess.run(
        ["sox", "-n", "-r", "16000", "-b", "16", "-c", "1", str(silence), "trim", "0", "1.5"],
        check=True,
    )
    files = [str(silence), str(ignored), str(silence), str(woken), str(silence)]
    done = device("--server", live.url, "--token", token, "--from-wav", *files)
    assert done.returncode == 0, done.stderr
    assert "heard: 'open car viewing'" in done.stdout  # heard, but not woken: no answer
    assert done.stdout.count("answer:") == 1, done.stdout
    assert "  answer: Welcome to Anchor Baking Class!" in done.stdout
    assert "Star Motors" not in done.stdout


def test_bad_token_and_bad_server_are_one_line_errors(live: LiveServer, tmp_path: Path) -> None:
    spoken = wav(tmp_path, "open baking class")
    bad = device("--server", live.url, "--token", "vd_wrong", "--from-wav", str(spoken))
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines()[-1] == (
        "voice device: error: the server refused the token: unknown token"
    ), bad.stderr
    assert bad.stdout == ""
    gone = device("--server", "http://127.0.0.1:9", "--token", "vd_x", "--from-wav", str(spoken))
    assert gone.returncode == 1
    last = gone.stderr.strip().splitlines()[-1]
    assert last.startswith("voice device: error: cannot reach the server at ws://127.0.0.1:9/")
    assert "Traceback" not in gone.stderr
    wrong = device("--server", "ftp://x", "--token", "vd_x", "--from-wav", str(spoken))
    assert wrong.returncode == 1 and "invalid server URL 'ftp://x'" in wrong.stderr


def test_stream_url_and_expects_answer() -> None:
    assert stream_url("http://127.0.0.1:8080") == "ws://127.0.0.1:8080/v1/stream"
    assert stream_url("https://home.example/voice/") == "wss://home.example/voice/v1/stream"
    assert stream_url("ws://[::1]:9000") == "ws://[::1]:9000/v1/stream"
    for bad in ("127.0.0.1:8080", "http://", "http://h:port"):
        with pytest.raises(InputError):
            stream_url(bad)
    assert expects_answer({"skill": "s", "waiting_for": "day", "speech": "Which day?"})
    assert expects_answer({"skill": "s", "waiting_for": None, "speech": "Shall I?"})
    assert not expects_answer({"skill": None, "waiting_for": None, "speech": "Did you mean?"})
    assert not expects_answer({"skill": "s", "waiting_for": None, "speech": "Welcome!"})


def test_a_tv_types_and_is_handed_the_speakers_conversation(
    live: LiveServer, tmp_path: Path
) -> None:
    """The demo's scene: the speaker opens baking class by voice, hands it to the TV, which
    was waiting (--wait) and shows the card, then types the next request (--text)."""
    _, speaker = live.add_device("client-hana", "speaker", name="Kitchen speaker")
    _, tv = live.add_device("client-hana", "tv", name="Living room TV")
    waiting = subprocess.Popen(
        [*VOICE, "device", "--server", live.url, "--token", tv, "--wait", "20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        files = [str(wav(tmp_path, "open baking class")), str(wav(tmp_path, "continue on the TV"))]
        spoken = device(
            "--server", live.url, "--token", speaker, "--push-to-talk", "--from-wav", *files
        )
        assert "  answer: Okay, continuing on Living room TV." in spoken.stdout, spoken.stdout
    finally:
        waiting.terminate()
        shown, _ = waiting.communicate(timeout=30)
    assert "pushed (handoff): -> handoff [anchor_baking]" in shown
    assert "  card: Anchor Baking Class: Try: how do I bake bread?" in shown
    typed = device("--server", live.url, "--token", tv, "--text", "how do I bake bread")
    assert typed.returncode == 0, typed.stderr
    assert "  -> anchor_baking.recipe [anchor_baking]" in typed.stdout
    assert "  card: Recipe: bread: Anchor butter, flour, sugar." in typed.stdout
