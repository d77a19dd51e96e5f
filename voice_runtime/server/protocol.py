"""What the server sends devices: a turn as JSON, and errors as one line.

`turn_json` is the one JSON form of a `Turn` for a device, used by
`POST /v1/turns`, the WebSocket stream and pushes ("continue on the TV"):

    text, language, intent, skill, slots, confidence, speech,
    card         {title, text, image} on devices with a screen, else null
    waiting_for  the slot (or "confirm") the skill waits for, else null
    handoff      the device the conversation moved to, else null
    service      {name, outcome, elapsed_ms} of a brand service call, else null
    session      the id of the device's conversation
    audio        base64 WAV of the spoken reply (only when asked for)
"""

from __future__ import annotations

from typing import Any

from ..dialog.turn import Turn
from ..people import Device


def turn_json(turn: Turn, device: Device, audio_b64: str | None = None) -> dict[str, Any]:
    """The turn as `device` receives it (the card only where there is a screen)."""
    card = turn.response.card
    service = turn.service
    data: dict[str, Any] = {
        "text": turn.text,
        "language": turn.language,
        "intent": turn.intent,
        "skill": turn.skill,
        "slots": dict(turn.slots),
        "confidence": round(float(turn.confidence), 4),
        "speech": turn.response.speech,
        "card": (
            {"title": card.title, "text": card.text, "image": card.image}
            if card is not None and device.has_screen
            else None
        ),
        "waiting_for": turn.state.get("waiting_for"),
        "handoff": turn.handoff,
        "service": (
            None
            if service is None
            else {
                "name": service.service,
                "outcome": service.outcome,
                "elapsed_ms": round(service.elapsed_ms, 1),
            }
        ),
        "session": turn.state.get("session"),
    }
    if audio_b64 is not None:
        data["audio"] = audio_b64
    return data


def push_json(turn: Turn, device: Device) -> dict[str, Any]:
    """A message the device did not ask for: a conversation handed to it."""
    return {"type": "push", "reason": "handoff", "turn": turn_json(turn, device)}


def error_json(reason: str) -> dict[str, str]:
    """An error body: `{"error": "<one line reason>"}`."""
    return {"error": " ".join(reason.split())}


def intent_kind(intent: str) -> str:
    """A bounded label for an intent: `skill` for `<skill>.<intent>`, else the intent."""
    return "skill" if "." in intent else intent
