"""Problems found in brand files, reported as `file:line:column: severity: message`."""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Diagnostic:
    file: str
    line: int
    column: int
    severity: Severity
    message: str

    def __str__(self) -> str:
        """One line, whatever the file or its text hold (control characters are escaped)."""
        return (
            f"{one_line(self.file)}:{self.line}:{self.column}: {self.severity}: "
            f"{one_line(self.message)}"
        )


def one_line(text: str) -> str:
    """`text` with line breaks and other control characters escaped, so it prints as one
    line and cannot move the terminal's cursor or change its colours."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """' (did you mean 'x'?)' when a close choice exists, else ''."""
    return _did_you_mean(word, tuple(choices))


@functools.lru_cache(maxsize=1024)
def _did_you_mean(word: str, choices: tuple[str, ...]) -> str:
    longest = max((len(choice) for choice in choices), default=0)
    if len(word) > 2 * longest + 10:  # far longer than any choice: none is close
        return ""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def has_errors(diagnostics: list[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diagnostics)
