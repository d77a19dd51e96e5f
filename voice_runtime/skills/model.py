"""The typed form of a brand skill, after validation.

Every text a user hears or says is per language: `Localized[str]` maps a
language code ("en", "zh") to a value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .examples import Example

Localized = dict[str, str]
LocalizedList = dict[str, list[str]]


@dataclass(frozen=True)
class Card:
    """What a device with a screen shows beside the speech."""

    title: str
    text: str
    image: str | None = None


@dataclass(frozen=True)
class Response:
    """Speech templates per language, and an optional card (templates too)."""

    speech: Localized
    card_title: Localized = field(default_factory=dict)
    card_text: Localized = field(default_factory=dict)
    card_image: str | None = None


@dataclass(frozen=True)
class SlotValue:
    """A canonical slot value (`id`) and the words that mean it, per language."""

    id: str
    synonyms: LocalizedList


@dataclass(frozen=True)
class Slot:
    name: str
    values: tuple[SlotValue, ...]
    prompt: Localized = field(default_factory=dict)

    def display(self, value_id: str, language: str) -> str:
        """The word to say for a value in a language (its first synonym)."""
        for value in self.values:
            if value.id == value_id:
                words = value.synonyms.get(language) or []
                return words[0] if words else value_id
        return value_id


@dataclass(frozen=True)
class Intent:
    name: str
    examples: dict[str, list[Example]]
    response: Response


@dataclass(frozen=True)
class Skill:
    """One brand skill, loaded from one YAML file."""

    id: str
    brand: str
    name: Localized
    invocations: LocalizedList
    launch: Response
    help: Response
    intents: dict[str, Intent]
    slots: dict[str, Slot] = field(default_factory=dict)
    stop: Response | None = None
    file: str = ""

    @property
    def languages(self) -> list[str]:
        return sorted(self.invocations)

    def qualified(self, intent: str) -> str:
        """The intent's name in the NLU model: `<skill id>.<intent>`."""
        return f"{self.id}.{intent}"
