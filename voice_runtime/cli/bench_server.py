"""`voice bench server`: the household server under load, beside `rasa run` on the same model.

One run starts, on free loopback ports, `voice serve` (devices registered in a
temporary SQLite database) and `rasa run --enable-api` (the same NLU model).
N concurrent devices then send T sentences each: to Rasa's `POST /model/parse`
and, interleaved in blocks, as whole text turns to `POST /v1/turns`; then the
devices stream espeak-ng speech over `GET /v1/stream` (20 ms PCM frames, real
time by default). Latency is from request to answer (for speech: from the
client's `end` to the server's `turn` message). Last, a second server with a
small queue gets several times the devices at once: it must refuse with 503 and
Retry-After, and fail in no other way.

Rasa loads a copy of the model with DIET's `run_eagerly` reset to Rasa's own
default (`voice train` sets it for fast loading, and `voice` switches prediction
back to a traced graph after loading; plain `rasa run` would predict eagerly,
several times slower), so Rasa's parse is measured at its best.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from ..errors import VoiceError
from ..project import Project
from .bench_speech import espeak, percentile
from .common import project_of

OVERLOAD_FACTOR = 4
OVERLOAD_TURNS = 5
OVERLOAD_QUEUE = 4
BLOCKS = 2  # rasa and voice text turns alternate in this many blocks (shared-machine noise)
FRAME_MS = 20
RATE = 16000
REQUEST_TIMEOUT = 60.0
RASA_START_TIMEOUT = 300.0
VOICE_START_TIMEOUT = 180.0
AUDIO_COMMANDS = ["open baking class", "what is the next lesson", "open car viewing", "help"]
TARGET_THROUGHPUT = 0.8
TARGET_TAIL = 3.0


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `voice bench server` (next to bench's own --lang)."""
    parser.add_argument(
        "--devices", type=int, default=50, help="server: concurrent devices (default 50)"
    )
    parser.add_argument(
        "--turns", type=int, default=20, help="server: text turns (and Rasa parses) per device"
    )
    parser.add_argument(
        "--audio-turns",
        type=int,
        default=3,
        help="server: streamed speech turns per device (after one untimed warm-up turn)",
    )
    parser.add_argument("--workers", type=int, default=1, help="server: `voice serve --workers`")
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="server: audio pace, 1 = real time, 2 = twice as fast, 0 = as fast as possible",
    )
    parser.add_argument(
        "--overload-queue",
        type=int,
        default=OVERLOAD_QUEUE,
        help=f"server: --max-queue of the overload run ({OVERLOAD_FACTOR}x the devices; "
        "0 skips it)",
    )


# -- results --------------------------------------------------------------------------------


@dataclass
class Result:
    """The requests of one kind: latencies of the answered ones, failures by kind."""

    name: str
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    wall: float = 0.0  # seconds of load, summed over the blocks
    notes: Counter[str] = field(default_factory=Counter)
    after: list[float] = field(default_factory=list)  # speech: end -> last reply audio

    @property
    def requests(self) -> int:
        return len(self.latencies) + sum(self.errors.values())

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    def p(self, q: float) -> float:
        return percentile(self.latencies, q) * 1e3 if self.latencies else float("nan")


def error_kind(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout"
    return type(exc).__name__


# -- the servers, as subprocesses -----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """A server started in its own process group; `stop` ends the group, always."""

    def __init__(self, name: str, command: list[str], log: Path, port: int) -> None:
        self.name = name
        self.command = command
        self.log = log
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.ready_after = 0.0

    def start(self) -> ServerProcess:
        env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3")
        with open(self.log, "wb") as log:
            self.started = time.perf_counter()
            self.process = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # its own group: workers end with it
            )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def failure(self, what: str) -> VoiceError:
        tail = self.log.read_text("utf-8", "replace").strip().splitlines()[-15:]
        return VoiceError(f"{self.name} {what}; the end of its log:\n  " + "\n  ".join(tail))

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                return
            try:
                process.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def pids(self) -> list[int]:
        """The process and its descendants (a multi-worker server's workers)."""
        if self.process is None:
            return []
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        found = [self.process.pid]
        for pid in found:
            found.extend(child for child, parent in parents.items() if parent == pid)
        return found

    def memory(self) -> list[tuple[int, int, int]]:
        """(pid, VmRSS kB, VmHWM kB) of each process of the server."""
        rows = []
        for pid in self.pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            values = {
                k: int(v.split()[0])
                for k, v in (line.split(":", 1) for line in status.splitlines() if ":" in line)
                if k in ("VmRSS", "VmHWM")
            }
            rows.append((pid, values.get("VmRSS", 0), values.get("VmHWM", 0)))
        return rows


