"""GET /v1/stream for real: the server on loopback, the trained English model, the
PocketSphinx recogniser and espeak-ng speech streamed in 20 ms frames.

`LiveServer` (an aiohttp server on an event loop in a background thread, devices
in SQLite, sessions in memory) is shared with test_screen.py and
test_device_client.py.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import numpy as np
import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer
from conftest import DEMO_SECRETS

from voice_runtime.audio.resample import to_16k_mono
from voice_runtime.audio.wav import read_wav
from voice_runtime.dialog.router import Assistant
from voice_runtime.nlu.engine import NluEngine
from voice_runtime.nlu.result import NluResult
from voice_runtime.people import Device
from voice_runtime.project import Project
from voice_runtime.server import REGISTRY, WEBSOCKETS, ServerSettings, create_app
from voice_runtime.server.recognizers import recognizer_pool
from voice_runtime.server.stream import MAX_UTTERANCE_SECONDS
from voice_runtime.services.caller import ServiceCaller
from voice_runtime.services.client import ServiceClient
from voice_runtime.services.demo import DEMO_BASE, DemoServices
from voice_runtime.services.policy import ServicePolicy
from voice_runtime.skills.catalog import Catalog

T = TypeVar("T")
FRAME = 640  # 20 ms of 16 kHz 16-bit mono
Message = dict[str, Any] | bytes


# -- a live server -----------------------------------------------------------------------


class LiveServer:
    """The real app on 127.0.0.1, on an event loop of its own in a background thread."""

    def __init__(self, assistant: Assistant, directory: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        settings = ServerSettings(
            database_url=f"sqlite:///{directory / 'voice.db'}", languages=("en",), burst=50
        )

        async def start() -> TestServer:
            server = TestServer(create_app(assistant, settings), host="127.0.0.1", port=0)
            await server.start_server()
            return server

        self.server = self.run(start(), timeout=600)
        self.app: web.Application = self.server.app

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 120.0) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def add_device(self, user: str, type: str, name: str = "") -> tuple[Device, str]:
        device, token = self.app[REGISTRY].add(user, type, name=name)
        return device, token

    def open_streams(self) -> int:
        return len(self.app[WEBSOCKETS])

    def close(self) -> None:
        self.run(self.server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def live_assistant(project: Project, catalog: Catalog, demo: DemoServices) -> Assistant:
    """The real assistant (trained models, the demo brands' services on loopback)."""
    client = ServiceClient(ServicePolicy(allow_private=True))
    caller = ServiceCaller(b"test-salt", client, rewrite={DEMO_BASE: demo.base}, env=DEMO_SECRETS)
    return Assistant(catalog, NluEngine(project, catalog, auto_train=False), services=caller)


@pytest.fixture(scope="module")
def live(
    project: Project,
    catalog: Catalog,
    demo_services: DemoServices,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    server = LiveServer(
        live_assistant(project, catalog, demo_services), tmp_path_factory.mktemp("stream")
    )
    yield server
    server.close()


def speech_pcm(directory: Path, text: str) -> bytes:
    """espeak-ng speech of `text` as 16 kHz 16-bit mono PCM."""
    path = directory / f"{abs(hash(text))}.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), text], check=True)
    return to_16k_mono(read_wav(path)).samples


def silence(seconds: float) -> bytes:
    return b"\0\0" * int(16000 * seconds)


# -- a client ----------------------------------------------------------------------------


class Client:
    """One device's stream, with everything it received."""

    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse):
        self.session = session
        self.ws = ws
        self.received: list[Message] = []

    @classmethod
    async def connect(cls, live: LiveServer, token: str) -> Client:
        session = aiohttp.ClientSession()
        ws = await session.ws_connect(
            f"{live.url}/v1/stream", headers={"Authorization": f"Bearer {token}"}
        )
        return cls(session, ws)

    async def send(self, **message: Any) -> None:
        await self.ws.send_json(message)

    async def stream(self, pcm: bytes) -> None:
        for offset in range(0, len(pcm), FRAME):
            await self.ws.send_bytes(pcm[offset : offset + FRAME])

    async def next(self, timeout: float = 60.0) -> Message | None:
        """The next message (a dict or audio bytes); None once the socket closed."""
        message = await self.ws.receive(timeout)
        if message.type == WSMsgType.TEXT:
            item: Message = json.loads(message.data)
        elif message.type == WSMsgType.BINARY:
            item = message.data
        else:
            return None
        self.received.append(item)
        return item

    async def until(self, *kinds: str, timeout: float = 60.0) -> dict[str, Any]:
        """Read until a message of one of `kinds` (returned)."""
        deadline = time.monotonic() + timeout
        while True:
            item = await self.next(max(deadline - time.monotonic(), 0.1))
            if item is None:
                raise AssertionError(f"closed ({self.ws.close_code}) before {kinds}: {self.kinds}")
            if isinstance(item, dict) and item.get("type") in kinds:
                return item

    @property
    def kinds(self) -> list[str]:
        return [m["type"] if isinstance(m, dict) else "<pcm>" for m in self.received]

    async def close(self) -> None:
        await self.ws.close()
        await self.session.close()


# -- the tests ---------------------------------------------------------------------------


def test_spoken_utterance_gives_transcript_turn_and_audio_in_order(
    live: LiveServer, tmp_path: Path
) -> None:
    _, token = live.add_device("stream-alice", "speaker", name="Kitchen speaker")
    said = speech_pcm(tmp_path, "open baking class")

    async def scenario() -> list[Message]:
        client = await Client.connect(live, token)
        try:
            ready = await client.until("ready")
            assert ready["device"].startswith("speaker-")
            await client.send(type="start", language="en", wake=False)
            await client.stream(silence(0.5) + said + silence(1.2))
            await client.until("audio_end")
            return client.received
        finally:
            await client.close()

    received = live.run(scenario())
    kinds = [m["type"] if isinstance(m, dict) else "<pcm>" for m in received]
    first = kinds.index("transcript")
    assert set(kinds[1:first]) <= {"partial"}, kinds
    assert kinds[first + 1] == "turn" and kinds[-1] == "audio_end", kinds
    transcript, turn = received[first], received[first + 1]
    assert isinstance(transcript, dict) and isinstance(turn, dict)
    assert transcript["text"] == "open baking class"
    assert turn["skill"] == "anchor_baking" and turn["intent"] == "open_skill"
    assert turn["speech"].startswith("Welcome to Anchor Baking Class")
    assert turn["card"] is None  # a speaker has no screen
    audio = kinds[first + 2 : -1]
    assert audio == ["audio", "<pcm>"] * (len(audio) // 2) and len(audio) >= 4, kinds
    headers = [m for m in received if isinstance(m, dict) and m["type"] == "audio"]
    assert [h["index"] for h in headers] == list(range(len(headers)))
    assert all(h["format"] == "s16le" and h["rate"] > 8000 for h in headers)
    frames = [m for m in received if isinstance(m, bytes)]
    assert all(len(f) % 2 == 0 and len(f) / 2 / headers[0]["rate"] > 0.3 for f in frames)


def test_wake_phrase_is_required_when_asked(live: LiveServer, tmp_path: Path) -> None:
    _, token = live.add_device("stream-wake", "speaker")
    woken = speech_pcm(tmp_path, "hey assistant open car viewing")
    plain = speech_pcm(tmp_path, "open car viewing")

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        client = await Client.connect(live, token)
        try:
            await client.until("ready")
            await client.send(type="start", language="en", wake=True)
            await client.stream(silence(0.3) + plain + silence(1.2))
            ignored = await client.until("idle")
            await client.send(type="start", language="en", wake=True)
            await client.stream(silence(0.3) + woken)
            await client.send(type="end")  # the client ends it before any trailing silence
            transcript = await client.until("transcript")
            turn = await client.until("turn")
            await client.until("audio_end")
            return ignored, transcript, turn
        finally:
            await client.close()

    ignored, transcript, turn = live.run(scenario())
    assert ignored["reason"] == "no_wake"
    assert transcript["text"] == "hey assistant open car viewing"
    assert turn["skill"] == "star_motors_cars" and turn["text"] == "open car viewing"


def test_text_turn_over_the_socket(live: LiveServer) -> None:
    _, token = live.add_device("stream-bob", "tv", name="Living room TV")

    async def scenario() -> list[Message]:
        client = await Client.connect(live, token)
        try:
            await client.until("ready")
            await client.send(type="text", text="open car viewing", audio=False)
            await client.until("audio_end")
            return client.received
        finally:
            await client.close()

    received = live.run(scenario())
    assert [m["type"] for m in received if isinstance(m, dict)] == ["ready", "turn", "audio_end"]
    turn = received[1]
    assert isinstance(turn, dict)
    assert turn["skill"] == "star_motors_cars"
    assert turn["card"]["title"] == "Star Motors Car Viewing"  # a TV has a screen


def test_a_spoken_answer_is_heard_against_the_question(live: LiveServer, tmp_path: Path) -> None:
    """Asked for a dish, "gong bao chicken" is decoded with the dishes weighted up (alone,
    the skill-biased recogniser hears espeak-ng's "gong bao chicken" as "go on chicken")."""
    _, token = live.add_device("stream-dave", "speaker")
    said = speech_pcm(tmp_path, "gong bao chicken")
    pool = recognizer_pool(live.app)

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        client = await Client.connect(live, token)
        try:
            await client.until("ready")
            for text in ("open golden wok", "how do I cook something"):
                await client.send(type="text", text=text, audio=False)
                await client.until("audio_end")
            await client.send(type="start", language="en", wake=False)
            await client.stream(silence(0.5) + said + silence(1.2))
            transcript = await client.until("transcript")
            turn = await client.until("turn")
            await client.until("audio_end")
            return transcript, turn
        finally:
            await client.close()

    transcript, turn = live.run(scenario())
    assert transcript["text"] == "gong bao chicken"
    assert turn["slots"].get("dish") == "kung_pao_chicken", turn
    deadline = time.monotonic() + 20
    while pool.lent and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pool.lent == 0
    idle = [r for kept in pool._idle.values() for r in kept]
    assert idle and all(r.expected is None for r in idle)  # the next device asked nothing


def test_speech_that_is_no_command_gets_no_turn(live: LiveServer, tmp_path: Path) -> None:
    _, token = live.add_device("stream-fran", "speaker")
    said = speech_pcm(tmp_path, "my grandmother grew tomatoes in her garden every summer")

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        client = await Client.connect(live, token)
        try:
            await client.until("ready")
            await client.send(type="start", language="en", wake=False)
            await client.stream(silence(0.5) + said + silence(1.2))
            return await client.until("transcript"), await client.until("idle")
        finally:
            await client.close()

    transcript, idle = live.run(scenario())
    assert transcript["text"] and transcript["confidence"] < 0.35, transcript
    assert idle["reason"] == "not_a_command"


def test_a_noise_burst_does_not_end_the_utterance(live: LiveServer, tmp_path: Path) -> None:
    """Clatter without words starts an utterance; the server listens on for the speech
    instead of answering "not heard"."""
    _, token = live.add_device("stream-gus", "speaker")
    rng = np.random.default_rng(4)
    clatter = np.round(rng.standard_normal(4800) * 3000).astype("<i2").tobytes()
    said = speech_pcm(tmp_path, "open baking class")

    async def scenario() -> list[Message]:
        client = await Client.connect(live, token)
        try:
            await client.until("ready")
            await client.send(type="start", language="en", wake=False)
            await client.stream(silence(0.5) + clatter + silence(1.0) + said + silence(1.2))
            await client.until("turn", "idle")
            return client.received
        finally:
            await client.close()

    received = live.run(scenario())
    first = next(m for m in received if isinstance(m, dict) and m["type"] in ("transcript", "idle"))
    assert first["type"] == "transcript" and first["text"] == "open baking class", first


def test_bad_messages_get_an_error_and_the_socket_stays_open(live: LiveServer) -> None:
    _, token = live.add_device("stream-carol", "speaker")

    async def scenario() -> tuple[list[str], dict[str, Any]]:
        client = await Client.connect(live, token)
        try:
            await client.until("ready")
            errors = []
            for bad in ("{not json", '["start"]', '{"type": "dance"}', '{"type": "end"}'):
                await client.ws.send_str(bad)
                errors.append((await client.until("error"))["error"])
            await client.ws.send_bytes(silence(0.02))  # audio before start
            errors.append((await client.until("error"))["error"])
            await client.send(type="start", language="xx")
            errors.append((await client.until("error"))["error"])
            await client.send(type="text", text="help", audio=False)
            return errors, await client.until("turn")
        finally:
            await client.close()

    errors, turn = live.run(scenario())
    assert errors[0].startswith("invalid JSON")
    assert "JSON object" in errors[1]
    assert "unknown message type 'dance'" in errors[2]
    assert errors[3] == "end without start"
    assert errors[4].startswith("audio before start")
    assert "unknown language 'xx'" in errors[5]
    assert all("\n" not in e for e in errors)
    assert turn["intent"] == "help"  # still open and answering


def test_an_end_crossing_a_cancel_on_the_wire_is_no_error(live: LiveServer) -> None:
    _, token = live.add_device("stream-erin", "speaker")

    async def scenario() -> list[str]:
        client = await Client.connect(live, token)
        try:
            await client.until("ready")
            await client.send(type="start", language="en")
            await client.ws.send_bytes(silence(0.1))
            await client.send(type="cancel")
            await client.send(type="end")  # sent before the device heard of its cancel
            await client.send(type="text", text="help", audio=False)
            await client.until("turn")
            return client.kinds
        finally:
            await client.close()

    kinds = live.run(scenario())
    assert "error" not in kinds, kinds


def test_too_much_audio_closes_with_1009(live: LiveServer) -> None:
    _, token = live.add_device("stream-dave", "speaker")

    async def scenario() -> tuple[int | None, list[str]]:
        client = await Client.connect(live, token)
        try:
            await client.until("ready")
            await client.send(type="start", language="en", endpoint=False)
            second = silence(1.0)
            for _ in range(int(MAX_UTTERANCE_SECONDS) + 2):
                if client.ws.closed:
                    break
                await client.ws.send_bytes(second)
            while await client.next(30) is not None:
                pass
            return client.ws.close_code, client.kinds
        finally:
            await client.close()

    code, kinds = live.run(scenario())
    assert code == 1009, kinds


def test_closing_mid_utterance_leaks_nothing(live: LiveServer, tmp_path: Path) -> None:
    _, token = live.add_device("stream-erin", "speaker")
    said = speech_pcm(tmp_path, "open baking class")
    pool = recognizer_pool(live.app)

    async def scenario() -> None:
        for _ in range(3):
            client = await Client.connect(live, token)
            await client.until("ready")
            await client.send(type="start", language="en")
            await client.stream(said[: len(said) // 2])  # half a sentence, then gone
            await client.session.close()  # the connection drops without a close frame
            deadline = time.monotonic() + 20
            while pool.lent and time.monotonic() < deadline:  # given back, then reused
                await asyncio.sleep(0.05)

    live.run(scenario())
    deadline = time.monotonic() + 20
    while (live.open_streams() or pool.lent) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live.open_streams() == 0 and pool.lent == 0
    assert pool.created <= 2  # reused, not one per connection

    async def metrics() -> str:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{live.url}/metrics") as response,
        ):
            return await response.text()

    assert "voice_open_streams 0.0" in live.run(metrics())


def test_a_push_reaches_the_tv_when_the_speaker_hands_over(
    live: LiveServer, tmp_path: Path
) -> None:
    """The speaker opens Baking Class by voice, then says "continue on the TV" (sent as
    text on its socket: see the next test for the spoken form)."""
    _, speaker_token = live.add_device("stream-frank", "speaker", name="Kitchen speaker")
    _, tv_token = live.add_device("stream-frank", "tv", name="Living room TV")
    opened = speech_pcm(tmp_path, "open baking class")

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        speaker = await Client.connect(live, speaker_token)
        tv = await Client.connect(live, tv_token)
        try:
            await speaker.until("ready")
            await tv.until("ready")
            await speaker.send(type="start", language="en")
            await speaker.stream(silence(0.3) + opened + silence(1.2))
            assert (await speaker.until("turn"))["skill"] == "anchor_baking", speaker.kinds
            await speaker.until("audio_end")
            await speaker.send(type="text", text="continue on the TV")
            turn = await speaker.until("turn")
            push = await tv.until("push", timeout=30)
            await speaker.until("audio_end")
            return turn, push
        finally:
            await speaker.close()
            await tv.close()

    turn, push = live.run(scenario())
    assert turn["intent"] == "handoff" and turn["handoff"].startswith("tv-")
    assert turn["speech"] == "Okay, continuing on Living room TV."
    assert push["reason"] == "handoff"
    assert push["turn"]["skill"] == "anchor_baking"
    assert push["turn"]["card"]["title"] == "Anchor Baking Class"  # shown on the TV's screen


def test_continue_on_the_tv_is_heard(live: LiveServer, tmp_path: Path) -> None:
    _, token = live.add_device("stream-frank2", "speaker")
    handover = speech_pcm(tmp_path, "continue on the TV")

    async def scenario() -> dict[str, Any]:
        client = await Client.connect(live, token)
        try:
            await client.until("ready")
            await client.send(type="start", language="en")
            await client.stream(silence(0.3) + handover + silence(1.2))
            return await client.until("transcript")
        finally:
            await client.close()

    assert live.run(scenario())["text"] == "continue on the tv"


def test_bad_token_closes_with_1008(live: LiveServer) -> None:
    async def scenario(token: str) -> tuple[int | None, dict[str, Any] | None]:
        client = await Client.connect(live, token)
        try:
            first = await client.next(10)
            while await client.next(10) is not None:
                pass
            return client.ws.close_code, first if isinstance(first, dict) else None
        finally:
            await client.close()

    code, message = live.run(scenario("vd_not-a-real-token"))
    assert code == 1008 and message is not None
    assert message["type"] == "error" and "unknown token" in message["error"]
    device, token = live.add_device("stream-gina", "speaker")
    live.app[REGISTRY].revoke(device.id)
    code, message = live.run(scenario(token))
    assert code == 1008 and message is not None and "revoked" in message["error"]


class NoNlu:
    """An understander for a server that answers no turn (the shutdown test)."""

    async def understand(self, text: str, language: str) -> NluResult:
        raise AssertionError("no turn expected")

    def threshold(self, language: str) -> float | None:
        return None


def test_server_shutdown_closes_streams_with_1001(tmp_path: Path, catalog: Catalog) -> None:
    other = LiveServer(Assistant(catalog, NoNlu()), tmp_path)
    _, token = other.add_device("stream-hank", "speaker")

    async def connect() -> Client:
        client = await Client.connect(other, token)
        await client.until("ready")
        return client

    async def scenario() -> int | None:
        client = await Client.connect(other, token)
        await client.until("ready")

        async def closed() -> int | None:
            while await client.next(20) is not None:
                pass
            return client.ws.close_code

        reading = asyncio.create_task(closed())
        await other.server.close()  # the server shuts down with the stream open
        code = await reading
        await client.session.close()
        return code

    try:
        assert other.run(scenario()) == 1001
    finally:
        other.loop.call_soon_threadsafe(other.loop.stop)
        other.thread.join(10)
