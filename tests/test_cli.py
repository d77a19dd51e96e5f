"""The commands as a user runs them: shell (piped and in-process), nlu, train, say, bench."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from voice_runtime.cli.common import local_device
from voice_runtime.cli.main import main
from voice_runtime.cli.shell import COMMANDS_HELP, Voice, converse
from voice_runtime.dialog.dialogtest import load_dialogs, run_dialog
from voice_runtime.dialog.router import Assistant
from voice_runtime.household.home import Household
from voice_runtime.store.sessions import MemorySessionStore

ROOT = Path(__file__).resolve().parent.parent
VOICE = [sys.executable, "-m", "voice_runtime.cli.main", "--project", str(ROOT)]


def run_voice(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false")
    return subprocess.run(
        [*VOICE, *args], input=stdin, capture_output=True, env=env, timeout=600, check=False
    )


def test_piped_shell_answers_both_languages() -> None:
    """The acceptance line: English and Chinese in one piped session, language detected."""
    done = run_voice("shell", "--no-train", stdin="open baking class\n打开烘焙课堂\n".encode())
    assert done.returncode == 0, done.stderr.decode()
    out = done.stdout.decode()
    assert "answer    Welcome to Anchor Baking Class!" in out
    assert "answer    欢迎来到安佳烘焙课堂！" in out
    assert out.count("skill     anchor_baking") == 2
    assert "Traceback" not in done.stderr.decode()


def test_shell_survives_bad_input(assistant: Assistant, capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    lines = [
        "",
        "x" * 10_000,
        "open\x1bbaking class",
        None,
        "/bogus",
        "open baking class",
        "/state",
        "/reset",
        "/state",
        "/quit",
        "never read",
    ]
    converse(Household(assistant, MemorySessionStore()), local_device(language="en"), lines, out)
    errors = capsys.readouterr().err.splitlines()
    assert errors == [
        "! empty input: say or type a request",
        "! input too long (10000 characters; the limit is 500)",
        "! input contains control characters; type plain text",
        "! input is not valid UTF-8 text; skipped this line",
        f"! unknown command /bogus; {COMMANDS_HELP}",
    ]
    text = out.getvalue()
    assert "answer    Welcome to Anchor Baking Class!" in text
    states = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert [s["open_skill"] for s in states] == ["anchor_baking", None]
    assert "never read" not in text


def test_speak_without_an_audio_device_says_so_once(
    assistant: Assistant, capsys: pytest.CaptureFixture[str]
) -> None:
    from voice_runtime.audio.playback import Player

    if Player().available:
        pytest.skip("this machine has an audio output device")
    out = io.StringIO()
    converse(
        Household(assistant, MemorySessionStore()),
        local_device(language="en"),
        ["open baking class", "help"],
        out,
        voice=Voice(),
    )
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 1 and errors[0].startswith("! not speaking: no audio output device")
    assert out.getvalue().count("answer    ") == 2


def test_save_records_a_dialog_test_that_replays(
    tmp_path: Path, assistant: Assistant, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "recorded.yaml"
    lines = [
        "/save x.yaml",
        "I'd like to use the baking class",
        "ask for a recipe for cookies",
        "打开大屏观车",
        "stop",
        f"/save {path}",
        f"/save {path}",
        "/save notes.txt",
    ]
    out = io.StringIO()
    converse(Household(assistant, MemorySessionStore()), local_device(), lines, out)
    assert f"saved 4 turn(s) to {path}; replay with: voice test {path}" in out.getvalue()
    assert capsys.readouterr().err.splitlines() == [
        "! nothing to save yet: say something first",
        f"! {path} exists; choose another name",
        "! usage: /save FILE.yaml",
    ]
    [dialog] = load_dialogs(path)
    assert [t.user for t in dialog.turns][1] == "ask for a recipe for cookies"
    assert dialog.turns[1].slots == {"dish": "cookies"}
    assert run_dialog(assistant, dialog).passed


def test_shell_json_output(assistant: Assistant) -> None:
    out = io.StringIO()
    converse(
        Household(assistant, MemorySessionStore()),
        local_device(),
        ["打开大屏观车"],
        out,
        as_json=True,
    )
    turn = json.loads(out.getvalue())
    assert (turn["skill"], turn["intent"], turn["language"]) == (
        "star_motors_cars",
        "open_skill",
        "zh",
    )
    assert turn["nlu"]["intent"]["name"] == "open_skill"


def test_shell_pipe_with_invalid_utf8_keeps_going() -> None:
    done = run_voice("shell", "--no-train", "--lang", "en", stdin=b"\xff\xfe broken\nhelp\n")
    assert done.returncode == 0
    assert "! input is not valid UTF-8 text; skipped this line" in done.stderr.decode()
    assert "intent    help" in done.stdout.decode()


def test_nlu_command_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--project", str(ROOT), "nlu", "teach me to bake a loaf", "--lang", "en"]) == 0
    parsed = json.loads(capsys.readouterr().out)
    assert parsed["intent"]["name"] == "anchor_baking.recipe"
    assert parsed["route"]["slots"] == {"dish": "bread"}
    assert parsed["route"]["skill"] == "anchor_baking"
    assert parsed["intent_ranking"][0]["name"] == "anchor_baking.recipe"


def test_train_skips_an_unchanged_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--project", str(ROOT), "train"]) == 0
    out = capsys.readouterr().out
    assert "en: model is up to date, nothing to train" in out
    assert "zh: model is up to date, nothing to train" in out


def test_stale_model_is_refused_with_no_train(tmp_path: Path) -> None:
    """A model trained for other skills is never used silently."""
    project = tmp_path / "project"
    (project / "models" / "nlu").mkdir(parents=True)
    for name in ("skills", "nlu_data"):
        (project / name).symlink_to(ROOT / name)
    en = project / "models" / "nlu" / "en"
    en.mkdir()
    (en / "model.tar.gz").symlink_to(ROOT / "models" / "nlu" / "en" / "model.tar.gz")
    manifest = json.loads((ROOT / "models" / "nlu" / "en" / "manifest.json").read_text())
    manifest["fingerprint"] = "0" * 64
    (en / "manifest.json").write_text(json.dumps(manifest))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "voice_runtime.cli.main",
            "--project",
            str(project),
            "shell",
            "--no-train",
            "--lang",
            "en",
        ],
        input=b"hello\n",
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.decode().strip().splitlines()[-1] == (
        "voice shell: error: the en NLU model is out of date (skills or NLU data changed "
        "since); run 'voice train'"
    )


@pytest.mark.parametrize(
    ("text", "language"), [("Welcome to the class.", "en"), ("欢迎来到烘焙课堂。", "zh")]
)
def test_say_writes_a_wav(
    tmp_path: Path, text: str, language: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reply.wav"
    assert main(["say", text, "--lang", language, "--out", str(out)]) == 0
    with wave.open(str(out)) as wav:
        seconds = wav.getnframes() / wav.getframerate()
        assert wav.getsampwidth() == 2 and wav.getnchannels() == 1
    assert 0.5 < seconds < 10
    assert f"wrote {out}" in capsys.readouterr().out


def test_say_refuses_empty_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["say", "  ", "--out", str(tmp_path / "x.wav")]) == 1
    assert capsys.readouterr().err.startswith("voice say: error: ")
    assert not (tmp_path / "x.wav").exists()


def test_bench_nlu_prints_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--project", str(ROOT), "bench", "nlu", "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    assert "rasa Agent.parse_message" in out and "voice router turn" in out
    ratio_line = next(line for line in out.splitlines() if line.startswith("router / rasa"))
    assert float(ratio_line.split()[3]) > 0


def test_shell_state_shows_the_pending_question_and_idle_sessions_start_afresh(
    assistant: Assistant, capsys: pytest.CaptureFixture[str]
) -> None:
    now = [0.0]
    household = Household(assistant, MemorySessionStore(idle_timeout=60, clock=lambda: now[0]))
    tv = local_device("alice", "tv", "en")

    def lines() -> Iterator[str]:
        yield from ["open car viewing", "book a test drive", "/state"]
        now[0] = 61  # a minute of silence
        yield "/state"

    out = io.StringIO()
    converse(household, tv, lines(), out)
    *_, before, after = out.getvalue().splitlines()
    state = json.loads(before)
    assert (state["open_skill"], state["intent"], state["waiting_for"]) == (
        "star_motors_cars",
        "book_test_drive",
        "model",
    )
    assert (state["user"], state["device"], state["device_type"]) == ("alice", "alice-tv", "tv")
    assert "  waiting   model" in out.getvalue()
    fresh = json.loads(after)
    assert fresh["open_skill"] is None and fresh["session"] != state["session"]
    assert "the session was idle too long" in capsys.readouterr().err
