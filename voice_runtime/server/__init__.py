"""The household server: aiohttp REST and WebSocket routes for speakers, TVs and phones.

    app = create_app(assistant, ServerSettings(database_url="sqlite:///voice.db"))
    web.run_app(app)

`voice serve` (cli/serve.py) runs it, in one or several processes.
"""

from __future__ import annotations

from .app import (
    ASSISTANT,
    HOUSEHOLD,
    LIMITS,
    METRICS,
    PUSH,
    REGISTRY,
    SESSIONS,
    SETTINGS,
    SPEAKER,
    STATUS,
    WEBSOCKETS,
    ServerSettings,
    ServerStatus,
    close_websocket,
    create_app,
)
from .protocol import error_json, push_json, turn_json

__all__ = [
    "ASSISTANT",
    "HOUSEHOLD",
    "LIMITS",
    "METRICS",
    "PUSH",
    "REGISTRY",
    "SESSIONS",
    "SETTINGS",
    "SPEAKER",
    "STATUS",
    "WEBSOCKETS",
    "ServerSettings",
    "ServerStatus",
    "close_websocket",
    "create_app",
    "error_json",
    "push_json",
    "turn_json",
]
