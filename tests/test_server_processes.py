"""Two `voice serve` processes on loopback sharing one real Redis (127.0.0.1:6379) and
one SQLite device registry: one person's conversation alternates between them and
keeps its context, and no turn is lost. Then `voice serve --workers 2` on one port."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import redis

from voice_runtime.project import Project
from voice_runtime.store.database import open_database
from voice_runtime.store.devices import DeviceRegistry

REDIS_URL = "redis://127.0.0.1:6379/0"
START_TIMEOUT = 300.0
LINE = re.compile(r"^serving on http://127\.0\.0\.1:(\d+) \((\d+) workers?, sessions in Redis")


@dataclass
class Process:
    """A `voice serve` process and what it printed."""

    popen: subprocess.Popen[str]
    port: int
    line: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def launch(project: Project, database: str, *extra: str) -> Process:
    command = [sys.executable, "-m", "voice_runtime.cli.main", "--project", str(project.root)]
    command += ["serve", "--redis", REDIS_URL, "--database", database, "--demo-services"]
    command += list(extra)
    env = {**os.environ, "VOICE_USER_SALT": "test-salt"}
    popen = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    found: list[str] = []
    reader = threading.Thread(target=lambda: found.append(popen.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(START_TIMEOUT)
    line = (found or [""])[0].strip()
    match = LINE.match(line)
    if match is None:
        popen.kill()
        _, errors = popen.communicate(timeout=10)
        pytest.fail(f"voice serve did not start: {line!r}; stderr: {errors[-2000:]}")
    return Process(popen, int(match.group(1)), line)


def stop(process: Process) -> str:
    """SIGTERM, and what the process said on stderr; it must exit 0."""
    process.popen.send_signal(signal.SIGTERM)
    _, errors = process.popen.communicate(timeout=60)
    assert process.popen.returncode == 0, errors[-2000:]
    return errors


def call(url: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method="POST" if data else "GET")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read().decode()
            status = response.status
    except urllib.error.HTTPError as error:
        raw, status = error.read().decode(), error.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw


def turns_counted(url: str) -> float:
    _, text = call(url, "/metrics")
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("voice_turns_total{")
    )


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"these tests need Redis at {REDIS_URL}: {exc}", pytrace=False)
    return f"sqlite:///{tmp_path_factory.mktemp('processes') / 'voice.db'}"


@pytest.fixture(scope="module")
def two(project: Project, database: str) -> Iterator[tuple[Process, Process]]:
    with ThreadPoolExecutor(2) as pool:  # the two load their models side by side
        first, second = pool.map(lambda _: launch(project, database, "--port", "0"), range(2))
    yield first, second
    for process in (first, second):
        if process.popen.poll() is None:
            stop(process)


def add_device(database: str, user: str, type: str) -> tuple[str, str]:
    engine = open_database(database)
    try:
        device, token = DeviceRegistry(engine).add(user, type)
    finally:
        engine.dispose()
    return device.id, token


DIALOG = [
    ("open car viewing", "star_motors_cars", None),
    ("show me the aurora", "star_motors_cars", None),
    ("paint it red", "star_motors_cars", None),
    ("book a test drive", "star_motors_cars", "day"),
    ("Saturday", "star_motors_cars", "time"),
    ("at ten", "star_motors_cars", "confirm"),
    ("no, Sunday", "star_motors_cars", "confirm"),
    ("yes", "star_motors_cars", None),
]


def test_one_conversation_alternates_between_two_processes(
    two: tuple[Process, Process], database: str
) -> None:
    first, second = two
    assert first.port != second.port
    assert "1 worker, sessions in Redis at 127.0.0.1:6379, devices in sqlite:///" in first.line
    pids = {call(p.url, "/healthz")[1]["pid"] for p in two}
    assert len(pids) == 2
    before = turns_counted(first.url) + turns_counted(second.url)
    _, token = add_device(database, f"u{uuid.uuid4().hex[:10]}", "tv")
    answers = []
    for number, (text, skill, waiting) in enumerate(DIALOG):
        server = two[number % 2]
        status, body = call(server.url, "/v1/turns", {"text": text}, token)
        assert status == 200, (server.url, text, body)
        assert body["skill"] == skill and body["waiting_for"] == waiting, (text, body)
        answers.append(body)
    assert answers[6]["speech"] == "Book a test drive of the Aurora for Sunday at 10:00. Shall I?"
    assert answers[7]["service"]["outcome"] == "ok"
    assert "You're booked!" in answers[7]["speech"] and "Sunday at 10:00" in answers[7]["speech"]
    assert len({a["session"] for a in answers}) == 1  # one conversation throughout
    after = turns_counted(first.url) + turns_counted(second.url)
    assert after - before == len(DIALOG)  # every turn answered once, none lost


def test_two_devices_of_one_person_at_once_on_both_processes(
    two: tuple[Process, Process], database: str
) -> None:
    """Simultaneous turns of one person's devices on both processes: none fails, none lost."""
    user = f"u{uuid.uuid4().hex[:10]}"
    devices = [add_device(database, user, kind) for kind in ("speaker", "tv")]
    jobs = [
        (two[(i + n) % 2].url, token, text)
        for i, (_, token) in enumerate(devices)
        for n, text in enumerate(["open baking class", "how do I bake bread", "next step"] * 2)
    ]
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(lambda job: call(job[0], "/v1/turns", {"text": job[2]}, job[1]), jobs)
        )
    assert [status for status, _ in results] == [200] * len(jobs), results
    client = redis.Redis.from_url(REDIS_URL)
    person = json.loads(client.get(f"voice:person:{user}") or b"{}")
    assert person["last_device"] in {device for device, _ in devices}


