"""Every shipped dialog test file, played against the real trained models."""

from __future__ import annotations

from pathlib import Path

import pytest

from voice_runtime.cli.test import play, report
from voice_runtime.dialog.dialogtest import Dialog, dialog_files, load_dialogs
from voice_runtime.dialog.router import Assistant
from voice_runtime.project import Project

DIALOG_DIR = Path(__file__).parent / "dialogs"
DIALOGS = [d for f in dialog_files([DIALOG_DIR]) for d in load_dialogs(f)]


def test_every_skill_has_three_dialogs_per_language() -> None:
    for path in sorted((Path(__file__).parent.parent / "skills").glob("*.yaml")):
        dialogs = load_dialogs(DIALOG_DIR / path.name)
        for language in ("en", "zh"):
            count = sum(d.language == language for d in dialogs)
            assert count >= 3, f"{path.stem}: {count} {language} dialogs"


@pytest.mark.parametrize("dialog", DIALOGS, ids=lambda d: f"{Path(d.file).stem}:{d.line}")
def test_dialog(assistant: Assistant, project: Project, dialog: Dialog) -> None:
    result = play(assistant, project, dialog)
    assert result.passed, report(result)
