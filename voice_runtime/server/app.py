"""The household server's aiohttp application: routes, typed app keys, start-up and tear-down.

Routes:

    POST /v1/turns    {"text", "language"?, "audio"?} -> `turn_json` (bearer token)
    GET  /v1/stream   WebSocket for devices with a microphone (`stream.py`)
    GET  /v1/skills   the skill catalog for device screens
    GET  /healthz     ready?, languages loaded, session store reachable
    GET  /metrics     Prometheus text format
    GET  /screen      the screen page for TVs and phones (assets under /static/)

Start-up (`cleanup_ctx`, in order): the device database; the NLU models of
every language, loaded in a worker thread before the port accepts traffic;
the session store, the push hub and the household, with scene marketing
attached when a project with campaigns is given (`campaigns/*.yaml`, unless
`settings.campaigns` is off); the turn queue; the idle-screen posters
(`posters.py`, every `settings.poster_interval` seconds, when marketing is on).
Tear-down runs backwards: the posters stop, the queue drains (in-flight turns
finish), then marketing, pushes, the store and the database close. Open
WebSockets are closed on shutdown with code 1001 "server shutting down".
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import WSCloseCode, web

from ..audio.resample import to_16k_mono
from ..audio.wav import Audio, wav_bytes
from ..campaigns.catalog import campaigns_dir
from ..campaigns.setup import Marketing
from ..dialog.router import Assistant
from ..dialog.turn import Turn
from ..errors import AudioError, InputError
from ..household.home import Household
from ..household.people import Device
from ..languages import LANGUAGES
from ..nlu.engine import NluEngine
from ..project import Project
from ..skills.catalog import Catalog
from ..spoken import speech_audio_async
from ..store.database import open_database, safe_url
from ..store.devices import DeviceRegistry
from ..store.sessions import SessionStore, StoreUnavailable, open_session_store
from ..tts.speaker import Speaker
from .auth import authenticate
from .limits import Limits, QueueFull, RateLimiter, TurnQueue
from .metrics import CONTENT_TYPE, Metrics
from .posters import Activity, PosterLoop
from .protocol import error_json, turn_json
from .push import PushHub
from .stream import stream_handler

logger = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parent / "static"
TURN_FIELDS = ("text", "language", "audio")
STORE_RETRY_AFTER = 2
SHUTDOWN_CODE = WSCloseCode.GOING_AWAY
SHUTDOWN_REASON = "server shutting down"
LOADING_RETRY_AFTER = 5


@dataclass(frozen=True)
class ServerSettings:
    """How one server process runs (flags and environment of `voice serve`).

    `max_running` turns run at a time and `max_waiting` more may wait; beyond
    that a turn gets 503 at once. Each device may send `rate` turns per second
    on average, `burst` in a row. Bodies over `max_body` bytes get 413.
    `campaigns`: attach the project's campaigns (scene marketing); idle screens
    are offered a poster every `poster_interval` seconds (0: never) once idle
    for `poster_idle` seconds.
    """

    database_url: str
    redis_url: str | None = None
    max_running: int = 4
    max_waiting: int = 32
    rate: float = 5.0
    burst: int = 10
    max_body: int = 16 * 1024
    idle_timeout: float = 300.0
    languages: tuple[str, ...] = LANGUAGES
    shutdown_grace: float = 30.0
    campaigns: bool = True
    poster_interval: float = 60.0
    poster_idle: float = 120.0

    def describe_store(self) -> str:
        if not self.redis_url:
            return "sessions in this process"
        from ..store.redis_sessions import _where

        return f"sessions in Redis at {_where(self.redis_url)}"

    def describe_database(self) -> str:
        return f"devices in {safe_url(self.database_url)}"


@dataclass
class ServerStatus:
    """Whether the process is ready, and whether the session store answers.

    The store going down and coming back are each logged once, however many
    requests notice it in between.
    """

    ready: bool = False
    languages: list[str] = field(default_factory=list)
    store_down: bool = False
    stopping: bool = False

    def store_failed(self, error: Exception) -> None:
        if not self.store_down:
            self.store_down = True
            logger.error("%s; answering 503 until it is back", error)

    def store_ok(self) -> None:
        if self.store_down:
            self.store_down = False
            logger.warning("session store reachable again; answering turns")


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


SETTINGS = web.AppKey("settings", ServerSettings)
ASSISTANT = web.AppKey("assistant", Assistant)
STATUS = web.AppKey("status", ServerStatus)
METRICS = web.AppKey("metrics", Metrics)
REGISTRY = web.AppKey("registry", DeviceRegistry)
SESSIONS = web.AppKey("sessions", SessionStore)
HOUSEHOLD = web.AppKey("household", Household)
PUSH = web.AppKey("push", PushHub)
LIMITS = web.AppKey("limits", Limits)
SPEAKER = web.AppKey("speaker", Speaker)
WEBSOCKETS = web.AppKey("websockets", set[web.WebSocketResponse])
"""The open WebSockets of this process: the stream handler adds and removes its own."""
SKILLS = web.AppKey("skills", list[dict[str, Any]])
PROJECT = web.AppKey("project", Project)
"""The project whose campaigns are attached (set only when `create_app` is given one)."""
CAMPAIGN_CLOCK: web.AppKey[Callable[[], datetime]] = web.AppKey("campaign_clock")
"""The campaign engine's clock, when not the real time (tests, demos)."""
MARKETING = web.AppKey("marketing", Marketing)
"""Scene marketing, set at start-up when it is attached (`app.get(MARKETING)`)."""
ACTIVITY = web.AppKey("activity", Activity)
"""When each device last had a turn in this process (REST and WebSocket)."""
POSTERS = web.AppKey("posters", PosterLoop)
"""The idle-screen poster loop, set at start-up when it runs."""

