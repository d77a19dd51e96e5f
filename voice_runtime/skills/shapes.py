"""Generic checks of a YAML Node tree: fields, texts, languages, identifiers, numbers.

Each check reports a problem at the node's file, line and column and returns
None (or an empty value) instead of raising, so every problem is collected.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterator, Mapping

from ..languages import LANGUAGES
from .diagnostics import Diagnostic, Severity, did_you_mean
from .model import Localized, LocalizedList
from .source import Node, show_number, type_name

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_TEXT = 2000

Mark = tuple[int, int]


def snake_case(text: str, fallback: str) -> str:
    """An identifier close to `text`: "milkAmount", "Milk-Amount", "milk amount" and
    "MilkAMOUNT" -> "milk_amount"; accents dropped; `fallback` when nothing is left."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    split = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", ascii_text)
    words = re.sub(r"[^a-z0-9]+", "_", split.lower()).strip("_")
    if not words:
        return fallback
    return words if words[0].isalpha() else f"{fallback}_{words}"


class ShapeChecker:
    """Collects diagnostics for one file; `marks` remembers positions for later checks."""

    def __init__(self, file: str, diagnostics: list[Diagnostic]) -> None:
        self.file = file
        self.diagnostics = diagnostics
        self.marks: dict[tuple[str, ...], Mark] = {}
        self._localized: list[tuple[Node, str, set[str]]] = []
        self._templates: list[tuple[Node, str, str]] = []

    # -- reporting -----------------------------------------------------------------

    def report(self, node: Node, message: str, severity: Severity = "error") -> None:
        self.diagnostics.append(Diagnostic(self.file, node.line, node.column, severity, message))

    # -- generic shapes ------------------------------------------------------------

    def fields(
        self, node: Node, what: str, allowed: tuple[str, ...], required: tuple[str, ...]
    ) -> dict[str, Node] | None:
        if not node.is_mapping:
            self.report(node, f"{what} must be a mapping of fields, not {type_name(node)}")
            return None
        values = node.mapping()
        for name, key in node.keys.items():
            if name not in allowed and not name.startswith("x-"):
                self.report(
                    key,
                    f"unknown field '{name}' in {what}{did_you_mean(name, allowed)}"
                    f"; allowed: {', '.join(allowed)}",
                )
        misspelt = {did_you_mean(name, allowed) for name in values if name not in allowed}
        for name in required:
            if name not in values and f" (did you mean '{name}'?)" not in misspelt:
                self.report(node, f"{what} is missing the required field '{name}'")
        return values

    def parts(
        self,
        node: Node,
        kind: str,
        allowed: tuple[str, ...],
        required: tuple[str, ...],
        may_be_empty: bool = False,
    ) -> Iterator[tuple[str, Node, dict[str, Node]]]:
        """The named parts of a mapping (slots, intents, services): each name and each
        part's fields checked; a part whose fields cannot be read is left out."""
        if not node.is_mapping or not (node.mapping() or may_be_empty):
            self.report(node, f"{kind}s must be a mapping of {kind} names, not {type_name(node)}")
            return
        for name, part in node.mapping().items():
            self.key_name(node, name, kind)  # a bad name is reported; its part still checked
            values = self.fields(part, f"{kind} '{name}'", allowed, required)
            if values is not None:
                yield name, part, values

    def text(self, node: Node, what: str) -> str | None:
        if not isinstance(node.value, str):
            hint = (
                " (put it in quotes if you mean it as text)"
                if isinstance(node.value, int | float)
                else ""
            )
            self.report(node, f"{what} must be text, not {type_name(node)}{hint}")
            return None
        value = str(node.value).strip()
        if not value:
            self.report(node, f"{what} is empty")
            return None
        if len(value) > MAX_TEXT:
            self.report(node, f"{what} is {len(value)} characters long; the limit is {MAX_TEXT}")
            return None
        return value

    def languages_of(self, node: Node, what: str) -> dict[str, Node]:
        """The per-language entries of a mapping like {en: ..., zh: ...}."""
        if not node.is_mapping:
            self.report(
                node,
                f"{what} must be a mapping of languages ({', '.join(LANGUAGES)}), "
                f"not {type_name(node)}",
            )
            return {}
        found: dict[str, Node] = {}
        for name, value in node.mapping().items():
            if name in LANGUAGES:
                found[name] = value
            else:
                self.report(
                    node.keys[name],
                    f"unknown language '{name}' in {what}{did_you_mean(name, LANGUAGES)}"
                    f"; supported: {', '.join(LANGUAGES)}",
                )
        self._localized.append((node, what, set(found)))
        return found

    def localized_text(self, node: Node, what: str, template: bool = False) -> Localized:
        result: Localized = {}
        for language, value in self.languages_of(node, what).items():
            text = self.text(value, f"{what} ({language})")
            if text is None:
                continue
            if template:
                self._templates.append((value, text, what))
            result[language] = text
        return result

    def localized_list(self, node: Node, what: str) -> LocalizedList:
        result: LocalizedList = {}
        for language, value in self.languages_of(node, what).items():
            items = value.items() if value.is_list else [value]
            texts = [self.text(item, f"{what} ({language})") for item in items]
            kept = [t for t in texts if t is not None]
            if not kept and value.is_list:
                self.report(value, f"{what} ({language}) is an empty list")
            result[language] = kept
        return result

    def identifier(self, node: Node, what: str) -> str | None:
        text = self.text(node, what)
        if text is not None and not IDENTIFIER.match(text):
            suggestion = snake_case(text, "my_skill")
            self.report(
                node,
                f"{what} '{text}' must be lower-case letters, digits and '_', "
                f"starting with a letter (for example '{suggestion}')",
            )
            return None
        return text

    def key_name(self, node: Node, name: str, what: str) -> bool:
        if IDENTIFIER.match(name):
            return True
        suggestion = snake_case(name, what)
        self.report(
            node.keys[name],
            f"{what} name '{name}' must be lower-case letters, digits and '_' "
            f"(for example '{suggestion}')",
        )
        return False

    def number(
        self, node: Node | None, what: str, low: float = -1e9, high: float = 1e9
    ) -> float | None:
        if node is None:
            return None
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.report(node, f"{what} must be a number, not {type_name(node)}")
            return None
        if not low <= value <= high:  # (NaN is never between)
            self.report(
                node, f"{what} must be between {low:g} and {high:g}, not {show_number(value)}"
            )
            return None
        return float(value)

    def names(self, node: Node, what: str) -> list[tuple[Node, str]]:
        """A list of identifiers, like [model, day, time], each with its node."""
        items = node.items() if node.is_list else [node]
        found = [(item, self.identifier(item, f"{what} entry")) for item in items]
        return [(item, name) for item, name in found if name is not None]

    def languages_of_silently(self, node: Node) -> dict[str, Node]:
        if not node.is_mapping:
            return {}
        return {k: v for k, v in node.mapping().items() if k in LANGUAGES}

    def check_languages(self, skill_languages: set[str]) -> None:
        for node, what, present in self._localized:
            for language in sorted(skill_languages - present):
                self.report(
                    node,
                    f"{what} has no '{language}' entry, but this skill is written in "
                    f"{', '.join(sorted(skill_languages))}; add '{language}:'",
                )

    def check_templates(self, slots: Mapping[str, object]) -> None:
        for node, text, what in self._templates:
            try:
                fields = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
            except ValueError:
                self.report(
                    node,
                    f"{what}: unbalanced '{{' or '}}' in '{text}'; write a slot as "
                    "{slot_name} and a literal brace as {{ or }}",
                )
                continue
            for name in fields:
                if name not in slots:
                    declared = ", ".join(sorted(slots)) or "none"
                    self.report(
                        node,
                        f"{what} uses {{{name}}}, but the skill declares no slot '{name}'"
                        f"{did_you_mean(name, list(slots))}; declared slots: {declared}",
                    )
