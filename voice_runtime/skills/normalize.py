"""Text normalisation used to compare invocation names and example sentences."""

from __future__ import annotations

import re
import unicodedata

from ..languages import is_cjk

_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Fold case and width, drop punctuation, collapse spaces, drop spaces beside Chinese.

    "Baking  Class!" -> "baking class"; "ＢＡＫＩＮＧ class" -> "baking class";
    "烘焙 课堂" -> "烘焙课堂".
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(" " if unicodedata.category(c)[0] in "PSZC" and c != "'" else c for c in folded)
    words = _SPACES.sub(" ", kept.replace("'", "")).strip()
    out: list[str] = []
    for i, c in enumerate(words):
        if c == " " and (is_cjk(words[i - 1]) or is_cjk(words[i + 1])):
            continue
        out.append(c)
    return "".join(out)
