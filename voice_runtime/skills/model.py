"""The typed form of a brand skill, after validation.

Every text a user hears or says is per language: `Localized[str]` maps a
language code ("en", "zh") to a value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .examples import Example
from .templates import Choice

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


SlotType = Literal["list", "number", "time", "text"]


@dataclass(frozen=True)
class Slot:
    """A piece of information an intent needs.

    `list` slots take one of `values`; `number` slots a number in [minimum,
    maximum] ("two", "两个", "a dozen"); `time` slots a clock time ("10:30");
    `text` slots free words ("Kind of Blue"), kept as said, learnt from `samples`
    (example fillers per language, for training only). `prompt` asks for the slot,
    `reprompt` asks again after an unusable answer.
    """

    name: str
    values: tuple[SlotValue, ...]
    prompt: Localized = field(default_factory=dict)
    type: SlotType = "list"
    minimum: float | None = None
    maximum: float | None = None
    reprompt: Localized = field(default_factory=dict)
    samples: LocalizedList = field(default_factory=dict)

    def display(self, value_id: str, language: str) -> str:
        """The word to say for a value in a language (its first synonym)."""
        for value in self.values:
            if value.id == value_id:
                words = value.synonyms.get(language) or []
                return words[0] if words else value_id
        return value_id


@dataclass(frozen=True)
class Steps:
    """Step-by-step instructions walked with "next step" and "go back".

    `by` names a slot: then `lists` holds one list per value id of that slot;
    otherwise `lists` holds a single list under the key "".
    """

    lists: dict[str, LocalizedList]
    by: str | None = None

    def for_slots(self, slots: dict[str, str], language: str) -> list[str]:
        key = slots.get(self.by, "") if self.by else ""
        return self.lists.get(key, {}).get(language, [])


@dataclass(frozen=True)
class Intent:
    """What a user can ask a skill.

    `slots` lists the slots the intent needs, asked for in this order (slots its
    templates use are needed too). `confirm` is asked before acting; `service`
    names the brand service that answers; `response` is spoken otherwise.
    `templates` keeps the parsed sentence templates per language, so free words at a
    text slot's place can be read from an utterance the model did not tag.
    """

    name: str
    examples: dict[str, list[Example]]
    response: Response | None
    slots: tuple[str, ...] = ()
    confirm: Localized = field(default_factory=dict)
    steps: Steps | None = None
    service: str | None = None
    templates: dict[str, tuple[Choice, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Service:
    """A brand webhook: where it is, how long to wait, and what to say if it fails."""

    name: str
    url: str
    intents: tuple[str, ...]
    fallback: Localized
    timeout: float = 1.5
    secret: str = ""


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
    services: dict[str, Service] = field(default_factory=dict)
    max_attempts: int = 2
    resumable: bool = False

    @property
    def languages(self) -> list[str]:
        return sorted(self.invocations)

    def qualified(self, intent: str) -> str:
        """The intent's name in the NLU model: `<skill id>.<intent>`."""
        return f"{self.id}.{intent}"
