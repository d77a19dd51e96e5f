"""All skills of a directory, checked one by one and against each other.

A skill with an error is never loaded; the others still are, and the catalog
says which file was skipped and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SkillError
from .diagnostics import Diagnostic, has_errors
from .loader import LoadedSkill, load_skill_file
from .model import Skill
from .normalize import normalize


@dataclass
class Catalog:
    """The usable skills, every diagnostic, and the files that were skipped."""

    skills: list[Skill]
    diagnostics: list[Diagnostic]
    skipped: dict[str, str] = field(default_factory=dict)

    def get(self, skill_id: str) -> Skill | None:
        return next((s for s in self.skills if s.id == skill_id), None)

    @property
    def has_errors(self) -> bool:
        return has_errors(self.diagnostics)


def skill_files(paths: list[Path]) -> list[Path]:
    """The YAML files named, or found directly inside the directories named."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml")))
        elif path.exists():
            files.append(path)
        else:
            raise SkillError(f"{path}: no such file or directory")
    return files


# (language, normalised sentence) -> (who owns it, file): built-in sentences
Reserved = dict[tuple[str, str], tuple[str, str]]


def load_catalog(paths: list[Path], reserved: Reserved | None = None) -> Catalog:
    """Load and cross-check every skill file under `paths` (and against `reserved`)."""
    loaded = [load_skill_file(path) for path in skill_files(paths)]
    diagnostics = [d for item in loaded for d in item.diagnostics]
    diagnostics += cross_check(loaded, reserved or {})
    bad_files = {d.file for d in diagnostics if d.severity == "error"}
    skipped: dict[str, str] = {}
    for item in loaded:
        if item.file in bad_files:
            errors = [d for d in diagnostics if d.file == item.file and d.severity == "error"]
            skipped[item.file] = f"{len(errors)} error(s), first: {errors[0]}"
    skills = [i.skill for i in loaded if i.skill is not None and i.file not in bad_files]
    return Catalog(skills, sorted(diagnostics), skipped)


def cross_check(loaded: list[LoadedSkill], reserved: Reserved) -> list[Diagnostic]:
    """Problems between files: duplicate ids, shared invocation names, shared examples."""
    found: list[Diagnostic] = []
    owners: dict[tuple[str, ...], tuple[str, str]] = {
        ("example", language, text): owner for (language, text), owner in reserved.items()
    }
    for item in loaded:
        if item.skill is None:
            continue
        skill = item.skill
        keys: list[tuple[tuple[str, ...], tuple[str, ...], str]] = [
            (("id", skill.id), ("id",), f"skill id '{skill.id}'")
        ]
        for language, names in skill.invocations.items():
            for name in names:
                invocation = ("invocation", language, normalize(name))
                keys.append((invocation, invocation, f"invocation name '{name}'"))
        for intent in skill.intents.values():
            for language, examples in intent.examples.items():
                for example in examples:
                    text = normalize(example.text)
                    keys.append(
                        (
                            ("example", language, text),
                            ("example", language, intent.name, text),
                            f"example '{example.text}' (intent '{intent.name}')",
                        )
                    )
        for key, mark_key, what in keys:
            line, column = item.marks.get(mark_key, (1, 1))
            owner = owners.get(key)
            here = f"{skill.id}.{mark_key[2]}" if key[0] == "example" else skill.id
            if owner is None:
                owners[key] = (here, item.file)
                continue
            if owner == (here, item.file) and key[0] != "id":
                continue  # the same text twice inside one list: harmless
            fix = {
                "id": "give each skill its own id",
                "invocation": "each invocation name must belong to one skill",
                "example": "an example sentence must teach one intent only",
            }[key[0]]
            found.append(
                Diagnostic(
                    item.file,
                    line,
                    column,
                    "error",
                    f"{what} is also used by {owner[0]} in {owner[1]}; {fix}",
                )
            )
    return found
