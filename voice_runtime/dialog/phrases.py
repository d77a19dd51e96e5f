"""What the assistant itself says, per language (skills bring their own words)."""

from __future__ import annotations

PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "fallback": "Sorry, I can't help with that yet. You can say {suggestions}, or help.",
        "fallback_in_skill": "Sorry, {skill} can't help with that. {help}",
        "rephrase": "Sorry, I'm not sure what you meant. Could you say it another way?",
        "help": "I can open skills for you. Try {suggestions}. Say stop to close a skill.",
        "goodbye": "Okay, goodbye.",
        "nothing_open": "Okay.",
        "nothing_to_repeat": "I haven't said anything yet.",
        "nothing_to_confirm": "Okay. There's nothing to confirm right now.",
        "which_skill": "Which skill should I open? You can say {suggestions}.",
        "ask_slot": "Which {slot}?",
        "open_suggestion": "'open {name}'",
        "reprompt": "Sorry, I didn't catch that. {prompt}",
        "confirm_again": "Please say yes or no. {prompt}",
        "gave_up": "Sorry, I still couldn't get that, so let's leave it for now. {help}",
        "cancelled": "Okay, I won't. Tell me what to change, or ask something else.",
        "resumed": "Back to {skill}. {said}",
        "started_over": "Okay, let's start over. {launch}",
        "nothing_to_go_back": "There's nothing to go back to.",
        "step": "Step {number} of {total}: {text}",
        "last_step_done": "That was the last step. Say go back to hear the one before, or stop.",
        "no_steps": "There are no steps to go through right now. {help}",
        "help_then_prompt": "{help} {prompt}",
        "handoff_done": "Okay, continuing on {device}.",
        "handoff_nothing": "There's nothing open to continue. Open a skill first.",
        "handoff_no_device": "I can't find {device} of yours to continue on.",
        "handoff_same": "We're already here.",
        "or": " or ",
        "list_separator": ", ",
    },
    "zh": {
        "fallback": "抱歉，这个我还帮不上忙。你可以说{suggestions}，或者说“帮助”。",
        "fallback_in_skill": "抱歉，{skill}帮不上这个忙。{help}",
        "rephrase": "抱歉，我没太明白，能换个说法吗？",
        "help": "我可以帮你打开技能，试试说{suggestions}。说“退出”可以关闭技能。",
        "goodbye": "好的，再见。",
        "nothing_open": "好的。",
        "nothing_to_repeat": "我还没有说过话呢。",
        "nothing_to_confirm": "好的。现在没有需要确认的事情。",
        "handoff_done": "好的，转到{device}上继续。",
        "handoff_nothing": "现在没有可以继续的内容，先打开一个技能吧。",
        "handoff_no_device": "没有找到你的{device}，没法转过去。",
        "handoff_same": "我们就在这台设备上呢。",
        "which_skill": "要打开哪个技能？你可以说{suggestions}。",
        "ask_slot": "请问是哪个{slot}？",
        "open_suggestion": "“打开{name}”",
        "reprompt": "抱歉，我没听明白。{prompt}",
        "confirm_again": "请说“是”或者“不是”。{prompt}",
        "gave_up": "抱歉，我还是没听明白，这件事先放一放。{help}",
        "cancelled": "好的，那就不办了。你可以告诉我要改什么，或者问别的。",
        "resumed": "回到{skill}。{said}",
        "started_over": "好的，我们从头开始。{launch}",
        "nothing_to_go_back": "已经没有上一步了。",
        "step": "第{number}步，共{total}步：{text}",
        "last_step_done": "这是最后一步了。说“上一步”可以再听前一步，说“退出”离开。",
        "no_steps": "现在没有可以一步步进行的内容。{help}",
        "help_then_prompt": "{help}{prompt}",
        "or": "或",
        "list_separator": "、",
    },
}


def phrase(language: str, key: str, **values: str) -> str:
    return PHRASES[language][key].format(**values)


def join_choices(language: str, items: list[str]) -> str:
    """'a, b or c' / 'a、b或c'."""
    words = PHRASES[language]
    if len(items) <= 1:
        return "".join(items)
    return words["list_separator"].join(items[:-1]) + words["or"] + items[-1]


YES_WORDS = {
    "en": ("yes", "yeah", "yep", "sure", "ok", "okay", "correct", "right", "please do", "do it"),
    "zh": ("是", "好", "对", "可以", "行", "确定", "没问题", "嗯"),
}
NO_WORDS = {
    "en": ("no", "nope", "don't", "do not", "not ", "cancel", "wrong"),
    "zh": ("不", "别", "没", "取消", "算了"),
}


def says_yes(text: str, language: str) -> bool:
    """The answer starts with a yes word: "yes please", "好的", "没问题"."""
    return _leading_answer(text, language) == "yes"


def says_no(text: str, language: str) -> bool:
    """The answer starts with a no word: "no, Sunday", "不要"."""
    return _leading_answer(text, language) == "no"


def _leading_answer(text: str, language: str) -> str | None:
    """ "yes" or "no" by the longest yes or no word the text starts with."""
    said = text.strip().lower()
    best: tuple[int, str | None] = (0, None)
    for answer, words in (("yes", YES_WORDS), ("no", NO_WORDS)):
        for word in words.get(language, ()):
            rest = said[len(word) :]
            whole = not rest or not (rest[0].isascii() and rest[0].isalpha()) or word[-1] == " "
            if said.startswith(word) and whole and len(word) > best[0]:
                best = (len(word), answer)
    return best[1]
