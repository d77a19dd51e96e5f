"""`voice bench nlu|startup|speech|service|server|campaigns`: numbers, measured in the
same run beside their anchors."""

from __future__ import annotations

import argparse
import asyncio
import os
import select
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from ..dialog.dialogtest import dialog_files, load_dialogs
from ..dialog.session import Session
from ..errors import VoiceError
from .bench_server import add_server_arguments, bench_server
from .bench_speech import bench_speech, percentile
from .common import build_assistant, nlu_engine, project_of

# A sentence of the training data (answered by exact match while the model
# loads) and one that is not (it waits for the Rasa model).
STARTUP_SENTENCES = {
    "en": ("open baking class", "would you kindly open the baking class for me"),
    "zh": ("打开烘焙课堂", "麻烦你帮我把烘焙课堂打开吧"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "what", choices=["nlu", "startup", "speech", "service", "server", "campaigns"]
    )
    parser.add_argument("--lang", choices=["en", "zh"], default="en")
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="nlu: passes over the sentences; startup: runs of each shell; speech: noise seed",
    )
    add_server_arguments(parser)
    parser.add_argument(
        "--campaigns", type=int, default=100, help="campaigns: active campaigns (default 100)"
    )
    parser.add_argument(
        "--decisions", type=int, default=2000, help="campaigns: decisions timed (default 2000)"
    )


def run(args: argparse.Namespace) -> int:
    if args.what == "nlu":
        return bench_nlu(args)
    if args.what == "speech":
        return bench_speech(args)
    if args.what == "service":
        return bench_service(args)
    if args.what == "server":
        return bench_server(args)
    if args.what == "campaigns":
        from .bench_campaigns import bench_campaigns

        return bench_campaigns(args)
    return bench_startup(args)


def bench_nlu(args: argparse.Namespace) -> int:
    """A turn through the router vs. a raw Agent.parse_message, interleaved."""
    project = project_of(args)
    sentences = [
        t.user
        for f in dialog_files([project.root / "tests" / "dialogs"])
        for d in load_dialogs(f)
        if d.language in (None, args.lang)
        for t in d.turns
    ]
    if not sentences:
        raise VoiceError(f"no {args.lang} dialog test sentences to measure with")
    args.demo_services = True  # the few turns that call a brand service reach one
    assistant = build_assistant(args)
    model = nlu_engine(assistant).model(args.lang)
    model.wait_until_traced()  # time the traced graph, not the eager start-up parses
    nlu_engine(assistant).exact = False  # compare the model path; exact matches are timed below
    raw_loop = asyncio.new_event_loop()
    raw: list[float] = []
    routed: list[float] = []
    for _ in range(args.rounds):
        session = Session(language=args.lang)
        for text in sentences:
            start = time.perf_counter()
            raw_loop.run_until_complete(model.agent.parse_message(text))
            raw.append(time.perf_counter() - start)
            start = time.perf_counter()
            assistant.handle_sync(text, session)
            routed.append(time.perf_counter() - start)
    raw_loop.close()
    print(
        f"nlu bench ({args.lang}): {len(sentences)} sentences x {args.rounds} rounds, interleaved"
    )
    print(f"{'':28} {'p50 ms':>8} {'p99 ms':>8}")
    for name, values in (("rasa Agent.parse_message", raw), ("voice router turn", routed)):
        print(
            f"{name:28} {percentile(values, 0.5) * 1e3:8.2f} {percentile(values, 0.99) * 1e3:8.2f}"
        )
    ratio50 = statistics.median(routed) / statistics.median(raw)
    ratio99 = percentile(routed, 0.99) / percentile(raw, 0.99)
    print(f"{'router / rasa':28} {ratio50:8.3f} {ratio99:8.3f}   (target: <= 1.10)")
    nlu_engine(assistant).exact = True
    exact: list[float] = []
    for _ in range(args.rounds):
        session = Session(language=args.lang)
        for text in sentences:
            start = time.perf_counter()
            turn = assistant.handle_sync(text, session)
            if turn.nlu is not None and turn.nlu.source == "exact":
                exact.append(time.perf_counter() - start)
    if exact:
        share = len(exact) / (len(sentences) * args.rounds)
        print(
            f"{'exact-match turn':28} {percentile(exact, 0.5) * 1e3:8.2f} "
            f"{percentile(exact, 0.99) * 1e3:8.2f}   ({share:.0%} of these sentences)"
        )
    assistant.close()
    return 0