def test_handoff_pushes_across_processes_and_shutdown_is_clean(
    two: tuple[Process, Process], database: str
) -> None:
    """The speaker talks to one process, the TV's WebSocket is open on the other: the
    "continue on the TV" push reaches it through Redis pub/sub."""
    first, second = two
    user = f"u{uuid.uuid4().hex[:10]}"
    (_, speaker), (tv_id, tv) = (
        add_device(database, user, "speaker"),
        add_device(database, user, "tv"),
    )
    for text in ("open car viewing", "show me the aurora", "book a test drive"):
        assert call(first.url, "/v1/turns", {"text": text}, speaker)[0] == 200

    async def scene() -> tuple[tuple[int, Any], dict[str, Any]]:
        async with aiohttp.ClientSession() as client:
            url = f"ws://127.0.0.1:{second.port}/v1/stream?token={tv}"
            async with client.ws_connect(url) as ws:
                await asyncio.sleep(0.2)
                moved = await asyncio.to_thread(
                    call, first.url, "/v1/turns", {"text": "continue on the TV"}, speaker
                )
                while True:
                    message = await ws.receive_json(timeout=10)
                    if message.get("type") == "push":
                        return moved, message

    (status, moved), pushed = asyncio.run(scene())
    assert status == 200 and moved["handoff"] == tv_id
    assert pushed["turn"]["skill"] == "star_motors_cars" and pushed["turn"]["waiting_for"] == "day"
    status, on_tv = call(second.url, "/v1/turns", {"text": "Saturday"}, tv)
    assert status == 200 and on_tv["skill"] == "star_motors_cars" and on_tv["waiting_for"] == "time"
    errors = stop(second)
    assert "Traceback" not in errors


def test_workers_share_one_port(
    project: Project, database: str, two: tuple[Process, Process]
) -> None:
    for process in two:  # at most two Rasa processes at a time on this machine
        if process.popen.poll() is None:
            stop(process)
    port = _free_port()
    started = time.monotonic()
    workers = launch(project, database, "--port", str(port), "--workers", "2")
    try:
        assert workers.line.startswith(f"serving on http://127.0.0.1:{port} (2 workers, ")
        seen = {call(workers.url, "/healthz")[1]["pid"] for _ in range(40)}
        assert len(seen) == 2, seen  # both answer on the one port
        _, token = add_device(database, f"u{uuid.uuid4().hex[:10]}", "tv")
        for number, (text, _skill, waiting) in enumerate(DIALOG[:6]):
            status, body = call(workers.url, "/v1/turns", {"text": text}, token)
            assert status == 200 and body["waiting_for"] == waiting, (number, text, body)
    finally:
        stop(workers)
    assert time.monotonic() - started < START_TIMEOUT


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
