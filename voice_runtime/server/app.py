"""The household server's aiohttp application: its settings, typed app keys and `create_app`.

    app = create_app(assistant, ServerSettings(database_url="sqlite:///voice.db"))

The routes and the error middleware are in `routes.py` (the WebSocket in
`stream.py`); start-up, tear-down and the shutdown of open WebSockets in
`lifecycle.py`. Both read the keys defined here at run time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from ..campaigns.setup import Marketing
from ..dialog.router import Assistant
from ..household.home import Household
from ..languages import LANGUAGES
from ..project import Project
from ..store.database import safe_url
from ..store.devices import DeviceRegistry
from ..store.sessions import SessionStore
from ..tts.speaker import Speaker
from .lifecycle import CLEANUP_CTX, close_websocket, shutdown_websockets
from .limits import Limits
from .metrics import Metrics
from .posters import Activity, PosterLoop
from .push import PushHub
from .routes import (
    STATIC_DIR,
    error_middleware,
    get_health,
    get_metrics,
    get_screen,
    get_skills,
    post_turn,
    skills_json,
)
from .stream import stream_handler

__all__ = [
    "ACTIVITY",
    "ASSISTANT",
    "CAMPAIGN_CLOCK",
    "HOUSEHOLD",
    "LIMITS",
    "MARKETING",
    "METRICS",
    "POSTERS",
    "PROJECT",
    "PUSH",
    "REGISTRY",
    "SESSIONS",
    "SETTINGS",
    "SKILLS",
    "SPEAKER",
    "STATUS",
    "WEBSOCKETS",
    "ServerSettings",
    "ServerStatus",
    "close_websocket",
    "create_app",
]

logger = logging.getLogger(__name__)


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
    app.cleanup_ctx.extend(CLEANUP_CTX)
    # aiohttp 3.9 types its signals' callbacks oddly; a plain coroutine function is right
    app.on_shutdown.append(shutdown_websockets)  # type: ignore[arg-type]
    app.router.add_post("/v1/turns", post_turn)
    app.router.add_get("/v1/stream", stream_handler)
    app.router.add_get("/v1/skills", get_skills)
    app.router.add_get("/healthz", get_health)
    app.router.add_get("/metrics", get_metrics)
    app.router.add_get("/screen", get_screen)
    if STATIC_DIR.is_dir():
        app.router.add_static("/static/", STATIC_DIR)
    return app
