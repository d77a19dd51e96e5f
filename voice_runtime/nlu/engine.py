"""The NLU models of a project, one per language, checked against the skills and
loaded once, on first use."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import ModelError
from ..project import Project
from ..skills.catalog import Catalog
from .model import NluModel
from .result import NluResult
from .train import model_state, train, training_data

Notify = Callable[[str], None]


class NluEngine:
    """Parses text with the model of its language.

    A model that does not match the current skills is retrained first when
    `auto_train` is set (saying so through `notify`), else refused.
    """

    def __init__(
        self,
        project: Project,
        catalog: Catalog,
        auto_train: bool = True,
        notify: Notify = lambda message: None,
    ) -> None:
        self.project = project
        self.catalog = catalog
        self.auto_train = auto_train
        self.notify = notify
        self._models: dict[str, NluModel] = {}

    def model(self, language: str) -> NluModel:
        if language not in self._models:
            self._models[language] = self._load(language)
        return self._models[language]

    def parse(self, text: str, language: str) -> NluResult:
        return self.model(language).parse(text)

    def _load(self, language: str) -> NluModel:
        data = training_data(self.project, self.catalog, language)
        state = model_state(self.project, data)
        if not state.current:
            if not self.auto_train:
                raise ModelError(
                    f"the {language} NLU model is out of date ({state.reason}); run 'voice train'"
                )
            self.notify(f"training the {language} NLU model ({state.reason}); this takes a minute")
            state, seconds = train(self.project, data)
            self.notify(f"trained the {language} NLU model in {seconds:.0f} s")
        return load_model(state.path, language)


_LOADED: dict[tuple[Path, float], NluModel] = {}


def load_model(path: Path, language: str) -> NluModel:
    """Load a model file once per process (a retrained file is a new model)."""
    key = (path.resolve(), path.stat().st_mtime)
    if key not in _LOADED:
        _LOADED[key] = NluModel.load(path, language)
    return _LOADED[key]
