"""Where a project's skills, built-in NLU data and models live."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Project:
    """A project directory: `skills/`, `nlu_data/`, `models/` side by side."""

    root: Path

    @classmethod
    def locate(cls, explicit: Path | None = None) -> Project:
        """The directory given, else $VOICE_PROJECT, else the current directory."""
        if explicit is not None:
            return cls(explicit)
        env = os.environ.get("VOICE_PROJECT")
        return cls(Path(env) if env else Path.cwd())

    @property
    def skills_dir(self) -> Path:
        return self.root / "skills"

    @property
    def nlu_data_dir(self) -> Path:
        return self.root / "nlu_data"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    def nlu_model_dir(self, language: str) -> Path:
        return self.models_dir / "nlu" / language