async def wait_ready(
    server: ServerProcess, probe: Callable[[aiohttp.ClientSession], Awaitable[bool]], limit: float
) -> None:
    deadline = time.perf_counter() + limit
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        while time.perf_counter() < deadline:
            if not server.alive():
                raise server.failure("exited before it was ready")
            try:
                if await probe(session):
                    server.ready_after = time.perf_counter() - server.started
                    return
            except (TimeoutError, aiohttp.ClientError):
                pass
            await asyncio.sleep(0.5)
    raise server.failure(f"did not answer within {limit:.0f} s")


async def rasa_probe(base: str, session: aiohttp.ClientSession) -> bool:
    async with session.post(f"{base}/model/parse", json={"text": "hello"}) as response:
        return response.status == 200 and "intent" in await response.json()


async def voice_probe(base: str, session: aiohttp.ClientSession) -> bool:
    async with session.get(f"{base}/healthz") as response:
        return response.status == 200


def rasa_default_model(model: Path, folder: Path) -> Path:
    """A copy of the model archive with DIET's `run_eagerly` back to Rasa's default."""
    unpacked = folder / "rasa-model"
    with tarfile.open(model, "r:gz") as source:
        source.extractall(unpacked, filter="data")
    metadata_path = unpacked / "metadata.json"
    metadata = json.loads(metadata_path.read_text("utf-8"))
    for node in metadata["predict_schema"]["nodes"].values():
        if node["uses"].endswith("DIETClassifier"):
            node["config"]["run_eagerly"] = False
    metadata_path.write_text(json.dumps(metadata), "utf-8")
    target = folder / "rasa-model.tar.gz"
    with tarfile.open(target, "w:gz") as packed:
        for item in sorted(unpacked.iterdir()):
            packed.add(item, arcname=item.name)
    return target


# -- the load ---------------------------------------------------------------------------------


def sentences_of(project: Project, language: str) -> list[str]:
    """The NLU evaluation sentences: unseen by the model, so no exact-match shortcut."""
    path = project.root / "tests" / "eval" / f"nlu_{language}.jsonl"
    if not path.is_file():
        raise VoiceError(f"no evaluation sentences at {path}")
    lines = path.read_text("utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in lines if line.strip()]
    if not texts:
        raise VoiceError(f"no evaluation sentences in {path}")
    return texts


RequestMaker = Callable[[aiohttp.ClientSession, str], Awaitable[tuple[int, str | None]]]


async def run_devices(
    result: Result,
    make: RequestMaker,
    sessions: Sequence[aiohttp.ClientSession],
    sentences: list[str],
    turns: int,
    offset: int,
) -> None:
    """Every device at once, `turns` requests each, back to back; adds to `result`."""

    async def device(index: int, session: aiohttp.ClientSession) -> None:
        for turn in range(turns):
            text = sentences[(index * 7 + offset + turn) % len(sentences)]
            start = time.perf_counter()
            try:
                status, problem = await make(session, text)
            except (TimeoutError, aiohttp.ClientError) as exc:
                result.errors[error_kind(exc)] += 1
                continue
            if problem is None:
                result.latencies.append(time.perf_counter() - start)
            else:
                result.errors[problem] += 1

    start = time.perf_counter()
    await asyncio.gather(*(device(i, s) for i, s in enumerate(sessions)))
    result.wall += time.perf_counter() - start


def rasa_parse(base: str) -> RequestMaker:
    async def make(session: aiohttp.ClientSession, text: str) -> tuple[int, str | None]:
        async with session.post(f"{base}/model/parse", json={"text": text}) as response:
            body = await response.read()
            if response.status != 200:
                return response.status, f"HTTP {response.status}"
            return 200, None if b'"intent"' in body else "no intent"

    return make


def voice_turn(base: str, language: str, retry_after: Counter[str] | None = None) -> RequestMaker:
    async def make(session: aiohttp.ClientSession, text: str) -> tuple[int, str | None]:
        body = {"text": text, "language": language}
        async with session.post(f"{base}/v1/turns", json=body) as response:
            data = await response.read()
            if response.status != 200:
                if retry_after is not None and response.headers.get("Retry-After"):
                    retry_after[str(response.status)] += 1
                return response.status, f"HTTP {response.status}"
            return 200, None if b'"speech"' in data else "no speech in the answer"

    return make


def client_sessions(tokens: Sequence[str]) -> list[aiohttp.ClientSession]:
    """One HTTP client per device (its own keep-alive connection), bounded by a timeout."""
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    return [
        aiohttp.ClientSession(
            timeout=timeout,
            headers={"Authorization": f"Bearer {t}"} if t else None,
            connector=aiohttp.TCPConnector(limit=1),
        )
        for t in tokens
    ]


async def close_all(sessions: Sequence[aiohttp.ClientSession]) -> None:
    await asyncio.gather(*(s.close() for s in sessions))


# -- streamed speech ----------------------------------------------------------------------------


async def stream_device(
    result: Result,
    base: str,
    token: str,
    clips: list[bytes],
    language: str,
    turns: int,
    speed: float,
    index: int,
) -> None:
    """One device's socket: one untimed warm-up utterance, then `turns` timed ones."""
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT * (turns + 2))
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:
        try:
            async with session.ws_connect(f"{base.replace('http', 'ws', 1)}/v1/stream") as ws:
                first = await ws.receive_json(timeout=REQUEST_TIMEOUT)
                if first.get("type") != "ready":
                    result.errors[f"ws {first.get('type')}: {first.get('error', '')}"[:60]] += 1
                    return
                for turn in range(turns + 1):
                    clip = clips[(index + turn) % len(clips)]
                    outcome = await utterance(ws, clip, language, speed)
                    if turn == 0:
                        continue
                    if isinstance(outcome, str):
                        target = result.notes if outcome.startswith("idle") else result.errors
                        target[outcome] += 1
                    else:
                        result.latencies.append(outcome[0])
                        result.after.append(outcome[1])
        except (TimeoutError, aiohttp.ClientError) as exc:
            result.errors[error_kind(exc)] += 1


