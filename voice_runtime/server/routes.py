"""The household server's HTTP routes and the error middleware every request passes.

    POST /v1/turns    {"text", "language"?, "audio"?} -> `turn_json` (bearer token)
    GET  /v1/stream   WebSocket for devices with a microphone (`stream.py`)
    GET  /v1/skills   the skill catalog for device screens
    GET  /healthz     ready?, languages loaded, session store reachable
    GET  /metrics     Prometheus text format
    GET  /screen      the screen page for TVs and phones (assets under /static/)

A refused request raises `ApiError`; `error_middleware` answers it as
`{"error": reason}` with its status, counted by kind in the metrics.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from ..audio.resample import to_16k_mono
from ..audio.wav import Audio, wav_bytes
from ..errors import AudioError, InputError
from ..languages import LANGUAGES
from ..skills.catalog import Catalog
from ..spoken import speech_audio_async
from ..store.sessions import StoreUnavailable
from ..tts.speaker import Speaker
from . import app as server  # its keys, read at run time (app.py imports this module)
from .auth import authenticate
from .limits import QueueFull
from .metrics import CONTENT_TYPE
from .protocol import error_json, turn_json

logger = logging.getLogger(server.__name__)  # its lines keep the name they had in app.py
STATIC_DIR = Path(__file__).resolve().parent / "static"
TURN_FIELDS = ("text", "language", "audio")
STORE_RETRY_AFTER = 2
LOADING_RETRY_AFTER = 5


class ApiError(Exception):
    """A refused request: its status, one-line reason, metrics kind and Retry-After."""

    def __init__(self, status: int, reason: str, kind: str, retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.kind = kind
        self.retry_after = retry_after

    def response(self) -> web.Response:
        headers = {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}
        return web.json_response(error_json(self.reason), status=self.status, headers=headers)


ERROR_KINDS = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    429: "rate_limited",
    503: "unavailable",
}


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every refusal as `{"error": reason}`, counted by kind; a crash is a logged 500."""
    metrics = request.app[server.METRICS]
    try:
        return await handler(request)
    except ApiError as exc:
        metrics.error(exc.kind)
        return exc.response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        metrics.error(ERROR_KINDS.get(exc.status, f"http_{exc.status}"))
        if exc.content_type == "application/json":
            raise
        reason = exc.reason if exc.status != 413 else f"body too large (at most {_max(request)})"
        headers = {k: v for k, v in exc.headers.items() if k.lower() in ("retry-after", "allow")}
        return web.json_response(error_json(reason), status=exc.status, headers=headers)
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("%s %s failed", request.method, request.path)
        metrics.error("internal")
        return web.json_response(error_json("internal server error"), status=500)


def _max(request: web.Request) -> str:
    return f"{request.app[server.SETTINGS].max_body} bytes"


# -- POST /v1/turns ----------------------------------------------------------------------


@dataclass(frozen=True)
class TurnRequest:
    text: str
    language: str | None = None
    audio: bool = False


def parse_turn_request(data: object) -> TurnRequest:
    """The fields of a turn request; ApiError 400 with the first problem."""
    if not isinstance(data, dict):
        raise _bad("the body must be a JSON object")
    unknown = sorted(set(data) - set(TURN_FIELDS))
    if unknown:
        raise _bad(f"unknown field {unknown[0]!r}; allowed: {', '.join(TURN_FIELDS)}")
    if "text" not in data:
        raise _bad("missing field 'text'")
    text = data["text"]
    if not isinstance(text, str):
        raise _bad("field 'text' must be a string")
    language = data.get("language")
    if language is not None and (not isinstance(language, str) or language not in LANGUAGES):
        raise _bad(f"unknown language {language!r}; use one of: {', '.join(LANGUAGES)}")
    audio = data.get("audio", False)
    if not isinstance(audio, bool):
        raise _bad("field 'audio' must be true or false")
    return TurnRequest(text, language, audio)


def _bad(reason: str) -> ApiError:
    return ApiError(400, reason, "bad_request")


