"""`voice bench server`: the household server under load, beside `rasa run` on the same model.

One run starts, on free loopback ports, `voice serve` (its devices registered in
a temporary SQLite database) and `rasa run --enable-api` on the same NLU model.
N concurrent devices send T sentences each, back to back: to Rasa's
`POST /model/parse` and, alternating in blocks, as whole turns to
`POST /v1/turns`. Then every device streams espeak-ng speech over
`GET /v1/stream` (20 ms PCM frames, real time by default), timed from the
client's `end` to the server's `turn` message. Last, a second `voice serve`
with a small queue gets several times the devices at once: it must answer or
refuse with 503 and Retry-After, and fail in no other way.

Rasa loads a copy of the model with DIET's `run_eagerly` back at Rasa's
default: `voice train` sets it for fast loading and `voice` predicts with a
traced graph once loaded, while plain `rasa run` would predict eagerly, several
times slower. So Rasa's parse is measured at its best (it starts slower).

The servers' processes, ports and model copy are in `bench_processes.py`; the
text load's devices and the `Result` of each kind of request in `bench_load.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from ..errors import VoiceError
from .bench_load import (
    TIMEOUT,
    Result,
    clients,
    close_all,
    poster,
    run_devices,
    sentences_of,
    timed,
)
from .bench_processes import (
    ServerProcess,
    free_port,
    rasa_default_model,
    register_devices,
)
from .bench_speech import espeak, percentile
from .common import project_of

__all__ = [
    "Run",
    "ServerProcess",
    "add_server_arguments",
    "bench_server",
    "free_port",
    "rasa_default_model",
    "register_devices",
]

OVERLOAD_FACTOR = 4  # devices of the overload run, per device of the main run
OVERLOAD_TURNS = 5
BLOCKS = 2  # rasa parses and voice text turns alternate in this many blocks
FRAME_MS = 20
RATE = 16000
UNLIMITED_RATE = ["--rate", "100000", "--burst", "100000"]  # closed-loop devices, not abuse
AUDIO_COMMANDS = ["open baking class", "what is the next lesson", "open car viewing", "help"]
TARGET_THROUGHPUT = 0.8
TARGET_TAIL = 3.0


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `voice bench server` (besides bench's own --lang)."""
    add = parser.add_argument
    add("--devices", type=int, default=50, help="server: concurrent devices (default 50)")
    add("--turns", type=int, default=20, help="server: text turns (and Rasa parses) per device")
    add("--audio-turns", type=int, default=3, help="server: timed speech turns per device")
    add("--workers", type=int, default=1, help="server: `voice serve --workers` (>1 needs Redis)")
    add("--redis", metavar="URL", help="server: Redis for --workers > 1 ($VOICE_REDIS_URL)")
    add("--speed", type=float, default=1.0, help="server: audio pace (1 real time, 0 no pause)")
    add("--overload-queue", type=int, default=4, help="server: --max-queue of the overload run")


# -- streamed speech ------------------------------------------------------------------------


async def stream_device(
    result: Result, base: str, token: str, clips: list[bytes], language: str, turns: int,
    speed: float, index: int,
) -> None:  # fmt: skip
    """One device's socket: an untimed first utterance, then `turns` timed ones."""
    headers = {"Authorization": f"Bearer {token}"}
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:
        try:
            async with session.ws_connect(base.replace("http", "ws", 1) + "/v1/stream") as ws:
                inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
                reader = asyncio.create_task(read_messages(ws, inbox))
                try:
                    first = await asyncio.wait_for(inbox.get(), TIMEOUT)
                    if first.get("type") != "ready":
                        result.errors[f"ws {first.get('type')}: {first.get('error')}"[:60]] += 1
                        return
                    for turn in range(turns + 1):
                        clip = clips[(index + turn) % len(clips)]
                        outcome = await utterance(ws, inbox, clip, language, speed, result)
                        if turn:
                            result.add(outcome)
                        elif isinstance(outcome, str) and outcome.startswith("ws "):
                            result.late[f"warm-up {outcome}"] += 1  # shown, not timed
                finally:
                    reader.cancel()
        except (TimeoutError, aiohttp.ClientError, ConnectionResetError) as exc:
            result.errors["timeout" if isinstance(exc, TimeoutError) else type(exc).__name__] += 1


