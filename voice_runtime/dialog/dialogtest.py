"""Dialog tests: YAML files of user turns and what each turn must produce.

version: 1
dialogs:
  - name: open and ask
    language: en            # optional; default: detected per turn
    turns:
      - user: open baking class
        skill: anchor_baking          # the skill that answered (null: none)
        intent: open_skill            # the routed intent
        slots: {dish: bread}          # slot value ids that must be present
        response: Welcome             # substring of the speech
        response_matches: "^Welcome"  # or a Python regular expression
        state: {waiting_for: day}     # keys of the session state after the turn
        service:                      # the brand service request sent (null: none)
          name: booking
          intent: book_test_drive
          slots: {model: aurora}
          outcome: ok                 # or timeout, connection, http 500, ...
  - name: a household with sponsored lines
    at: "2026-12-05T15:00:00+08:00"   # the clock the scenes see (a Saturday afternoon)
    devices:                          # one person's devices; a turn names its `device:`
      speaker: {type: speaker, room: kitchen}
      tv: {type: tv, room: living_room, name: Living room TV}
    campaigns: true                   # the project's campaigns/*.yaml take part
    turns:
      - user: open golden wok
        device: speaker               # default: the first device
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import InputError, SkillError
from ..languages import LANGUAGES
from ..skills.diagnostics import Diagnostic, did_you_mean
from ..skills.source import Node, parse_file, type_name
from .router import Assistant
from .session import Session
from .turn import Turn

TURN_FIELDS = (
    "user",
    "skill",
    "intent",
    "slots",
    "response",
    "response_matches",
    "state",
    "service",
    "device",
)
SERVICE_FIELDS = ("name", "intent", "slots", "outcome")
DIALOG_FIELDS = ("name", "language", "turns", "devices", "at", "campaigns")
DEVICE_FIELDS = ("type", "room", "name")


@dataclass(frozen=True)
class Expectation:
    user: str
    line: int
    skill: str | None = None
    check_skill: bool = False
    intent: str | None = None
    slots: dict[str, str] = field(default_factory=dict)
    response: str | None = None
    response_matches: str | None = None
    state: dict[str, Any] = field(default_factory=dict)
    service: dict[str, Any] | None = None
    check_service: bool = False
    device: str | None = None


@dataclass(frozen=True)
class Dialog:
    name: str
    file: str
    line: int
    language: str | None
    turns: tuple[Expectation, ...]
    devices: dict[str, dict[str, str]] = field(default_factory=dict)
    at: str | None = None
    campaigns: bool = False

    @property
    def in_household(self) -> bool:
        """Played through a household (devices, a fixed clock, sponsored lines)."""
        return bool(self.devices or self.campaigns or self.at)

    @property
    def calls_services(self) -> bool:
        """Whether a turn expects a brand service to answer (so one must be running)."""
        return any(
            t.check_service and t.service is not None and t.service.get("outcome", "ok") == "ok"
            for t in self.turns
        )


@dataclass(frozen=True)
class TurnResult:
    expected: Expectation
    turn: Turn | None
    problems: tuple[str, ...]


@dataclass(frozen=True)
class DialogResult:
    dialog: Dialog
    turns: tuple[TurnResult, ...]

    @property
    def passed(self) -> bool:
        return all(not t.problems for t in self.turns)


def load_dialogs(path: Path) -> list[Dialog]:
    """Parse one dialog test file; SkillError listing every problem as file:line."""
    root, diagnostics = parse_file(path)
    problems = list(diagnostics)
    file = str(path)

    def fail(node: Node, message: str) -> None:
        problems.append(Diagnostic(file, node.line, node.column, "error", message))

    def fields(node: Node, allowed: tuple[str, ...], what: str) -> dict[str, Node]:
        if not node.is_mapping:
            fail(node, f"{what} must be a mapping, not {type_name(node)}")
            return {}
        for name, key in node.keys.items():
            if name not in allowed:
                fail(key, f"unknown field '{name}' in {what}{did_you_mean(name, allowed)}")
        return node.mapping()

    dialogs: list[Dialog] = []
    if root is not None:
        top = fields(root, ("version", "dialogs"), "the test file")
        if top.get("version") is None or top["version"].value != 1:
            fail(top.get("version", root), "write 'version: 1'")
        listing = top.get("dialogs")
        if listing is None or not listing.is_list:
            fail(listing or root, "'dialogs' must be a list of dialogs")
        for item in listing.items() if listing is not None and listing.is_list else []:
            values = fields(item, DIALOG_FIELDS, "a dialog")
            language = values.get("language")
            if language is not None and language.value not in LANGUAGES:
                fail(language, f"language must be one of {', '.join(LANGUAGES)}")
            turns: list[Expectation] = []
            turn_nodes = values.get("turns")
            if turn_nodes is None or not turn_nodes.is_list or not turn_nodes.items():
                fail(turn_nodes or item, "a dialog needs a non-empty list of 'turns'")
            for turn in turn_nodes.items() if turn_nodes is not None and turn_nodes.is_list else []:
                t = fields(turn, TURN_FIELDS, "a turn")
                if "user" not in t or not isinstance(t["user"].value, str):
                    hint = ' (quote yes and no: user: "yes")' if "user" in t else ""
                    fail(turn, f"a turn needs 'user: <what the user says>'{hint}")
                    continue
                slots = t["slots"].plain() if "slots" in t else {}
                if not isinstance(slots, dict):
                    fail(t["slots"], "slots must be a mapping of slot name to value id")
                    slots = {}
                state = t["state"].plain() if "state" in t else {}
                if not isinstance(state, dict):
                    fail(t["state"], "state must be a mapping, like {waiting_for: day}")
                    state = {}
                service = t["service"].plain() if "service" in t else None
                if service is not None and not isinstance(service, dict):
                    fail(t["service"], "service must be a mapping of name, intent, slots, outcome")
                    service = None
                for key in service or {}:
                    if key not in SERVICE_FIELDS:
                        hint = did_you_mean(str(key), SERVICE_FIELDS)
                        fail(t["service"], f"unknown field '{key}' in service{hint}")
                pattern = t["response_matches"].value if "response_matches" in t else None
                if pattern is not None:
                    try:
                        re.compile(str(pattern))
                    except re.error as exc:
                        fail(t["response_matches"], f"invalid regular expression: {exc}")
                turns.append(
                    Expectation(
                        user=str(t["user"].value),
                        line=turn.line,
                        skill=_text(t.get("skill")),
                        check_skill="skill" in t,
                        intent=_text(t.get("intent")),
                        slots={str(k): str(v) for k, v in slots.items()},
                        response=_text(t.get("response")),
                        response_matches=None if pattern is None else str(pattern),
                        state={str(k): v for k, v in state.items()},
                        service=service,
                        check_service="service" in t,
                        device=_text(t.get("device")),
                    )
                )
            name = _text(values.get("name")) or f"dialog at line {item.line}"
            lang = str(language.value) if language is not None else None
            devices: dict[str, dict[str, str]] = {}
            listed = values.get("devices")
            for key, node in (
                listed.mapping() if listed is not None and listed.is_mapping else {}
            ).items():
                spec = fields(node, DEVICE_FIELDS, f"device '{key}'")
                devices[key] = {k: str(v.value) for k, v in spec.items()}
                if "type" not in spec:
                    fail(node, f"device '{key}' needs a type: speaker, tv, phone or car")
            if listed is not None and not listed.is_mapping:
                fail(listed, "devices must map a name to {type, room, name}")
            for expected in turns:
                if expected.device is not None and expected.device not in devices:
                    fail(
                        item, f"a turn speaks on device '{expected.device}', which 'devices' lacks"
                    )
            campaigns = values.get("campaigns")
            dialogs.append(
                Dialog(
                    name,
                    file,
                    item.line,
                    lang,
                    tuple(turns),
                    devices,
                    _text(values.get("at")),
                    bool(campaigns is not None and campaigns.value is True),
                )
            )
    if problems:
        raise SkillError("; ".join(str(p) for p in problems[:5]))
    return dialogs


def _text(node: Node | None) -> str | None:
    return None if node is None or node.value is None else str(node.value)


TurnPlayer = Callable[[Expectation], Turn]
"""Answers one expected turn's `user` line (a household with devices and campaigns)."""


