"""Spoken numbers and clock times in English and Chinese, as digits.

Three pure functions:

- `parse_number(text, language)`: the whole text as a number ("twenty five" -> 25,
  "a dozen" -> 12, "half" -> 0.5, "一百零五" -> 105, "两个" -> 2), else None.
- `parse_time(text, language)`: the whole text as a clock time (hour, minute) on a
  24-hour clock when a part of the day is said ("seven pm" -> (19, 0), "下午三点" ->
  (15, 0)), else as said ("quarter to nine" -> (8, 45), "三点一刻" -> (3, 15)).
- `normalize_spoken(text, language)`: a sentence with its number words and times
  rewritten as digits ("set a timer for twenty minutes" -> "set a timer for 20
  minutes", "定一个十点半的闹钟" -> "定一个10:30的闹钟"); every other word is kept.

Rewriting inside a sentence is deliberately cautious, because number words are
also ordinary words. English: "one" becomes 1 only before a unit ("one hour") or
inside a longer number ("twenty one"), never in "no one", "this one" or
"someone"; "a"/"an" only in "a dozen", "half a dozen", "a hundred" (thousand,
million) and "an hour"; a lone "half" or "quarter" stays a word. Chinese: a lone
一 (一起, 一下, 统一, 一个, 一点) and a lone 零 are never rewritten; a single
numeral character is rewritten only before a measure word (两个 -> 2个, 五月 ->
5月, 十分钟 -> 10分钟, but 十分好, 周三 and 七上八下 stay); runs of bare digits
(三四个, 四七八呼吸法) are approximate or names and stay; a few idioms with
numerals (三番五次, 十全十美, ...) are protected. A time needs a clock word:
"ten thirty", "seven pm", "half past ten", "7 o'clock", 下午三点, 十点半.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Number = int | float
Time = tuple[int, int]

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
EN_NUMERIC = re.compile(r"^\d+(?:,\d{3})*(?:\.\d+)?$")
EN_CLOCK = re.compile(r"^(\d{1,2})[:.](\d{2})$")
EN_TOKEN = re.compile(
    r"\d{1,2}:\d{2}|\d+(?:,\d{3})*(?:\.\d+)?|[ap]\.m\.?|o['’]clock|[A-Za-z]+(?:['’][A-Za-z]+)*"
)
EN_JOINER = re.compile(r"^[ \t-]*$")  # what may stand between the words of one number/time

# -- Chinese vocabulary -------------------------------------------------------------

ZH_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "兩": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
ZH_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
ZH_BIG_UNITS = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000}
ZH_NUMERALS = "".join([*ZH_DIGITS, *ZH_SMALL_UNITS, *ZH_BIG_UNITS])
# Measure words and units after which a single numeral character is a quantity.
ZH_MEASURES = [
    "分钟",
    "秒钟",
    "刻钟",
    "小时",
    "钟头",
    "星期",
    "礼拜",
    "公斤",
    "千克",
    "公里",
    "毫升",
    "个",
    "只",
    "次",
    "份",
    "位",
    "件",
    "条",
    "张",
    "杯",
    "遍",
    "组",
    "种",
    "本",
    "台",
    "辆",
    "块",
    "元",
    "岁",
    "天",
    "年",
    "月",
    "日",
    "号",
    "周",
    "秒",
    "点",
    "斤",
    "克",
    "米",
    "层",
    "楼",
    "页",
    "章",
    "集",
    "节",
    "课",
    "道",
    "盘",
    "碗",
    "勺",
    "颗",
    "粒",
    "片",
    "套",
    "双",
    "对",
    "样",
    "人",
    "口",
    "轮",
    "圈",
    "排",
    "行",
    "首",
    "部",
    "瓶",
    "根",
    "袋",
    "包",
]
ZH_CLASSIFIERS = "个只次份位件条张杯遍组种本台辆块颗粒片套双对瓶根袋包"
# Idioms and set phrases whose numerals are no quantities.
ZH_PROTECTED = [
    "三番五次",
    "三番两次",
    "十全十美",
    "七上八下",
    "乱七八糟",
    "四面八方",
    "五颜六色",
    "三心二意",
    "一心一意",
    "一五一十",
    "三三两两",
    "九牛一毛",
    "千方百计",
    "万无一失",
    "一举两得",
    "三言两语",
    "接二连三",
    "丢三落四",
    "百发百中",
    "千千万万",
    "十有八九",
    "一干二净",
    "独一无二",
    "一石二鸟",
    "五花八门",
    "七嘴八舌",
    "四平八稳",
    "六神无主",
    "九死一生",
    "一清二楚",
    "说一不二",
    "略知一二",
    "三五成群",
]
ZH_PARTS_OF_DAY = [
    "凌晨",
    "半夜",
    "夜里",
    "深夜",
    "早上",
    "早晨",
    "清晨",
    "上午",
    "今早",
    "中午",
    "下午",
    "傍晚",
    "晚上",
    "今晚",
    "夜晚",
]
ZH_MINUTE = rf"零?[{ZH_NUMERALS}]{{1,3}}|\d{{1,2}}"
ZH_TIME = re.compile(
    rf"(?P<period>{'|'.join(ZH_PARTS_OF_DAY)})?"
    rf"(?P<hour>[{ZH_NUMERALS}]{{1,3}}|\d{{1,2}})[点點](?P<zhong>钟|鐘)?"
    rf"(?:(?P<half>半)|(?P<quarter>一刻|三刻)|(?P<sharp>整)"
    rf"|(?P<minute>{ZH_MINUTE})(?P<fen>分(?!钟))?)?"
)
ZH_RUN = re.compile(rf"[{ZH_NUMERALS}]+(?:[点點][{''.join(ZH_DIGITS)}]+)?")


# -- public API ---------------------------------------------------------------------


def parse_number(text: str, language: str) -> Number | None:
    """`text` as a whole read as a number (int when whole), or None.

    English: digits ("3", "1,000", "2.5"), cardinal words ("twenty five",
    "one hundred and five", "a thousand"), "a dozen", "two dozen", "half a dozen",
    "half", "a quarter", "X and a half". Chinese: digits, 一百零五, 二十五, 十五,
    两千, colloquial 二百五 (250), decimals 三点五, a trailing measure word (两个,
    三次) and 半 (两个半 -> 2.5, 半 -> 0.5).
    """
    text = text.strip().rstrip(".?!。？！，,").strip()
    if not text:
        return None
    if EN_NUMERIC.match(text):
        return _digits(text)
    if language == "zh":
        return _zh_number(text)
    tokens = [t.lower() for t in EN_TOKEN.findall(text)]
    if not _covers(tokens, text):
        return None
    return _en_number(tokens)


def parse_time(text: str, language: str) -> Time | None:
    """`text` as a whole read as a clock time (hour 0-23, minute 0-59), or None.

    A part of the day ("pm", "in the evening", 下午, 晚上) gives a 24-hour time;
    without one the hour is kept as said ("ten thirty" -> (10, 30)). A bare
    English number ("seven") is no time; a Chinese hour with 点 ("三点") is.
    """
    text = text.strip().rstrip(".?!。？！，,").strip()
    if not text:
        return None
    if language == "zh":
        match = ZH_TIME.fullmatch(text)
        if match:
            return _zh_time(match)
        clock = EN_CLOCK.match(text)
        return _valid((int(clock.group(1)), int(clock.group(2)))) if clock else None
    tokens = _en_tokens(text)
    if not tokens or not _covers([t.word for t in tokens], text):
        return None
    found = _en_time_at(tokens, 0, whole=True)
    if found is None or found[0] != len(tokens):
        return None
    return found[1]


def normalize_spoken(text: str, language: str) -> str:
    """The sentence with number words and times as digits; all other text unchanged."""
    if language == "zh":
        return _zh_normalize(text)
    return _en_normalize(text)


# -- shared helpers -----------------------------------------------------------------


def _digits(text: str) -> Number:
    """A number written in digits ("1,000", "2.5") as int or float."""
    plain = text.replace(",", "")
    return float(plain) if "." in plain else int(plain)


def _tidy(value: float) -> Number:
    """A whole float as int (2.0 -> 2)."""
    return int(value) if float(value).is_integer() else value


def _format_number(value: Number) -> str:
    """Digits for a number: 25, 0.5, 2.5."""
    value = _tidy(value)
    return str(value) if isinstance(value, int) else f"{value:g}"


def _format_time(time: Time) -> str:
    """10:30, 15:00, 3:05."""
    return f"{time[0]}:{time[1]:02d}"


def _valid(time: Time) -> Time | None:
    """The time when it is a real clock time."""
    hour, minute = time
    return time if 0 <= hour <= 23 and 0 <= minute <= 59 else None


def _covers(words: Sequence[str], text: str) -> bool:
    """True when the words are all of `text` but for spaces and hyphens."""
    return "".join(words) == re.sub(r"[\s-]+", "", text.lower())


# -- English ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    """A word or number of an English sentence and where it is."""

    word: str  # lower case
    start: int
    end: int


def _en_tokens(text: str) -> list[_Token]:
    """The words and numbers of `text`, lower-cased, with their positions."""
    return [_Token(m.group().lower(), m.start(), m.end()) for m in EN_TOKEN.finditer(text)]


def _en_number(words: Sequence[str]) -> Number | None:
    """Number words (the whole sequence) as a number, or None."""
    if not words:
        return None
    words = list(words)
    if words in (["half"], ["a", "half"], ["one", "half"]):
        return 0.5
    if words in (["quarter"], ["a", "quarter"], ["one", "quarter"]):
        return 0.25
    if words[-3:] == ["and", "a", "half"]:
        whole = _en_number(words[:-3])
        return None if whole is None or isinstance(whole, float) else whole + 0.5
    if words[-1] == "dozen":
        return _en_dozen(words[:-1])
    if words[0] in ("a", "an") and len(words) > 1 and words[1] in ("hundred", *EN_SCALES):
        words = ["one", *words[1:]]
    if len(words) == 1 and EN_NUMERIC.match(words[0]):
        return _digits(words[0])
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
        return _valid((hour, minute))
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


def _en_time_at(
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
    return _en_number(words)


def _en_normalize(text: str) -> str:
    """English sentence with times ("10:30") and numbers ("25") as digits."""
    tokens = _en_tokens(text)
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
    time = _en_time_at(tokens, index)
    if time is not None and _en_joined(tokens, text, index, time[0]):
        return _format_time(time[1]), time[0]
    bare = _en_time_at(tokens, index, whole=True)
    if bare is not None and _en_joined(tokens, text, index, bare[0]):
        # "ten fifteen minutes" (a time or two numbers?), "midnight black": kept as said
        return text[tokens[index].start : tokens[bare[0] - 1].end], bare[0]
    if _en_is_an_hour(tokens, text, index):
        return "1 hour", index + 2
    number = _en_number_at(tokens, text, index)
    if number is not None:
        return _format_number(number[1]), number[0]
    return None, index


# -- Chinese ------------------------------------------------------------------------


def _zh_int(text: str) -> int | None:
    """Chinese numerals with units (二十五, 一百零五, 两万三千, 二百五) as an int, or None."""
    if not text:
        return None
    for unit_char, unit in sorted(ZH_BIG_UNITS.items(), key=lambda item: -item[1]):
        if unit_char in text:
            high, _, low = text.partition(unit_char)
            if any(c in ZH_BIG_UNITS and ZH_BIG_UNITS[c] >= unit for c in low):
                return None
            head = _zh_section(high) if high else None
            if head is None or head == 0:
                return None
            tail = _zh_int(low.lstrip("零〇")) if low.strip("零〇") else 0
            if tail is None:
                return None
            if low and low[0] not in "零〇" and len(low) == 1:
                tail *= unit // 10  # 一万五 = 15000
            return head * unit + tail
    return _zh_section(text)


def _zh_section(text: str) -> int | None:
    """A number below 10000 in Chinese numerals, or None when it is no well-formed number."""
    total = 0
    digit: int | None = None
    last_unit = 10_000
    after_zero = False
    for index, char in enumerate(text):
        if char in ZH_DIGITS:
            if digit is not None:
                return None  # two digits in a row (三四) is no single number
            digit = ZH_DIGITS[char]
            if digit == 0:
                after_zero, digit = True, None
        elif char in ZH_SMALL_UNITS:
            unit = ZH_SMALL_UNITS[char]
            if unit >= last_unit:
                return None
            if digit is None:
                if unit != 10 or not (index == 0 or after_zero):
                    return None
                digit = 1  # 十五 = 15, 一百零十 = 110
            total += digit * unit
            digit, last_unit, after_zero = None, unit, False
        else:
            return None
    if digit is not None:
        implied = last_unit // 10 if last_unit < 10_000 and not after_zero else 1
        total += digit * implied  # 二百五 = 250, 一百零五 = 105
    return total


def _zh_number(text: str) -> Number | None:
    """A Chinese number as a whole: numerals, an optional decimal, measure word and 半."""
    if text in ("半", "一半"):
        return 0.5
    half = text.endswith("半") and len(text) > 1
    if half:
        text = text[:-1]
    if text and text[-1] in ZH_CLASSIFIERS:
        text = text[:-1]
    if half and text.endswith("个"):
        text = text[:-1]
    if EN_NUMERIC.match(text):
        value: Number | None = _digits(text)
    else:
        value = _zh_decimal(text)
    if value is None:
        return None
    return _tidy(value + 0.5) if half else value


def _zh_decimal(text: str) -> Number | None:
    """Chinese numerals with an optional decimal part (三点五 -> 3.5), or None."""
    whole, dot, fraction = text.replace("點", "点").partition("点")
    number = _zh_int(whole)
    if number is None or not dot:
        return number
    if not fraction or any(c not in ZH_DIGITS for c in fraction):
        return None
    return float(f"{number}.{''.join(str(ZH_DIGITS[c]) for c in fraction)}")


def _zh_small(text: str) -> int | None:
    """An hour or minute in Chinese numerals or digits."""
    if text.isdigit():
        return int(text)
    return _zh_int(text)


def _zh_time(match: re.Match[str]) -> Time | None:
    """The clock time of a ZH_TIME match, or None when it is no real time."""
    hour = _zh_small(match["hour"])
    if hour is None:
        return None
    minute = 0
    if match["half"]:
        minute = 30
    elif match["quarter"]:
        minute = 15 if match["quarter"] == "一刻" else 45
    elif match["minute"]:
        parsed = _zh_small(match["minute"].lstrip("零") or "0")
        if parsed is None:
            return None
        minute = parsed
    hour_of_day = _zh_period_hour(hour, match["period"])
    return None if hour_of_day is None else _valid((hour_of_day, minute))


def _zh_period_hour(hour: int, period: str | None) -> int | None:
    """The hour on the 24-hour clock for a part of the day (下午三点 -> 15)."""
    if period is None or hour > 12:
        return hour if 0 <= hour <= 23 else None
    if period in ("凌晨", "半夜", "夜里", "深夜"):
        return 0 if hour == 12 else hour
    if period == "中午":
        return hour if hour >= 11 else hour + 12
    if period in ("下午", "傍晚", "晚上", "今晚", "夜晚"):
        if hour == 12:
            return 12 if period == "下午" else 0
        return hour + 12
    return hour  # 早上, 上午, ...


def _zh_time_is_clear(match: re.Match[str]) -> bool:
    """True when a ZH_TIME match inside a sentence surely is a time, not "三点" (three points).

    A bare minute without 分 must be a two-character numeral (四十五) or start with
    零 (零五), else 三点五 is the decimal 3.5.
    """
    if match["minute"] and not match["fen"]:
        minute = match["minute"]
        if minute[0] != "零" and len(minute) < 2 and not minute.isdigit():
            return False
        if minute.isdigit() and len(minute) != 2:
            return False
    return any(
        (
            match["period"],
            match["zhong"],
            match["half"],
            match["quarter"],
            match["sharp"],
            match["minute"],
        )
    )


def _zh_protected_spans(text: str) -> list[tuple[int, int]]:
    """Where the idioms and weekday names that must stay as written are."""
    spans = [
        (m.start(), m.end()) for word in ZH_PROTECTED for m in re.finditer(re.escape(word), text)
    ]
    spans += [
        (m.start(), m.end()) for m in re.finditer(r"(?:星期|礼拜|周)[一二三四五六日天]", text)
    ]
    return spans


def _zh_normalize(text: str) -> str:
    """Chinese sentence with times (10:30) and numbers (25) as digits."""
    text = _zh_sub(ZH_TIME, text, _zh_time_replacement)
    return _zh_sub(ZH_RUN, text, _zh_run_replacement)


def _zh_sub(
    pattern: re.Pattern[str], text: str, replace: Callable[[re.Match[str], str], str | None]
) -> str:
    """`text` with each match of `pattern` outside protected spans replaced (None: kept)."""
    protected = _zh_protected_spans(text)
    pieces: list[str] = []
    done = 0
    for match in pattern.finditer(text):
        if any(match.start() < end and match.end() > start for start, end in protected):
            continue
        replacement = replace(match, text)
        if replacement is None:
            continue
        pieces.append(text[done : match.start()])
        pieces.append(replacement)
        done = match.end()
    pieces.append(text[done:])
    return "".join(pieces)


def _zh_time_replacement(match: re.Match[str], text: str) -> str | None:
    """A clear time as 10:30; anything else kept."""
    if not _zh_time_is_clear(match):
        return None
    time = _zh_time(match)
    return None if time is None else _format_time(time)


def _zh_run_replacement(match: re.Match[str], text: str) -> str | None:
    """A run of numerals as digits, when it surely is a quantity (see the module doc)."""
    run = match.group()
    rest = text[match.end() :]
    if "点" in run or "點" in run:
        whole = run.replace("點", "点").partition("点")[0]
        if _zh_int(whole) is None:
            return None
        value = _zh_decimal(run)
        return None if value is None else _format_number(value)
    if run[0] in ZH_BIG_UNITS or run[0] in "百千":
        return None  # 万一, 千万, 百分之...
    if len(run) == 1:
        if run in "一零〇" or not any(rest.startswith(m) for m in ZH_MEASURES):
            return None
    elif all(c in ZH_DIGITS for c in run):
        return None  # 三四个, 四七八: approximate counts and names
    number = _zh_int(run)
    return None if number is None else str(number)
