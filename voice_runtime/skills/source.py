"""YAML parsed into a tree that remembers where each value was written.

Brands are not programmers: every message about their files must name a line
and column. PyYAML's composer gives positions; this module keeps them.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .diagnostics import Diagnostic

Scalar = str | int | float | bool | None

MAX_FILE_BYTES = 1_000_000  # a skill is a few kilobytes; this bounds parse time (~1 s)
MAX_DEPTH = 50  # values inside values; a skill needs about 8
MAX_VALUES = 20_000  # values in one file; the largest shipped skill has 610
MAX_ALIAS_VALUES = 10_000  # values that aliases (*name) may stand for, in all
MAX_NUMBER_CHARS = 100  # longer numbers are mistakes (and slow to convert)


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
        shown = show_number(value)
        return shown if shown.startswith("a number") else f"the number {shown}"
    return "text"


def show_number(value: float) -> str:
    """A number as short text, even one too large for a float (or for str())."""
    if isinstance(value, int) and abs(value) >= 10**15:
        return "a number of 16 or more digits"
    return f"{value:g}" if isinstance(value, float) else str(value)


def parse_yaml(text: str, file: str) -> tuple[Node | None, list[Diagnostic]]:
    """Parse YAML text into a Node tree, or return why it cannot be read as a diagnostic.

    Whatever the text, this returns: syntax errors, control characters, values a
    YAML tag cannot read, too deep nesting and alias bombs all become diagnostics.
    """
    if len(text) > MAX_FILE_BYTES:
        return None, [_too_large(file, f"{len(text)} characters", MAX_FILE_BYTES)]
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow
        return None, [_bad_character(file, text, exc)]
    try:
        root = loader.get_single_node()
        if root is None:
            return None, [Diagnostic(file, 1, 1, "error", "the file is empty")]
        diagnostics: list[Diagnostic] = []
        return _Converter(loader, file, diagnostics).convert(root), diagnostics
    except _LimitError as exc:
        return None, [Diagnostic(file, exc.line, exc.column, "error", exc.message)]
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


def parse_file(path: Path, max_bytes: int = MAX_FILE_BYTES) -> tuple[Node | None, list[Diagnostic]]:
    """Read and parse one YAML file; unreadable, special, too large or non-UTF-8 files
    become diagnostics. A FIFO or device is refused before it is opened, so it cannot hang."""
    file = str(path)
    try:
        data = _read_regular_file(path, max_bytes)
    except _LimitError as exc:
        return None, [Diagnostic(file, exc.line, exc.column, "error", exc.message)]
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return None, [Diagnostic(file, 1, 1, "error", f"cannot read file: {reason}")]
    if data is None:
        return None, [_too_large(file, f"more than {max_bytes} bytes", max_bytes)]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _line_and_column(data[: exc.start].decode("utf-8", "replace"))
        return None, [
            Diagnostic(
                file,
                line,
                column,
                "error",
                f"not UTF-8 text ({exc.reason}); save the file as UTF-8",
            )
        ]
    return parse_yaml(text, file)


def _read_regular_file(path: Path, max_bytes: int) -> bytes | None:
    """The bytes of a regular file, or None when it holds more than `max_bytes`."""
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise _LimitError(
            1,
            1,
            f"not a regular file ({_file_kind(info.st_mode)}); a skill "
            "file must be an ordinary text file",
        )
    if info.st_size > max_bytes:
        return None
    # O_NONBLOCK: should the path have been swapped for a FIFO since the stat,
    # opening it does not wait for a writer; fstat then refuses it.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _LimitError(
                1, 1, "not a regular file; a skill file must be an ordinary text file"
            )
        data = handle.read(max_bytes + 1)
    return None if len(data) > max_bytes else data


def _file_kind(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    )
    return next((name for test, name in kinds if test(mode)), "a special file")


def _too_large(file: str, size: str, limit: int) -> Diagnostic:
    return Diagnostic(
        file,
        1,
        1,
        "error",
        f"the file is too large ({size}; the limit is {limit}); a skill file is a few "
        "kilobytes: split it or remove what is not needed",
    )


def _bad_character(file: str, text: str, exc: yaml.reader.ReaderError) -> Diagnostic:
    position = max(0, min(exc.position, len(text)))
    line, column = _line_and_column(text[:position])
    character = chr(exc.character) if isinstance(exc.character, int) else str(exc.character)
    name = unicodedata.name(character, "") or _CONTROL_NAMES.get(ord(character[:1] or "?"), "")
    described = f"U+{ord(character[:1] or '?'):04X}" + (f" {name}" if name else "")
    return Diagnostic(
        file,
        line,
        column,
        "error",
        f"the file contains the control character {described}, which YAML does not allow; "
        "remove it (only tabs and line breaks may appear among the text)",
    )


def _line_and_column(before: str) -> tuple[int, int]:
    """The 1-based line and column just after `before`, with YAML's line breaks."""
    lines = _LINE_BREAK.split(before)
    return len(lines), len(lines[-1]) + 1


_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")
_CONTROL_NAMES = {0: "NUL", 7: "BEL", 8: "BACKSPACE", 0x1B: "ESC", 0x7F: "DEL"}


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
    if "expected <block end>, but found '<scalar>'" in problem:
        return (
            " (a sentence that starts with [ or { is read as a YAML list or mapping:"
            ' put the whole sentence in quotes, "[can I get] a {drink}")'
        )
    if "could not find expected ':'" in problem:
        return " (a line is missing 'name: value', or quotes are unbalanced)"
    return ""


