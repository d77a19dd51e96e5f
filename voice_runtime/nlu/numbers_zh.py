"""Spoken Chinese numbers and clock times (一百零五, 十点半)."""

from __future__ import annotations

import re
from collections.abc import Callable

from .numbers_base import EN_NUMERIC, Number, Time, digits, format_number, format_time, tidy, valid

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


def read_zh_number(text: str) -> Number | None:
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
        value: Number | None = digits(text)
    else:
        value = _zh_decimal(text)
    if value is None:
        return None
    return tidy(value + 0.5) if half else value


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


def read_zh_time(match: re.Match[str]) -> Time | None:
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
    return None if hour_of_day is None else valid((hour_of_day, minute))


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


def normalize_zh(text: str) -> str:
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
    time = read_zh_time(match)
    return None if time is None else format_time(time)


def _zh_run_replacement(match: re.Match[str], text: str) -> str | None:
    """A run of numerals as digits, when it surely is a quantity (see the module doc)."""
    run = match.group()
    rest = text[match.end() :]
    if "点" in run or "點" in run:
        whole = run.replace("點", "点").partition("点")[0]
        if _zh_int(whole) is None:
            return None
        value = _zh_decimal(run)
        return None if value is None else format_number(value)
    if run[0] in ZH_BIG_UNITS or run[0] in "百千":
        return None  # 万一, 千万, 百分之...
    if len(run) == 1:
        if run in "一零〇" or not any(rest.startswith(m) for m in ZH_MEASURES):
            return None
    elif all(c in ZH_DIGITS for c in run):
        return None  # 三四个, 四七八: approximate counts and names
    number = _zh_int(run)
    return None if number is None else str(number)