async def utterance(
    ws: aiohttp.ClientWebSocketResponse, pcm: bytes, language: str, speed: float
) -> tuple[float, float] | str:
    """Stream one clip; (end -> turn, end -> audio_end) seconds, or what went wrong."""
    await ws.send_json({"type": "start", "language": language})
    frame = RATE * 2 * FRAME_MS // 1000
    began = time.perf_counter()
    for number, at in enumerate(range(0, len(pcm), frame)):
        await ws.send_bytes(pcm[at : at + frame])
        if speed > 0:
            delay = began + (number + 1) * FRAME_MS / 1000 / speed - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
    await ws.send_json({"type": "end"})
    ended = time.perf_counter()
    turn_at: float | None = None
    while True:
        message = await ws.receive(timeout=REQUEST_TIMEOUT)
        if message.type == aiohttp.WSMsgType.BINARY:
            continue
        if message.type != aiohttp.WSMsgType.TEXT:
            return f"ws closed ({message.type.name} {ws.close_code})"
        data = json.loads(message.data)
        kind = data.get("type")
        if kind == "turn":
            turn_at = time.perf_counter()
        elif kind == "audio_end":
            if turn_at is None:
                return "audio_end without a turn"
            return max(0.0, turn_at - ended), time.perf_counter() - ended
        elif kind == "idle":
            return f"idle {data.get('reason')}"
        elif kind == "error":
            return f"ws error: {data.get('error', '')}"[:60]


# -- the bench -------------------------------------------------------------------------------


def register_devices(url: str, count: int, language: str) -> list[str]:
    from ..store.database import open_database
    from ..store.devices import DeviceRegistry

    engine = open_database(url)
    try:
        registry = DeviceRegistry(engine)
        return [
            registry.add(
                f"bench{i:03d}",
                "speaker",
                f"Bench speaker {i}",
                None,
                None,
                language,
                f"bench-speaker-{i:03d}",
            )[1]
            for i in range(count)
        ]
    finally:
        engine.dispose()


def voice_command(
    project: Project, port: int, database: str, workers: int, *extra: str
) -> list[str]:
    return [
        sys.executable, "-m", "voice_runtime.cli.main", "--project", str(project.root),
        "serve", "--host", "127.0.0.1", "--port", str(port), "--database", database,
        "--workers", str(workers), *extra,
    ]  # fmt: skip


