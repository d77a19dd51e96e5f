"""Spoken English numbers and clock times ("twenty five", "half past ten")."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .numbers_base import (
    EN_CLOCK,
    EN_NUMERIC,
    Number,
    Time,
    digits,
    format_number,
    format_time,
    valid,
)

# -- English vocabulary -------------------------------------------------------------

EN_UNITS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
}
EN_TEENS = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
EN_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
EN_SCALES = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
EN_A_SCALES = [["hundred"], *([scale] for scale in EN_SCALES)]  # "a hundred", "a thousand"
EN_NUMBER_WORDS = {*EN_UNITS, *EN_TEENS, *EN_TENS, *EN_SCALES, "hundred", "zero"}

# Words after which a lone "one" is a quantity ("one hour"), not a pronoun ("this one").
EN_UNIT_WORDS = frozenset(
    [
        "second",
        "seconds",
        "minute",
        "minutes",
        "hour",
        "hours",
        "day",
        "days",
        "week",
        "weeks",
        "month",
        "months",
        "year",
        "years",
        "time",
        "times",
        "dozen",
        "person",
        "people",
        "serving",
        "servings",
        "cup",
        "cups",
        "piece",
        "pieces",
        "slice",
        "slices",
        "egg",
        "eggs",
        "spoon",
        "spoons",
        "teaspoon",
        "teaspoons",
        "tablespoon",
        "tablespoons",
        "gram",
        "grams",
        "kilo",
        "kilos",
        "kilogram",
        "kilograms",
        "pound",
        "pounds",
        "mile",
        "miles",
        "kilometre",
        "kilometres",
        "kilometer",
        "kilometers",
        "metre",
        "metres",
        "meter",
        "meters",
        "rep",
        "reps",
        "set",
        "sets",
        "lap",
        "laps",
        "round",
        "rounds",
        "step",
        "steps",
    ]
)
EN_MERIDIEM = {"am": "am", "a.m.": "am", "a.m": "am", "pm": "pm", "p.m.": "pm", "p.m": "pm"}
EN_PART_OF_DAY = {
    ("in", "the", "morning"): "am",
    ("in", "the", "afternoon"): "pm",
    ("in", "the", "evening"): "pm",
    ("at", "night"): "pm",
    ("tonight",): "pm",
}
EN_NAMED_TIMES: dict[str, Time] = {"noon": (12, 0), "midday": (12, 0), "midnight": (0, 0)}
EN_OCLOCK = {"o'clock", "o’clock", "oclock"}
EN_TOKEN = re.compile(
    r"\d{1,2}:\d{2}|\d+(?:,\d{3})*(?:\.\d+)?|[ap]\.m\.?|o['’]clock|[A-Za-z]+(?:['’][A-Za-z]+)*"
)
EN_JOINER = re.compile(r"^[ \t-]*$")  # what may stand between the words of one number/time


# -- English ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    """A word or number of an English sentence and where it is."""

    word: str  # lower case
    start: int
    end: int


def en_tokens(text: str) -> list[_Token]:
    """The words and numbers of `text`, lower-cased, with their positions."""
    return [_Token(m.group().lower(), m.start(), m.end()) for m in EN_TOKEN.finditer(text)]


def read_en_number(words: Sequence[str]) -> Number | None:
    """Number words (the whole sequence) as a number, or None."""
    if not words:
        return None
    words = list(words)
    if words in (["half"], ["a", "half"], ["one", "half"]):
        return 0.5
    if words in (["quarter"], ["a", "quarter"], ["one", "quarter"]):
        return 0.25
    if words[-3:] == ["and", "a", "half"]:
        whole = read_en_number(words[:-3])
        return None if whole is None or isinstance(whole, float) else whole + 0.5
    if words[-1] == "dozen":
        return _en_dozen(words[:-1])
    if words[0] in ("a", "an") and len(words) > 1 and words[1] in ("hundred", *EN_SCALES):
        words = ["one", *words[1:]]
    if len(words) == 1 and EN_NUMERIC.match(words[0]):
        return digits(words[0])
    return _en_cardinal(words)


def _en_dozen(words: list[str]) -> Number | None:
    """The count of "<words> dozen": a dozen, two dozen, half a dozen."""
    if words in ([], ["a"], ["one"]):
        return 12
    if words in (["half", "a"], ["half"]):
        return 6
    count = _en_cardinal(words)
    return None if count is None else 12 * count


def _en_cardinal(words: Sequence[str]) -> int | None:
    """Cardinal number words ("one hundred and twenty five") as an int, or None.

    A small state machine: `last` is the kind of the previous word, which rules out
    sequences that are no single number ("two three", "ten thirty", "twenty twenty").
    """
    if list(words) == ["zero"]:
        return 0
    total = current = 0
    last = ""
    scale_limit = None
    for index, word in enumerate(words):
        if word in EN_UNITS:
            if last in ("unit", "teen"):
                return None
            current += EN_UNITS[word]
            last = "unit"
        elif word in EN_TEENS or word in EN_TENS:
            if last in ("unit", "teen", "ten"):
                return None
            current += EN_TEENS.get(word) or EN_TENS[word]
            last = "teen" if word in EN_TEENS else "ten"
        elif word == "hundred":
            if not 0 < current < 100 or last == "hundred":
                return None
            current *= 100
            last = "hundred"
        elif word in EN_SCALES:
            scale = EN_SCALES[word]
            if current == 0 or (scale_limit is not None and scale >= scale_limit):
                return None
            total += current * scale
            current, last, scale_limit = 0, "scale", scale
        elif word == "and":
            if last not in ("hundred", "scale") or index == len(words) - 1:
                return None
        else:
            return None
    return total + current if last else None


def _en_joined(tokens: Sequence[_Token], text: str, start: int, end: int) -> bool:
    """True when tokens[start:end] follow each other with only spaces or hyphens between."""
    return all(
        EN_JOINER.match(text[tokens[k].end : tokens[k + 1].start]) for k in range(start, end - 1)
    )


def _en_words(tokens: Sequence[_Token], start: int, end: int) -> list[str]:
    return [t.word for t in tokens[start:end]]


def _en_hour(word: str) -> int | None:
    """A clock hour 1-12 said as a word or digits."""
    value = EN_UNITS.get(word) or EN_TEENS.get(word)
    if value is None and word.isdigit():
        value = int(word)
    return value if value is not None and 1 <= value <= 12 else None


def _en_minutes_after_hour(tokens: Sequence[_Token], start: int) -> tuple[int, int] | None:
    """The minutes of "ten [thirty]", "ten [oh five]", "ten [forty five]": (end, minutes)."""
    words = _en_words(tokens, start, min(start + 2, len(tokens)))
    if not words:
        return None
    if words[0] in ("oh", "o") and len(words) == 2 and words[1] in EN_UNITS:
        return start + 2, EN_UNITS[words[1]]
    if words[0] in EN_TENS and EN_TENS[words[0]] < 60:
        if len(words) == 2 and words[1] in EN_UNITS:
            return start + 2, EN_TENS[words[0]] + EN_UNITS[words[1]]
        return start + 1, EN_TENS[words[0]]
    if words[0] in EN_TEENS:
        return start + 1, EN_TEENS[words[0]]
    return None


def _en_meridiem(tokens: Sequence[_Token], start: int) -> tuple[int, str | None]:
    """An "am"/"pm"/"in the evening" after a time: (end, "am"|"pm"|None)."""
    if start < len(tokens) and tokens[start].word in EN_MERIDIEM:
        return start + 1, EN_MERIDIEM[tokens[start].word]
    for words, part in EN_PART_OF_DAY.items():
        if tuple(_en_words(tokens, start, start + len(words))) == words:
            return start + len(words), part
    return start, None


def _apply_meridiem(hour: int, minute: int, part: str | None) -> Time | None:
    """A 12-hour clock time on the 24-hour clock when the part of the day is known."""
    if part is None:
        return valid((hour, minute))
    if not 1 <= hour <= 12:
        return None
    if part == "am":
        return (0 if hour == 12 else hour, minute)
    return (hour if hour == 12 else hour + 12, minute)


def _en_relative_time(tokens: Sequence[_Token], start: int) -> tuple[int, Time, bool] | None:
    """ "half past ten", "quarter to nine", "twenty five past six": (end, time, has part)."""
    index = start
    if index < len(tokens) and tokens[index].word == "a":
        index += 1
    first = tokens[index].word if index < len(tokens) else ""
    minutes: int | None
    explicit = False
    if first == "half":
        minutes, index = 30, index + 1
    elif first == "quarter":
        minutes, index = 15, index + 1
    elif index > start:
        return None
    else:
        minutes, index = _en_relative_minutes(tokens, index)
        if minutes is None:
            return None
        if index < len(tokens) and tokens[index].word in ("minute", "minutes"):
            explicit, index = True, index + 1
    if index + 1 >= len(tokens) or tokens[index].word not in ("past", "after", "to", "before"):
        return None
    forward = tokens[index].word in ("past", "after")
    if first == "half" and not forward:
        return None
    if first not in ("half", "quarter") and not explicit and minutes not in (5, 10, 20, 25):
        return None
    hour = _en_hour(tokens[index + 1].word)
    if hour is None:
        return None
    end, part = _en_meridiem(tokens, index + 2)
    if end < len(tokens) and tokens[end].word in EN_UNIT_WORDS:
        return None  # "five to ten minutes" is a range, not a time
    base = _apply_meridiem(hour, 0, part)
    if base is None:
        return None
    total = base[0] * 60 + (minutes if forward else -minutes)
    hour24, minute = divmod(total % (24 * 60), 60)
    if part is None and hour24 == 0:
        hour24 = 12  # "quarter past twelve" without am/pm stays on the 12-hour clock
    return end, (hour24, minute), part is not None


def _en_relative_minutes(tokens: Sequence[_Token], start: int) -> tuple[int | None, int]:
    """The minutes before "past"/"to": "ten", "twenty five", "5" -> (minutes, end)."""
    for length in (2, 1):
        words = _en_words(tokens, start, start + length)
        if len(words) < length:
            continue
        value = _en_cardinal(words) if not words[0].isdigit() else None
        if length == 1 and words[0].isdigit():
            value = int(words[0])
        if value is not None and 1 <= value <= 29:
            return value, start + length
    return None, start


def en_time_at(
    tokens: Sequence[_Token], start: int, whole: bool = False
) -> tuple[int, Time] | None:
    """A time starting at tokens[start]: (end, time), or None.

    `whole`: the text is meant to be a time, so also "noon"/"midnight" (in a sentence
    they may be names: "midnight black") and "ten thirty" before a unit word.
    """
    word = tokens[start].word
    if word in EN_NAMED_TIMES and whole:
        return start + 1, EN_NAMED_TIMES[word]
    relative = _en_relative_time(tokens, start)
    if relative is not None:
        return relative[0], relative[1]
    clock = EN_CLOCK.match(word)
    if clock:
        end, part = _en_meridiem(tokens, start + 1)
        if ":" not in word and part is None:
            return None  # "10.30" alone is a decimal number
        time = _apply_meridiem(int(clock.group(1)), int(clock.group(2)), part)
        return None if time is None else (end, time)
    hour = _en_hour(word)
    if hour is None:
        return None
    after = _en_minutes_after_hour(tokens, start + 1)
    index, minute = after if after is not None else (start + 1, 0)
    oclock = after is None and index < len(tokens) and tokens[index].word in EN_OCLOCK
    index += oclock
    end, part = _en_meridiem(tokens, index)
    if after is None and not oclock and part is None:
        return None  # a bare number ("at seven") is no time
    unit_follows = end < len(tokens) and tokens[end].word in EN_UNIT_WORDS
    if after is not None and part is None and unit_follows and not whole:
        return None  # "ten fifteen minutes" is no clock time
    time = _apply_meridiem(hour, minute, part)
    return None if time is None else (end, time)


def _en_is_an_hour(tokens: Sequence[_Token], text: str, index: int) -> bool:
    """True for "an hour" at tokens[index], but not in "half an hour", "quarter of an hour"."""
    words = _en_words(tokens, index, index + 2)
    before = tokens[index - 1].word if index > 0 else ""
    return (
        words == ["an", "hour"]
        and _en_joined(tokens, text, index, index + 2)
        and before not in ("half", "quarter", "of")
    )


def _en_number_at(tokens: Sequence[_Token], text: str, start: int) -> tuple[int, Number] | None:
    """The longest number starting at tokens[start] that may be rewritten: (end, value)."""
    first = tokens[start].word
    if first not in EN_NUMBER_WORDS and first not in ("a", "an", "half"):
        return None
    best: tuple[int, Number] | None = None
    for end in range(min(len(tokens), start + 12), start, -1):
        if not _en_joined(tokens, text, start, end):
            continue
        words = _en_words(tokens, start, end)
        value = _en_rewritable(words, tokens, start, end)
        if value is not None:
            best = (end, value)
            break
    return best


def _en_rewritable(
    words: list[str], tokens: Sequence[_Token], start: int, end: int
) -> Number | None:
    """The value of `words` when rewriting them as digits keeps the sentence's meaning."""
    after = tokens[end].word if end < len(tokens) else ""
    before = tokens[start - 1].word if start > 0 else ""
    if words[0] in ("a", "an") and words != ["a", "dozen"] and words[1:2] not in EN_A_SCALES:
        return None  # "a" is a number only in "a dozen", "a hundred", ...
    if words[0] == "half" and words != ["half", "a", "dozen"]:
        return None  # a lone "half" stays a word ("cut it in half")
    if words[-1] in ("half", "quarter") and words[-3:] != ["and", "a", "half"]:
        return None  # "one half", "a quarter": kept as words
    if words == ["one"] and (after not in EN_UNIT_WORDS or before in ("no", "every", "each")):
        return None  # "this one", "no one", "one of them"
    return read_en_number(words)


