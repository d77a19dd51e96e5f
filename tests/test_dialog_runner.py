"""The dialog test runner itself: its file format errors and its failure reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from voice_runtime.cli.main import main
from voice_runtime.dialog.dialogtest import load_dialogs
from voice_runtime.errors import SkillError

ROOT = Path(__file__).parent.parent


def test_bad_dialog_file_names_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\ndialogs:\n  - name: x\n    turns:\n      - usr: hi\n", "utf-8")
    with pytest.raises(SkillError) as caught:
        load_dialogs(path)
    message = str(caught.value)
    assert f"{path}:5:9: error: unknown field 'usr' in a turn (did you mean 'user'?)" in message


def test_failing_dialog_prints_a_diff_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "wrong.yaml"
    path.write_text(
        "version: 1\ndialogs:\n  - name: wrong on purpose\n    language: en\n    turns:\n"
        "      - user: open baking class\n        skill: star_motors_cars\n"
        "        response: Welcome to the moon\n",
        "utf-8",
    )
    assert main(["--project", str(ROOT), "test", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"FAIL {path}:3 wrong on purpose" in out
    assert "skill: expected star_motors_cars, got anchor_baking" in out
    assert "response: expected to contain 'Welcome to the moon', got 'Welcome to Anchor" in out
    assert out.rstrip().endswith("0 passed, 1 failed, 1 dialogs")
