"""`voice adapt`: the acoustic model adapted to real recordings by SphinxTrain, then loaded.

Real tools (Debian's sphinxtrain and sphinxbase-utils, which ``make setup`` installs),
the wheel's real model, and real recordings (tests/coffee/clips/, 24 of the coffee dev
set's orders) decoded by the real recogniser of the coffee project.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from voice_runtime.cli.common import load_skills
from voice_runtime.cli.main import main
from voice_runtime.errors import InputError, ModelError
from voice_runtime.project import Project
from voice_runtime.speech import adapt
from voice_runtime.speech.adapt import AdaptationClip, acoustic_dir, adapt_model, wheel_model
from voice_runtime.speech.backends import recognizer_for
from voice_runtime.speech.sphinx_files import read_sendump, write_mixture_weights

COFFEE = Path(__file__).parent / "coffee"
CLIPS = COFFEE / "clips"
NAMES = sorted(p.name for p in CLIPS.glob("*.flac"))


def tool(name: str) -> str:
    """A SphinxTrain tool; a clear failure (not a skip) when make setup did not install it."""
    found = shutil.which(name) or next(
        (str(p) for p in [adapt.SPHINXTRAIN / name] if p.is_file()), None
    )
    if found is None:
        pytest.fail(f"{name} is missing: run make setup (it installs sphinxtrain)")
    return found


def test_the_wheel_weights_survive_the_trip_through_sphinxtrain(tmp_path: Path) -> None:
    wheel = wheel_model()
    original = read_sendump(wheel / "sendump")
    assert original.weights.shape == (5126, 3, 128)  # senones, streams, densities
    assert np.allclose(original.weights.sum(axis=2), 1.0, atol=1e-5)
    write_mixture_weights(tmp_path / "mixture_weights", original)
    mdef = tmp_path / "mdef.txt"
    subprocess.run([tool("pocketsphinx_mdef_convert"), "-text", str(wheel / "mdef"), str(mdef)])
    subprocess.run(
        [tool("mk_s2sendump"), "-pocketsphinx", "yes", "-moddeffn", str(mdef)]
        + ["-mixwfn", str(tmp_path / "mixture_weights"), "-sendumpfn", str(tmp_path / "sendump")],
        capture_output=True,
        check=True,
    )
    back = read_sendump(tmp_path / "sendump")
    heavy = original.weights > 1e-3  # the floor mk_s2sendump applies moves only tiny weights
    assert heavy.sum() > 100_000
    assert np.allclose(back.weights[heavy], original.weights[heavy], rtol=0.01)


def test_a_file_that_is_no_sendump_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "sendump"
    bad.write_bytes(b"\xff\xff\xff\x7fnot a model at all")
    with pytest.raises(ModelError, match="sendump"):
        read_sendump(bad)


def test_without_sphinxtrain_adapting_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(adapt, "SPHINXTRAIN", tmp_path)
    clip = AdaptationClip("a", b"\0\0" * 16000, "coffee")
    with pytest.raises(ModelError, match="apt-get install sphinxtrain sphinxbase-utils"):
        adapt_model([clip], tmp_path / "dict", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_nothing_to_adapt_on_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="nothing to adapt on"):
        adapt_model([], tmp_path / "dict", tmp_path / "out")


def test_a_folder_of_other_files_is_never_replaced(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me", "utf-8")
    clip = AdaptationClip("a", b"\0\0" * 16000, "coffee")
    with pytest.raises(InputError, match="holds other files"):
        adapt_model([clip], tmp_path / "dict", tmp_path)
    assert (tmp_path / "notes.txt").read_text("utf-8") == "keep me"


def test_snr_levels_without_noise_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--project", str(COFFEE), "adapt", "--audio", str(CLIPS)]
    code = main(argv + ["--labels", str(COFFEE / "labels.json"), "--snr", "12"])
    assert code != 0
    assert "needs --noise" in capsys.readouterr().err


def eval_correct(labels: Path, out: Path, *model: str) -> int:
    argv = ["--project", str(COFFEE), "eval", "speech", "--audio", str(CLIPS)]
    assert main(argv + ["--labels", str(labels), "--json", str(out), *model]) == 0
    return int(json.loads(out.read_text("utf-8"))["correct"])


def test_a_model_adapted_on_recordings_hears_them_at_least_as_well(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = json.loads((COFFEE / "labels.json").read_text("utf-8"))
    subset = tmp_path / "labels.json"
    subset.write_text(json.dumps({name: labels[name] for name in NAMES}), "utf-8")
    before = eval_correct(subset, tmp_path / "before.json", "--model", str(wheel_model()))
    model = tmp_path / "acoustic"
    argv = ["--project", str(COFFEE), "adapt", "--audio", str(CLIPS), "--labels", str(subset)]
    assert main(argv + ["--out", str(model)]) == 0
    printed = capsys.readouterr().out
    assert f"understood {before}/{len(NAMES)} recordings" in printed
    manifest = json.loads((model / adapt.MANIFEST).read_text("utf-8"))
    assert manifest["clips"] == before and manifest["aligned"] == before
    assert (model / "sendump").read_bytes() != (wheel_model() / "sendump").read_bytes()
    after = eval_correct(subset, tmp_path / "after.json", "--model", str(model))
    assert after >= before


def test_a_project_with_an_adapted_model_loads_it(tmp_path: Path) -> None:
    project = Project(tmp_path)
    shutil.copytree(COFFEE / "skills", tmp_path / "skills")
    shutil.copytree(COFFEE / "nlu_data", tmp_path / "nlu_data")
    skills = load_skills(project).skills
    wheel = recognizer_for(project, "en", skills)
    assert Path(wheel._decoder.config["hmm"]) == wheel_model()  # type: ignore[attr-defined]
    target = acoustic_dir(project.models_dir)
    shutil.copytree(wheel_model(), target)  # any complete model will do: the wheel's own
    adapted = recognizer_for(project, "en", skills)
    assert Path(adapted._decoder.config["hmm"]) == target  # type: ignore[attr-defined]


def test_cross_adapting_scores_every_recording_once_by_a_model_that_never_learned_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = json.loads((COFFEE / "labels.json").read_text("utf-8"))
    names = NAMES[:8]
    subset = tmp_path / "labels.json"
    subset.write_text(json.dumps({name: labels[name] for name in names}), "utf-8")
    argv = ["--project", str(COFFEE), "eval", "speech", "--audio", str(CLIPS)]
    argv += ["--labels", str(subset), "--cross-adapt", "2", "--json", str(tmp_path / "r.json")]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "fold 1/2: adapted on the " in printed and " of 4 other recordings" in printed
    assert "fold 2/2: adapted on the " in printed
    report = json.loads((tmp_path / "r.json").read_text("utf-8"))
    assert [r["file"] for r in report["results"]] == names  # each once, in the labels' order


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--cross-adapt", "1"], "needs 2 to 8 folds"),
        (["--cross-adapt", "9"], "needs 2 to 8 folds"),
        (["--cross-adapt", "2", "--model", "x"], "no --model"),
    ],
)
def test_cross_adapting_refuses_what_it_cannot_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    labels = json.loads((COFFEE / "labels.json").read_text("utf-8"))
    subset = tmp_path / "labels.json"
    subset.write_text(json.dumps({name: labels[name] for name in NAMES[:8]}), "utf-8")
    argv = ["--project", str(COFFEE), "eval", "speech", "--audio", str(CLIPS)]
    assert main(argv + ["--labels", str(subset), *extra]) != 0
    assert message in capsys.readouterr().err
