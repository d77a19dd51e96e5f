"""The loader's checks of an intent's ``templates:`` field (see ``templates.py``)."""

from __future__ import annotations

from .diagnostics import Diagnostic, did_you_mean
from .examples import Example
from .model import Slot
from .normalize import normalize
from .shapes import ShapeChecker
from .source import Node, type_name
from .templates import Choice, TemplateError, count, expand, parse_template, shares, slot_refs


class TemplateFields(ShapeChecker):
    """Templates read, checked against the skill's slots and expanded into examples."""

    def templates(
        self, node: Node, intent: str, slots: dict[str, Slot]
    ) -> dict[str, list[Example]]:
        """Each language's templates expanded into examples (their share of sentences)."""
        what = f"intent '{intent}' templates"
        result: dict[str, list[Example]] = {}
        for language, value in self.languages_of(node, what).items():
            if not value.is_list:
                self.report(value, f"{what} ({language}) must be a list of templates")
                continue
            parsed = []
            for item in value.items():
                template = self.template(item, slots, language, f"{what} ({language})")
                if template is not None:
                    parsed.append((item, template))

            def words_of(slot: str, language: str = language) -> list[str]:
                words = (w for v in slots[slot].values for w in v.synonyms.get(language, []))
                return list(dict.fromkeys(words))

            sizes = [count(t, words_of) for _, t in parsed]
            result[language] = []
            for (item, template), share in zip(parsed, shares(sizes), strict=True):
                for example in expand(template, words_of, share, f"{intent} {item.value}"):
                    self.marks.setdefault(
                        ("example", language, intent, normalize(example.text)),
                        (item.line, item.column),
                    )
                    result[language].append(example)
        return result

    def template(
        self, item: Node, slots: dict[str, Slot], language: str, what: str
    ) -> Choice | None:
        """One template, parsed and checked against the slots (None: reported)."""
        if item.is_list or item.is_mapping:
            self.report(
                item,
                f"{what}: YAML read this template as {type_name(item)}; put it in quotes "
                "(a line starting with [ or { is YAML's own list or mapping)",
            )
            return None
        text = self.text(item, what)
        if text is None:
            return None
        try:
            template = parse_template(text)
        except TemplateError as exc:
            self.at(item, exc.offset, f"template '{text}': {exc}")
            return None
        ok = True
        for ref in slot_refs(template):
            slot = slots.get(ref.name)
            problem = None
            if slot is None:
                problem = (
                    f"names slot '{ref.name}', but the skill declares no such slot"
                    f"{did_you_mean(ref.name, list(slots))}; add it under 'slots:'"
                )
            elif slot.type != "list":
                problem = (
                    f"names slot '{ref.name}' of type {slot.type}; templates can name slots "
                    "with values only: write examples for number and time slots"
                )
            elif not any(v.synonyms.get(language) for v in slot.values):
                problem = f"names slot '{ref.name}', which has no {language} words"
            if problem is not None:
                self.at(item, ref.offset, f"template '{text}' {problem}")
                ok = False
        return template if ok else None

    def at(self, item: Node, offset: int, message: str) -> None:
        """An error at ``offset`` inside a (quoted) scalar."""
        self.diagnostics.append(
            Diagnostic(self.file, item.line, item.column + 1 + offset, "error", message)
        )
