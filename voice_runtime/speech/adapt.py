"""Adapt PocketSphinx's English acoustic model to some recordings (MAP adaptation).

The wheel's model was trained on other voices and rooms; a few minutes of the
people and the kitchen a skill will hear, with what was said, move its Gaussians,
mixture weights and transitions towards them (maximum a posteriori: each changes
as far as the recordings give evidence for it). The steps are SphinxTrain's:

1. features of every clip (``sphinx_fe``, the model's own ``feat.params``);
2. one Baum-Welch pass aligning the transcripts to them (``bw``), counting;
3. ``map_adapt`` moves the model by those counts; ``mk_s2sendump`` quantises the
   mixture weights the way PocketSphinx loads them.

Building needs Debian's ``sphinxtrain`` and ``sphinxbase-utils`` packages (a
``ModelError`` says so); using the result needs only the pocketsphinx wheel. The
model is written as a directory that ``PocketSphinxRecognizer`` loads in place of
the wheel's (``acoustic_dir``), with an ``adaptation.json`` saying what it was
adapted on.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import InputError, ModelError
from .sphinx_files import read_sendump, write_mixture_weights

SPHINXTRAIN = Path("/usr/lib/sphinxtrain")
ADAPTED_FILES = ("means", "variances", "transition_matrices", "sendump")
"""What adaptation changes; the rest is copied from the wheel's model."""
COPIED_FILES = ("mdef", "feat.params", "noisedict")
MANIFEST = "adaptation.json"
_FE_OPTIONS = {"-lowerf", "-upperf", "-nfilt", "-transform", "-lifter", "-samprate", "-nfft"}
_FE_OPTIONS |= {"-wlen", "-alpha", "-dither", "-frate", "-ncep", "-doublebw", "-remove_dc"}
_TIMEOUT = 3600


@dataclass(frozen=True)
class AdaptationClip:
    """One recording to adapt on: 16 kHz mono 16-bit PCM and the words said in it."""

    name: str
    pcm: bytes
    words: str


@dataclass(frozen=True)
class Adaptation:
    """What ``adapt_model`` built: the model directory and what it learned from."""

    directory: str
    clips: int
    aligned: int
    """Clips whose transcript Baum-Welch could align (the rest taught nothing)."""
    audio_seconds: float
    build_seconds: float
    keep_variances: bool


def wheel_model() -> Path:
    """The pocketsphinx wheel's English acoustic model directory."""
    import pocketsphinx

    return Path(pocketsphinx.get_model_path()) / "en-us" / "en-us"


def acoustic_dir(models_dir: Path, language: str = "en") -> Path:
    """Where a project's adapted acoustic model lives: ``models/acoustic/<lang>/``."""
    return models_dir / "acoustic" / language


def is_adapted_model(directory: Path) -> bool:
    """A directory holds a complete adapted model (``adapt_model``'s output)."""
    return all((directory / name).is_file() for name in ADAPTED_FILES + COPIED_FILES)


def _tool(name: str) -> str:
    found = shutil.which(name) or (
        str(SPHINXTRAIN / name) if (SPHINXTRAIN / name).is_file() else None
    )
    if found is None:
        raise ModelError(
            f"{name} is not installed: adapting the acoustic model needs "
            "'apt-get install sphinxtrain sphinxbase-utils' (using it does not)"
        )
    return found


def _run(command: list[str], log: Path) -> None:
    with log.open("ab") as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, timeout=_TIMEOUT)
    if done.returncode != 0:
        tail = log.read_text("utf-8", "replace").strip().splitlines()[-3:]
        raise ModelError(f"{Path(command[0]).name} failed: {' / '.join(tail)}")


def _fe_arguments(feat_params: Path) -> list[str]:
    """The front-end options of the model's ``feat.params``, for ``sphinx_fe``."""
    words = feat_params.read_text("utf-8").split()
    pairs = zip(words[::2], words[1::2], strict=False)
    return [item for key, value in pairs if key in _FE_OPTIONS for item in (key, value)]


