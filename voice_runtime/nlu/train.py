"""Train one Rasa NLU model per language, only when its inputs changed.

models/nlu/<lang>/ holds `model.tar.gz` and `manifest.json`; the manifest
records the fingerprint of the training data, config and Rasa version that
produced the model, so a stale model is never used silently.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelError
from ..project import Project
from ..skills.catalog import Catalog
from . import fast_export, rasa_env
from .builtin import load_builtin
from .compile import COMPILER_VERSION, TrainingData, compile_language

MODEL_FILE = "model.tar.gz"
MANIFEST_FILE = "manifest.json"
LOCK_FILE = ".train.lock"


@dataclass(frozen=True)
class ModelState:
    """Whether the model of a language matches the current skills, and why not."""

    language: str
    path: Path
    current: bool
    reason: str


def training_data(project: Project, catalog: Catalog, language: str) -> TrainingData:
    return compile_language(catalog.skills, load_builtin(project.nlu_data_dir, language))


def model_state(project: Project, data: TrainingData) -> ModelState:
    directory = project.nlu_model_dir(data.language)
    model, manifest = directory / MODEL_FILE, directory / MANIFEST_FILE
    if not model.exists() or not manifest.exists():
        return ModelState(data.language, model, False, "no trained model yet")
    try:
        recorded = json.loads(manifest.read_text("utf-8"))
    except (OSError, ValueError):
        return ModelState(data.language, model, False, "its manifest is unreadable")
    if recorded.get("compiler") != COMPILER_VERSION:
        return ModelState(data.language, model, False, "it was made by another version")
    if recorded.get("fingerprint") != data.fingerprint:
        return ModelState(data.language, model, False, "skills or NLU data changed since")
    return ModelState(data.language, model, True, "up to date")


def train(
    project: Project,
    data: TrainingData,
    force: bool = False,
    notify: Callable[[str], None] = lambda message: None,
) -> tuple[ModelState, float]:
    """Train if stale (or forced); return the new state and the seconds spent (0 if skipped).

    One training per model directory at a time, across processes: a second run waits
    for the first (saying so through `notify`) and then finds the model up to date.
    The model file is replaced atomically, and the manifest only once it is complete,
    so a reader sees the old model with its manifest or the new one with its own.
    """
    state = model_state(project, data)
    if state.current and not force:
        return state, 0.0
    directory = project.nlu_model_dir(data.language)
    directory.mkdir(parents=True, exist_ok=True)
    with _training_lock(directory, data.language, notify) as waited:
        if waited or not force:  # another run may have just trained this very model
            state = model_state(project, data)
            if state.current:
                return state, 0.0
        started = time.monotonic()
        _train_into(project, data, directory)
        seconds = time.monotonic() - started
        manifest = {
            "compiler": COMPILER_VERSION,
            "fingerprint": data.fingerprint,
            "language": data.language,
            "examples": data.examples,
            "training_seconds": round(seconds, 1),
            "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        _write_atomically(
            directory / MANIFEST_FILE, (json.dumps(manifest, indent=2) + "\n").encode("utf-8")
        )
        return model_state(project, data), seconds


def _train_into(project: Project, data: TrainingData, directory: Path) -> None:
    """Train with Rasa and put the finished archive at `directory/model.tar.gz`."""
    with tempfile.TemporaryDirectory(prefix="voice-train-") as tmp:
        work = Path(tmp)
        (work / "jieba").mkdir()
        (work / "jieba" / "user.dict").write_text(data.dictionary, "utf-8")
        config = data.config.replace("dictionary_path: jieba", f"dictionary_path: {work}/jieba")
        (work / "config.yml").write_text(config, "utf-8")
        (work / "nlu.yml").write_text(data.nlu, "utf-8")
        log = directory / "train.log"
        # Rasa caches trained components in ./.rasa/cache by default: keep them in
        # models/, one cache per language (the lock above serialises each language)
        os.environ["RASA_CACHE_DIRECTORY"] = str(project.models_dir / "rasa-cache" / data.language)
        with _output_to(log):
            trained = _rasa_train(work)
        if trained is None or not Path(trained).exists():
            raise ModelError(f"Rasa training for '{data.language}' failed; see {log}")
        handle, name = tempfile.mkstemp(dir=directory, prefix=f".{MODEL_FILE}.", suffix=".tmp")
        os.close(handle)
        partial = Path(name)
        try:
            _load_eagerly(Path(trained), partial)
            _finish(partial)
            # no manifest may vouch for the new model before its own is written
            (directory / MANIFEST_FILE).unlink(missing_ok=True)
            os.replace(partial, directory / MODEL_FILE)
            fast_export.export_archive(directory / MODEL_FILE, data.language)  # FastNlu's files
        finally:
            partial.unlink(missing_ok=True)


@contextlib.contextmanager
def _training_lock(directory: Path, language: str, notify: Callable[[str], None]) -> Iterator[bool]:
    """Hold an exclusive flock on `directory/.train.lock`; yields whether it had to wait.

    The kernel releases the lock when the process ends, however it ends, so a
    crashed training never leaves a stale lock behind.
    """
    with open(directory / LOCK_FILE, "a+b") as handle:
        waited = False
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            notify(f"{language}: another 'voice train' is training this model; waiting for it")
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            waited = True
        try:
            yield waited
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _write_atomically(target: Path, content: bytes) -> None:
    """Write a file under a unique temporary name, then rename it into place."""
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        _finish(Path(name))
        os.replace(name, target)
    finally:
        Path(name).unlink(missing_ok=True)


def _finish(path: Path) -> None:
    """Give a temporary file the usual permissions (mkstemp makes it 0600) and flush it to disk."""
    path.chmod(0o644)
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _rasa_train(work: Path) -> str | None:
    train_nlu = rasa_env.train_nlu_function()

    result: str | None = train_nlu(
        str(work / "config.yml"),
        str(work / "nlu.yml"),
        str(work / "out"),
        fixed_model_name="model",
    )
    return result


def _load_eagerly(archive: Path, target: Path) -> None:
    """Copy a Rasa model archive, marking DIET's prediction node `run_eagerly`.

    When Rasa loads DIET it rebuilds the network by running one training step;
    in graph mode that step is traced first (~35 s here), eagerly it takes a
    fraction of a second. Training itself stays in graph mode (eager training
    is ~10x slower), and NluModel.load switches prediction back to a traced
    graph after loading.
    """
    with tempfile.TemporaryDirectory(prefix="voice-model-") as tmp:
        with tarfile.open(archive, "r:gz") as source:
            source.extractall(tmp, filter="data")
        metadata_path = Path(tmp) / "metadata.json"
        metadata = json.loads(metadata_path.read_text("utf-8"))
        for node in metadata["predict_schema"]["nodes"].values():
            if node["uses"].endswith("DIETClassifier"):
                node["config"]["run_eagerly"] = True
        metadata_path.write_text(json.dumps(metadata), "utf-8")
        with tarfile.open(target, "w:gz") as packed:
            for item in sorted(Path(tmp).iterdir()):
                packed.add(item, arcname=item.name)


@contextlib.contextmanager
def _output_to(log: Path) -> Iterator[None]:
    """Send this process's stdout and stderr (C libraries too) to a log file."""
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log, "wb") as handle:
        os.dup2(handle.fileno(), 1)
        os.dup2(handle.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