async def read_json(request: web.Request, limit: int) -> object:
    """The request's JSON body; 413 past `limit` bytes, 400 when it is not JSON."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise ApiError(413, f"body too large ({declared} bytes; at most {limit})", "too_large")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ApiError(413, f"body too large (at most {limit} bytes)", "too_large") from None
    if len(raw) > limit:
        raise ApiError(413, f"body too large ({len(raw)} bytes; at most {limit})", "too_large")
    try:
        return json.loads(raw)
    except ValueError as exc:  # also UnicodeDecodeError
        raise _bad(f"malformed JSON: {exc}") from None


async def post_turn(request: web.Request) -> web.Response:
    app = request.app
    started = time.perf_counter()
    device = await authenticate(request, app[server.REGISTRY])
    limits = app[server.LIMITS]
    wait = limits.rate.check(device.id)
    if wait is not None:
        rate = app[server.SETTINGS].rate
        raise ApiError(
            429,
            f"too many turns from device {device.id} (at most {rate:g} per second)",
            "rate_limited",
            wait,
        )
    asked = parse_turn_request(await read_json(request, limits.max_body))
    status = app[server.STATUS]
    if not status.ready:
        raise ApiError(503, "the models are still loading", "not_ready", LOADING_RETRY_AFTER)
    try:
        async with limits.queue.slot():
            try:
                turn = await app[server.HOUSEHOLD].turn(device, asked.text, asked.language)
            except StoreUnavailable as exc:
                status.store_failed(exc)
                raise ApiError(
                    503,
                    "session store unavailable; try again shortly",
                    "store_unavailable",
                    STORE_RETRY_AFTER,
                ) from None
            except TimeoutError:
                raise ApiError(
                    503, f"the conversation of {device.id} is busy", "busy", STORE_RETRY_AFTER
                ) from None
            status.store_ok()
            audio = None
            if asked.audio and device.has_speaker:
                audio = await reply_audio(app[server.SPEAKER], turn.response.speech, turn.language)
    except QueueFull as exc:
        raise ApiError(503, str(exc), "queue_full", exc.retry_after) from None
    except InputError as exc:
        raise _bad(str(exc)) from None
    app[server.METRICS].turn(turn, device, time.perf_counter() - started)
    return web.json_response(turn_json(turn, device, audio), dumps=_dumps)


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


async def reply_audio(speaker: Speaker, text: str, language: str) -> str | None:
    """The whole reply as one base64 WAV, synthesised sentence by sentence off the loop."""
    try:
        pieces = [audio async for audio in speech_audio_async(speaker, text, language)]
    except AudioError as exc:
        raise ApiError(503, f"speech synthesis failed: {exc}", "tts") from None
    if not pieces:
        return None
    shapes = {(p.rate, p.width, p.channels) for p in pieces}
    if len(shapes) > 1:
        pieces = [to_16k_mono(p) for p in pieces]
    first = pieces[0]
    joined = Audio(b"".join(p.samples for p in pieces), first.rate, first.width, first.channels)
    return base64.b64encode(wav_bytes(joined)).decode("ascii")


# -- the other routes ----------------------------------------------------------------------


def skills_json(catalog: Catalog) -> list[dict[str, Any]]:
    """The catalog for screens: per skill its names, invocations and launch card per language."""
    found = []
    for skill in catalog.skills:
        launch = skill.launch
        cards = {
            language: {
                "title": title,
                "text": launch.card_text.get(language, ""),
                "image": launch.card_image,
            }
            for language, title in launch.card_title.items()
        }
        found.append(
            {
                "id": skill.id,
                "brand": skill.brand,
                "name": dict(skill.name),
                "invocations": {lang: list(names) for lang, names in skill.invocations.items()},
                "languages": skill.languages,
                "card": cards or None,
            }
        )
    return found


async def get_skills(request: web.Request) -> web.Response:
    return web.json_response({"skills": request.app[server.SKILLS]}, dumps=_dumps)


async def get_health(request: web.Request) -> web.Response:
    app = request.app
    status = app[server.STATUS]
    settings = app[server.SETTINGS]
    reachable = True
    store = app.get(server.SESSIONS)
    ping = getattr(store, "ping", None)
    if ping is not None:
        try:
            await asyncio.wait_for(ping(), 3.0)
            status.store_ok()
        except (StoreUnavailable, TimeoutError) as exc:
            status.store_failed(
                exc
                if isinstance(exc, StoreUnavailable)
                else StoreUnavailable("session store unavailable: no answer in 3 s")
            )
            reachable = False
    ok = status.ready and reachable
    body = {
        "ok": ok,
        "ready": status.ready,
        "languages": status.languages,
        "store": {"kind": "redis" if settings.redis_url else "memory", "reachable": reachable},
        "pid": os.getpid(),
    }
    return web.json_response(body, status=200 if ok else 503)


async def get_metrics(request: web.Request) -> web.Response:
    body = request.app[server.METRICS].render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


async def get_screen(request: web.Request) -> web.StreamResponse:
    page = STATIC_DIR / "screen.html"
    if not page.is_file():
        raise ApiError(404, "the screen page is not installed", "not_found")
    return web.FileResponse(page)
