"""Supported languages and automatic language detection."""

from __future__ import annotations

LANGUAGES: tuple[str, ...] = ("en", "zh")
LANGUAGE_NAMES = {"en": "English", "zh": "Chinese"}


def is_cjk(char: str) -> bool:
    """True for a CJK ideograph (Chinese characters, incl. extension A)."""
    code = ord(char)
    return 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF


def detect_language(text: str) -> str:
    """Chinese when the text holds any Chinese character, else English."""
    return "zh" if any(is_cjk(c) for c in text) else "en"