class _LimitError(Exception):
    """The YAML is readable but beyond what a skill file may hold (too deep, alias bomb)."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line, self.column, self.message = line, column, message


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, composing with limits on nesting and alias expansion.

    Without them `x: &a [*a]` recurses forever and nine aliases of nine aliases
    ("billion laughs") expand to billions of values when the tree is walked.
    Each node's expanded size (the values it stands for, aliases included) is
    counted as it is composed, so an alias costs its full size at once.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0
        self._sizes: dict[int, int] = {}  # id(node) -> expanded size, once composed
        self._expanded = 0
        self._count = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            node = super().compose_node(parent, index)
            mark = event.start_mark
            if id(node) not in self._sizes:
                raise _LimitError(
                    mark.line + 1,
                    mark.column + 1,
                    f"the alias '*{event.anchor}' is used inside the value it names "
                    f"(a value cannot contain itself); remove '*{event.anchor}' here",
                )
            self._expanded += self._sizes[id(node)]
            if self._expanded > MAX_ALIAS_VALUES:
                raise _LimitError(
                    mark.line + 1,
                    mark.column + 1,
                    f"aliases (*name) here and before expand to more than {MAX_ALIAS_VALUES} "
                    "values; write the values out, or reuse fewer and smaller anchors (&name)",
                )
            return node
        self._count += 1
        if self._count > MAX_VALUES:
            mark = self.peek_event().start_mark
            raise _LimitError(
                mark.line + 1,
                mark.column + 1,
                f"the file holds more than {MAX_VALUES} values (texts, numbers, lists, "
                "fields); a skill needs a few hundred: split it or remove what is not needed",
            )
        if self._depth >= MAX_DEPTH:
            mark = self.peek_event().start_mark
            raise _LimitError(
                mark.line + 1,
                mark.column + 1,
                f"values are nested more than {MAX_DEPTH} levels deep here; "
                "a skill needs far fewer: check the brackets and the indentation",
            )
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = node.value
        else:
            children = []
        self._sizes[id(node)] = 1 + sum(self._sizes[id(child)] for child in children)
        return node


class _Converter:
    """Walks a composed (and so size-checked) YAML node graph into Nodes."""

    def __init__(self, loader: yaml.SafeLoader, file: str, diagnostics: list[Diagnostic]) -> None:
        self.loader = loader
        self.file = file
        self.diagnostics = diagnostics

    def report(self, line: int, column: int, message: str) -> None:
        self.diagnostics.append(Diagnostic(self.file, line, column, "error", message))

    def convert(self, node: yaml.Node) -> Node:
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        if isinstance(node, yaml.MappingNode):
            values: dict[str, Node] = {}
            keys: dict[str, Node] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    self.report(
                        key_node.start_mark.line + 1,
                        key_node.start_mark.column + 1,
                        "merge keys ('<<: *name') are not supported in skill files; "
                        "write the fields out",
                    )
                    continue
                key = self.convert(key_node)
                if isinstance(key.value, list | dict):
                    self.report(
                        key.line,
                        key.column,
                        f"a field name must be text, not {type_name(key)}; "
                        "a ':' may be missing after the name",
                    )
                    continue
                name = str(key.value)
                if name in values:
                    self.report(
                        key.line,
                        key.column,
                        f"'{name}' is written twice in this mapping (first on line "
                        f"{keys[name].line}); keep one",
                    )
                    continue
                keys[name] = key
                values[name] = self.convert(value_node)
            return Node(values, line, column, keys)
        if isinstance(node, yaml.SequenceNode):
            return Node([self.convert(item) for item in node.value], line, column)
        assert isinstance(node, yaml.ScalarNode)
        return Node(self.scalar(node, line, column), line, column)

    def scalar(self, node: yaml.ScalarNode, line: int, column: int) -> Scalar:
        raw = str(node.value)
        tag = str(node.tag).rsplit(":", 1)[-1]
        explicit = self._explicit_tag(node)
        if tag == "value":  # a plain '=' (YAML 1.1's "default value" key): it is text
            return raw
        if tag in ("int", "float") and len(raw) > MAX_NUMBER_CHARS:
            self.report(
                line,
                column,
                f"the number '{_shorten(raw)}' is {len(raw)} characters long; numbers in a "
                f"skill have at most {MAX_NUMBER_CHARS}"
                + ("" if explicit else " (put it in quotes if you mean it as text)"),
            )
            return raw
        try:
            value = self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:  # an unknown or misused tag
            self.report(line, column, f"{_one_line(exc.problem or str(exc))}; remove the tag")
            return raw
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            what = {
                "timestamp": "a date",
                "int": "a whole number",
                "float": "a number",
                "bool": "true or false",
            }.get(tag, f"a value of type '{tag}'")
            if explicit:
                fix = f"write {what}, or remove the '!!{tag}' tag"
            else:
                fix = "put it in quotes if you mean it as text"
            detail = (
                f" ({_one_line(str(exc))})"
                if tag == "timestamp" and isinstance(exc, ValueError)
                else ""
            )
            self.report(
                line,
                column,
                f"'{_shorten(raw)}' is not {what}{detail}; {fix}",
            )
            return raw
        if not isinstance(value, str | int | float | bool) and value is not None:
            value = str(value)  # dates and other YAML types: keep as text
        return value

    def _explicit_tag(self, node: yaml.ScalarNode) -> bool:
        """Whether a tag was written (`!!int abc`) rather than guessed from the text."""
        if node.style is None:  # plain text: the tag is guessed from what it looks like
            guessed = self.loader.resolve(yaml.ScalarNode, node.value, (True, False))
        else:
            guessed = "tag:yaml.org,2002:str"
        return bool(node.tag != guessed)


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else f"{text[:limit]}..."


def _one_line(text: str) -> str:
    return " ".join(text.split())
