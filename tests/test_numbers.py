"""Spoken numbers and times in English and Chinese, as digits: tables of cases."""

from __future__ import annotations

import pytest

from voice_runtime.nlu.numbers import normalize_spoken, parse_number, parse_time

NUMBERS_EN: list[tuple[str, int | float | None]] = [
    ("two", 2),
    ("Two", 2),
    ("twenty five", 25),
    ("twenty-five", 25),
    ("ninety nine", 99),
    ("zero", 0),
    ("ten", 10),
    ("one hundred", 100),
    ("a hundred", 100),
    ("one hundred and five", 105),
    ("two hundred twenty", 220),
    ("a thousand", 1000),
    ("three thousand four hundred and two", 3402),
    ("one million two hundred thousand", 1_200_000),
    ("a dozen", 12),
    ("dozen", 12),
    ("two dozen", 24),
    ("half a dozen", 6),
    ("half", 0.5),
    ("a half", 0.5),
    ("a quarter", 0.25),
    ("one and a half", 1.5),
    ("two and a half", 2.5),
    ("3", 3),
    ("1,000", 1000),
    ("2.5", 2.5),
    (" 7 ", 7),
    # not a (single) number
    ("", None),
    ("a", None),
    ("an", None),
    ("someone", None),
    ("no one", None),
    ("hundred", None),
    ("thousand", None),
    ("two three", None),
    ("ten thirty", None),
    ("twenty twenty", None),
    ("one hundred and", None),
    ("and a half", None),
    ("twenty minutes", None),
    ("bread", None),
]

NUMBERS_ZH: list[tuple[str, int | float | None]] = [
    ("两个", 2),
    ("两", 2),
    ("二", 2),
    ("三次", 3),
    ("二十五", 25),
    ("十五", 15),
    ("十", 10),
    ("一百零五", 105),
    ("一百一十", 110),
    ("二百五", 250),
    ("三千五", 3500),
    ("两千", 2000),
    ("一万五", 15000),
    ("一万零五", 10005),
    ("两万三千", 23000),
    ("一亿两千万", 120_000_000),
    ("零", 0),
    ("三点五", 3.5),
    ("半", 0.5),
    ("一半", 0.5),
    ("两个半", 2.5),
    ("3", 3),
    ("3个", 3),
    ("12", 12),
    # not a (single) number
    ("", None),
    ("三四", None),
    ("四七八", None),
    ("万一", None),
    ("十十", None),
    ("一起", None),
    ("个", None),
    ("十点半", None),
    ("面包", None),
]

TIMES_EN: list[tuple[str, tuple[int, int] | None]] = [
    ("ten thirty", (10, 30)),
    ("ten oh five", (10, 5)),
    ("two forty five", (2, 45)),
    ("half past ten", (10, 30)),
    ("quarter past nine", (9, 15)),
    ("a quarter to nine", (8, 45)),
    ("quarter to nine", (8, 45)),
    ("quarter to one", (12, 45)),
    ("twenty past six", (6, 20)),
    ("twenty five to seven", (6, 35)),
    ("five minutes to nine", (8, 55)),
    ("10:30", (10, 30)),
    ("10:30 pm", (22, 30)),
    ("10 am", (10, 0)),
    ("10am", (10, 0)),
    ("10.30 a.m.", (10, 30)),
    ("seven pm", (19, 0)),
    ("ten thirty pm", (22, 30)),
    ("half past seven pm", (19, 30)),
    ("seven o'clock", (7, 0)),
    ("7 o'clock", (7, 0)),
    ("seven in the evening", (19, 0)),
    ("nine in the morning", (9, 0)),
    ("twelve am", (0, 0)),
    ("twelve pm", (12, 0)),
    ("noon", (12, 0)),
    ("midnight", (0, 0)),
    ("Ten Thirty.", (10, 30)),
    # not a time
    ("", None),
    ("seven", None),
    ("twenty five", None),
    ("10.30", None),
    ("25:00", None),
    ("13 pm", None),
    ("two to three", None),
    ("half to ten", None),
    ("ten thirty tomorrow", None),
    ("bread", None),
]

TIMES_ZH: list[tuple[str, tuple[int, int] | None]] = [
    ("十点半", (10, 30)),
    ("下午三点", (15, 0)),
    ("三点一刻", (3, 15)),
    ("三点三刻", (3, 45)),
    ("九点四十五分", (9, 45)),
    ("九点四十五", (9, 45)),
    ("三点零五", (3, 5)),
    ("三点整", (3, 0)),
    ("三点钟", (3, 0)),
    ("三点", (3, 0)),
    ("两点", (2, 0)),
    ("早上七点半", (7, 30)),
    ("晚上八点", (20, 0)),
    ("晚上十二点", (0, 0)),
    ("中午十二点", (12, 0)),
    ("中午一点", (13, 0)),
    ("凌晨两点", (2, 0)),
    ("下午3点", (15, 0)),
    ("10点30分", (10, 30)),
    ("10:30", (10, 30)),
    ("二十三点", (23, 0)),
    # not a time
    ("", None),
    ("二十五", None),
    ("二十五点", None),
    ("十点七十分", None),
    ("一起", None),
]

