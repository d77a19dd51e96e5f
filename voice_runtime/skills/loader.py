"""Load one skill file: YAML -> checked Node tree -> typed `Skill`, with diagnostics.

Every problem is collected (never only the first), each with file, line,
column and, where one is obvious, the fix.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from pathlib import Path

from ..languages import LANGUAGES
from .diagnostics import Diagnostic, Severity, did_you_mean, has_errors
from .examples import Example, ExampleSyntaxError, parse_example
from .model import Intent, Localized, LocalizedList, Response, Skill, Slot, SlotValue
from .normalize import normalize
from .source import Node, parse_file, parse_yaml, type_name

SUPPORTED_VERSIONS = (1,)
SKILL_FIELDS = (
    "version",
    "id",
    "brand",
    "name",
    "invocations",
    "slots",
    "launch",
    "help",
    "stop",
    "intents",
)
SKILL_REQUIRED = ("version", "id", "brand", "name", "invocations", "launch", "help", "intents")
INTENT_FIELDS = ("examples", "response")
SLOT_FIELDS = ("values", "prompt")
RESPONSE_FIELDS = ("speech", "card")
CARD_FIELDS = ("title", "text", "image")
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_TEXT = 2000

Mark = tuple[int, int]


@dataclass
class LoadedSkill:
    """The result of loading one file: the skill (None if it has errors) and all findings.

    `marks` remembers where cross-file checks should point: ("id",),
    ("invocation", lang, text) and ("example", lang, intent, text).
    """

    file: str
    skill: Skill | None
    diagnostics: list[Diagnostic]
    marks: dict[tuple[str, ...], Mark] = field(default_factory=dict)


def load_skill_file(path: Path) -> LoadedSkill:
    root, diagnostics = parse_file(path)
    return _load(str(path), root, diagnostics)


def load_skill_text(text: str, file: str = "<skill>") -> LoadedSkill:
    root, diagnostics = parse_yaml(text, file)
    return _load(file, root, diagnostics)


def _load(file: str, root: Node | None, diagnostics: list[Diagnostic]) -> LoadedSkill:
    if root is None:
        return LoadedSkill(file, None, diagnostics)
    checker = _Checker(file, diagnostics)
    skill = checker.skill(root)
    ok = skill is not None and not has_errors(checker.diagnostics)
    return LoadedSkill(file, skill if ok else None, sorted(checker.diagnostics), checker.marks)


class _Checker:
    def __init__(self, file: str, diagnostics: list[Diagnostic]) -> None:
        self.file = file
        self.diagnostics = diagnostics
        self.marks: dict[tuple[str, ...], Mark] = {}
        self._localized: list[tuple[Node, str, set[str]]] = []
        self._templates: list[tuple[Node, str, str]] = []
        self._annotations: list[tuple[Node, str, str]] = []

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
            suggestion = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_") or "my_skill"
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
        suggestion = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_") or "name"
        self.report(
            node.keys[name],
            f"{what} name '{name}' must be lower-case letters, digits and '_' "
            f"(for example '{suggestion}')",
        )
        return False

    # -- skill parts ---------------------------------------------------------------

    def response(self, node: Node, what: str) -> Response | None:
        if node.is_mapping and any(key in LANGUAGES for key in node.mapping()):
            return Response(self.localized_text(node, what, template=True))
        values = self.fields(node, what, RESPONSE_FIELDS, ("speech",))
        if values is None:
            return None
        speech = (
            self.localized_text(values["speech"], f"{what} speech", template=True)
            if "speech" in values
            else {}
        )
        card = self.card(values["card"], f"{what} card") if "card" in values else None
        if card is None:
            return Response(speech)
        title, text, image = card
        return Response(speech, title, text, image)

    def card(self, node: Node, what: str) -> tuple[Localized, Localized, str | None] | None:
        values = self.fields(node, what, CARD_FIELDS, ("title", "text"))
        if values is None:
            return None
        title = (
            self.localized_text(values["title"], f"{what} title", True) if "title" in values else {}
        )
        text = self.localized_text(values["text"], f"{what} text", True) if "text" in values else {}
        image = None
        if "image" in values:
            image = self.text(values["image"], f"{what} image")
            if image is not None and not image.startswith(("https://", "http://")):
                self.report(values["image"], f"{what} image must be an http(s):// URL")
                image = None
        return title, text, image

    def slots(self, node: Node) -> dict[str, Slot]:
        if not node.is_mapping:
            self.report(node, f"slots must be a mapping of slot names, not {type_name(node)}")
            return {}
        slots: dict[str, Slot] = {}
        for name, slot_node in node.mapping().items():
            if not self.key_name(node, name, "slot"):
                continue
            what = f"slot '{name}'"
            values = self.fields(slot_node, what, SLOT_FIELDS, ("values",))
            if values is None:
                continue
            prompt = (
                self.localized_text(values["prompt"], f"{what} prompt")
                if "prompt" in values
                else {}
            )
            slots[name] = Slot(name, self.slot_values(values.get("values"), what), prompt)
        return slots

    def slot_values(self, node: Node | None, what: str) -> tuple[SlotValue, ...]:
        if node is None:
            return ()
        if not node.is_mapping or not node.mapping():
            self.report(
                node,
                f"{what} values must map each value to its words per language, "
                "for example  bread: {en: [bread, loaf], zh: [面包]}",
            )
            return ()
        result: list[SlotValue] = []
        seen: dict[tuple[str, str], str] = {}
        for value_id, value_node in node.mapping().items():
            synonyms = self.localized_list(value_node, f"{what} value '{value_id}'")
            for language, words in synonyms.items():
                for word in words:
                    key = (language, normalize(word))
                    if key in seen and seen[key] != value_id:
                        self.report(
                            value_node,
                            f"'{word}' is a word for both '{seen[key]}' and '{value_id}' "
                            f"in {what}; keep it under one value",
                        )
                    seen[key] = value_id
            result.append(SlotValue(str(value_id), synonyms))
        return tuple(result)

    def intents(self, node: Node) -> dict[str, Intent]:
        if not node.is_mapping or not node.mapping():
            self.report(node, f"intents must be a mapping of intent names, not {type_name(node)}")
            return {}
        intents: dict[str, Intent] = {}
        for name, intent_node in node.mapping().items():
            if not self.key_name(node, name, "intent"):
                continue
            what = f"intent '{name}'"
            values = self.fields(intent_node, what, INTENT_FIELDS, INTENT_FIELDS)
            if values is None:
                continue
            examples = self.examples(values["examples"], name) if "examples" in values else {}
            response = (
                self.response(values["response"], f"{what} response")
                if "response" in values
                else None
            )
            if response is not None:
                intents[name] = Intent(name, examples, response)
        return intents

    def examples(self, node: Node, intent: str) -> dict[str, list[Example]]:
        what = f"intent '{intent}' examples"
        result: dict[str, list[Example]] = {}
        for language, value in self.languages_of(node, what).items():
            if not value.is_list:
                self.report(value, f"{what} ({language}) must be a list of sentences")
                continue
            parsed: list[Example] = []
            for item in value.items():
                text = self.text(item, f"example of intent '{intent}' ({language})")
                if text is None:
                    continue
                try:
                    example = parse_example(text)
                except ExampleSyntaxError as exc:
                    self.report(item, f"example '{text}': {exc}")
                    continue
                for span in example.spans:
                    self._annotations.append((item, span.slot, span.text))
                self.marks[("example", language, intent, normalize(example.text))] = (
                    item.line,
                    item.column,
                )
                parsed.append(example)
            if len(parsed) < 2:
                self.report(value, f"{what} ({language}) needs at least 2 sentences to learn from")
            result[language] = parsed
        return result

    def skill(self, root: Node) -> Skill | None:
        values = self.fields(root, "the skill", SKILL_FIELDS, SKILL_REQUIRED)
        if values is None:
            return None
        if "version" in values:
            version = values["version"]
            if version.value not in SUPPORTED_VERSIONS or isinstance(version.value, bool):
                self.report(
                    version,
                    f"version {version.value!r} is not supported; write 'version: 1'",
                )
        skill_id = self.identifier(values["id"], "skill id") if "id" in values else None
        if "id" in values:
            self.marks[("id",)] = (values["id"].line, values["id"].column)
        brand = self.text(values["brand"], "brand") if "brand" in values else None
        name = self.localized_text(values["name"], "name") if "name" in values else {}
        invocations = (
            self.localized_list(values["invocations"], "invocations")
            if "invocations" in values
            else {}
        )
        if "invocations" in values and values["invocations"].is_mapping:
            for language, entry in values["invocations"].mapping().items():
                for item in entry.items() if entry.is_list else [entry]:
                    self.marks[("invocation", language, normalize(str(item.value)))] = (
                        item.line,
                        item.column,
                    )
        slots = self.slots(values["slots"]) if "slots" in values else {}
        launch = self.response(values["launch"], "launch") if "launch" in values else None
        help_ = self.response(values["help"], "help") if "help" in values else None
        stop = self.response(values["stop"], "stop") if "stop" in values else None
        intents = self.intents(values["intents"]) if "intents" in values else {}
        self.check_languages(set(name) | set(invocations))
        self.check_templates(slots)
        self.check_annotations(slots)
        if skill_id is None or brand is None or launch is None or help_ is None:
            return None
        return Skill(
            skill_id, brand, name, invocations, launch, help_, intents, slots, stop, self.file
        )

    # -- whole-skill checks ----------------------------------------------------------

    def check_languages(self, skill_languages: set[str]) -> None:
        for node, what, present in self._localized:
            for language in sorted(skill_languages - present):
                self.report(
                    node,
                    f"{what} has no '{language}' entry, but this skill is written in "
                    f"{', '.join(sorted(skill_languages))}; add '{language}:'",
                )

    def check_templates(self, slots: dict[str, Slot]) -> None:
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

    def check_annotations(self, slots: dict[str, Slot]) -> None:
        for node, slot_name, word in self._annotations:
            slot = slots.get(slot_name)
            if slot is None:
                self.report(
                    node,
                    f"example marks [{word}]({slot_name}), but the skill declares no slot "
                    f"'{slot_name}'{did_you_mean(slot_name, list(slots))}; add it under 'slots:'",
                )
                continue
            known = {normalize(w) for v in slot.values for ws in v.synonyms.values() for w in ws}
            if normalize(word) not in known:
                self.report(
                    node,
                    f"'{word}' is not a word of slot '{slot_name}'; add it to one of its "
                    "values so it maps to that value",
                    "warning",
                )
