"""What the English and Chinese number readers share: types, digits, formatting."""

from __future__ import annotations

import re
from collections.abc import Sequence

Number = int | float
Time = tuple[int, int]

EN_NUMERIC = re.compile(r"^\d+(?:,\d{3})*(?:\.\d+)?$")
EN_CLOCK = re.compile(r"^(\d{1,2})[:.](\d{2})$")

# -- shared helpers -----------------------------------------------------------------


def digits(text: str) -> Number:
    """A number written in digits ("1,000", "2.5") as int or float."""
    plain = text.replace(",", "")
    return float(plain) if "." in plain else int(plain)


def tidy(value: float) -> Number:
    """A whole float as int (2.0 -> 2)."""
    return int(value) if float(value).is_integer() else value


def format_number(value: Number) -> str:
    """Digits for a number: 25, 0.5, 2.5."""
    value = tidy(value)
    return str(value) if isinstance(value, int) else f"{value:g}"


def format_time(time: Time) -> str:
    """10:30, 15:00, 3:05."""
    return f"{time[0]}:{time[1]:02d}"


def valid(time: Time) -> Time | None:
    """The time when it is a real clock time."""
    hour, minute = time
    return time if 0 <= hour <= 23 and 0 <= minute <= 59 else None


def covers(words: Sequence[str], text: str) -> bool:
    """True when the words are all of `text` but for spaces and hyphens."""
    return "".join(words) == re.sub(r"[\s-]+", "", text.lower())
