"""Issue 10, items 10 and 13: /save never kills the shell or leaves half a file; plain
`voice test` passes the shipped dialogs that expect brand services."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from voice_runtime.cli.common import local_device
from voice_runtime.cli.main import main
from voice_runtime.cli.shell import converse
from voice_runtime.dialog.router import Assistant
from voice_runtime.household.home import Household
from voice_runtime.store.sessions import MemorySessionStore

ROOT = Path(__file__).resolve().parent.parent


def shell(assistant: Assistant, lines: list[str]) -> str:
    out = io.StringIO()
    converse(Household(assistant, MemorySessionStore()), local_device(), lines, out)
    return out.getvalue()


@pytest.mark.parametrize("name", ["bad\x00name.yaml", "x" * 300 + ".yaml", "no/such/folder/d.yaml"])
def test_save_to_an_impossible_name_says_so_and_the_shell_goes_on(
    tmp_path: Path,
    assistant: Assistant,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    out = shell(assistant, ["open baking class", f"/save {name}", "help"])
    [error] = capsys.readouterr().err.splitlines()
    assert error.startswith("! cannot ") and "\n" not in error
    assert "  intent    help" in out  # the shell answered the next line
    assert list(tmp_path.iterdir()) == []  # no partial or temporary file is left


def test_save_never_replaces_a_file_and_writes_whole_files(
    tmp_path: Path, assistant: Assistant, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "kept.yaml"
    target.write_text("mine\n", "utf-8")
    shell(assistant, ["open baking class", f"/save {target}", f"/save {tmp_path / 'new.yaml'}"])
    assert target.read_text("utf-8") == "mine\n"
    assert capsys.readouterr().err.strip() == f"! {target} exists; choose another name"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.yaml", "new.yaml"]
    assert (tmp_path / "new.yaml").read_text("utf-8").startswith("version: 1")


def test_plain_voice_test_runs_the_demo_services_for_dialogs_that_need_them(
    assistant: Assistant, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("VOICE_SECRET_") or name == "VOICE_ALLOW_PRIVATE_SERVICES":
            monkeypatch.delenv(name)
    dialogs = ROOT / "tests" / "dialogs" / "conversation_star_motors_cars.yaml"
    before = dict(os.environ)
    try:
        code = main(["--project", str(ROOT), "test", str(dialogs)])
    finally:  # the demo services set their secrets in the environment of this process
        os.environ.clear()
        os.environ.update(before)
    out, err = capsys.readouterr()
    assert code == 0, out
    assert "the example brands' services run on loopback" in err
    assert out.splitlines()[-1].endswith(" 0 failed, 12 dialogs")
