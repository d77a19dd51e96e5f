"""Slot values from an understood utterance: value ids, numbers and clock times.

List slots take the model's entities, checked against the slot's values and
synonyms, else a value word found in the text. Number and time slots are read
from the text with spoken numbers rewritten as digits ("two" -> 2, "两个" -> 2,
"a dozen" -> 12, "half past ten" -> 10:30, "十点" -> 10:00). Text slots take the
words the model tagged, else the words at the slot's place in a template of the
intent understood (see ``skills/free_text.py``).
"""

from __future__ import annotations

import difflib
import functools
import logging
import re

from ..nlu.compile import slot_word_forms
from ..nlu.numbers import normalize_spoken, parse_number, parse_time
from ..nlu.numbers_base import format_number
from ..nlu.result import NluResult
from ..skills.free_text import clean_free_text, free_words
from ..skills.model import Skill, Slot
from ..skills.normalize import normalize

CLOCK = re.compile(r"(?<!\d)([01]?\d|2[0-3]):([0-5]\d)(?!\d)")
ZH_HOUR = re.compile(r"(?<![\d:])([01]?\d|2[0-3])点")
EN_AT_HOUR = re.compile(r"\bat ([01]?\d|2[0-3])\b(?!:)")
NUMBER = re.compile(r"(?<![\d:.])\d+(?:\.\d+)?(?![\d:])")
DIGITS = re.compile(r"\d+")
# Ways of saying 1 or 2 that the number reader leaves as words ("just one", "一个人").
SMALL_COUNTS = {
    "en": (
        (re.compile(r"\b(one|a single|single|just me|only me|myself)\b"), 1),
        (re.compile(r"\b(a couple|couple|a pair|two of us)\b"), 2),
    ),
    "zh": (
        (re.compile(r"(?<![\d十百千万])[一1][个位份人](?!\d)|就我|我自己|一人"), 1),
        (re.compile(r"俩|两人|一对"), 2),
    ),
}


def extract_slots(
    skill: Skill, nlu: NluResult, names: tuple[str, ...] | None = None
) -> dict[str, str]:
    """Values for the skill's slots (only `names`, if given) found in the utterance.

    A list slot's entity that is exactly a value of another of the skill's list
    slots goes to that slot (the model tagged "a lot of sweetener" as the milk). One
    that is no known value (the model found part of "one hour") yields to a value
    word found in the whole text, and is dropped otherwise: a value must be one the
    skill knows. A text slot takes the words of its entity as said.
    """
    wanted = {n: s for n, s in skill.slots.items() if names is None or n in names}
    found: dict[str, str] = text_slots(skill, nlu, wanted)
    prefix = f"{skill.id}."
    lists = [s for s in wanted.values() if s.type == "list"]
    for entity in nlu.entities:
        slot = (
            wanted.get(entity.entity[len(prefix) :]) if entity.entity.startswith(prefix) else None
        )
        if slot is None or slot.type != "list":
            continue
        inside = nlu.text[max(entity.start - 1, 0) : entity.end]
        if nlu.language == "zh" and entity.start > 0 and _is_word(inside):
            continue  # the model tagged 朋友 inside 男朋友
        owner, value = _owner(slot, lists, (entity.value, entity.text), nlu.language)
        if value is not None and (owner is slot or owner.name not in found):
            found[owner.name] = value
    for name, slot in wanted.items():
        if name not in found and slot.type != "text":
            value = value_in_text(slot, nlu.text, nlu.language)
            if value is not None:
                found[name] = value
    return whole_phrases(found, lists, nlu.text, nlu.language)


def whole_phrases(
    found: dict[str, str], slots: list[Slot], text: str, language: str
) -> dict[str, str]:
    """List slot values read as the whole phrase said.

    A value said only inside a longer value of the same slot becomes that value
    ("almond milk" of "some almond milk", "cream" of "a bit of cream"); a value said
    only inside the value found for another slot is dropped ("medium" of "medium
    roast"). A value whose words are not in the text as such (a near spelling) stays.
    """
    said = _spoken(text, language)
    spans = {s.name: value_spans(s, said, language) for s in slots if s.name in found}
    chosen = {  # where each found value is said
        name: [(a, b) for a, b, value in spans[name] if value == found[name]] for name in spans
    }
    result = dict(found)
    for name, places in chosen.items():
        if not places:
            continue
        wider = {
            value
            for a, b, value in spans[name]
            if value != found[name] and all(_within(place, (a, b)) for place in places)
        }
        others = [place for other, kept in chosen.items() if other != name for place in kept]
        if len(wider) == 1:
            result[name] = wider.pop()
        elif all(any(_within(place, other) for other in others) for place in places):
            del result[name]
    return result


