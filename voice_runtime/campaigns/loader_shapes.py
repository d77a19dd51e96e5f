"""The campaign loader's shape checks shared by every part of the schema.

On top of the generic `skills.shapes.ShapeChecker`: whole numbers in a range,
lists where one value counts as a one-entry list, choices from a fixed set with a
did-you-mean, and the positions (`marks`) kept for the cross-file checks.
"""

from __future__ import annotations

from ..skills.diagnostics import did_you_mean
from ..skills.shapes import ShapeChecker
from ..skills.source import Node, type_name

MAX_COUNT = 10**9  # exposures, caps


def suggest(text: str, allowed: tuple[str, ...]) -> str:
    """' (did you mean 'sat'?)' for 'Sat', 'saturday' or 'satday'; else ''."""
    lowered = text.strip().lower()
    prefixed = [choice for choice in allowed if lowered.startswith(choice)]
    if prefixed and lowered != prefixed[0]:
        return f" (did you mean '{max(prefixed, key=len)}'?)"
    return did_you_mean(lowered, allowed)


class CampaignShapes(ShapeChecker):
    """The generic campaign checks the schema parts (scenes, creatives, top level) build on."""

    def reported_at(self, node: Node) -> bool:
        """Whether the reader already reported this value (e.g. an impossible date)."""
        return any((d.line, d.column) == (node.line, node.column) for d in self.diagnostics)

    def mark(self, key: tuple[str, ...], node: Node) -> None:
        self.marks[key] = (node.line, node.column)

    def whole(
        self, node: Node | None, what: str, low: int = 1, high: int = MAX_COUNT
    ) -> int | None:
        if node is None:
            return None
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int):
            self.report(node, f"{what} must be a whole number, not {type_name(node)}")
            return None
        if not low <= value <= high:
            shown = type_name(node).removeprefix("the number ")
            self.report(node, f"{what} must be from {low} to {high}, not {shown}")
            return None
        return value

    def items_of(self, node: Node, what: str, example: str) -> list[Node]:
        """The entries of a list (a single value counts as a one-entry list)."""
        items = node.items() if node.is_list else [node]
        if not items or (node.value is None and not node.is_list):
            self.report(node, f"{what} is empty; list at least one, e.g. {example}")
            return []
        return items

    def choices(
        self, node: Node, what: str, allowed: tuple[str, ...], example: str, noun: str
    ) -> list[tuple[Node, str]]:
        found: list[tuple[Node, str]] = []
        for item in self.items_of(node, what, example):
            text = self.text(item, f"{what} entry")
            if text is None:
                continue
            if text not in allowed:
                self.report(
                    item,
                    f"{what}: '{text}' is not {noun}{suggest(text, allowed)}; "
                    f"use {', '.join(allowed)}",
                )
                continue
            found.append((item, text))
        return found
