"""Built-in NLU data per language (nlu_data/<lang>.yaml): help, stop, yes/no, ..."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import SkillError
from ..languages import LANGUAGES
from ..skills.diagnostics import Diagnostic, did_you_mean
from ..skills.normalize import normalize
from ..skills.source import Node, parse_file, type_name

BUILTIN_INTENTS = (
    "help",
    "stop",
    "repeat",
    "yes",
    "no",
    "next",
    "go_back",
    "start_over",
    "out_of_scope",
)
FIELDS = ("version", "language", "open_skill", "ask_skill", "intents")


@dataclass(frozen=True)
class BuiltinData:
    """Carrier sentences for opening/asking a skill, and the built-in intents' examples."""

    language: str
    open_skill: tuple[str, ...]
    ask_skill: tuple[str, ...]
    intents: dict[str, tuple[str, ...]]


def load_builtin(directory: Path, language: str) -> BuiltinData:
    """Load nlu_data/<language>.yaml; raise SkillError naming file:line on any problem."""
    path = directory / f"{language}.yaml"
    if not path.exists():
        raise SkillError(f"{path}: missing built-in NLU data for '{language}'")
    root, diagnostics = parse_file(path)
    problems = list(diagnostics)

    def fail(node: Node, message: str) -> None:
        problems.append(Diagnostic(str(path), node.line, node.column, "error", message))

    def sentences(node: Node, what: str, placeholder: str | None = None) -> tuple[str, ...]:
        if not node.is_list or not node.items():
            fail(node, f"{what} must be a non-empty list of sentences, not {type_name(node)}")
            return ()
        out = []
        for item in node.items():
            if not isinstance(item.value, str) or not item.value.strip():
                fail(item, f'{what}: each sentence must be text (quote yes/no: "yes")')
            elif placeholder and placeholder not in item.value:
                fail(item, f"{what}: '{item.value}' must contain {placeholder}")
            else:
                out.append(item.value.strip())
        return tuple(out)

    data = None
    if root is not None:
        if not root.is_mapping:
            fail(root, "expected a mapping with version, language, open_skill, ask_skill, intents")
        else:
            fields = root.mapping()
            for name, key in root.keys.items():
                if name not in FIELDS:
                    fail(key, f"unknown field '{name}'{did_you_mean(name, FIELDS)}")
            for name in FIELDS:
                if name not in fields:
                    fail(root, f"missing the required field '{name}'")
            if fields.get("language") and fields["language"].value != language:
                fail(fields["language"], f"language must be '{language}' in {path.name}")
            intents: dict[str, tuple[str, ...]] = {}
            if "intents" in fields and fields["intents"].is_mapping:
                node = fields["intents"]
                for name, value in node.mapping().items():
                    if name not in BUILTIN_INTENTS:
                        fail(
                            node.keys[name],
                            f"unknown built-in intent '{name}'"
                            f"{did_you_mean(name, BUILTIN_INTENTS)}",
                        )
                    intents[name] = sentences(value, f"intent '{name}'")
                for name in BUILTIN_INTENTS:
                    if name not in intents:
                        fail(node, f"missing built-in intent '{name}'")
            if "open_skill" in fields and "ask_skill" in fields:
                data = BuiltinData(
                    language,
                    sentences(fields["open_skill"], "open_skill", "{invocation}"),
                    sentences(fields["ask_skill"], "ask_skill", "{request}"),
                    intents,
                )
    if problems:
        raise SkillError(f"{problems[0]} ({len(problems)} problem(s) in built-in NLU data)")
    assert data is not None
    return data


def available_languages(directory: Path) -> list[str]:
    return [lang for lang in LANGUAGES if (directory / f"{lang}.yaml").exists()]


def builtin_sentences(directory: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(language, normalised sentence) -> ("built-in intent 'x'", file), for cross-checks."""
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for language in available_languages(directory):
        data = load_builtin(directory, language)
        for name, sentences in data.intents.items():
            for sentence in sentences:
                owner = (f"built-in intent '{name}'", str(directory / f"{language}.yaml"))
                found[(language, normalize(sentence))] = owner
    return found
