"""The household server, for real: aiohttp on loopback, the trained Rasa models, the
device registry in SQLite, sessions in real Redis (127.0.0.1:6379, and a
redis-server of our own that the Redis-down test stops and starts again).

One event loop in a background thread hosts every server of this module; the
models load once (the first server) and are shared by the others.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import socket
import subprocess
import threading
import time
import uuid
import wave
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis
from aiohttp import ClientSession, WSMsgType, web
from aiohttp.test_utils import TestServer
from conftest import DEMO_SECRETS

from voice_runtime.dialog.router import Assistant
from voice_runtime.nlu.engine import NluEngine
from voice_runtime.people import Device
from voice_runtime.project import Project
from voice_runtime.server import (
    PUSH,
    REGISTRY,
    SESSIONS,
    WEBSOCKETS,
    ServerSettings,
    close_websocket,
    create_app,
)
from voice_runtime.services.caller import ServiceCaller
from voice_runtime.services.client import ServiceClient
from voice_runtime.services.demo import DEMO_BASE, DemoServices
from voice_runtime.services.policy import ServicePolicy
from voice_runtime.skills.catalog import Catalog

T = TypeVar("T")
REDIS_URL = "redis://127.0.0.1:6379/0"
REDIS_SERVER = "/usr/bin/redis-server"


class Loop:
    """An event loop in a background thread; tests run coroutines on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 120.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any


@dataclass
class Server:
    """A running server of the module, and a client for it."""

    loop: Loop
    app: web.Application
    server: TestServer
    client: ClientSession
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def add_device(self, user: str, type: str, name: str = "", room: str | None = None) -> Device:
        device, token = self.app[REGISTRY].add(user, type, name=name, room=room)
        self.tokens[device.id] = token
        return device

    async def arequest(
        self,
        method: str,
        path: str,
        body: Any = None,
        raw: bytes | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        if data is not None:
            sent.setdefault("Content-Type", "application/json")
        async with self.client.request(method, self.url + path, data=data, headers=sent) as resp:
            text = await resp.text()
            try:
                parsed: Any = json.loads(text)
            except ValueError:
                parsed = text
            return Reply(resp.status, dict(resp.headers), parsed)

    def request(self, method: str, path: str, **kwargs: Any) -> Reply:
        return self.loop.run(self.arequest(method, path, **kwargs))

    async def aturn(self, device: Device, text: str, **fields: Any) -> Reply:
        body = {"text": text, **fields}
        return await self.arequest("POST", "/v1/turns", body=body, token=self.tokens[device.id])

    def turn(self, device: Device, text: str, **fields: Any) -> Reply:
        return self.loop.run(self.aturn(device, text, **fields))

    def say(self, device: Device, text: str, **fields: Any) -> dict[str, Any]:
        """A turn that must succeed: its JSON."""
        reply = self.turn(device, text, **fields)
        assert reply.status == 200, (text, reply.status, reply.body)
        body: dict[str, Any] = reply.body
        return body

    def close(self) -> None:
        async def _close() -> None:
            await self.client.close()
            await self.server.close()

        self.loop.run(_close())


def start(
    loop: Loop,
    assistant: Assistant,
    settings: ServerSettings,
    extra: list[tuple[str, Any]] | None = None,
) -> Server:
    async def _start() -> Server:
        app = create_app(assistant, settings)
        for path, handler in extra or []:
            app.router.add_get(path, handler)
        server = TestServer(app, host="127.0.0.1", port=0)
        await server.start_server()
        return Server(loop, app, server, ClientSession())

    return loop.run(_start(), timeout=600)


def sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'voice.db'}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def require_redis(url: str) -> None:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"this test needs Redis at {url}: {exc}", pytrace=False)


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def loop() -> Iterator[Loop]:
    running = Loop()
    yield running
    running.close()


@pytest.fixture(scope="module")
def server_assistant(project: Project, catalog: Catalog, demo_services: DemoServices) -> Assistant:
    """The real assistant (trained models, demo brand services on loopback)."""
    client = ServiceClient(ServicePolicy(allow_private=True))
    caller = ServiceCaller(
        b"test-salt", client, rewrite={DEMO_BASE: demo_services.base}, env=DEMO_SECRETS
    )
    return Assistant(catalog, NluEngine(project, catalog, auto_train=False), services=caller)


