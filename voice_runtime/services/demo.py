"""The example brands' own services, on loopback: what a brand would run.

`voice brands serve` runs them on 127.0.0.1:8790, where the example skills'
YAML points; `voice test --demo-services` and the test suite run them on a free
port. Each request is checked with the shipped `verify`, exactly as a brand
would: an unsigned, tampered or stale request gets 401.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import threading
import zlib
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from ..dialog.conversation import slot_words
from ..skills.catalog import Catalog
from ..skills.model import Skill
from .policy import ALLOW_PRIVATE_ENV
from .secrets import load_secret, secret_env_var
from .signing import ServiceError, SignatureError, verify

DEMO_HOST = "127.0.0.1"
DEMO_PORT = 8790
DEMO_BASE = f"http://{DEMO_HOST}:{DEMO_PORT}"

Answer = Callable[[Skill, Mapping[str, Any], str], dict[str, Any]]


def _booking(skill: Skill, request: Mapping[str, Any], language: str) -> dict[str, Any]:
    slots = request["slots"]
    words = slot_words(skill, slots, language)
    key = f"{request['user_id']}|{slots.get('model')}|{slots.get('day')}|{slots.get('time')}"
    number = f"SM-{zlib.crc32(key.encode()) % 10000:04d}"
    model, day, time = words.get("model", ""), words.get("day", ""), slots.get("time", "")
    if language == "zh":
        speech = f"预约好了！{day}{time}试驾{model}，预约号{number}。到店请出示预约号。"
        card = {"title": "试驾已预约", "text": f"{model} · {day} {time} · {number}"}
    else:
        speech = (
            f"You're booked! A test drive of the {model} for {day} at {time}. "
            f"Your booking number is {number}."
        )
        card = {"title": "Test drive booked", "text": f"{model} · {day} {time} · {number}"}
    return {"speech": speech, "card": card}


def _lessons(skill: Skill, request: Mapping[str, Any], language: str) -> dict[str, Any]:
    if language == "zh":
        return {"speech": "下一节课是黄油可颂，本周六上午十点，还剩6个名额。"}
    return {
        "speech": "The next lesson is Butter Croissants, this Saturday at 10 am. 6 places left."
    }


ANSWERS: dict[tuple[str, str], Answer] = {
    ("star_motors_cars", "book_test_drive"): _booking,
    ("anchor_baking", "next_lesson"): _lessons,
}


def demo_app(catalog: Catalog, env: Mapping[str, str] | None = None) -> web.Application:
    """An aiohttp app answering POST /<skill id>/<service name> for the example skills."""

    async def handle(request: web.Request) -> web.Response:
        skill = catalog.get(request.match_info["skill"])
        body = await request.read()
        if skill is None or request.match_info["service"] not in skill.services:
            return web.json_response({"error": "no such service"}, status=404)
        try:
            verify(request.headers, body, load_secret(skill.id, env))
        except SignatureError as exc:
            return web.json_response({"error": f"signature: {exc}"}, status=401)
        except ServiceError as exc:
            return web.json_response({"error": str(exc)}, status=500)
        data = json.loads(body)
        answer = ANSWERS.get((skill.id, data.get("intent", "")))
        if answer is None:
            return web.json_response({"error": "no such intent"}, status=404)
        language = "zh" if str(data.get("locale", "")).startswith("zh") else "en"
        return web.json_response(answer(skill, data, language))

    app = web.Application(client_max_size=64 * 1024)
    app.router.add_post("/{skill}/{service}", handle)
    return app


def prepare_demo_environment(catalog: Catalog) -> None:
    """Allow loopback services and give each skill with services a secret (if it has none)."""
    os.environ[ALLOW_PRIVATE_ENV] = "1"
    for skill in catalog.skills:
        if skill.services:
            os.environ.setdefault(secret_env_var(skill.id), secrets.token_hex(16))


class DemoServices:
    """The demo services on a loopback port, served from a background thread."""

    def __init__(
        self, catalog: Catalog, port: int = 0, env: Mapping[str, str] | None = None
    ) -> None:
        self.catalog = catalog
        self.port = port
        self.env = env
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://{DEMO_HOST}:{self.port}"

    def start(self) -> DemoServices:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        self._runner = web.AppRunner(demo_app(self.catalog, self.env), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, DEMO_HOST, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._runner = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def __enter__(self) -> DemoServices:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
