"""`voice test [PATH...]`: play dialog test files against the real model."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..dialog.dialogtest import Dialog, DialogResult, dialog_files, load_dialogs, run_dialog
from ..dialog.router import Assistant
from ..project import Project
from .common import add_demo_services, build_assistant, err, project_of


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="dialog test files or directories (default: tests/dialogs)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show passing turns too")
    add_demo_services(parser)
    parser.add_argument(
        "--no-demo-services",
        action="store_true",
        help="call the services the skills name even when dialogs expect a service answer",
    )


def run(args: argparse.Namespace) -> int:
    paths = args.paths or [project_of(args).root / "tests" / "dialogs"]
    dialogs = [d for f in dialog_files(paths) for d in load_dialogs(f)]
    if (
        not args.no_demo_services
        and not args.demo_services
        and any(d.calls_services for d in dialogs)
    ):
        err("(dialogs expect brand service answers: the example brands' services run on loopback)")
        args.demo_services = True
    assistant = build_assistant(args)
    failed = 0
    for dialog in dialogs:
        result = play(assistant, project_of(args), dialog)
        failed += not result.passed
        print(report(result, args.verbose), flush=True)
    assistant.close()
    print(f"{len(dialogs) - failed} passed, {failed} failed, {len(dialogs)} dialogs")
    return 1 if failed else 0


def play(assistant: Assistant, project: Project, dialog: Dialog) -> DialogResult:
    """A dialog in a fresh session, or through a household when it names devices,
    a time or campaigns."""
    if dialog.in_household:
        from ..campaigns.dialogs import run_household_dialog

        return run_household_dialog(assistant, project, dialog)
    return run_dialog(assistant, dialog)


def report(result: DialogResult, verbose: bool = False) -> str:
    """PASS/FAIL line of a dialog, and for failures (or verbose) each turn with its diff."""
    dialog = result.dialog
    status = "PASS" if result.passed else "FAIL"
    lines = [f"{status} {dialog.file}:{dialog.line} {dialog.name}"]
    if result.passed and not verbose:
        return lines[0]
    for item in result.turns:
        mark = "x" if item.problems else "ok"
        got = f" -> {item.turn.intent} [{item.turn.skill}]" if item.turn else ""
        lines.append(f"  {mark:2} line {item.expected.line}: {item.expected.user!r}{got}")
        lines.extend(f"       - {problem}" for problem in item.problems)
    return "\n".join(lines)
