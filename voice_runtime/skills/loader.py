"""Load one skill file: YAML -> checked Node tree -> typed `Skill`, with diagnostics.

Every problem is collected (never only the first), each with file, line,
column and, where one is obvious, the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import cast, get_args
from urllib.parse import urlsplit

from ..addresses import AddressRule
from ..languages import LANGUAGES
from .diagnostics import Diagnostic, did_you_mean, has_errors
from .examples import Example, ExampleSyntaxError, parse_example
from .model import (
    Intent,
    Localized,
    LocalizedList,
    Response,
    Service,
    Skill,
    Slot,
    SlotType,
    SlotValue,
    Steps,
)
from .normalize import normalize
from .shapes import Mark
from .source import Node, parse_file, parse_yaml, type_name
from .template_fields import TemplateFields
from .templates import Choice

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
    "services",
    "max_attempts",
    "resumable",
)
SKILL_REQUIRED = ("version", "id", "brand", "name", "invocations", "launch", "help", "intents")
INTENT_FIELDS = ("examples", "templates", "response", "slots", "confirm", "steps")
SLOT_FIELDS = ("type", "values", "samples", "min", "max", "prompt", "reprompt")
SLOT_TYPES = ("list", "number", "time", "text")
SERVICE_FIELDS = ("url", "intents", "fallback", "timeout", "secret")
RESPONSE_FIELDS = ("speech", "card")
CARD_FIELDS = ("title", "text", "image")


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


class _Checker(TemplateFields):
    """The skill schema, on top of the generic shape checks."""

    def __init__(self, file: str, diagnostics: list[Diagnostic]) -> None:
        super().__init__(file, diagnostics)
        self._annotations: list[tuple[Node, str, str]] = []
        self._slot_uses: list[tuple[Node, str, str]] = []
        self._steps_by: list[tuple[Node, str, set[str], str]] = []

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
        slots: dict[str, Slot] = {}
        for name, slot_node, values in self.parts(node, "slot", SLOT_FIELDS, (), True):
            what = f"slot '{name}'"
            kind = self.slot_type(values.get("type"), what)
            if kind is None:
                continue
            if kind == "list" and "values" not in values:
                self.report(
                    slot_node,
                    f"{what} needs 'values' (or 'type: number' / 'type: time' / 'type: text')",
                )
            elif kind not in ("list", "text") and "values" in values:
                self.report(values["values"], f"{what} is type {kind}: remove 'values'")
            samples = self.text_slot(slot_node, values, kind, what)
            for bound in ("min", "max"):
                if bound in values and kind != "number":
                    self.report(values[bound], f"'{bound}' only applies to 'type: number' slots")
            prompts = {
                key: self.localized_text(values[key], f"{what} {key}") if key in values else {}
                for key in ("prompt", "reprompt")
            }
            slots[name] = Slot(
                name,
                self.slot_values(values.get("values"), what) if kind == "list" else (),
                prompts["prompt"],
                kind,
                self.number(values.get("min"), f"{what} min"),
                self.number(values.get("max"), f"{what} max"),
                prompts["reprompt"],
                samples,
            )
        return slots

    def slot_type(self, node: Node | None, what: str) -> SlotType | None:
        if node is None:
            return "list"
        for kind in get_args(SlotType):
            if node.value == kind:
                return cast(SlotType, kind)
        self.report(
            node,
            f"{what} type {node.value!r} is unknown{did_you_mean(str(node.value), SLOT_TYPES)}"
            f"; use one of {', '.join(SLOT_TYPES)}",
        )
        return None

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

    def intents(self, node: Node, slots: dict[str, Slot]) -> dict[str, Intent]:
        intents: dict[str, Intent] = {}
        for name, intent_node, values in self.parts(node, "intent", INTENT_FIELDS, ()):
            what = f"intent '{name}'"
            self.marks[("intent", name)] = (intent_node.line, intent_node.column)
            if "examples" not in values and "templates" not in values:
                self.report(intent_node, f"{what} needs 'examples:' or 'templates:' to learn from")
            examples = (
                self.examples(values["examples"], name, alone="templates" not in values)
                if "examples" in values
                else {}
            )
            parsed: dict[str, tuple[Choice, ...]] = {}
            if "templates" in values:
                expansions, parsed = self.templates(values["templates"], name, slots)
                for language, expanded in expansions.items():
                    examples[language] = examples.get(language, []) + expanded
                for language, sentences in examples.items():
                    if len(sentences) < 2:
                        self.report(
                            values["templates"],
                            f"{what} ({language}) needs at least 2 sentences to learn from",
                        )
            response = (
                self.response(values["response"], f"{what} response")
                if "response" in values
                else None
            )
            needed = self.names(values["slots"], f"{what} slots") if "slots" in values else []
            self._slot_uses += [(item, slot_name, what) for item, slot_name in needed]
            confirm = (
                self.localized_text(values["confirm"], f"{what} confirm", template=True)
                if "confirm" in values
                else {}
            )
            steps = self.steps(values["steps"], f"{what} steps") if "steps" in values else None
            intents[name] = Intent(
                name,
                examples,
                response,
                tuple(n for _, n in needed),
                confirm,
                steps,
                templates=parsed,
            )
        return intents

    def steps(self, node: Node, what: str) -> Steps | None:
        if not node.is_mapping:
            self.report(node, f"{what} must be a mapping of languages to lists of steps")
            return None
        values = node.mapping()
        if "by" not in values:
            return Steps({"": self.step_lists(node, what)})
        by = self.identifier(values["by"], f"{what} 'by'")
        lists: dict[str, LocalizedList] = {}
        for key, value in values.items():
            if key != "by":
                lists[str(key)] = self.step_lists(value, f"{what} for '{key}'")
                self.marks[("steps", by or "", str(key))] = (value.line, value.column)
        if by is not None:
            self._steps_by.append((values["by"], by, set(lists), what))
        return Steps(lists, by)

    def step_lists(self, node: Node, what: str) -> LocalizedList:
        lists = self.localized_list(node, what)
        for entry in self.languages_of_silently(node).values():
            for item in entry.items() if entry.is_list else [entry]:
                if isinstance(item.value, str):
                    self._templates.append((item, item.value, what))
        return lists

    def services(self, node: Node, intents: dict[str, Intent]) -> dict[str, Service]:
        services: dict[str, Service] = {}
        callers: dict[str, str] = {}
        required = ("url", "intents", "fallback")
        for name, _, values in self.parts(node, "service", SERVICE_FIELDS, required):
            what = f"service '{name}'"
            url = self.service_url(values["url"], what) if "url" in values else None
            called = self.names(values["intents"], f"{what} intents") if "intents" in values else []
            for item, intent in called:
                if intent not in intents:
                    self.report(
                        item,
                        f"{what} is called by intent '{intent}', but the skill has no such "
                        f"intent{did_you_mean(intent, list(intents))}",
                    )
                elif intent in callers:
                    self.report(
                        item, f"intent '{intent}' already calls service '{callers[intent]}'"
                    )
                else:
                    callers[intent] = name
            fallback = (
                self.localized_text(values["fallback"], f"{what} fallback", template=True)
                if "fallback" in values
                else {}
            )
            timeout = self.number(values.get("timeout"), f"{what} timeout", 0.1, 10.0)
            secret = (
                self.identifier(values["secret"], f"{what} secret") if "secret" in values else ""
            )
            if url is not None:
                services[name] = Service(
                    name,
                    url,
                    tuple(n for _, n in called),
                    fallback,
                    1.5 if timeout is None else timeout,
                    secret or "",
                )
        for intent, service in callers.items():
            if intent in intents:
                intents[intent] = replace(intents[intent], service=service)
        return services

    def service_url(self, node: Node, what: str) -> str | None:
        url = self.text(node, f"{what} url")
        if url is None:
            return None
        try:
            parts = urlsplit(url)
            scheme, host = parts.scheme, parts.hostname
        except ValueError:
            scheme, host = "", None
        if scheme not in ("http", "https") or not host:
            self.report(node, f"{what} url must start with https:// (or http://) and name a host")
            return None
        # The address rule as in development: private and loopback hosts depend on
        # where the assistant runs (checked when calling), everything else is refused here.
        problem = AddressRule(allow_private=True).problem(url)
        if problem is not None:
            self.report(node, f"{what} url is refused: {problem}")
            return None
        return url

    def examples(self, node: Node, intent: str, alone: bool = True) -> dict[str, list[Example]]:
        """The written examples (at least 2 per language when there are no templates)."""
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
            if alone and len(parsed) < 2:
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
        intents = self.intents(values["intents"], slots) if "intents" in values else {}
        services = self.services(values["services"], intents) if "services" in values else {}
        attempts = self.number(values.get("max_attempts"), "max_attempts", 1, 5)
        resumable = values.get("resumable")
        if resumable is not None and not isinstance(resumable.value, bool):
            self.report(resumable, f"resumable must be true or false, not {type_name(resumable)}")
        self.check_languages(set(name) | set(invocations))
        self.check_templates(slots)
        self.check_annotations(slots)
        self.check_intents(intents, slots)
        if skill_id is None or brand is None or launch is None or help_ is None:
            return None
        return Skill(
            skill_id,
            brand,
            name,
            invocations,
            launch,
            help_,
            intents,
            slots,
            stop,
            self.file,
            services,
            2 if attempts is None else int(attempts),
            resumable is not None and resumable.value is True,
        )

    # -- whole-skill checks ----------------------------------------------------------

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
            if slot.type == "list" and normalize(word) not in known:
                self.report(
                    node,
                    f"'{word}' is not a word of slot '{slot_name}'; add it to one of its "
                    "values so it maps to that value",
                    "warning",
                )

    def check_intents(self, intents: dict[str, Intent], slots: dict[str, Slot]) -> None:
        for node, name, what in self._slot_uses:
            if name not in slots:
                declared = ", ".join(sorted(slots)) or "none"
                self.report(
                    node,
                    f"{what} needs slot '{name}', but the skill declares no such slot"
                    f"{did_you_mean(name, list(slots))}; declared slots: {declared}",
                )
        for node, by, keys, what in self._steps_by:
            slot = slots.get(by)
            if slot is None or slot.type != "list":
                self.report(node, f"{what} 'by: {by}' must name a slot with values")
                continue
            ids = {v.id for v in slot.values}
            for key in sorted(keys - ids):
                line, column = self.marks.get(("steps", by, key), (node.line, node.column))
                self.diagnostics.append(
                    Diagnostic(
                        self.file,
                        line,
                        column,
                        "error",
                        f"{what}: '{key}' is not a value of slot '{by}'"
                        f"{did_you_mean(key, sorted(ids))}; values: {', '.join(sorted(ids))}",
                    )
                )
            for key in sorted(ids - keys):
                self.report(node, f"{what} has no steps for '{key}' of slot '{by}'", "warning")
        for intent in intents.values():
            if intent.response is None and intent.service is None:
                line, column = self.marks.get(("intent", intent.name), (1, 1))
                self.diagnostics.append(
                    Diagnostic(
                        self.file,
                        line,
                        column,
                        "error",
                        f"intent '{intent.name}' needs a 'response' (or a service that answers it)",
                    )
                )
