"""The household server's start-up and tear-down: aiohttp `cleanup_ctx` generators.

Start-up (`CLEANUP_CTX`, in order): the device database; the NLU models of
every language, loaded in a worker thread before the port accepts traffic;
the session store, the push hub and the household, with scene marketing
attached when a project with campaigns is given (`campaigns/*.yaml`, unless
`settings.campaigns` is off); the turn queue; the idle-screen posters
(`posters.py`, every `settings.poster_interval` seconds, when marketing is on).
Tear-down runs backwards: the posters stop, the queue drains (in-flight turns
finish), then marketing, pushes, the store and the database close. Open
WebSockets are closed on shutdown with code 1001 "server shutting down"
(`shutdown_websockets`, an `on_shutdown` callback).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import WSCloseCode, web

from ..campaigns.catalog import campaigns_dir
from ..campaigns.setup import Marketing
from ..dialog.router import Assistant
from ..dialog.turn import Turn
from ..household.home import Household
from ..nlu.engine import NluEngine
from ..people import Device
from ..store.database import open_database
from ..store.devices import DeviceRegistry
from ..store.sessions import open_session_store
from . import app as server  # its keys, read at run time (app.py imports this module)
from .limits import Limits, RateLimiter, TurnQueue
from .posters import PosterLoop
from .push import PushHub

logger = logging.getLogger(server.__name__)  # its lines keep the name they had in app.py
SHUTDOWN_CODE = WSCloseCode.GOING_AWAY
SHUTDOWN_REASON = "server shutting down"


async def _database(app: web.Application) -> AsyncIterator[None]:
    engine = await asyncio.to_thread(open_database, app[server.SETTINGS].database_url)
    try:
        app[server.REGISTRY] = await asyncio.to_thread(DeviceRegistry, engine)
        yield
    finally:
        await asyncio.to_thread(engine.dispose)


async def _models(app: web.Application) -> AsyncIterator[None]:
    """Load every language's model in a worker thread; the port opens after this."""
    assistant = app[server.ASSISTANT]
    wanted = [lang for lang in app[server.SETTINGS].languages if lang in assistant.languages]
    status = app[server.STATUS]
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
    settings = app[server.SETTINGS]
    store = open_session_store(settings.redis_url, settings.idle_timeout)
    push = PushHub(settings.redis_url)
    await push.start()
    app[server.SESSIONS] = store
    app[server.PUSH] = push
    activity = app[server.ACTIVITY]

    async def notify(device: Device, turn: Turn) -> None:
        activity.turned(device.id)  # a conversation handed to a device is a turn there
        await push.notify(device, turn)

    household = Household(app[server.ASSISTANT], store, app[server.REGISTRY], notify=notify)
    household.observers.append(activity.observe)
    app[server.HOUSEHOLD] = household
    marketing = None
    try:
        marketing = await _marketing(app, household)
        if marketing is not None:
            app[server.MARKETING] = marketing
        yield
    finally:
        if marketing is not None:
            await marketing.aclose()
        await push.close()
        await store.close()
        close = getattr(app[server.ASSISTANT].conversation.services, "close", None)
        if close is not None:
            await close()


async def _marketing(app: web.Application, household: Household) -> Marketing | None:
    """Attach the project's campaigns to `household`; None when off or there are none."""
    settings = app[server.SETTINGS]
    project = app.get(server.PROJECT)
    if project is None or not settings.campaigns:
        return None
    if not campaigns_dir(project).is_dir():
        return None
    kwargs: dict[str, Any] = {}
    clock = app.get(server.CAMPAIGN_CLOCK)
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
    settings = app[server.SETTINGS]
    marketing = app.get(server.MARKETING)
    if marketing is None or settings.poster_interval <= 0 or not marketing.engine.campaigns:
        yield
        return
    loop = PosterLoop(
        app[server.HOUSEHOLD],
        marketing.placements,
        app[server.PUSH],
        app[server.REGISTRY],
        app[server.ACTIVITY],
        settings.poster_interval,
        settings.poster_idle,
    )
    app[server.POSTERS] = loop
    task = asyncio.create_task(loop.run(), name="idle-screen-posters")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _queue(app: web.Application) -> AsyncIterator[None]:
    settings = app[server.SETTINGS]
    app[server.LIMITS] = Limits(
        RateLimiter(settings.rate, settings.burst),
        TurnQueue(settings.max_running, settings.max_waiting),
        settings.max_body,
    )
    yield
    queue = app[server.LIMITS].queue
    if not await queue.drain(settings.shutdown_grace):
        logger.warning("%d turns still running at shutdown", queue.inside)


async def shutdown_websockets(app: web.Application) -> None:
    """Close every open WebSocket with 1001 "server shutting down".

    aiohttp 3.9 quirk: `close()` from another task wakes the handler's `receive()`
    first, and a handler that then returns gets its socket closed with 1000 and no
    reason before this close is sent. So a WebSocket handler ends with
    `await close_websocket(request.app, ws)`, which sends 1001 and the reason
    while the server stops.
    """
    app[server.STATUS].stopping = True
    open_now: set[web.WebSocketResponse] = app[server.WEBSOCKETS]
    sockets = list(open_now)
    await asyncio.gather(
        *(ws.close(code=SHUTDOWN_CODE, message=SHUTDOWN_REASON.encode()) for ws in sockets),
        return_exceptions=True,
    )


async def close_websocket(app: web.Application, ws: web.WebSocketResponse) -> None:
    """How a WebSocket handler closes its socket at its end: 1001 with the reason
    while the server stops, else a normal close (nothing if already closed)."""
    if app[server.STATUS].stopping:
        await ws.close(code=SHUTDOWN_CODE, message=SHUTDOWN_REASON.encode())
    else:
        await ws.close()


CLEANUP_CTX: tuple[Callable[[web.Application], AsyncIterator[None]], ...] = (
    _database,
    _models,
    _household,
    _queue,
    _posters,
)
"""Start-up in this order, tear-down in the reverse (`app.cleanup_ctx.extend(CLEANUP_CTX)`)."""
