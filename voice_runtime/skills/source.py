"""YAML parsed into a tree that remembers where each value was written.

Brands are not programmers: every message about their files must name a line
and column. PyYAML's composer gives positions; this module keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .diagnostics import Diagnostic

Scalar = str | int | float | bool | None


@dataclass
class Node:
    """One YAML value with its 1-based line and column.

    `value` is a scalar, a list of Nodes, or a dict of Nodes; for a mapping,
    `keys` holds the node of each key (to point at a misspelt field name).
    """

    value: Scalar | list[Node] | dict[str, Node]
    line: int
    column: int
    keys: dict[str, Node] = field(default_factory=dict)

    @property
    def is_mapping(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_list(self) -> bool:
        return isinstance(self.value, list)

    def mapping(self) -> dict[str, Node]:
        assert isinstance(self.value, dict)
        return self.value

    def items(self) -> list[Node]:
        assert isinstance(self.value, list)
        return self.value

    def plain(self) -> object:
        """The value without positions (plain dicts, lists and scalars)."""
        if isinstance(self.value, dict):
            return {k: v.plain() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.plain() for v in self.value]
        return self.value


def type_name(node: Node) -> str:
    """A brand-friendly name for the type of a value."""
    value = node.value
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (empty)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return f"the number {value}"
    return "text"


def parse_yaml(text: str, file: str) -> tuple[Node | None, list[Diagnostic]]:
    """Parse YAML text into a Node tree, or return the syntax error as a diagnostic."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, [Diagnostic(file, 1, 1, "error", "the file is empty")]
        diagnostics: list[Diagnostic] = []
        return _convert(loader, root, file, diagnostics), diagnostics
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        hint = _syntax_hint(problem)
        return None, [Diagnostic(file, line, column, "error", f"YAML syntax: {problem}{hint}")]
    except yaml.YAMLError as exc:
        return None, [Diagnostic(file, 1, 1, "error", f"YAML syntax: {exc}")]
    finally:
        loader.dispose()


def parse_file(path: Path) -> tuple[Node | None, list[Diagnostic]]:
    """Read and parse one YAML file; unreadable or non-UTF-8 files become diagnostics."""
    file = str(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [
            Diagnostic(
                file, 1, 1, "error", f"not UTF-8 text ({exc.reason}); save the file as UTF-8"
            )
        ]
    except OSError as exc:
        return None, [Diagnostic(file, 1, 1, "error", f"cannot read file: {exc.strerror}")]
    return parse_yaml(text, file)


def _syntax_hint(problem: str) -> str:
    if "tab" in problem:
        return " (indent with spaces, not tabs)"
    if "mapping values are not allowed" in problem:
        return " (put text containing ': ' in quotes)"
    if "but got '?'" in problem:
        return ' (inside {...} or [...], put text with a question mark in quotes: "Which one?")'
    if "expected ',' or ']'" in problem:
        return (
            " (a sentence with [words](slot) inside a [...] list must be quoted, or write"
            " one sentence per line after '- ')"
        )
    if "could not find expected ':'" in problem:
        return " (a line is missing 'name: value', or quotes are unbalanced)"
    return ""


def _convert(
    loader: yaml.SafeLoader, node: yaml.Node, file: str, diagnostics: list[Diagnostic]
) -> Node:
    line, column = node.start_mark.line + 1, node.start_mark.column + 1
    if isinstance(node, yaml.MappingNode):
        values: dict[str, Node] = {}
        keys: dict[str, Node] = {}
        for key_node, value_node in node.value:
            key = _convert(loader, key_node, file, diagnostics)
            name = str(key.value)
            if name in values:
                diagnostics.append(
                    Diagnostic(
                        file,
                        key.line,
                        key.column,
                        "error",
                        f"'{name}' is written twice in this mapping (first on line "
                        f"{keys[name].line}); keep one",
                    )
                )
                continue
            keys[name] = key
            values[name] = _convert(loader, value_node, file, diagnostics)
        return Node(values, line, column, keys)
    if isinstance(node, yaml.SequenceNode):
        return Node(
            [_convert(loader, item, file, diagnostics) for item in node.value], line, column
        )
    value = loader.construct_object(node, deep=True)
    if not isinstance(value, str | int | float | bool) and value is not None:
        value = str(value)  # dates and other YAML types: keep as text
    return Node(value, line, column)
