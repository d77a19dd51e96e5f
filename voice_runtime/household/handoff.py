""" "Continue on the TV" / "在电视上继续": recognising a handoff and the device it names.

A handoff request names another device of the same person by type ("the TV"),
room ("the kitchen speaker") or name ("Dad's phone"). `handoff_request` finds
the words naming the device; `pick_device` chooses among the person's devices.
"""

from __future__ import annotations

import re

from ..people import Device
from ..skills.normalize import normalize

_EN = re.compile(
    r"^(?:please |can you |could you )*"
    r"(?:continue|carry on|keep going|resume|pick (?:this|it) up|move (?:this|it)(?: over)?"
    r"|switch(?: this| it)?|transfer(?: this| it)?|send (?:this|it)|hand (?:this|it) over"
    r"|put (?:this|it)|play (?:this|it))"
    r"(?: (?:over|here))? (?:on|to|onto|over to|in) (?:the |my |our )?(?P<device>.+?)"
    r"(?: please| now| instead)*$"
)
_ZH = [
    re.compile(r"^(?:请|帮我)?(?:在|到|去)(?P<device>.+?)上?(?:继续|接着(?:看|听|做)?)(?:吧|吗)?$"),
    re.compile(
        r"^(?:请|帮我)?(?:转|切|切换|换|移|投|传)(?:到|去)(?P<device>.+?)上?(?:继续|去)?(?:吧)?$"
    ),
]
# What the recognisers should expect people to say (their bias and phrase lists).
EXAMPLES = {
    "en": [
        f"{verb} {where}"
        for verb in ("continue on", "move this to", "carry on on")
        for where in ("the tv", "the living room tv", "my phone", "the speaker", "the car")
    ],
    "zh": [
        *(f"在{where}上继续" for where in ("电视", "客厅电视", "手机", "音箱", "车")),
        *(f"转到{where}上" for where in ("电视", "手机", "音箱")),
    ],
}
TYPE_WORDS = {
    "tv": ("tv", "television", "telly", "big screen", "电视", "大屏"),
    "phone": ("phone", "mobile", "手机"),
    "speaker": ("speaker", "smart speaker", "音箱", "音响"),
    "car": ("car", "车", "车上", "车机", "汽车"),
}


def handoff_request(text: str, language: str) -> str | None:
    """The words that name the target device, if `text` asks to continue elsewhere."""
    key = normalize(text)
    if language == "zh":
        key = key.replace(" ", "")
        for pattern in _ZH:
            match = pattern.match(key)
            if match:
                return match.group("device")
        return None
    match = _EN.match(key)
    return match.group("device") if match else None


def device_type_named(words: str) -> str | None:
    for device_type, names in TYPE_WORDS.items():
        if any(_contains(words, name) for name in names):
            return device_type
    return None


def pick_device(words: str, devices: list[Device]) -> Device | None:
    """The device among `devices` that `words` name best (type, room and name words)."""
    wanted = device_type_named(words)
    best: tuple[int, Device] | None = None
    for device in devices:
        if wanted is not None and device.type != wanted:
            continue
        labels = [device.name, (device.room or "").replace("_", " "), device.id]
        score = sum(
            1 for label in labels for word in normalize(label).split() if _contains(words, word)
        )
        if wanted is None and score == 0:
            continue
        if best is None or score > best[0]:
            best = (score, device)
    return None if best is None else best[1]


def _contains(text: str, word: str) -> bool:
    if not word:
        return False
    if word.isascii():
        return re.search(rf"\b{re.escape(word)}\b", text) is not None
    return word in text