def bench_server(args: argparse.Namespace) -> int:
    if args.devices < 1 or args.turns < 1 or args.audio_turns < 0 or args.workers < 1:
        raise VoiceError("--devices, --turns and --workers must be at least 1, --audio-turns 0+")
    project = project_of(args)
    language: str = args.lang
    model = project.nlu_model_dir(language) / "model.tar.gz"
    if not model.is_file():
        raise VoiceError(f"no {language} NLU model at {model}: run 'voice train' first")
    rasa = shutil.which("rasa", path=str(Path(sys.executable).parent)) or shutil.which("rasa")
    if rasa is None:
        raise VoiceError("the 'rasa' command is not installed in this environment")
    sentences = sentences_of(project, language)
    overload = args.overload_queue > 0
    servers: list[ServerProcess] = []
    try:
        with tempfile.TemporaryDirectory(prefix="voice-bench-server-") as tmp:
            folder = Path(tmp)
            port = free_port()
            rasa_server = ServerProcess(
                "rasa run",
                [rasa, "run", "--enable-api", "--model", str(rasa_default_model(model, folder)),
                 "-i", "127.0.0.1", "--port", str(port)],
                folder / "rasa.log", port,
            ).start()  # fmt: skip
            servers.append(rasa_server)
            database = f"sqlite:///{folder / 'devices.db'}"
            count = args.devices * (OVERLOAD_FACTOR if overload else 1)
            tokens = register_devices(database, count, language)
            port = free_port()
            voice = ServerProcess(
                "voice serve",
                voice_command(project, port, database, args.workers),
                folder / "voice.log",
                port,
            ).start()
            servers.append(voice)
            clips = speech_clips(folder, language) if args.audio_turns else []
            results = asyncio.run(
                measure(args, rasa_server, voice, tokens[: args.devices], sentences, clips)
            )
            memory = {s.name: s.memory() for s in (rasa_server, voice)}
            ready = {s.name: s.ready_after for s in (rasa_server, voice)}
            voice.stop()
            flood: Result | None = None
            retry: Counter[str] = Counter()
            if overload:
                port = free_port()
                queue = str(args.overload_queue)
                flooded = ServerProcess(
                    "voice serve (small queue)",
                    voice_command(project, port, database, args.workers, "--max-queue", queue),
                    folder / "voice-flood.log",
                    port,
                ).start()
                servers.append(flooded)
                flood = asyncio.run(flood_server(flooded, tokens, sentences, language, retry))
    finally:
        for server in servers:
            server.stop()
    report(args, sentences, results, memory, ready, flood, retry)
    return 0


def speech_clips(folder: Path, language: str) -> list[bytes]:
    if language != "en":
        return []  # espeak-ng speaks Chinese, but only English has a recogniser here
    directory = folder / "clips"
    directory.mkdir()
    return [espeak(text, "en-us", 150, directory).samples for text in AUDIO_COMMANDS]


async def measure(
    args: argparse.Namespace,
    rasa_server: ServerProcess,
    voice: ServerProcess,
    tokens: list[str],
    sentences: list[str],
    clips: list[bytes],
) -> dict[str, Result]:
    """Rasa parses and voice text turns in alternating blocks, then streamed speech."""
    language: str = args.lang
    await asyncio.gather(
        wait_ready(rasa_server, lambda s: rasa_probe(rasa_server.base, s), RASA_START_TIMEOUT),
        wait_ready(voice, lambda s: voice_probe(voice.base, s), VOICE_START_TIMEOUT),
    )
    rasa = Result("rasa /model/parse")
    text = Result("voice text turn (POST /v1/turns)")
    speech = Result("voice streamed audio turn")
    rasa_clients = client_sessions([""] * len(tokens))
    voice_clients = client_sessions(tokens)
    try:
        # warm-up (untimed): the first parses trace the model's prediction graph
        await run_devices(Result(""), rasa_parse(rasa_server.base), rasa_clients, sentences, 1, 0)
        make = voice_turn(voice.base, language)
        await run_devices(Result(""), make, voice_clients, sentences, 1, 0)
        done = 0
        for block in range(BLOCKS):
            turns = args.turns * (block + 1) // BLOCKS - done
            parse = rasa_parse(rasa_server.base)
            await run_devices(rasa, parse, rasa_clients, sentences, turns, done)
            await run_devices(text, make, voice_clients, sentences, turns, done)
            done += turns
    finally:
        await close_all(rasa_clients + voice_clients)
    results = {"rasa": rasa, "text": text}
    if clips and args.audio_turns:
        start = time.perf_counter()
        await asyncio.gather(
            *(
                stream_device(
                    speech, voice.base, t, clips, language, args.audio_turns, args.speed, i
                )
                for i, t in enumerate(tokens)
            )
        )
        speech.wall = time.perf_counter() - start
        results["speech"] = speech
    return results


