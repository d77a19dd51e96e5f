from __future__ import annotations

import pytest

from voice_runtime.languages import detect_language
from voice_runtime.skills.normalize import normalize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Baking  Class!", "baking class"),
        ("ＢＡＫＩＮＧ　Ｃｌａｓｓ", "baking class"),
        ("烘焙 课堂", "烘焙课堂"),
        ("烘焙课堂。", "烘焙课堂"),
        ("the Baking-Class", "the baking class"),
        ("I'd like", "id like"),
        ("open 烘焙 class", "open烘焙class"),
        ("0:'", "0"),  # an apostrophe left alone at the end (hypothesis found it)
        ("a ' b", "a b"),
        ("' 烘焙", "烘焙"),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_detect_language() -> None:
    assert detect_language("open baking class") == "en"
    assert detect_language("打开烘焙课堂") == "zh"
    assert detect_language("open 烘焙课堂") == "zh"
