"""People and their devices: who is speaking, and on what.

A `Device` belongs to one person (`user`) of one household. Its `type` says
what kind of device it is; `has_screen`, `has_speaker` and `has_microphone`
what it can do (cards are sent only to devices with a screen). Each device has
its own conversation; the person's state is shared by all their devices.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import Any

from .errors import InputError

DEVICE_TYPES = ("speaker", "tv", "phone", "car")
# type -> (has_screen, has_speaker, has_microphone)
CAPABILITIES: dict[str, tuple[bool, bool, bool]] = {
    "speaker": (False, True, True),
    "tv": (True, True, True),
    "phone": (True, True, True),
    "car": (True, True, True),
}
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


def check_id(value: str, what: str) -> str:
    """A user, household, device or room id: 1-64 letters, digits and `_ . @ -`."""
    if not isinstance(value, str) or not _ID.match(value):
        raise InputError(
            f"invalid {what} {value!r}: use 1-64 letters, digits, '_', '.', '@' or '-'"
        )
    return value


def check_type(value: str) -> str:
    if value not in DEVICE_TYPES:
        raise InputError(f"unknown device type {value!r}; use one of: {', '.join(DEVICE_TYPES)}")
    return value


@dataclass(frozen=True)
class Person:
    """Someone who talks to the assistant; `household` groups the people of one home."""

    id: str
    household: str


@dataclass(frozen=True)
class Device:
    """One device of one person.

    `id` is unique across the installation; `name` is what people call it
    ("Living room TV"); `room` is where it stands (kitchen, living_room, ...),
    `language` its default language (None: detected per utterance).
    """

    id: str
    user: str
    household: str
    type: str
    name: str = ""
    room: str | None = None
    language: str | None = None
    has_screen: bool = False
    has_speaker: bool = True
    has_microphone: bool = True

    @classmethod
    def of_type(
        cls,
        id: str,
        user: str,
        type: str,
        household: str | None = None,
        name: str = "",
        room: str | None = None,
        language: str | None = None,
    ) -> Device:
        """A device with the capabilities its type has."""
        screen, speaker, microphone = CAPABILITIES[check_type(type)]
        return cls(
            id=check_id(id, "device id"),
            user=check_id(user, "user id"),
            household=check_id(household or user, "household id"),
            type=type,
            name=name or type,
            room=check_id(room, "room") if room else None,
            language=language,
            has_screen=screen,
            has_speaker=speaker,
            has_microphone=microphone,
        )

    @property
    def person(self) -> Person:
        return Person(self.user, self.household)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Device:
        return cls(**data)

    def with_language(self, language: str | None) -> Device:
        return replace(self, language=language)