ERROR_KINDS = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    429: "rate_limited",
    503: "unavailable",
}


# -- the application -------------------------------------------------------------------


def create_app(
    assistant: Assistant,
    settings: ServerSettings,
    speaker: Speaker | None = None,
    project: Project | None = None,
    campaign_clock: Callable[[], datetime] | None = None,
) -> web.Application:
    """The server for `assistant`; nothing is opened until the app starts.

    With `project`, its campaigns are attached at start-up (scene marketing and
    idle-screen posters) unless `settings.campaigns` is off; `campaign_clock`
    replaces the campaign engine's real-time clock (tests).
    """
    app = web.Application(client_max_size=settings.max_body, middlewares=[error_middleware])
    app[SETTINGS] = settings
    app[ASSISTANT] = assistant
    app[STATUS] = ServerStatus()
    app[METRICS] = Metrics()
    app[SPEAKER] = speaker or Speaker()
    app[WEBSOCKETS] = set()
    app[SKILLS] = skills_json(assistant.catalog)
    app[ACTIVITY] = Activity()
    if project is not None:
        app[PROJECT] = project
    if campaign_clock is not None:
        app[CAMPAIGN_CLOCK] = campaign_clock
    sockets = app[WEBSOCKETS]
    app[METRICS].open_streams.set_function(lambda: len(sockets))
    app.cleanup_ctx.extend([_database, _models, _household, _queue, _posters])
    # aiohttp 3.9 types its signals' callbacks oddly; a plain coroutine function is right
    app.on_shutdown.append(_close_websockets)  # type: ignore[arg-type]
    app.router.add_post("/v1/turns", post_turn)
    app.router.add_get("/v1/stream", stream_handler)
    app.router.add_get("/v1/skills", get_skills)
    app.router.add_get("/healthz", get_health)
    app.router.add_get("/metrics", get_metrics)
    app.router.add_get("/screen", get_screen)
    if STATIC_DIR.is_dir():
        app.router.add_static("/static/", STATIC_DIR)
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    engine = await asyncio.to_thread(open_database, app[SETTINGS].database_url)
    try:
        app[REGISTRY] = await asyncio.to_thread(DeviceRegistry, engine)
        yield
    finally:
        await asyncio.to_thread(engine.dispose)


async def _models(app: web.Application) -> AsyncIterator[None]:
    """Load every language's model in a worker thread; the port opens after this."""
    assistant = app[ASSISTANT]
    wanted = [lang for lang in app[SETTINGS].languages if lang in assistant.languages]
    status = app[STATUS]
    status.languages = await asyncio.to_thread(load_models, assistant, wanted)
    status.ready = True
    yield
    status.ready = False


def load_models(assistant: Assistant, languages: list[str]) -> list[str]:
    """Load (once per process) the NLU of `languages`, answering one sentence in each (the
    numpy predictor when the model has its export, else Rasa); the languages loaded."""
    nlu = assistant.nlu
    if isinstance(nlu, NluEngine):
        nlu.preload(languages)
        for language in languages:
            nlu.parse("warm up the model", language)
    return list(languages)