def normalize_en(text: str) -> str:
    """English sentence with times ("10:30") and numbers ("25") as digits."""
    tokens = en_tokens(text)
    pieces: list[str] = []
    done = 0  # characters of `text` already copied
    index = 0
    while index < len(tokens):
        replacement, end = _en_replacement(tokens, text, index)
        if replacement is None:
            index += 1
            continue
        pieces.append(text[done : tokens[index].start])
        pieces.append(replacement)
        done = tokens[end - 1].end
        index = end
    pieces.append(text[done:])
    return "".join(pieces)


def _en_replacement(tokens: Sequence[_Token], text: str, index: int) -> tuple[str | None, int]:
    """What tokens[index:end] become, and end; (None, index) to keep the word."""
    time = en_time_at(tokens, index)
    if time is not None and _en_joined(tokens, text, index, time[0]):
        return format_time(time[1]), time[0]
    bare = en_time_at(tokens, index, whole=True)
    if bare is not None and _en_joined(tokens, text, index, bare[0]):
        # "ten fifteen minutes" (a time or two numbers?), "midnight black": kept as said
        return text[tokens[index].start : tokens[bare[0] - 1].end], bare[0]
    if _en_is_an_hour(tokens, text, index):
        return "1 hour", index + 2
    number = _en_number_at(tokens, text, index)
    if number is not None:
        return format_number(number[1]), number[0]
    return None, index