NORMALIZE_EN: list[tuple[str, str]] = [
    ("set a timer for twenty minutes", "set a timer for 20 minutes"),
    ("book it for ten thirty", "book it for 10:30"),
    ("wake me at half past seven", "wake me at 7:30"),
    ("dinner at seven pm tomorrow", "dinner at 19:00 tomorrow"),
    ("quarter to nine, please", "8:45, please"),
    ("turn the sound off in fifteen minutes", "turn the sound off in 15 minutes"),
    ("Twenty-five minutes", "25 minutes"),
    ("I need a dozen eggs", "I need 12 eggs"),
    ("half a dozen cookies", "6 cookies"),
    ("one hundred and five people", "105 people"),
    ("a hundred and one dalmatians", "101 dalmatians"),
    ("two and a half hours", "2.5 hours"),
    ("one hour", "1 hour"),
    ("fade out in an hour", "fade out in 1 hour"),
    ("set an alarm for seven", "set an alarm for 7"),
    ("two to three minutes", "2 to 3 minutes"),
    ("it is 10:30 already", "it is 10:30 already"),
    # left as said
    ("someone is at the door", "someone is at the door"),
    ("no one knows", "no one knows"),
    ("I'll take this one", "I'll take this one"),
    ("a grey one instead", "a grey one instead"),
    ("one of them", "one of them"),
    ("a cake for a friend", "a cake for a friend"),
    ("cut it in half", "cut it in half"),
    ("half an hour", "half an hour"),
    ("a quarter of an hour", "a quarter of an hour"),
    ("ten fifteen minutes", "ten fifteen minutes"),
    ("how does it look in midnight black", "how does it look in midnight black"),
    ("let's meet at noon", "let's meet at noon"),
    ("teach me the 4 7 8 breathing", "teach me the 4 7 8 breathing"),
    ("how do I bake bread", "how do I bake bread"),
    ("", ""),
]

NORMALIZE_ZH: list[tuple[str, str]] = [
    ("定一个十点半的闹钟", "定一个10:30的闹钟"),
    ("下午三点提醒我", "15:00提醒我"),
    ("三点一刻出发", "3:15出发"),
    ("九点四十五分开会", "9:45开会"),
    ("一点半见", "1:30见"),
    ("周三下午三点", "周三15:00"),
    ("两个苹果", "2个苹果"),
    ("我要五个", "我要5个"),
    ("二十五分钟", "25分钟"),
    ("十分钟后提醒我", "10分钟后提醒我"),
    ("十五分钟后把声音关掉", "15分钟后把声音关掉"),
    ("六十分钟后自动关掉", "60分钟后自动关掉"),
    ("十一月的诞生石", "11月的诞生石"),
    ("一百零五", "105"),
    ("一千万", "10000000"),
    ("一点五公斤", "1.5公斤"),
    ("第三个", "第3个"),
    ("二十多个", "20多个"),
    # left as written
    ("我们一起去", "我们一起去"),
    ("等一下", "等一下"),
    ("统一", "统一"),
    ("一个小时", "一个小时"),
    ("少放一点辣椒", "少放一点辣椒"),
    ("一点点", "一点点"),
    ("十分好", "十分好"),
    ("七上八下", "七上八下"),
    ("三番五次", "三番五次"),
    ("三四个", "三四个"),
    ("教我四七八呼吸法", "教我四七八呼吸法"),
    ("千万别忘了", "千万别忘了"),
    ("万一下雨", "万一下雨"),
    ("一刻钟", "一刻钟"),
    ("半小时", "半小时"),
    ("星期一", "星期一"),
    ("三分之一", "三分之一"),
    ("零食", "零食"),
    ("面包怎么做", "面包怎么做"),
]


@pytest.mark.parametrize(("text", "expected"), NUMBERS_EN)
def test_parse_number_en(text: str, expected: int | float | None) -> None:
    assert parse_number(text, "en") == expected


@pytest.mark.parametrize(("text", "expected"), NUMBERS_ZH)
def test_parse_number_zh(text: str, expected: int | float | None) -> None:
    assert parse_number(text, "zh") == expected


@pytest.mark.parametrize(("text", "expected"), TIMES_EN)
def test_parse_time_en(text: str, expected: tuple[int, int] | None) -> None:
    assert parse_time(text, "en") == expected


@pytest.mark.parametrize(("text", "expected"), TIMES_ZH)
def test_parse_time_zh(text: str, expected: tuple[int, int] | None) -> None:
    assert parse_time(text, "zh") == expected


@pytest.mark.parametrize(("text", "expected"), NORMALIZE_EN)
def test_normalize_spoken_en(text: str, expected: str) -> None:
    assert normalize_spoken(text, "en") == expected


@pytest.mark.parametrize(("text", "expected"), NORMALIZE_ZH)
def test_normalize_spoken_zh(text: str, expected: str) -> None:
    assert normalize_spoken(text, "zh") == expected


def test_whole_numbers_are_ints() -> None:
    """25, not 25.0: a count stays an int; only halves and decimals are floats."""
    assert isinstance(parse_number("twenty five", "en"), int)
    assert isinstance(parse_number("二十五", "zh"), int)
    assert isinstance(parse_number("two and a half", "en"), float)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("set a timer for twenty minutes", "en"),
        ("book it for ten thirty", "en"),
        ("定一个十点半的闹钟", "zh"),
        ("下午三点提醒我", "zh"),
    ],
)
def test_normalize_is_idempotent(text: str, language: str) -> None:
    """Digits stay digits: normalising twice changes nothing more."""
    once = normalize_spoken(text, language)
    assert normalize_spoken(once, language) == once
