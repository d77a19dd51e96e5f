"""The campaign loader's creatives: the speaker line and the screen card, per language.

Lengths are limited per surface, and brands must not write what the platform adds
itself (the disclosure and the call to action).
"""

from __future__ import annotations

import re

from ..skills.source import Node
from .loader_shapes import CampaignShapes
from .model import Creative, CreativeKind, Scene

CREATIVE_KINDS: tuple[CreativeKind, ...] = ("speaker", "screen")
SCREEN_FIELDS = ("speech", "title", "text", "image")

MAX_SPEAKER_SPEECH = 160  # characters of a speaker's (or car's) line
MAX_SCREEN_SPEECH = 80  # characters of the line a TV or phone says beside its card
MAX_CARD_TITLE = 60
MAX_CARD_TEXT = 200

# What the platform itself adds to every sponsored line: brands must not write it.
PLATFORM_WORDS = (
    (re.compile(r"\bsponsored\b", re.IGNORECASE), "Sponsored"),
    (re.compile(r"\badvert(isement)?\b", re.IGNORECASE), "Advertisement"),
    (re.compile(r"\bsay\s+[\"'“‘]?yes\b", re.IGNORECASE), "say yes"),
    (re.compile("广告"), "广告"),
    (re.compile("赞助"), "赞助"),
    (re.compile("说\\s*[\"'“‘「]?好的"), "说'好的'"),
)
DISCLOSURE_HINT = (
    "the platform starts every sponsored line with the disclosure ('Sponsored:' / '广告：') "
    "and ends it with the call to action ('say yes to start' / \"说'好的'开始\"): remove it here"
)


class CreativeShapes(CampaignShapes):
    """What a campaign says and shows: its `creatives:` mapping."""

    def creatives(self, node: Node) -> dict[CreativeKind, dict[str, Creative]] | None:
        values = self.fields(node, "creatives", CREATIVE_KINDS, CREATIVE_KINDS)
        if values is None:
            return None
        result: dict[CreativeKind, dict[str, Creative]] = {}
        for kind in CREATIVE_KINDS:
            if kind not in values:
                continue
            by_language: dict[str, Creative] = {}
            for language, entry in self.languages_of(values[kind], f"creatives {kind}").items():
                self.mark(("creative", kind, language), values[kind].keys[language])
                what = f"creatives {kind} ({language})"
                creative = (
                    self.speaker(entry, what) if kind == "speaker" else self.screen(entry, what)
                )
                if creative is not None:
                    by_language[language] = creative
            result[kind] = by_language
        return result

    def speaker(self, node: Node, what: str) -> Creative | None:
        if node.is_mapping:
            self.report(node, f"{what} must be the spoken line as text, not a mapping")
            return None
        speech = self.line(node, what, MAX_SPEAKER_SPEECH)
        return Creative(speech) if speech is not None else None

    def screen(self, node: Node, what: str) -> Creative | None:
        values = self.fields(node, what, SCREEN_FIELDS, ("speech", "title", "text"))
        if values is None:
            return None
        speech = (
            self.line(values["speech"], f"{what} speech", MAX_SCREEN_SPEECH)
            if "speech" in values
            else None
        )
        title = (
            self.line(values["title"], f"{what} title", MAX_CARD_TITLE)
            if "title" in values
            else None
        )
        text = (
            self.line(values["text"], f"{what} text", MAX_CARD_TEXT) if "text" in values else None
        )
        image = None
        if "image" in values:
            image = self.text(values["image"], f"{what} image")
            if image is not None and (not image.startswith("https://") or len(image) <= 8):
                self.report(
                    values["image"],
                    f"{what} image must be an https:// URL (screens load no plain http), "
                    f"not '{image}'",
                )
                image = None
        if speech is None or title is None or text is None:
            return None
        return Creative(speech, title, text, image)

    def line(self, node: Node, what: str, limit: int) -> str | None:
        text = self.text(node, what)
        if text is None:
            return None
        if len(text) > limit:
            self.report(node, f"{what} is {len(text)} characters long; the limit is {limit}")
            return None
        for pattern, word in PLATFORM_WORDS:
            if pattern.search(text):
                self.report(node, f"{what} already says '{word}'; {DISCLOSURE_HINT}", "warning")
                break
        return text

    def check_languages_used(
        self,
        node: Node,
        creatives: dict[CreativeKind, dict[str, Creative]],
        scenes: list[Scene],
    ) -> None:
        """Every language the campaign speaks or listens in needs both kinds of creative."""
        used: dict[str, str] = {}
        for scene in scenes:
            for language in sorted(scene.asked):
                used.setdefault(language, f"scene '{scene.name}' asked")
            for language in sorted(scene.languages):
                used.setdefault(language, f"scene '{scene.name}' languages")
        written = {kind: self.languages_of_silently(n) for kind, n in node.mapping().items()}
        for kind in CREATIVE_KINDS:
            for language in written.get(kind, {}):
                used.setdefault(language, f"creatives {kind}")
        if not used:
            self.report(node, "creatives need at least one language, e.g. speaker: {en: ...}")
        mapping = node.mapping()
        for kind in CREATIVE_KINDS:
            if kind not in mapping or not mapping[kind].is_mapping:
                continue
            for language, source in sorted(used.items()):
                if language not in written.get(kind, {}):
                    self.report(
                        mapping[kind],
                        f"creatives {kind} has no '{language}' entry, but the campaign uses "
                        f"{language} (in {source}); add '{language}:'",
                    )