async def read_messages(
    ws: aiohttp.ClientWebSocketResponse, inbox: asyncio.Queue[dict[str, Any]]
) -> None:
    """The server's JSON messages into `inbox` (reply audio frames are dropped)."""
    async for message in ws:
        if message.type == aiohttp.WSMsgType.TEXT:
            inbox.put_nowait(json.loads(message.data))
    inbox.put_nowait({"type": "closed", "error": ws.close_code})


def drain(inbox: asyncio.Queue[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    while not inbox.empty():
        message = inbox.get_nowait()
        if message.get("type") not in ("partial", "audio", "push"):
            found.append(message)
    return found


async def utterance(
    ws: aiohttp.ClientWebSocketResponse, inbox: asyncio.Queue[dict[str, Any]], pcm: bytes,
    language: str, speed: float, result: Result,
) -> tuple[float, float] | str:  # fmt: skip
    """Stream one clip; (end -> turn, end -> audio_end) in seconds, or what went wrong.

    A device stops streaming when the server ends the utterance by itself (its
    endpointer heard the end first): such turns are answered but not timed.
    """
    for late in drain(inbox):  # after the previous reply's end: counted, not hidden
        result.late[f"{late.get('type')}: {late.get('error')}"] += 1
    await ws.send_json({"type": "start", "language": language})
    frame = RATE * 2 * FRAME_MS // 1000
    began = time.perf_counter()
    pending: list[dict[str, Any]] = []
    for number, at in enumerate(range(0, len(pcm), frame)):
        pending += drain(inbox)
        if pending:
            break
        await ws.send_bytes(pcm[at : at + frame])
        delay = began + (number + 1) * FRAME_MS / 1e3 / speed - time.perf_counter() if speed else 0
        if delay > 0:
            await asyncio.sleep(delay)
    early = bool(pending)
    if not early:
        await ws.send_json({"type": "end"})
    ended = time.perf_counter()
    turn_at: float | None = None
    seen: list[str] = []  # told with an error: what came before it
    while True:
        data = pending.pop(0) if pending else await asyncio.wait_for(inbox.get(), TIMEOUT)
        kind = data.get("type")
        seen.append(str(kind))
        if kind == "turn":
            turn_at = time.perf_counter()
        elif kind == "audio_end":
            if turn_at is None:
                return "audio_end without a turn"
            if early:
                return "ended by the server's endpointer before the clip (untimed)"
            return turn_at - ended, time.perf_counter() - ended
        elif kind == "idle":
            return f"idle {data.get('reason')}"
        elif kind in ("error", "closed"):
            before = ",".join(seen[:-1]) or "nothing"
            sent = "" if early else ", end sent"
            return f"ws {kind}: {data.get('error', '')}"[:60] + f" (after {before}{sent})"


def speech_clips(folder: Path, language: str) -> list[bytes]:
    if language != "en":
        return []  # espeak-ng speaks Chinese, but only English has a recogniser here
    (folder / "clips").mkdir()
    return [espeak(text, "en-us", 150, folder / "clips").samples for text in AUDIO_COMMANDS]


# -- the bench --------------------------------------------------------------------------------


@dataclass
class Run:
    """What one bench run measured."""

    results: dict[str, Result]
    flood: Result | None = None
    memory: dict[str, list[tuple[int, int, int]]] = field(default_factory=dict)
    ready: dict[str, float] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)


def bench_server(args: argparse.Namespace) -> int:
    if min(args.devices, args.turns, args.workers) < 1 or args.audio_turns < 0:
        raise VoiceError("--devices, --turns and --workers must be at least 1")
    project = project_of(args)
    model = project.nlu_model_dir(args.lang) / "model.tar.gz"
    if not model.is_file():
        raise VoiceError(f"no {args.lang} NLU model at {model}: run 'voice train' first")
    rasa = shutil.which("rasa", path=str(Path(sys.executable).parent)) or shutil.which("rasa")
    if rasa is None:
        raise VoiceError("the 'rasa' command is not installed in this environment")
    redis = args.redis or os.environ.get("VOICE_REDIS_URL")
    if args.workers > 1 and not redis:
        raise VoiceError("--workers > 1 shares sessions through Redis: give --redis URL")
    sentences = sentences_of(project, args.lang)
    servers: list[ServerProcess] = []

    def server(name: str, command: list[str]) -> ServerProcess:
        port = free_port()
        if command[0] == rasa:
            command += ["--port", str(port)]
        else:  # voice serve
            command = [sys.executable, "-m", "voice_runtime.cli.main", "--project",
                       str(project.root), "serve", "--host", "127.0.0.1", "--port", str(port),
                       *command, *UNLIMITED_RATE, "--workers", str(args.workers)]  # fmt: skip
            command += ["--redis", redis] if args.workers > 1 and redis else []
        servers.append(ServerProcess(name, command, folder / f"{len(servers)}.log", port).start())
        return servers[-1]

    try:
        with tempfile.TemporaryDirectory(prefix="voice-bench-server-") as tmp:
            folder = Path(tmp)
            rasa_model = str(rasa_default_model(model, folder))
            rasa_server = server("rasa run", [rasa, "run", "--enable-api", "--model", rasa_model,
                                              "-i", "127.0.0.1"])  # fmt: skip
            database = f"sqlite:///{folder / 'devices.db'}"
            tokens = register_devices(database, args.devices * OVERLOAD_FACTOR, args.lang)
            flags = ["--max-queue", str(max(32, args.devices))]
            voice = server("voice serve", ["--database", database, *flags])
            clips = speech_clips(folder, args.lang) if args.audio_turns else []
            small = ["--database", database, "--max-queue", str(args.overload_queue)]
            run = asyncio.run(
                measure(args, rasa_server, voice, lambda: server("voice serve", small),
                        tokens, sentences, clips)
            )  # fmt: skip
            run.flags = flags
    finally:
        for process in servers:
            process.stop()
    report(args, sentences, run)
    return 0


async def measure(
    args: argparse.Namespace, rasa: ServerProcess, voice: ServerProcess,
    start_small: Callable[[], ServerProcess], tokens: list[str], sentences: list[str],
    clips: list[bytes],
) -> Run:  # fmt: skip
    """Rasa and voice text turns in alternating blocks, then speech, then the overload run."""
    language: str = args.lang
    devices = tokens[: args.devices]
    names = ("rasa /model/parse", "voice text turn", "voice streamed audio turn")
    run = Run({name: Result(name) for name in names})
    rasa_result, text, speech = run.results.values()
    rasa_clients, voice_clients = clients([None] * len(devices)), clients(devices)
    parse = poster(f"{rasa.base}/model/parse", None, b'"intent"', rasa_result)
    turn = poster(f"{voice.base}/v1/turns", language, b'"speech"', text)
    try:  # untimed warm-ups: the first parses make each side trace its prediction graph
        await voice.wait_ready("/healthz")
        await run_devices(Result(""), turn, voice_clients, sentences, 1, 0)
        small = start_small() if args.overload_queue > 0 else None  # after voice: it may train
        await rasa.wait_ready("/model/parse", {"text": "hello"})
        await run_devices(Result(""), parse, rasa_clients, sentences, 1, 0)
        done = 0
        for block in range(BLOCKS):
            turns = args.turns * (block + 1) // BLOCKS - done
            with timed(rasa_result, rasa):
                await run_devices(rasa_result, parse, rasa_clients, sentences, turns, done)
            with timed(text, voice):
                await run_devices(text, turn, voice_clients, sentences, turns, done)
            done += turns
    finally:
        await close_all(rasa_clients + voice_clients)
    if clips:
        with timed(speech, voice):
            await asyncio.gather(
                *(stream_device(speech, voice.base, t, clips, language, args.audio_turns,
                                args.speed, i) for i, t in enumerate(devices))
            )  # fmt: skip
    else:
        del run.results["voice streamed audio turn"]
    run.memory = {s.name: s.memory() for s in (rasa, voice)}
    run.ready = {s.name: s.ready_after for s in (rasa, voice)}
    if small is not None:
        voice.stop()  # the main server's CPU back for the overload run
        await small.wait_ready("/healthz")
        run.flood = Result("overload")
        flooding = clients(tokens)
        post = poster(f"{small.base}/v1/turns", language, b'"speech"', run.flood)
        try:
            await run_devices(run.flood, post, flooding, sentences, OVERLOAD_TURNS, 0)
        finally:
            await close_all(flooding)
    return run


# -- the report ------------------------------------------------------------------------------


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def report(args: argparse.Namespace, sentences: list[str], run: Run) -> None:
    pace = "no pauses" if args.speed <= 0 else f"{args.speed:g}x real time"
    print(
        f"server bench ({args.lang}): {args.devices} concurrent devices x {args.turns} turns, "
        f"{len(sentences)} sentences of tests/eval/nlu_{args.lang}.jsonl\n"
        f"voice serve --workers {args.workers} {' '.join(run.flags)} (rate limit off); "
        f"rasa run --enable-api on the same model; text turns alternate with rasa in {BLOCKS} "
        f"blocks after a warm-up\nspeech: {args.audio_turns} utterances per device on its "
        f"WebSocket after an untimed one, {pace}, timed from the client's end to the turn\n"
        f"server, client: CPU cores used meanwhile by the server's processes and by this "
        f"load generator ({os.cpu_count()} cores here)\n"
    )
    head = ("requests", "errors", "req/s", "p50 ms", "p99 ms", "p99/p50", "server", "client")
    print(f"{'':26}" + "".join(f"{h:>9}" for h in head))
    for r in run.results.values():
        cells, wall = (r.requests, sum(r.errors.values())), max(r.wall, 1e-9)
        print(
            f"{r.name:26}{cells[0]:9d}{cells[1]:9d}{r.throughput:9.1f}{r.p(0.5):9.1f}"
            f"{r.p(0.99):9.1f}{r.tail:9.2f}{r.server_cpu / wall:9.2f}{r.client_cpu / wall:9.2f}"
        )
    for r in run.results.values():
        for label, counts in (
            ("errors", r.errors),
            ("untimed", r.unanswered),
            ("late messages", r.late),
        ):
            if counts:
                print(f"  {r.name} {label}: " + ", ".join(f"{n} x {k}" for k, n in counts.items()))
    speech = run.results.get("voice streamed audio turn")
    if speech is not None and speech.after:
        after = [percentile(speech.after, q) * 1e3 for q in (0.5, 0.99)]
        print(
            f"  speech, client's end -> last reply audio: "
            f"p50 {after[0]:.1f} ms, p99 {after[1]:.1f} ms"
        )
    elif speech is None and args.audio_turns:
        print(f"  (no speech turns: no {args.lang} recogniser to test with here)")
    rasa, text = run.results["rasa /model/parse"], run.results["voice text turn"]
    ratio = text.throughput / rasa.throughput if rasa.throughput else 0.0
    ok = met(ratio >= TARGET_THROUGHPUT)
    print(
        f"\ntext-turn throughput / rasa parse: {ratio:.2f}x"
        f"   (target >= {TARGET_THROUGHPUT}x: {ok})"
    )
    tails = "; ".join(
        f"{r.name} {r.tail:.2f} {met(r.tail <= TARGET_TAIL)}" for r in run.results.values()
    )
    print(f"p99 <= {TARGET_TAIL:g}x p50: {tails}")
    errors = sum(sum(r.errors.values()) for r in run.results.values())
    print(f"errors below the queue limit: {errors}   (target 0: {met(errors == 0)})")
    for name, rows in run.memory.items():
        sizes = ", ".join(f"pid {p} {rss >> 10} MB (peak {hwm >> 10} MB)" for p, rss, hwm in rows)
        print(f"memory, {name}: {sizes or 'unknown'}; answered {run.ready[name]:.1f} s after start")
    flood = run.flood
    if flood is not None:
        refused = flood.errors.get("HTTP 503", 0)
        others = {k: n for k, n in flood.errors.items() if k != "HTTP 503"}
        only = met(not others and refused == flood.retry_after and refused > 0)
        print(
            f"above the queue limit ({args.devices * OVERLOAD_FACTOR} devices x {OVERLOAD_TURNS} "
            f"turns at once, --max-queue {args.overload_queue}): {flood.requests} requests, "
            f"{len(flood.latencies)} answered, {refused} x 503 ({flood.retry_after} with "
            f"Retry-After), {sum(others.values())} other errors {others or ''}  "
            f"(target: only 503s with Retry-After: {only})"
        )
