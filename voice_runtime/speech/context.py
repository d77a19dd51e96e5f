"""What the user is expected to say next, for the recogniser to listen for first.

While a skill waits for a slot ("Which colour?"), its values are by far the most
likely answer; while it waits for a yes or no, those words are. The spoken-turn
pipeline (`spoken.py`) turns the session after each turn into an `Expectation`
and hands it to the recogniser (`Recognizer.expect`); PocketSphinx then decodes
with a language model in which the expected phrases weigh `CONTEXT_WEIGHT` times
as much as any other sentence of the skills (every other request stays possible:
"stop", "help", another skill), and Vosk decodes against the expected phrases
first and falls back to the skills' phrase list when nothing fits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

CONTEXT_WEIGHT = 100
"""How many times each expected phrase is repeated in a context's corpus."""

NUMBER_WORDS = (
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy",
    "eighty", "ninety",
)  # fmt: skip


@dataclass(frozen=True)
class Expectation:
    """The phrases a user is expected to say next; `key` names the context
    ("star_motors_cars.colour", "confirm") for caching and logs."""

    key: str
    phrases: tuple[str, ...]

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256(self.key.encode())
        for phrase in self.phrases:
            digest.update(b"\0" + phrase.encode())
        return digest.hexdigest()[:16]


def number_phrases(language: str) -> list[str]:
    """Spoken counts: "two", "four people", "a dozen" (English; Chinese is read by Vosk)."""
    if language != "en":
        return []
    return [*NUMBER_WORDS, *(f"{n} people" for n in NUMBER_WORDS[:12]), "a dozen"]


def time_phrases(language: str) -> list[str]:
    """Spoken clock times: "at ten", "half past ten", "ten thirty", "ten am"."""
    if language != "en":
        return []
    phrases = []
    for hour in NUMBER_WORDS[:12]:
        phrases += [f"at {hour}", f"{hour} o'clock", f"{hour} thirty", f"half past {hour}"]
        phrases += [f"{hour} am", f"{hour} pm", f"at {hour} in the morning"]
    return phrases