async def flood_server(
    server: ServerProcess,
    tokens: list[str],
    sentences: list[str],
    language: str,
    retry: Counter[str],
) -> Result:
    """Every device at once against a small queue: answers and 503s, nothing else."""
    await wait_ready(server, lambda s: voice_probe(server.base, s), VOICE_START_TIMEOUT)
    clients = client_sessions(tokens)
    flood = Result("overload")
    try:
        await run_devices(
            flood, voice_turn(server.base, language, retry), clients, sentences, OVERLOAD_TURNS, 0
        )
    finally:
        await close_all(clients)
    return flood


# -- the report ------------------------------------------------------------------------------


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def report(
    args: argparse.Namespace,
    sentences: list[str],
    results: dict[str, Result],
    memory: dict[str, list[tuple[int, int, int]]],
    ready: dict[str, float],
    flood: Result | None,
    retry: Counter[str],
) -> None:
    pace = "as fast as possible" if args.speed <= 0 else f"{args.speed:g}x real time"
    print(
        f"server bench ({args.lang}): {args.devices} concurrent devices x {args.turns} turns, "
        f"{len(sentences)} sentences of tests/eval/nlu_{args.lang}.jsonl; "
        f"voice serve --workers {args.workers}"
    )
    print(
        f"(rasa and voice text turns alternate in {BLOCKS} blocks after an untimed warm-up; "
        f"speech: {args.audio_turns} utterances per device over its WebSocket, {pace}, "
        "timed from the client's end to the turn)"
    )
    print(f"{'':34} {'requests':>8} {'errors':>6} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'p99/p50':>7}")  # fmt: skip
    for result in results.values():
        p50, p99 = result.p(0.5), result.p(0.99)
        print(
            f"{result.name:34} {result.requests:8d} {sum(result.errors.values()):6d} "
            f"{result.throughput:7.1f} {p50:8.1f} {p99:8.1f} {p99 / p50:7.2f}"
        )
    for result in results.values():
        if result.errors:
            kinds = ", ".join(f"{n} x {k}" for k, n in result.errors.most_common())
            print(f"  {result.name} errors: {kinds}")
        if result.notes:
            kinds = ", ".join(f"{n} x {k}" for k, n in result.notes.most_common())
            print(f"  {result.name} unanswered: {kinds}")
    speech = results.get("speech")
    if speech is not None and speech.after:
        print(
            f"  speech, client's end -> last reply audio frame: p50 "
            f"{percentile(speech.after, 0.5) * 1e3:.1f} ms, p99 "
            f"{percentile(speech.after, 0.99) * 1e3:.1f} ms"
        )
    elif args.audio_turns and speech is None:
        print(f"  (no streamed audio turns: no {args.lang} recogniser to test with here)")
    rasa, text = results["rasa"], results["text"]
    ratio = text.throughput / rasa.throughput if rasa.throughput else 0.0
    print(
        f"text-turn throughput / rasa parse throughput: {ratio:.2f}x   "
        f"(target >= {TARGET_THROUGHPUT}x: {met(ratio >= TARGET_THROUGHPUT)})"
    )
    tails = "; ".join(
        f"{r.name.split(' (')[0]} {r.p(0.99) / r.p(0.5):.2f}x {met(r.p(0.99) <= 3 * r.p(0.5))}"
        for r in results.values()
        if r.latencies
    )
    print(f"p99 <= {TARGET_TAIL:g}x p50: {tails}")
    errors = sum(sum(r.errors.values()) for r in results.values())
    print(f"errors below the queue limit: {errors}   (target 0: {met(errors == 0)})")
    for name, rows in memory.items():
        parts = ", ".join(
            f"pid {p} {rss / 1024:.0f} MB (peak {hwm / 1024:.0f} MB)" for p, rss, hwm in rows
        )
        print(f"memory, {name}: {parts or 'unknown'}; ready {ready[name]:.1f} s after start")
    if flood is not None:
        refused = flood.errors.get("HTTP 503", 0)
        others = sum(n for k, n in flood.errors.items() if k != "HTTP 503")
        only_503 = others == 0 and refused == retry.get("503", 0)
        print(
            f"above the queue limit ({len(flood.latencies) + sum(flood.errors.values())} requests: "
            f"{args.devices * OVERLOAD_FACTOR} devices x {OVERLOAD_TURNS} turns at once, "
            f"--max-queue {args.overload_queue}): {len(flood.latencies)} answered, "
            f"{refused} x 503 ({retry.get('503', 0)} with Retry-After), {others} other errors"
            + (f" ({dict(flood.errors)})" if others else "")
            + f"   (target: only 503s with Retry-After: {met(only_503)})"
        )
