"""Dialog tests played through a household: one person's devices, a fixed clock, and
(with `campaigns: true`) the project's campaigns with fresh stores for each dialog."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

from ..dialog.dialogtest import Dialog, DialogResult, Expectation, run_dialog
from ..dialog.router import Assistant
from ..dialog.turn import Turn
from ..errors import InputError
from ..household.home import FixedDevices, Household
from ..people import Device
from ..project import Project
from ..store.sessions import MemorySessionStore
from .ledger import MemoryLedger
from .setup import Marketing

DIALOG_USER = "dialog-user"


def dialog_time(dialog: Dialog) -> datetime:
    """The dialog's `at` (an ISO time with its offset); now when it gives none."""
    if dialog.at is None:
        return datetime.now().astimezone()
    try:
        moment = datetime.fromisoformat(dialog.at)
    except ValueError:
        raise InputError(f"{dialog.file}:{dialog.line}: 'at' must be an ISO time") from None
    if moment.tzinfo is None:
        raise InputError(f"{dialog.file}:{dialog.line}: 'at' needs an offset, like +08:00")
    return moment


def run_household_dialog(assistant: Assistant, project: Project, dialog: Dialog) -> DialogResult:
    """Play `dialog` on its devices through a household (and its campaigns)."""
    specs = dialog.devices or {"speaker": {"type": "speaker"}}
    devices = {
        key: Device.of_type(
            f"{DIALOG_USER}-{key}",
            DIALOG_USER,
            spec["type"],
            name=spec.get("name", ""),
            room=spec.get("room"),
            language=dialog.language,
        )
        for key, spec in specs.items()
    }
    first = next(iter(devices.values()))
    household = Household(assistant, MemorySessionStore(), FixedDevices(list(devices.values())))
    moment = dialog_time(dialog)
    with tempfile.TemporaryDirectory(prefix="voice-dialog-") as folder:
        marketing = None
        if dialog.campaigns:
            database = f"sqlite:///{Path(folder) / 'dialog.db'}"
            marketing = Marketing.attach(
                household, project, database, ledger=MemoryLedger(), clock=lambda: moment
            )

        def play(expected: Expectation) -> Turn:
            device = devices[expected.device] if expected.device else first
            return household.turn_sync(device, expected.user, dialog.language)

        try:
            return run_dialog(assistant, dialog, play)
        finally:
            if marketing is not None:
                household.run(marketing.aclose())