def adapt_model(
    clips: Sequence[AdaptationClip],
    dictionary: Path,
    out: Path,
    keep_variances: bool = True,
    base: Path | None = None,
) -> Adaptation:
    """MAP-adapt the English model (``base``, default the wheel's) to ``clips``.

    ``dictionary`` spells every word of the transcripts (a bias's ``skills.dict``).
    With ``keep_variances`` the base's variances stay: adapted ones are sharper and,
    measured on the coffee recordings, cost more in loud noise than they gave in quiet.
    Writes ``out`` whole or not at all, replacing an earlier adapted model there (a
    folder of anything else is refused).
    """
    if not clips:
        raise ModelError("nothing to adapt on: no recording with a transcript")
    if out.exists() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise InputError(f"{out} holds other files: adapt into a new or empty folder")
    began = time.perf_counter()
    base = base or wheel_model()
    tools = {name: _tool(name) for name in ("sphinx_fe", "bw", "map_adapt", "mk_s2sendump")}
    mdef_convert = _tool("pocketsphinx_mdef_convert")
    with tempfile.TemporaryDirectory(prefix="voice-adapt-") as temp:
        work = Path(temp)
        log = work / "log.txt"
        audio, features, accum, model = (work / d for d in ("wav", "mfc", "accum", "model"))
        for directory in (audio, features, accum, model):
            directory.mkdir()
        names = [f"u{i:05d}" for i in range(len(clips))]
        for name, clip in zip(names, clips, strict=True):
            (audio / f"{name}.raw").write_bytes(clip.pcm)
        (work / "files.ctl").write_text("".join(f"{n}\n" for n in names), "utf-8")
        (work / "words.txt").write_text(
            "".join(f"<s> {c.words} </s> ({n})\n" for n, c in zip(names, clips, strict=True)),
            "utf-8",
        )
        _run(
            [tools["sphinx_fe"], *_fe_arguments(base / "feat.params"), "-samprate", "16000"]
            + ["-c", str(work / "files.ctl"), "-di", str(audio), "-do", str(features)]
            + ["-ei", "raw", "-eo", "mfc", "-raw", "yes", "-remove_silence", "no"],
            log,
        )
        _run([mdef_convert, "-text", str(base / "mdef"), str(work / "mdef.txt")], log)
        write_mixture_weights(work / "mixture_weights", read_sendump(base / "sendump"))
        model_files = [
            "-moddeffn", str(work / "mdef.txt"), "-ts2cbfn", ".ptm.",
            "-meanfn", str(base / "means"), "-varfn", str(base / "variances"),
            "-mixwfn", str(work / "mixture_weights"),
            "-tmatfn", str(base / "transition_matrices"),
        ]  # fmt: skip
        _run(
            [tools["bw"], *model_files]
            + ["-feat", "1s_c_d_dd", "-svspec", "0-12/13-25/26-38", "-cmn", "batch"]
            + ["-agc", "none", "-dictfn", str(dictionary), "-fdictfn", str(base / "noisedict")]
            + ["-ctlfn", str(work / "files.ctl"), "-lsnfn", str(work / "words.txt")]
            + ["-cepdir", str(features), "-accumdir", str(accum)],
            log,
        )
        aligned = len(clips) - log.read_text("utf-8", "replace").count("Failed to align")
        outputs = ["-mapmeanfn", str(model / "means"), "-mapmixwfn", str(model / "mixw")]
        outputs += ["-maptmatfn", str(model / "transition_matrices")]
        if not keep_variances:
            outputs += ["-mapvarfn", str(model / "variances")]
        _run([tools["map_adapt"], *model_files, "-accumdir", str(accum), *outputs], log)
        if keep_variances:
            shutil.copy(base / "variances", model / "variances")
        _run(
            [tools["mk_s2sendump"], "-pocketsphinx", "yes", "-moddeffn", str(work / "mdef.txt")]
            + ["-mixwfn", str(model / "mixw"), "-sendumpfn", str(model / "sendump")],
            log,
        )
        (model / "mixw").unlink()
        for name in COPIED_FILES:
            shutil.copy(base / name, model / name)
        adaptation = Adaptation(
            directory=str(out),
            clips=len(clips),
            aligned=aligned,
            audio_seconds=round(sum(len(c.pcm) for c in clips) / 32000, 1),
            build_seconds=round(time.perf_counter() - began, 1),
            keep_variances=keep_variances,
        )
        (model / MANIFEST).write_text(json.dumps(asdict(adaptation), indent=1) + "\n", "utf-8")
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(model, out)
    return adaptation