@pytest.fixture(scope="module")
def server(
    loop: Loop, server_assistant: Assistant, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The main server: sessions in the machine's Redis, devices in SQLite."""
    require_redis(REDIS_URL)
    settings = ServerSettings(
        database_url=sqlite_url(tmp_path_factory.mktemp("server")),
        redis_url=REDIS_URL,
        rate=5.0,
        burst=20,
    )
    running = start(loop, server_assistant, settings, extra=[("/test/push", _push_socket)])
    yield running
    running.close()


async def _push_socket(request: web.Request) -> web.WebSocketResponse:
    """A test-only WebSocket registered for pushes, as the stream handler does."""
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    request.app[WEBSOCKETS].add(ws)
    try:
        async with request.app[PUSH].connected(request.query["device"], ws):
            async for _ in ws:
                pass
    finally:
        request.app[WEBSOCKETS].discard(ws)
        await close_websocket(request.app, ws)
    return ws


def person() -> str:
    """A user id of its own per test (the Redis at 6379 is shared)."""
    return f"u{uuid.uuid4().hex[:10]}"


# -- turns ------------------------------------------------------------------------------


def test_text_turns_and_the_card_only_on_screens(server: Server) -> None:
    user = person()
    speaker = server.add_device(user, "speaker", name="Kitchen speaker", room="kitchen")
    tv = server.add_device(user, "tv", name="Living room TV", room="living_room")
    said = server.say(speaker, "open baking class")
    assert said["intent"] == "open_skill" and said["skill"] == "anchor_baking"
    assert said["speech"].startswith("Welcome to Anchor Baking Class")
    assert said["card"] is None  # a speaker has no screen
    assert said["language"] == "en" and said["session"] and said["handoff"] is None
    shown = server.say(tv, "open baking class")
    assert shown["card"]["title"] == "Anchor Baking Class"
    assert shown["card"]["image"].startswith("https://")
    recipe = server.say(tv, "how can I make a sponge cake")
    assert recipe["intent"] == "anchor_baking.recipe" and recipe["slots"] == {"dish": "cake"}
    assert 0.0 < recipe["confidence"] <= 1.0
    zh = server.say(tv, "打开大屏观车", language="zh")
    assert zh["skill"] == "star_motors_cars" and zh["language"] == "zh"
    assert set(said) >= {"text", "intent", "slots", "waiting_for", "service", "session"}


def test_reply_audio_is_a_wav_of_every_sentence(server: Server) -> None:
    device = server.add_device(person(), "speaker")
    said = server.say(device, "open baking class", audio=True)
    with wave.open(io.BytesIO(base64.b64decode(said["audio"]))) as wav:
        seconds = wav.getnframes() / wav.getframerate()
        assert wav.getnchannels() == 1 and wav.getsampwidth() == 2
    assert seconds > 3.0  # two sentences of speech, not one
    assert "audio" not in server.say(device, "help")


def test_a_service_call_is_reported(server: Server) -> None:
    tv = server.add_device(person(), "tv")
    for text in ("open car viewing", "show me the aurora", "book a test drive", "Saturday"):
        server.say(tv, text)
    assert server.say(tv, "at ten")["waiting_for"] == "confirm"
    booked = server.say(tv, "yes")
    assert booked["service"]["outcome"] == "ok" and booked["service"]["name"]
    assert booked["service"]["elapsed_ms"] >= 0


# -- bad requests ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "malformed JSON"),
        (b"\xff\xfe", "malformed JSON"),
        (b'["open baking class"]', "must be a JSON object"),
        (b'{"language": "en"}', "missing field 'text'"),
        (b'{"text": 5}', "field 'text' must be a string"),
        (b'{"text": "hi", "language": "fr"}', "unknown language 'fr'"),
        (b'{"text": "hi", "language": 1}', "unknown language 1"),
        (b'{"text": "hi", "audio": "yes"}', "field 'audio' must be true or false"),
        (b'{"text": "hi", "user": "bob"}', "unknown field 'user'"),
        (b'{"text": "   "}', "empty input"),
        (b'{"text": "open\\u0007baking"}', "control characters"),
        (b'{"text": "' + b"a" * 600 + b'"}', "input too long"),
    ],
)
def test_bad_requests_get_400_with_one_line(server: Server, raw: bytes, reason: str) -> None:
    device = server.add_device(person(), "speaker")
    reply = server.request("POST", "/v1/turns", raw=raw, token=server.tokens[device.id])
    assert reply.status == 400, reply.body
    assert reason in reply.body["error"] and "\n" not in reply.body["error"]


def test_an_oversize_body_gets_413(server: Server) -> None:
    device = server.add_device(person(), "speaker")
    big = json.dumps({"text": "x" * 20_000}).encode()
    reply = server.request("POST", "/v1/turns", raw=big, token=server.tokens[device.id])
    assert reply.status == 413 and "too large" in reply.body["error"]