def run_dialog(
    assistant: Assistant, dialog: Dialog, player: TurnPlayer | None = None
) -> DialogResult:
    """Play a dialog against the assistant in a fresh session (or through `player`);
    check every turn."""
    session = Session(language=dialog.language)
    results: list[TurnResult] = []
    for expected in dialog.turns:
        try:
            if player is not None:
                turn = player(expected)
            else:
                turn = assistant.handle_sync(expected.user, session)
        except InputError as exc:
            results.append(TurnResult(expected, None, (f"input refused: {exc}",)))
            continue
        results.append(TurnResult(expected, turn, tuple(compare(expected, turn))))
    return DialogResult(dialog, tuple(results))


def compare(expected: Expectation, turn: Turn) -> list[str]:
    """Readable differences between what a turn should have done and what it did."""
    problems: list[str] = []
    if expected.check_skill and expected.skill != turn.skill:
        problems.append(f"skill: expected {expected.skill}, got {turn.skill}")
    if expected.intent is not None and expected.intent != turn.intent:
        top = (
            f" (NLU top: {turn.nlu.intent.name} {turn.nlu.intent.confidence:.2f})"
            if turn.nlu
            else ""
        )
        problems.append(f"intent: expected {expected.intent}, got {turn.intent}{top}")
    for name, value in expected.slots.items():
        if turn.slots.get(name) != value:
            problems.append(f"slot {name}: expected {value}, got {turn.slots.get(name)}")
    for key, value in expected.state.items():
        if key not in turn.state:
            problems.append(f"state: no key {key!r}; keys: {', '.join(turn.state)}")
        elif not _same(value, turn.state[key]):
            problems.append(f"state {key}: expected {value!r}, got {turn.state[key]!r}")
    if expected.check_service:
        problems += _compare_service(expected.service, turn)
    speech = turn.response.speech
    if expected.response is not None and expected.response not in speech:
        problems.append(f"response: expected to contain {expected.response!r}, got {speech!r}")
    if expected.response_matches is not None and not re.search(expected.response_matches, speech):
        problems.append(
            f"response: expected to match /{expected.response_matches}/, got {speech!r}"
        )
    return problems


