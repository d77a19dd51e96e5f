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

from .numbers_base import EN_CLOCK, EN_NUMERIC, Number, Time, covers, digits, valid
from .numbers_en import EN_TOKEN, en_time_at, en_tokens, normalize_en, read_en_number
from .numbers_zh import ZH_TIME, normalize_zh, read_zh_number, read_zh_time

__all__ = ["Number", "Time", "normalize_spoken", "parse_number", "parse_time"]

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
        return digits(text)
    if language == "zh":
        return read_zh_number(text)
    tokens = [t.lower() for t in EN_TOKEN.findall(text)]
    if not covers(tokens, text):
        return None
    return read_en_number(tokens)


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
            return read_zh_time(match)
        clock = EN_CLOCK.match(text)
        return valid((int(clock.group(1)), int(clock.group(2)))) if clock else None
    tokens = en_tokens(text)
    if not tokens or not covers([t.word for t in tokens], text):
        return None
    found = en_time_at(tokens, 0, whole=True)
    if found is None or found[0] != len(tokens):
        return None
    return found[1]


def normalize_spoken(text: str, language: str) -> str:
    """The sentence with number words and times as digits; all other text unchanged."""
    if language == "zh":
        return normalize_zh(text)
    return normalize_en(text)
