"""`voice bench server` end to end, small: real `voice serve` and `rasa run` on loopback."""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

import pytest

from voice_runtime.cli.bench_load import Result
from voice_runtime.cli.bench_server import (
    ServerProcess,
    add_server_arguments,
    bench_server,
    rasa_default_model,
)

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "nlu" / "en" / "model.tar.gz"


def test_result_counts_answers_and_errors() -> None:
    result = Result("x", latencies=[0.01, 0.02, 0.03], wall=1.5)
    result.errors["HTTP 503"] += 2
    assert result.requests == 5
    assert result.throughput == pytest.approx(2.0)
    assert result.p(0.5) == pytest.approx(20.0)


def test_rasa_copy_predicts_with_rasa_default(tmp_path: Path) -> None:
    import json
    import tarfile

    assert MODEL.is_file(), "no trained en model: run 'voice train' (make test does)"
    copy = rasa_default_model(MODEL, tmp_path)
    with tarfile.open(copy, "r:gz") as archive:
        member = archive.extractfile("metadata.json")
        assert member is not None
        metadata = json.load(member)
    diet = [
        n
        for n in metadata["predict_schema"]["nodes"].values()
        if n["uses"].endswith("DIETClassifier")
    ]
    assert diet and all(n["config"]["run_eagerly"] is False for n in diet)


def test_stopped_server_leaves_no_process(tmp_path: Path) -> None:
    server = ServerProcess("sleeper", ["sleep", "60"], tmp_path / "log", 0).start()
    pids = server.pids()
    assert server.alive() and pids
    server.stop()
    assert not server.alive()
    assert not Path(f"/proc/{pids[0]}").exists() or "Z" in Path(f"/proc/{pids[0]}/stat").read_text()


def test_small_server_bench_has_every_row_and_no_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert shutil.which("espeak-ng"), "this test needs espeak-ng (make test installs it)"
    assert MODEL.is_file(), "no trained en model: run 'voice train' (make test does)"
    parser = argparse.ArgumentParser()  # bench.py's own options, then the server's
    parser.add_argument("--lang", default="en")
    parser.add_argument("--project", type=Path, default=ROOT)
    add_server_arguments(parser)
    argv = ["--devices", "3", "--turns", "4", "--audio-turns", "1", "--speed", "4"]
    assert bench_server(parser.parse_args([*argv, "--overload-queue", "1"])) == 0
    out = capsys.readouterr().out
    for row in ("rasa /model/parse", "voice text turn", "voice streamed audio turn"):
        line = next((line for line in out.splitlines() if line.startswith(row)), None)
        assert line is not None, f"no {row!r} row in:\n{out}"
        numbers = line[len(row) :].split()
        requests, errors = int(numbers[0]), int(numbers[1])
        assert requests > 0 and errors == 0, out
    assert "text-turn throughput / rasa parse:" in out
    assert "errors below the queue limit: 0" in out
    assert re.search(r"memory, rasa run: pid \d+ \d+ MB", out), out
    assert re.search(r"memory, voice serve: pid \d+ \d+ MB", out), out
    flood = re.search(r"(\d+) x 503 \((\d+) with Retry-After\), (\d+) other errors", out)
    assert flood is not None, out
    assert int(flood[1]) > 0 and flood[1] == flood[2] and flood[3] == "0", out
