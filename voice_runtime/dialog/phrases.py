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
        "which_skill": "要打开哪个技能？你可以说{suggestions}。",
        "ask_slot": "请问是哪个{slot}？",
        "open_suggestion": "“打开{name}”",
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