def _within(inner: tuple[int, int], outer: tuple[int, int]) -> bool:
    """Whether the span ``inner`` lies inside the longer span ``outer``."""
    return (
        outer[0] <= inner[0] and inner[1] <= outer[1] and outer[1] - outer[0] > inner[1] - inner[0]
    )


def text_slots(skill: Skill, nlu: NluResult, wanted: dict[str, Slot]) -> dict[str, str]:
    """Values of the wanted text slots: the words of the model's entity for each (the
    longest, with pieces side by side joined), else the words at the slot's place in
    a template of the intent the model understood, if it is one of this skill's (also
    when the entity is only some of those words: "kind" of "kind of blue")."""
    free = {n for n, s in wanted.items() if s.type == "text"}
    said: dict[str, list[str]] = {}  # an entity's own words, when it has no place in the text
    spans: dict[str, list[tuple[int, int]]] = {}
    for entity in nlu.entities:
        name = entity.entity.removeprefix(f"{skill.id}.")
        if name not in free or entity.entity == name:
            continue
        if 0 <= entity.start < entity.end <= len(nlu.text):
            spans.setdefault(name, []).append((entity.start, entity.end))
        else:
            said.setdefault(name, []).append(entity.text)
    found: dict[str, str] = {}
    for name in free:
        joined: list[tuple[int, int]] = []
        for start, end in sorted(spans.get(name, [])):
            if joined and not nlu.text[joined[-1][1] : start].strip():
                joined[-1] = (joined[-1][0], max(end, joined[-1][1]))
            else:
                joined.append((start, end))
        texts = [nlu.text[a:b] for a, b in joined] or said.get(name, [])
        value = clean_free_text(max(texts, key=len)) if texts else None
        if value is not None:
            found[name] = value
    owner, _, intent_name = nlu.intent.name.partition(".")
    intent = skill.intents.get(intent_name) if owner == skill.id else None
    if free and intent is not None:
        templates = intent.templates.get(nlu.language, ())
        for name, value in free_words(templates, nlu.text, skill.slots, free).items():
            # the template's reading wins where the model tagged only part of the words
            if name not in found or _inside(found[name], value):
                found[name] = value
    return found


def _inside(part: str, whole: str) -> bool:
    """Whether the words of ``part`` are among the words of ``whole`` (and fewer)."""
    a, b = f" {normalize(part)} ", f" {normalize(whole)} "
    return a != b and a in b


def _owner(
    tagged: Slot, slots: list[Slot], words: tuple[str, ...], language: str
) -> tuple[Slot, str | None]:
    """The slot and value an entity's ``words`` name: the tagged slot's exact value,
    else another slot's (when only one has it), else the tagged slot's near spelling."""
    for word in words:
        value = exact_value(tagged, word, language)
        if value is not None:
            return tagged, value
    for word in words:
        owners = [(s, v) for s in slots if (v := exact_value(s, word, language)) is not None]
        if len(owners) == 1:
            return owners[0]
    for word in words:
        value = list_value(tagged, word, language)
        if value is not None:
            return tagged, value
    return tagged, None


def exact_value(slot: Slot, word: str, language: str) -> str | None:
    """The value id `word` is, or is a synonym of (no near spellings)."""
    if word in {v.id for v in slot.values}:
        return word
    return _word_index(slot, language).get(_spoken(word, language))


def list_value(slot: Slot, word: str, language: str) -> str | None:
    """The value id `word` names (a value id, a synonym, or a near spelling of one;
    never a near spelling across numbers: "3 minutes" is not "30 minutes")."""
    exact = exact_value(slot, word, language)
    if exact is not None:
        return exact
    words = _word_index(slot, language)
    key = _spoken(word, language)
    close = difflib.get_close_matches(key, list(words), n=1, cutoff=0.8)
    if close and DIGITS.findall(close[0]) == DIGITS.findall(key):
        return words[close[0]]
    return None


