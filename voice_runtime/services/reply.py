"""A brand service's reply: `ServiceReply`, and `parse_reply`, which validates
the decoded JSON against the reply schema and cleans it.

Replies are cleaned before anything reaches a device or a terminal: control
characters (C0, C1, DEL), lone surrogates and format characters (bidi overrides
and isolates, U+200E/F, U+061C, zero-width spaces, BOM; only the joiners U+200C
and U+200D are kept) are removed from speech and card texts, line breaks and
tabs become spaces and runs of spaces one; texts stay within their limits. A
card image must be an ``https:`` URL (``http:`` too in development, when private
services are allowed) that the address policy allows; any other image is
dropped and the card kept without it (one log line). Slot values with control
or format characters are dropped the same way; `ServiceCaller` then checks the
rest against the skill's slots.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from ..dialog.turn import SkillResponse
from ..skills.model import Card
from .policy import ServicePolicy, ascii_safe, display_url

MAX_SPEECH = 2000
MAX_CARD_TEXT = 2000
MAX_SLOT_TEXT = 200
MAX_SLOT_NAME = 64
MAX_IMAGE_URL = 2048


@dataclass(frozen=True)
class ServiceReply:
    """A valid answer: speech, an optional card and optional new slot values."""

    speech: str
    card: Card | None = None
    slots: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = field(default=(), compare=False)
    """What cleaning dropped (a card image, slot values), one phrase each, for the log."""

    @property
    def ok(self) -> Literal[True]:
        return True

    def to_response(self) -> SkillResponse:
        return SkillResponse(speech=self.speech, card=self.card)


class InvalidReplyError(ValueError):
    """A reply that breaks the schema; `field` names the offending part."""

    def __init__(self, field_name: str, detail: str) -> None:
        super().__init__(f"{field_name}: {detail}")
        self.field = field_name
        self.detail = detail


_SPACES = frozenset("\t\n\v\f\r\x1c\x1d\x1e\x1f\x85\u2028\u2029")
_JOINERS = frozenset("\u200c\u200d")


def is_unsafe_char(char: str) -> bool:
    """A character that must not reach speech, a card or a terminal: a control
    (Cc), a lone surrogate (Cs), a line or paragraph separator, or a format
    character (Cf: bidi controls, zero-width spaces, BOM) other than the joiners."""
    category = unicodedata.category(char)
    if category in ("Cc", "Cs", "Zl", "Zp"):
        return True
    return category == "Cf" and char not in _JOINERS


def clean_text(text: str) -> str:
    """`text` without unsafe characters; line breaks and tabs as spaces, runs of
    whitespace as one space, no leading or trailing space."""
    kept = [" " if c in _SPACES else c for c in text if c in _SPACES or not is_unsafe_char(c)]
    return " ".join("".join(kept).split())


def _text(data: Mapping[str, Any], key: str, where: str, limit: int) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise InvalidReplyError(where, "must be a non-empty string")
    if len(value) > limit:
        raise InvalidReplyError(where, f"longer than {limit} characters ({len(value)})")
    cleaned = clean_text(value)
    if not cleaned:
        raise InvalidReplyError(where, "must be a non-empty string")
    return cleaned


def _reject_unknown(data: Mapping[str, Any], allowed: tuple[str, ...], prefix: str) -> None:
    for key in data:
        if key not in allowed:
            shown = ascii_safe(str(key)[:40]) + ("…" if len(str(key)) > 40 else "")
            raise InvalidReplyError(
                f"{prefix}{shown}", f"unknown field; allowed: {', '.join(allowed)}"
            )


def image_refusal(image: object, policy: ServicePolicy) -> str | None:
    """Why a card image URL may not reach a device (a phrase), or None when it may.

    Allowed: an ``https:`` URL (``http:`` only when `policy` allows private
    services, i.e. in development) of at most 2048 characters, with no user info,
    no spaces or control characters, whose host the address policy allows.
    """
    if not isinstance(image, str):
        return f"must be a URL string, not {type(image).__name__}"
    if len(image) > MAX_IMAGE_URL:
        return f"longer than {MAX_IMAGE_URL} characters"
    problem = policy.problem(image, query_credentials=False)
    if problem is not None:
        return problem
    if urlsplit(image).scheme != "https" and not policy.allow_private:
        return "must be an https URL (http only in development)"
    return None


def _card(data: object, policy: ServicePolicy, notes: list[str]) -> Card | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise InvalidReplyError("card", "must be an object with title, text and image")
    _reject_unknown(data, ("title", "text", "image"), "card.")
    image = data.get("image")
    if image is not None:
        why = image_refusal(image, policy)
        if why is not None:
            shown = display_url(image) if isinstance(image, str) else type(image).__name__
            notes.append(f"card image {shown!r} dropped: {why}")
            image = None
    return Card(
        title=_text(data, "title", "card.title", MAX_CARD_TEXT),
        text=_text(data, "text", "card.text", MAX_CARD_TEXT),
        image=image,
    )


def _slots(data: object, notes: list[str]) -> dict[str, str]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidReplyError("slots", "must be an object of strings")
    kept: dict[str, str] = {}
    for key, value in data.items():
        if not key or not isinstance(value, str) or len(value) > MAX_SLOT_TEXT:
            raise InvalidReplyError(
                "slots",
                f"{ascii_safe(key[:MAX_SLOT_NAME])!r} must map to a string of at most "
                f"{MAX_SLOT_TEXT} characters",
            )
        if len(key) > MAX_SLOT_NAME or any(is_unsafe_char(c) for c in key + value):
            shown = ascii_safe(key[:MAX_SLOT_NAME])
            notes.append(f"slot {shown!r} dropped: control or format characters, or a long name")
            continue
        kept[key] = value
    return kept


def parse_reply(data: object, policy: ServicePolicy | None = None) -> ServiceReply:
    """Validate and clean a decoded JSON reply; raises `InvalidReplyError`.

    Schema: ``{"speech": str (1..2000 chars), "card"?: {"title": str, "text": str,
    "image"?: URL}, "slots"?: {str: str (at most 200 chars)}}``; unknown fields are
    rejected, ``null`` means absent for the optional ones. Texts are cleaned
    (`clean_text`; empty after cleaning is invalid); a card image `policy`
    refuses (default: the production policy) is dropped, and so are slot values
    with unsafe characters; `ServiceReply.notes` says what was dropped.
    """
    if not isinstance(data, dict):
        raise InvalidReplyError("body", f"must be a JSON object, not {type(data).__name__}")
    _reject_unknown(data, ("speech", "card", "slots"), "")
    checked = policy if policy is not None else ServicePolicy()
    notes: list[str] = []
    speech = _text(data, "speech", "speech", MAX_SPEECH)
    card = _card(data.get("card"), checked, notes)
    slots = _slots(data.get("slots"), notes)
    return ServiceReply(speech=speech, card=card, slots=slots, notes=tuple(notes))
