"""Who is asking: a bearer token -> the `Device` it was issued to (via the registry).

`Authorization: Bearer <token>` on every request. WebSockets may also pass
`?token=<token>` (browsers cannot set headers on a WebSocket); plain HTTP
requests may not (tokens in URLs end up in logs and histories). A missing,
unknown or revoked token gets 401 with the reason. The registry (SQL) is
asked in a worker thread, so the event loop never blocks on the database.
"""

from __future__ import annotations

import asyncio
import json
import logging

from aiohttp import web
from sqlalchemy import exc as sa_exc

from ..errors import AuthError
from ..people import Device
from ..store.database import DatabaseError, reason
from ..store.devices import DeviceRegistry
from .protocol import error_json

logger = logging.getLogger(__name__)
SCHEME = "bearer"


def token_of(request: web.Request, websocket: bool = False) -> str:
    """The token a request carries ('' when none)."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != SCHEME or not token.strip():
            raise unauthorized("malformed Authorization header: use 'Bearer <token>'")
        return token.strip()
    if websocket:
        return request.query.get("token", "").strip()
    return ""


def unauthorized(why: str) -> web.HTTPUnauthorized:
    return web.HTTPUnauthorized(
        text=json.dumps(error_json(why)),
        content_type="application/json",
        headers={"WWW-Authenticate": 'Bearer realm="voice"'},
    )


async def authenticate(
    request: web.Request, registry: DeviceRegistry, websocket: bool = False
) -> Device:
    """The device behind the request's token; HTTPUnauthorized (401) with the reason."""
    token = token_of(request, websocket)
    if not token:
        where = "an Authorization: Bearer header or ?token=" if websocket else "a Bearer token"
        raise unauthorized(f"missing token: send {where}")
    try:
        return await asyncio.to_thread(registry.authenticate, token)
    except AuthError as exc:
        raise unauthorized(str(exc)) from None
    except (DatabaseError, sa_exc.SQLAlchemyError, OSError) as exc:
        logger.error("device registry unavailable: %s", reason(exc))
        raise web.HTTPServiceUnavailable(
            text=json.dumps(error_json("device registry unavailable")),
            content_type="application/json",
            headers={"Retry-After": "5"},
        ) from None