def value_in_text(slot: Slot, text: str, language: str, whole: bool = False) -> str | None:
    """The slot's value said somewhere in `text`, or None (also when it is ambiguous).

    `whole`: the text is an answer to this slot's prompt, so a bare number such
    as "ten" may be a time and a near spelling of a single value word counts, and
    all of it is a text slot's value.
    """
    if slot.type == "text":
        return clean_free_text(text) if whole else None
    if slot.type == "number":
        return _number(slot, text, language)
    if slot.type == "time":
        return _time(text, language, whole)
    found = value_spans(slot, _spoken(text, language), language)
    # A value said inside a longer one is part of it: "milk" in "a lot of milk".
    hits = {
        value_id
        for start, end, value_id in found
        if not any(_within((start, end), (s, e)) for s, e, _ in found)
    }
    if len(hits) == 1:
        return hits.pop()
    if whole and not hits:
        return list_value(slot, text, language)
    return None


def value_spans(slot: Slot, said: str, language: str) -> list[tuple[int, int, str]]:
    """Every place a value of the slot is said in ``said`` (``_spoken`` text):
    (start, end, value id)."""
    return [
        (start, end, value_id)
        for form, value_id in _word_index(slot, language).items()
        if form
        for start, end in _spans(said, form, language)
    ]


_INDEXES: dict[tuple[int, str], tuple[Slot, dict[str, str]]] = {}


def _word_index(slot: Slot, language: str) -> dict[str, str]:
    """The slot's words (also with number words as digits) -> value id; built once."""
    key = (id(slot), language)
    cached = _INDEXES.get(key)
    if cached is None or cached[0] is not slot:
        index = {
            form: value.id
            for value in slot.values
            for form in slot_word_forms(value.synonyms.get(language, []), language)
        }
        cached = _INDEXES[key] = (slot, index)
    return cached[1]


@functools.lru_cache(maxsize=4096)
def _spoken(text: str, language: str) -> str:
    """The text as slot words are indexed: normalised, number words as digits."""
    return normalize(normalize_spoken(text, language))


def _spans(text: str, form: str, language: str) -> list[tuple[int, int]]:
    """Where `form` is inside `text` as whole words: in English between word
    boundaries; in Chinese not as the end of a longer dictionary word ("朋友" is not
    in "男朋友"); never inside a longer number."""
    edge = r"\w" if language == "en" else r"\d"
    before = f"(?<!{edge})" if language == "en" or form[0].isdigit() else ""
    after = f"(?!{edge})" if language == "en" or form[-1].isdigit() else ""
    return [
        (match.start(), match.end())
        for match in re.finditer(before + re.escape(form) + after, text)
        if language != "zh"
        or match.start() == 0
        or not _is_word(text[match.start() - 1 : match.end()])
    ]


def _is_word(text: str) -> bool:
    """A word of jieba's Chinese dictionary (loaded on first use)."""
    import jieba

    if not jieba.dt.initialized:
        jieba.setLogLevel(logging.WARNING)
        jieba.dt.check_initialized()
    return jieba.dt.FREQ.get(text, 0) > 0


def _number(slot: Slot, text: str, language: str) -> str | None:
    value = parse_number(text.strip(), language)
    if value is None:
        spoken = CLOCK.sub(" ", normalize_spoken(text, language))
        numbers = NUMBER.findall(spoken)
        small = [n for pattern, n in SMALL_COUNTS.get(language, ()) if pattern.search(spoken)]
        if len(numbers) == 1:
            value = float(numbers[0])
        elif not numbers and len(small) == 1:
            value = small[0]
        else:
            return None
    if slot.minimum is not None and value < slot.minimum:
        return None
    if slot.maximum is not None and value > slot.maximum:
        return None
    return format_number(value if value % 1 else int(value))


def _time(text: str, language: str, whole: bool) -> str | None:
    parsed = parse_time(text.strip(), language)
    if parsed is not None:
        return f"{parsed[0]}:{parsed[1]:02d}"
    spoken = normalize_spoken(text, language)
    clock = CLOCK.search(spoken)
    if clock:
        return f"{int(clock.group(1))}:{clock.group(2)}"
    hour = ZH_HOUR.search(spoken) if language == "zh" else EN_AT_HOUR.search(spoken)
    if hour:
        return f"{int(hour.group(1))}:00"
    number = parse_number(text.strip(), language)
    if whole and number is not None and number == int(number) and 0 <= number <= 23:
        return f"{int(number)}:00"
    return None