def test_tokens_missing_wrong_and_revoked_get_401(server: Server) -> None:
    device = server.add_device(person(), "tv")
    token = server.tokens[device.id]
    body = {"text": "open baking class"}
    missing = server.request("POST", "/v1/turns", body=body)
    assert missing.status == 401 and "missing token" in missing.body["error"]
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = server.request("POST", "/v1/turns", body=body, token="vd_" + "x" * 43)
    assert wrong.status == 401 and wrong.body["error"] == "unknown token"
    basic = server.request("POST", "/v1/turns", body=body, headers={"Authorization": "Basic x"})
    assert basic.status == 401 and "Bearer" in basic.body["error"]
    in_url = server.request("POST", f"/v1/turns?token={token}", body=body)
    assert in_url.status == 401  # ?token= is for WebSockets only
    assert server.request("POST", "/v1/turns", body=body, token=token).status == 200
    server.app[REGISTRY].revoke(device.id)
    revoked = server.request("POST", "/v1/turns", body=body, token=token)
    assert revoked.status == 401 and f"device {device.id} was revoked" in revoked.body["error"]


def test_too_many_turns_get_429_with_retry_after(server: Server) -> None:
    device, other = server.add_device(person(), "phone"), server.add_device(person(), "phone")

    async def burst() -> list[Reply]:
        token = server.tokens[device.id]
        return [
            await server.arequest("POST", "/v1/turns", raw=b"{", token=token) for _ in range(30)
        ]

    replies = server.loop.run(burst())
    limited = [r for r in replies if r.status == 429]
    assert limited and all(r.status == 400 for r in replies[:20])
    assert int(limited[0].headers["Retry-After"]) >= 1
    assert "too many turns" in limited[0].body["error"]
    assert server.turn(other, "help").status == 200  # the limit is per device


# -- the catalog, health and metrics --------------------------------------------------


def test_skills_health_and_metrics(server: Server) -> None:
    skills = server.request("GET", "/v1/skills").body["skills"]
    cars = next(s for s in skills if s["id"] == "star_motors_cars")
    assert cars["brand"] == "Star Motors" and "car viewing" in cars["invocations"]["en"]
    assert cars["name"]["zh"] and cars["card"]["en"]["title"]
    health = server.request("GET", "/healthz")
    assert health.status == 200 and health.body["ok"] and health.body["ready"]
    assert health.body["languages"] == ["en", "zh"]
    assert health.body["store"] == {"kind": "redis", "reachable": True}
    tv = server.add_device(person(), "tv")
    server.say(tv, "open baking class")
    server.request("POST", "/v1/turns", raw=b"{", token=server.tokens[tv.id])
    metrics = server.request("GET", "/metrics")
    assert metrics.headers["Content-Type"].startswith("text/plain")
    text = metrics.body
    assert 'voice_turns_total{device_type="tv",kind="open_skill"}' in text
    assert 'voice_errors_total{kind="bad_request"}' in text
    assert "voice_turn_seconds_bucket" in text and "voice_open_streams 0.0" in text
    unknown = server.request("GET", "/nowhere")
    assert unknown.status == 404 and unknown.body == {"error": "Not Found"}


# -- two devices of one person, sessions in Redis --------------------------------------


def test_continue_on_the_tv_moves_the_conversation(server: Server) -> None:
    user = person()
    speaker = server.add_device(user, "speaker", name="Kitchen speaker", room="kitchen")
    tv = server.add_device(user, "tv", name="Living room TV", room="living_room")

    async def scene() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        url = f"{server.url}/test/push?device={tv.id}"
        async with server.client.ws_connect(url) as ws:
            said = []
            for text in ("open car viewing", "show me the aurora", "book a test drive"):
                said.append((await server.aturn(speaker, text)).body)
            said.append((await server.aturn(speaker, "continue on the TV")).body)
            pushed = await ws.receive_json(timeout=5)
        return said, pushed

    said, pushed = server.loop.run(scene())
    assert said[2]["waiting_for"] == "day"
    handoff = said[3]
    assert handoff["intent"] == "handoff" and handoff["handoff"] == tv.id
    assert pushed["type"] == "push" and pushed["turn"]["skill"] == "star_motors_cars"
    assert pushed["turn"]["waiting_for"] == "day" and "Which day" in pushed["turn"]["speech"]
    on_tv = server.say(tv, "Saturday")
    assert on_tv["skill"] == "star_motors_cars" and on_tv["waiting_for"] == "time"
    assert on_tv["slots"]["day"] == "saturday"
    assert server.say(tv, "at ten")["waiting_for"] == "confirm"
    stored = redis.Redis.from_url(REDIS_URL).get(f"voice:session:{tv.id}")
    assert stored is not None and b"star_motors_cars" in stored
    assert server.say(speaker, "help")["skill"] is None  # the speaker let it go