def _same(expected: Any, actual: Any) -> bool:
    """Equal, reading YAML scalars as text (2 == "2") and mappings as subsets."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        return all(k in actual and _same(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(map(_same, expected, actual))
    if expected is None or actual is None or isinstance(expected, bool):
        return bool(expected == actual)
    return str(expected) == str(actual)


def _compare_service(expected: dict[str, Any] | None, turn: Turn) -> list[str]:
    call = turn.service
    if expected is None:
        return [] if call is None else [f"service: expected no call, got {call.service}"]
    if call is None:
        return ["service: expected a call, none was made"]
    actual = {
        "name": call.service,
        "intent": call.request.get("intent"),
        "slots": call.request.get("slots", {}),
        "outcome": call.outcome,
    }
    return [
        f"service {key}: expected {value!r}, got {actual[key]!r}"
        for key, value in expected.items()
        if not _same(value, actual.get(key))
    ]


def dialog_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")))
        elif path.exists():
            files.append(path)
        else:
            raise SkillError(f"{path}: no such file or directory")
    return files


def recorded_dialog(turns: list[Turn], language: str | None, name: str) -> str:
    """A dialog test file (YAML) that expects exactly what these turns did."""
    steps: list[dict[str, object]] = []
    for turn in turns:
        step: dict[str, object] = {"user": turn.text, "skill": turn.skill, "intent": turn.intent}
        if turn.slots:
            step["slots"] = dict(turn.slots)
        step["response"] = turn.response.speech
        if turn.state.get("waiting_for"):
            step["state"] = {"waiting_for": turn.state["waiting_for"]}
        if turn.service is not None:
            step["service"] = {
                "name": turn.service.service,
                "intent": turn.service.request.get("intent"),
                "slots": turn.service.request.get("slots", {}),
                "outcome": turn.service.outcome,
            }
        steps.append(step)
    dialog: dict[str, object] = {"name": name}
    if language:
        dialog["language"] = language
    dialog["turns"] = steps
    return yaml.safe_dump(
        {"version": 1, "dialogs": [dialog]}, allow_unicode=True, sort_keys=False, width=100
    )
