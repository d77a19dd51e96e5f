"""Training hardening (issue 10, items 11 and 16): concurrent `voice train` runs on one
project, `--project` after the subcommand, and no model for a language no skill speaks.

The training tests train a real (tiny) project: one English-only skill and a few
built-in sentences, so a Rasa training takes well under a minute on an idle machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from voice_runtime.cli.main import COMMANDS, build_parser
from voice_runtime.nlu.train import MANIFEST_FILE, MODEL_FILE, model_state, training_data
from voice_runtime.project import Project
from voice_runtime.skills.catalog import load_catalog

ROOT = Path(__file__).resolve().parent.parent

TEA_SKILL = """\
version: 1
id: tiny_tea
brand: Tiny Tea
name: {en: Tea Time}
invocations:
  en: [tea time]
slots:
  tea:
    values:
      green: {en: [green tea]}
      black: {en: [black tea]}
    prompt: {en: "Which tea?"}
launch:
  speech: {en: Welcome to Tea Time!}
help: {en: Ask me how to brew a tea.}
intents:
  brew:
    examples:
      en:
        - how do I brew [green tea](tea)
        - make me some [black tea](tea)
        - brew [green tea](tea)
    slots: [tea]
    response:
      speech: {en: "Steep the {tea} for three minutes."}
"""

TINY_EN = """\
version: 1
language: en
open_skill:
  - open {invocation}
  - start {invocation}
ask_skill:
  - ask {invocation} {request}
intents:
  help: [help, what can you do]
  stop: [stop, quit]
  repeat: [repeat that, say it again]
  "yes": ["yes", sure]
  "no": ["no", nope]
  next: [next step, next]
  go_back: [go back, previous step]
  start_over: [start over, restart]
  out_of_scope: [what is the weather, tell me a joke]
"""


def make_tiny_project(root: Path) -> Path:
    """An English-only project; nlu_data/ also has the real Chinese built-ins."""
    (root / "skills").mkdir(parents=True)
    (root / "nlu_data").mkdir()
    (root / "skills" / "tiny_tea.yaml").write_text(TEA_SKILL, "utf-8")
    (root / "nlu_data" / "en.yaml").write_text(TINY_EN, "utf-8")
    shutil.copy(ROOT / "nlu_data" / "zh.yaml", root / "nlu_data" / "zh.yaml")
    return root


def voice(*args: str) -> list[str]:
    return [sys.executable, "-m", "voice_runtime.cli.main", *args]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false")
    return subprocess.run(
        voice(*args), capture_output=True, text=True, env=env, timeout=900, check=False
    )


@dataclass(frozen=True)
class Trained:
    project: Path
    runs: list[tuple[int, str, str]]  # (exit code, stdout, stderr) of each concurrent run


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """Two `voice train --project DIR` processes started at the same moment."""
    project = make_tiny_project(tmp_path_factory.mktemp("tiny") / "project")
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false")
    processes = [
        subprocess.Popen(
            voice("train", "--project", str(project)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    runs = []
    for process in processes:
        out, err = process.communicate(timeout=900)
        runs.append((process.returncode, out, err))
    return Trained(project, runs)


def test_concurrent_training_leaves_one_complete_model(trained: Trained) -> None:
    """Item 11: both runs succeed, one trains and the other (after waiting) finds the model
    up to date; the model file is whole, it loads, and the manifest vouches for it."""
    for code, _out, err in trained.runs:
        assert code == 0, err
        assert "Traceback" not in err
    outputs = [out for _, out, _ in trained.runs]
    assert sum("en: trained in" in out for out in outputs) == 1, outputs
    assert sum("en: model is up to date, nothing to train" in out for out in outputs) == 1

    directory = trained.project / "models" / "nlu" / "en"
    leftovers = [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
    with tarfile.open(directory / MODEL_FILE, "r:gz") as archive:  # complete, not truncated
        names = archive.getnames()
    assert "metadata.json" in names

    project = Project(trained.project)
    catalog = load_catalog([project.skills_dir])
    data = training_data(project, catalog, "en")
    assert model_state(project, data).current
    manifest = json.loads((directory / MANIFEST_FILE).read_text("utf-8"))
    assert manifest["fingerprint"] == data.fingerprint

    done = run("--project", str(trained.project), "nlu", "make me some green tea", "--lang", "en")
    assert done.returncode == 0, done.stderr
    parsed = json.loads(done.stdout)
    assert parsed["intent"]["name"] == "tiny_tea.brew"
    assert "training the" not in done.stderr  # the model was current: nothing retrained


def test_english_only_project_trains_no_chinese_model(trained: Trained) -> None:
    """Item 16: the Chinese built-ins alone make no model when no skill speaks Chinese."""
    for _, out, _ in trained.runs:
        assert "zh: no skill speaks zh, not trained" in out
        assert "zh: 0" not in out and "zh: trained" not in out
    assert not (trained.project / "models" / "nlu" / "zh" / MODEL_FILE).exists()


def test_project_after_the_subcommand(trained: Trained) -> None:
    """Item 16: `voice train --project DIR` works (it said `unrecognized arguments`)."""
    done = run("train", "--project", str(trained.project))
    assert done.returncode == 0, done.stderr
    assert "en: model is up to date, nothing to train" in done.stdout
    assert str(trained.project) in done.stdout


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_subcommand_accepts_project_after_it(command: str, tmp_path: Path) -> None:
    parser = build_parser([])  # no command's own arguments: only the shared ones
    assert parser.parse_args([command, "--project", str(tmp_path)]).project == tmp_path
    assert parser.parse_args(["--project", str(tmp_path), command]).project == tmp_path
    assert parser.parse_args([command]).project is None


def test_project_after_the_subcommand_with_its_arguments(tmp_path: Path) -> None:
    args = build_parser(["train"]).parse_args(["train", "--force", "--project", str(tmp_path)])
    assert (args.project, args.force) == (tmp_path, True)
    args = build_parser(["train"]).parse_args(["--project", "before", "train", "--lang", "en"])
    assert (args.project, args.lang) == (Path("before"), ["en"])


def test_fast_loaded_model_answers_like_rasa_eagerly_then_traced(trained: Trained) -> None:
    """Item 15's loading: weights restored without Rasa's training step give Rasa's own
    answers, eagerly at first and the same once the traced graph takes over."""
    import asyncio

    from voice_runtime.nlu import rasa_env
    from voice_runtime.nlu.model import NluModel

    path = trained.project / "models" / "nlu" / "en" / MODEL_FILE
    sentences = ["make me some black tea", "open tea time", "help", "how do I brew green tea"]
    loop = asyncio.new_event_loop()
    reference = rasa_env.agent_class().load(str(path))  # Rasa's own way
    expected = [loop.run_until_complete(reference.parse_message(s)) for s in sentences]
    loop.close()

    model = NluModel.load(path, "en")
    eager = [model.parse_raw(s) for s in sentences]
    assert model.wait_until_traced(timeout=300)
    assert model.trace_error is None
    traced = [model.parse_raw(s) for s in sentences]
    model.close()
    for want, *got in zip(expected, eager, traced, strict=True):
        for result in got:
            assert result["intent"]["name"] == want["intent"]["name"]
            assert result["intent"]["confidence"] == pytest.approx(
                want["intent"]["confidence"], abs=1e-5
            )
            assert [(e["entity"], e["value"]) for e in result["entities"]] == [
                (e["entity"], e["value"]) for e in want["entities"]
            ]
    assert eager[0]["intent"]["name"] == "tiny_tea.brew"