# -- bounded work -----------------------------------------------------------------------


def test_a_full_queue_answers_503_at_once(
    loop: Loop, server_assistant: Assistant, tmp_path: Path
) -> None:
    small = start(
        loop,
        server_assistant,
        ServerSettings(database_url=sqlite_url(tmp_path), max_running=1, max_waiting=1),
    )
    try:
        busy, other = small.add_device("ann", "speaker"), small.add_device("bob", "speaker")

        async def scene() -> tuple[Reply, float, list[Reply]]:
            # hold the busy device's conversation: its turns run (or wait) until released
            async with small.app[SESSIONS].lock(busy.id):
                held = [asyncio.create_task(small.aturn(busy, "help")) for _ in range(2)]
                await asyncio.sleep(0.5)
                began = time.perf_counter()
                refused = await small.aturn(other, "help")
                waited = time.perf_counter() - began
            return refused, waited, list(await asyncio.gather(*held))

        refused, waited, held = loop.run(scene())
        assert refused.status == 503 and refused.headers["Retry-After"] == "1"
        assert "server busy" in refused.body["error"] and waited < 1.0
        assert [r.status for r in held] == [200, 200]  # in line, not lost
        assert small.turn(other, "help").status == 200
    finally:
        small.close()


def test_shutdown_finishes_turns_and_closes_sockets_with_a_reason(
    loop: Loop, server_assistant: Assistant, tmp_path: Path
) -> None:
    closing = start(
        loop,
        server_assistant,
        ServerSettings(database_url=sqlite_url(tmp_path)),
        extra=[("/test/push", _push_socket)],
    )
    device = closing.add_device("ann", "tv")

    async def scene() -> tuple[Reply, Any, Any]:
        client = ClientSession()
        try:
            async with closing.app[SESSIONS].lock(device.id):
                turn = asyncio.create_task(closing.aturn(device, "open baking class"))
                ws = await client.ws_connect(f"{closing.url}/test/push?device={device.id}")
                await asyncio.sleep(0.3)
                stopping = asyncio.create_task(closing.server.close())
                message = await ws.receive(timeout=5)
                assert message.type == WSMsgType.CLOSE, message
                await asyncio.sleep(0.2)
            reply = await turn
            await stopping
            return reply, message.data, message.extra
        finally:
            await client.close()
            await closing.client.close()

    reply, code, reason = loop.run(scene())
    assert code == 1001 and reason == "server shutting down", (code, reason)
    assert reply.status == 200 and reply.body["skill"] == "anchor_baking"


# -- Redis stopped mid-run ---------------------------------------------------------------


class OwnRedis:
    """A redis-server of this test on a free port, stopped and started at will."""

    def __init__(self, directory: Path) -> None:
        if not Path(REDIS_SERVER).exists():
            pytest.fail(f"this test needs {REDIS_SERVER} (apt-get install redis-server)")
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.directory)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
                return
            except redis.RedisError:
                if time.monotonic() > deadline:
                    pytest.fail(f"redis-server did not start on port {self.port}")
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


def test_redis_stopped_mid_run_gives_503_then_recovers(
    loop: Loop,
    server_assistant: Assistant,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    own = OwnRedis(tmp_path)
    own.start()
    running = start(
        loop, server_assistant, ServerSettings(database_url=sqlite_url(tmp_path), redis_url=own.url)
    )
    try:
        tv = running.add_device("ann", "tv")
        assert running.say(tv, "open baking class")["skill"] == "anchor_baking"
        own.stop()
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="voice_runtime.server"):
            down = [running.turn(tv, "help") for _ in range(3)]
            assert running.request("GET", "/healthz").status == 503
            assert all(r.status == 503 for r in down), [r.body for r in down]
            assert down[0].headers["Retry-After"] == "2"
            assert "session store unavailable" in down[0].body["error"]
            own.start()
            back = running.turn(tv, "open car viewing")
            assert back.status == 200 and back.body["skill"] == "star_motors_cars"
            assert running.turn(tv, "show me the aurora").status == 200
        lines = [r.getMessage() for r in caplog.records if r.name == "voice_runtime.server.app"]
        assert len(lines) == 2, lines  # one when it went down, one when it came back
        assert f"Redis at 127.0.0.1:{own.port}" in lines[0] and "503" in lines[0]
        assert "reachable again" in lines[1]
    finally:
        running.close()
        own.stop()
