"""The loader's checks of an intent's ``templates:`` field (see ``templates.py``)."""

from __future__ import annotations

from .diagnostics import Diagnostic, Severity, did_you_mean
from .examples import Example
from .free_text import MAX_FREE_TEXT
from .model import LocalizedList, Slot
from .normalize import normalize
from .shapes import ShapeChecker
from .source import Node, type_name
from .templates import (
    Choice,
    TemplateError,
    adjacent_slots,
    count,
    expand,
    parse_template,
    says_words,
    shares,
    slot_refs,
)

Parsed = dict[str, tuple[Choice, ...]]
SAMPLES_HINT = (
    "'samples:', example fillers per language used only for training, for example  "
    "samples: {en: [Kind of Blue, Blue Train, Live in Paris]}"
)
FEW_SAMPLES = 3
_MARKUP = "[](){}"


class TemplateFields(ShapeChecker):
    """Templates read, checked against the skill's slots and expanded into examples;
    the fields of text slots, whose samples fill their place in templates."""

    def text_slot(self, node: Node, values: dict[str, Node], kind: str, what: str) -> LocalizedList:
        """A text slot's samples (its other fields checked); {} for other slots."""
        if kind == "text" and "values" in values:
            self.report(
                values["values"],
                f"{what} is type text: remove 'values' (it takes any words); give example "
                "fillers under 'samples:' instead",
            )
        if kind != "text":
            if "samples" in values:
                self.report(
                    values["samples"],
                    f"'samples' only applies to 'type: text' slots; {what} is type {kind}"
                    + (": its words go under 'values'" if kind == "list" else ""),
                )
            return {}
        if "samples" not in values:
            self.report(node, f"{what} is type text: it needs {SAMPLES_HINT}")
            return {}
        return self.samples(values["samples"], f"{what} samples")

    def samples(self, node: Node, what: str) -> LocalizedList:
        """Samples per language: lists of texts, each short and free of Rasa's markup."""
        if not node.is_mapping:
            self.report(
                node,
                f"{what} must be a mapping of languages to lists of example words, "
                f"not {type_name(node)}; for example  samples: {{en: [Kind of Blue, Blue Train]}}",
            )
            return {}
        result: LocalizedList = {}
        for language, value in self.languages_of(node, what).items():
            where = f"{what} ({language})"
            if not value.is_list or not value.items():
                shown = "an empty list" if value.is_list else type_name(value)
                self.report(value, f"{where} must be a list of example words, not {shown}")
                continue
            kept = [s for s in (self.sample(item, where) for item in value.items()) if s]
            result[language] = list(dict.fromkeys(kept))
            if kept and len(result[language]) < FEW_SAMPLES:
                self.report(
                    value,
                    f"{where} has {len(result[language])} sample(s); give at least "
                    f"{FEW_SAMPLES} of different lengths so the model learns where free "
                    "words start and end",
                    "warning",
                )
        return result

    def sample(self, item: Node, what: str) -> str | None:
        if item.is_list or item.is_mapping:
            self.report(
                item,
                f"{what}: YAML read this sample as {type_name(item)}; put it in quotes "
                "(a ': ' inside, or a [ or { at the start, is YAML's own mapping or list)",
            )
            return None
        if isinstance(item.value, bool):
            self.report(
                item, f'{what}: YAML read this sample as true/false; put it in quotes ("yes")'
            )
            return None
        text = self.text(item, what)
        if text is None:
            return None
        if any(c in _MARKUP for c in text):
            self.report(
                item,
                f"{what}: sample '{text}' cannot hold brackets ( ) [ ] {{ }}; leave them out "
                "or write them as words",
            )
            return None
        if len(text) > MAX_FREE_TEXT:
            self.report(
                item,
                f"{what}: sample is {len(text)} characters long; a text slot takes at most "
                f"{MAX_FREE_TEXT}",
            )
            return None
        return text

    def templates(
        self, node: Node, intent: str, slots: dict[str, Slot]
    ) -> tuple[dict[str, list[Example]], Parsed]:
        """Each language's templates expanded into examples (their share of sentences),
        and the parsed templates themselves."""
        what = f"intent '{intent}' templates"
        result: dict[str, list[Example]] = {}
        kept: Parsed = {}
        for language, value in self.languages_of(node, what).items():
            if not value.is_list:
                self.report(value, f"{what} ({language}) must be a list of templates")
                continue
            parsed = []
            for item in value.items():
                template = self.template(item, slots, language, f"{what} ({language})")
                if template is not None:
                    parsed.append((item, template))
            kept[language] = tuple(t for _, t in parsed)

            def words_of(slot: str, language: str = language) -> list[str]:
                return slot_words(slots[slot], language)

            sizes = [count(t, words_of) for _, t in parsed]
            result[language] = []
            for (item, template), share in zip(parsed, shares(sizes), strict=True):
                for example in expand(template, words_of, share, f"{intent} {item.value}"):
                    self.marks.setdefault(
                        ("example", language, intent, normalize(example.text)),
                        (item.line, item.column),
                    )
                    result[language].append(example)
        return result, kept

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
            elif slot.type not in ("list", "text"):
                problem = (
                    f"names slot '{ref.name}' of type {slot.type}; templates can name slots "
                    "with values only: write examples for number and time slots"
                )
            elif not slot_words(slot, language):
                kind = "samples" if slot.type == "text" else "words"
                problem = f"names slot '{ref.name}', which has no {language} {kind}"
            if problem is not None:
                self.at(item, ref.offset, f"template '{text}' {problem}")
                ok = False
        if not ok:
            return None

        def is_free(name: str) -> bool:
            return slots[name].type == "text"

        for first, second in dict.fromkeys(adjacent_slots(template, is_free)):
            which = (
                f"text slot '{first.name}' can come right after itself"
                if first.name == second.name
                else f"text slots '{first.name}' and '{second.name}' can come one right after "
                "the other"
            )
            self.at(
                item,
                second.offset,
                f"template '{text}': {which}, so where one ends and the next starts cannot be "
                f"told; put words between them, for example '{{{first.name}}} by "
                f"{{{second.name}}}'",
            )
            ok = False
        free = [ref for ref in slot_refs(template) if is_free(ref.name)]
        if ok and free and not says_words(template, is_free):
            self.at(
                item,
                free[0].offset,
                f"template '{text}' can be just the text slot '{free[0].name}', which "
                "matches anything said; put words around it, for example "
                f"'play {{{free[0].name}}}'",
                "warning",
            )
        return template if ok else None

    def at(self, item: Node, offset: int, message: str, severity: Severity = "error") -> None:
        """An error at ``offset`` inside a (quoted) scalar."""
        self.diagnostics.append(
            Diagnostic(self.file, item.line, item.column + 1 + offset, severity, message)
        )


def slot_words(slot: Slot, language: str) -> list[str]:
    """What a template says at a slot's place: its values' words, or a text slot's
    samples, in one language."""
    if slot.type == "text":
        return list(dict.fromkeys(slot.samples.get(language, [])))
    words = (w for v in slot.values for w in v.synonyms.get(language, []))
    return list(dict.fromkeys(words))