async def _household(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    store = open_session_store(settings.redis_url, settings.idle_timeout)
    push = PushHub(settings.redis_url)
    await push.start()
    app[SESSIONS] = store
    app[PUSH] = push
    activity = app[ACTIVITY]

    async def notify(device: Device, turn: Turn) -> None:
        activity.turned(device.id)  # a conversation handed to a device is a turn there
        await push.notify(device, turn)

    household = Household(app[ASSISTANT], store, app[REGISTRY], notify=notify)
    household.observers.append(activity.observe)
    app[HOUSEHOLD] = household
    marketing = None
    try:
        marketing = await _marketing(app, household)
        if marketing is not None:
            app[MARKETING] = marketing
        yield
    finally:
        if marketing is not None:
            await marketing.aclose()
        await push.close()
        await store.close()
        close = getattr(app[ASSISTANT].conversation.services, "close", None)
        if close is not None:
            await close()


async def _marketing(app: web.Application, household: Household) -> Marketing | None:
    """Attach the project's campaigns to `household`; None when off or there are none."""
    settings = app[SETTINGS]
    project = app.get(PROJECT)
    if project is None or not settings.campaigns:
        return None
    if not campaigns_dir(project).is_dir():
        return None
    kwargs: dict[str, Any] = {}
    clock = app.get(CAMPAIGN_CLOCK)
    if clock is not None:
        kwargs["clock"] = clock
    marketing = await asyncio.to_thread(
        Marketing.attach,
        household,
        project,
        settings.database_url,
        settings.redis_url,
        **kwargs,
    )
    for file, reason in marketing.catalog.skipped.items():
        logger.warning("skipped campaign %s: %s", file, reason)
    count = len(marketing.engine.campaigns)
    logger.info("scene marketing: %d campaign%s attached", count, "" if count == 1 else "s")
    return marketing


async def _posters(app: web.Application) -> AsyncIterator[None]:
    """The idle-screen posters, in the background while the server runs."""
    settings = app[SETTINGS]
    marketing = app.get(MARKETING)
    if marketing is None or settings.poster_interval <= 0 or not marketing.engine.campaigns:
        yield
        return
    loop = PosterLoop(
        app[HOUSEHOLD],
        marketing.placements,
        app[PUSH],
        app[REGISTRY],
        app[ACTIVITY],
        settings.poster_interval,
        settings.poster_idle,
    )
    app[POSTERS] = loop
    task = asyncio.create_task(loop.run(), name="idle-screen-posters")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _queue(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    app[LIMITS] = Limits(
        RateLimiter(settings.rate, settings.burst),
        TurnQueue(settings.max_running, settings.max_waiting),
        settings.max_body,
    )
    yield
    queue = app[LIMITS].queue
    if not await queue.drain(settings.shutdown_grace):
        logger.warning("%d turns still running at shutdown", queue.inside)


async def _close_websockets(app: web.Application) -> None:
    """Close every open WebSocket with 1001 "server shutting down".

    aiohttp 3.9 quirk: `close()` from another task wakes the handler's `receive()`
    first, and a handler that then returns gets its socket closed with 1000 and no
    reason before this close is sent. So a WebSocket handler ends with
    `await close_websocket(request.app, ws)`, which sends 1001 and the reason
    while the server stops.
    """
    app[STATUS].stopping = True
    open_now: set[web.WebSocketResponse] = app[WEBSOCKETS]
    sockets = list(open_now)
    await asyncio.gather(
        *(ws.close(code=SHUTDOWN_CODE, message=SHUTDOWN_REASON.encode()) for ws in sockets),
        return_exceptions=True,
    )


async def close_websocket(app: web.Application, ws: web.WebSocketResponse) -> None:
    """How a WebSocket handler closes its socket at its end: 1001 with the reason
    while the server stops, else a normal close (nothing if already closed)."""
    if app[STATUS].stopping:
        await ws.close(code=SHUTDOWN_CODE, message=SHUTDOWN_REASON.encode())
    else:
        await ws.close()


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every refusal as `{"error": reason}`, counted by kind; a crash is a logged 500."""
    metrics = request.app[METRICS]
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
    return f"{request.app[SETTINGS].max_body} bytes"


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
    device = await authenticate(request, app[REGISTRY])
    limits = app[LIMITS]
    wait = limits.rate.check(device.id)
    if wait is not None:
        rate = app[SETTINGS].rate
        raise ApiError(
            429,
            f"too many turns from device {device.id} (at most {rate:g} per second)",
            "rate_limited",
            wait,
        )
    asked = parse_turn_request(await read_json(request, limits.max_body))
    status = app[STATUS]
    if not status.ready:
        raise ApiError(503, "the models are still loading", "not_ready", LOADING_RETRY_AFTER)
    try:
        async with limits.queue.slot():
            try:
                turn = await app[HOUSEHOLD].turn(device, asked.text, asked.language)
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
                audio = await reply_audio(app[SPEAKER], turn.response.speech, turn.language)
    except QueueFull as exc:
        raise ApiError(503, str(exc), "queue_full", exc.retry_after) from None
    except InputError as exc:
        raise _bad(str(exc)) from None
    app[METRICS].turn(turn, device, time.perf_counter() - started)
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
    return web.json_response({"skills": request.app[SKILLS]}, dumps=_dumps)


async def get_health(request: web.Request) -> web.Response:
    app = request.app
    status = app[STATUS]
    settings = app[SETTINGS]
    reachable = True
    store = app.get(SESSIONS)
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
    body = request.app[METRICS].render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


async def get_screen(request: web.Request) -> web.StreamResponse:
    page = STATIC_DIR / "screen.html"
    if not page.is_file():
        raise ApiError(404, "the screen page is not installed", "not_found")
    return web.FileResponse(page)
