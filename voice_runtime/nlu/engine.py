"""The NLU of a project: per language, an exact matcher over the training
sentences and a Rasa model, checked against the skills and loaded once."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from pathlib import Path

from ..errors import ModelError
from ..project import Project
from ..skills.catalog import Catalog
from .calibrate import (
    Calibration,
    cache_key,
    calibrate,
    calibration_file,
    load_labelled,
    read_cached,
    write_cached,
)
from .exact import ExactMatcher
from .fast import FastNlu
from .model import NluModel
from .result import NluResult
from .train import model_state, train, training_data

Notify = Callable[[str], None]


class NluEngine:
    """Parses text in a language: known sentences exactly, the rest with Rasa.

    A model that does not match the current skills is retrained first when
    `auto_train` is set (saying so through `notify`), else refused. Models
    load in a background thread (`preload`), so known sentences are answered
    while they load.
    """

    def __init__(
        self,
        project: Project,
        catalog: Catalog,
        auto_train: bool = True,
        notify: Notify = lambda message: None,
        exact: bool = True,
    ) -> None:
        self.project = project
        self.catalog = catalog
        self.auto_train = auto_train
        self.notify = notify
        self.exact = exact
        self._matchers: dict[str, ExactMatcher] = {}
        self._paths: dict[str, Path] = {}
        self._models: dict[str, Future[NluModel]] = {}
        self._fast: dict[str, FastNlu | None] = {}
        self._calibrations: dict[str, Calibration | None] = {}

    def parse(self, text: str, language: str) -> NluResult:
        self._prepare(language)
        if self.exact:
            known = self._matchers[language].match(text)
            if known is not None:
                return known
        fast = self._fast.get(language)
        if fast is not None:  # Rasa's answer, computed without Rasa (see nlu/fast.py)
            answer = fast.parse(text)
            if answer is not None:
                return answer
        return self.model(language).parse(text)

    async def understand(self, text: str, language: str) -> NluResult:
        """`parse` for an event loop: known sentences at once, the model in a worker thread."""
        if self.exact and language in self._matchers:
            known = self._matchers[language].match(text)
            if known is not None:
                return known
        return await asyncio.to_thread(self.parse, text, language)

    def threshold(self, language: str) -> float | None:
        """The rephrase threshold calibrated for the language's model (None: no held-in
        sentences in nlu_data/<lang>.calibration.jsonl, so the router's default)."""
        calibration = self.calibration(language)
        return calibration.threshold if calibration is not None else None

    def calibration(self, language: str) -> Calibration | None:
        """The language's calibration (computed once per model and data, then cached)."""
        self._prepare(language)
        return self._calibrations.get(language)

    @property
    def loading(self) -> bool:
        """True while a model is still loading, or tracing its graph, in the background."""
        return any(
            not future.done() or (future.exception() is None and future.result().tracing)
            for future in self._models.values()
        )

    def model(self, language: str) -> NluModel:
        """The Rasa model itself (loaded now if it was not: benchmarks, evaluation)."""
        self._load(language, self._prepare(language))
        return self._models[language].result()

    def preload(self, languages: Iterable[str]) -> None:
        """Make sure the models are current, then load them in the background.

        A model with a current fast export (nlu/fast.py) answers without Rasa, so
        Rasa is not loaded for it (TensorFlow's import would only compete for the CPU).
        """
        for language in languages:
            path = self._prepare(language)
            if self._fast.get(language) is None:
                self._load(language, path)

    def _load(self, language: str, path: Path) -> None:
        if language not in self._models:
            future: Future[NluModel] = Future()
            self._models[language] = future
            threading.Thread(
                target=_load_into,
                args=(future, path, language),
                daemon=True,
                name=f"nlu-load-{language}",
            ).start()

    def _prepare(self, language: str) -> Path:
        """Check (and if allowed, retrain) the model of a language; build its matcher."""
        if language in self._paths:
            return self._paths[language]
        data = training_data(self.project, self.catalog, language)
        state = model_state(self.project, data)
        if not state.current:
            if not self.auto_train:
                raise ModelError(
                    f"the {language} NLU model is out of date ({state.reason}); run 'voice train'"
                )
            self.notify(f"training the {language} NLU model ({state.reason}); this takes a minute")
            state, seconds = train(self.project, data, notify=self.notify)
            self.notify(f"trained the {language} NLU model in {seconds:.0f} s")
        self._matchers[language] = ExactMatcher.from_training_data(data)
        self._fast[language] = FastNlu.load(state.path, language)
        self._paths[language] = state.path
        self._calibrations[language] = self._calibrate(language, data.fingerprint, state.path)
        return state.path

    def _calibrate(self, language: str, fingerprint: str, model: Path) -> Calibration | None:
        path = calibration_file(self.project.nlu_data_dir, language)
        if not path.exists():
            return None
        sentences = load_labelled(path)
        key = cache_key(fingerprint, sentences)
        cached = read_cached(model.parent, key)
        if cached is not None:
            return cached
        shown = (
            str(path.relative_to(self.project.root))
            if path.is_relative_to(self.project.root)
            else str(path)
        )
        calibration = calibrate(
            language, sentences, lambda text: self.parse(text, language), shown, key
        )
        write_cached(model.parent, calibration)
        return calibration


_LOADED: dict[tuple[Path, float], NluModel] = {}
_LOADING = threading.Lock()


def _load_into(future: Future[NluModel], path: Path, language: str) -> None:
    """Load in a daemon thread (a short session need not wait for it at exit)."""
    try:
        future.set_result(load_model(path, language))
    except BaseException as exc:  # handed to whoever waits for the model
        future.set_exception(exc)


def load_model(path: Path, language: str) -> NluModel:
    """Load a model file once per process (a retrained file is a new model)."""
    key = (path.resolve(), path.stat().st_mtime)
    with _LOADING:  # one load at a time: TensorFlow start-up is not re-entrant
        if key not in _LOADED:
            _LOADED[key] = NluModel.load(path, language)
        return _LOADED[key]