def bench_service(args: argparse.Namespace) -> int:
    """Turns of the dialog tests that call a brand service (the demo services on loopback)
    and turns that do not, through the whole assistant."""
    args.demo_services = True
    project = project_of(args)
    dialogs = [
        d
        for f in dialog_files([project.root / "tests" / "dialogs"])
        for d in load_dialogs(f)
        if d.language in (None, args.lang)
    ]
    assistant = build_assistant(args)
    nlu_engine(assistant).model(args.lang).wait_until_traced()  # loaded and traced
    timings: dict[bool, list[float]] = {True: [], False: []}
    calls: list[float] = []
    for round_number in range(args.rounds + 1):  # round 0 warms up
        for dialog in dialogs:
            session = Session(language=args.lang)
            for expected in dialog.turns:
                start = time.perf_counter()
                turn = assistant.handle_sync(expected.user, session)
                elapsed = time.perf_counter() - start
                if round_number:
                    timings[turn.service is not None].append(elapsed)
                    if turn.service is not None:
                        calls.append(turn.service.elapsed_ms / 1e3)
    if not timings[True]:
        raise VoiceError(f"no {args.lang} dialog test turn calls a brand service")
    print(f"service bench ({args.lang}): {len(dialogs)} dialogs x {args.rounds} rounds")
    print(f"{'':32} {'turns':>6} {'p50 ms':>8} {'p99 ms':>8}")
    rows = (
        ("turn calling a loopback service", timings[True]),
        ("  of which the service call", calls),
        ("turn without a service call", timings[False]),
    )
    for name, values in rows:
        p50, p99 = percentile(values, 0.5) * 1e3, percentile(values, 0.99) * 1e3
        print(f"{name:32} {len(values):6d} {p50:8.2f} {p99:8.2f}")
    assistant.close()
    return 0


def bench_startup(args: argparse.Namespace) -> int:
    """Process start to first answer: `voice shell` vs `rasa shell --model`, same model."""
    project = project_of(args)
    nlu_engine(build_assistant(args)).model(args.lang)  # make sure the model exists and is current
    model = project.nlu_model_dir(args.lang) / "model.tar.gz"
    known, unseen = STARTUP_SENTENCES[args.lang]
    bindir = Path(sys.executable).parent
    rasa = shutil.which("rasa", path=str(bindir)) or shutil.which("rasa")
    if rasa is None:
        raise VoiceError("the 'rasa' command is not installed in this environment")
    ours = [
        sys.executable,
        "-m",
        "voice_runtime.cli.main",
        "--project",
        str(project.root),
        "shell",
        "--lang",
        args.lang,
        "--no-train",
    ]
    theirs = [rasa, "shell", "--model", str(model)]
    runs = {
        f"voice shell, known sentence ({known!r})": (ours, known, "answer"),
        f"voice shell, unseen sentence ({unseen!r})": (ours, unseen, "answer"),
        "rasa shell --model (same model)": (theirs, known, '"intent"'),
    }
    timings: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, (command, text, marker) in runs.items():
            timings[name].append(first_answer(command, text, marker))
    print(f"startup bench ({args.lang}): process start to first answer, {args.rounds} runs each")
    for name, values in timings.items():
        print(
            f"{name:64} median {statistics.median(values):6.2f} s  "
            f"min {min(values):6.2f} s  max {max(values):6.2f} s"
        )
    rasa_median = statistics.median(timings["rasa shell --model (same model)"])
    for name in list(timings)[:2]:
        ratio = statistics.median(timings[name]) / rasa_median
        print(f"{name.split(' (')[0]} / rasa shell: {ratio:.3f}   (target: <= 0.5)")
    return 0


def first_answer(command: list[str], text: str, marker: str, timeout: float = 300) -> float:
    """Seconds from starting `command` (with `text` on stdin) to a line containing `marker`."""
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3")
    start = time.perf_counter()
    # unbuffered: select() must see every line, none may wait in a Python buffer
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        bufsize=0,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(text.encode("utf-8") + b"\n")
    process.stdin.flush()
    try:
        while time.perf_counter() - start < timeout:
            ready, _, _ = select.select([process.stdout], [], [], 1.0)
            if not ready:
                continue
            line = process.stdout.readline()
            if not line:
                raise VoiceError(f"{command[0]} exited before answering")
            if marker in line.decode("utf-8", "replace"):
                return time.perf_counter() - start
        raise VoiceError(f"{command[0]} did not answer within {timeout:.0f} s")
    finally:
        process.kill()
        process.wait()
