"""Calling the service a skill's intent declares: the router's `ServiceGateway`.

`ServiceCaller.call` (a coroutine) builds the request (skill id, intent, slots, session id,
device type, locale and the user's per-brand pseudonym, never the raw id),
signs it with the brand's secret, awaits the aiohttp client, and returns what
happened as a `ServiceResult` (no response: the skill's fallback is spoken). It
never raises for anything the service, the network or the configuration does.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Mapping
from pathlib import Path

from ..dialog.ports import ServiceResult
from ..dialog.session import Session
from ..dialog.turn import ServiceCall
from ..skills.model import Service, Skill
from .client import ServiceClient, ServiceReply, ServiceRequest, pseudonym
from .secrets import load_secret
from .signing import ServiceError

logger = logging.getLogger(__name__)

LOCALES = {"en": "en-US", "zh": "zh-CN"}
SALT_ENV = "VOICE_USER_SALT"


def user_salt(models_dir: Path) -> bytes:
    """The assistant's salt for user pseudonyms: $VOICE_USER_SALT, else a random one
    kept in models/user-salt (created on first use, readable by the owner only)."""
    from_env = os.environ.get(SALT_ENV, "").strip()
    if from_env:
        return from_env.encode()
    path = models_dir / "user-salt"
    try:
        return path.read_bytes().strip() or _new_salt(path)
    except FileNotFoundError:
        return _new_salt(path)


def _new_salt(path: Path) -> bytes:
    salt = secrets.token_hex(32).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(salt + b"\n")
    return salt


class ServiceCaller:
    """Calls brand services for the router, on the router's event loop.

    `rewrite` maps URL prefixes to others, so tests and local development can
    point a skill's service at a server on another port without editing YAML.
    """

    def __init__(
        self,
        salt: bytes,
        client: ServiceClient | None = None,
        rewrite: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.salt = salt
        self.rewrite = dict(rewrite or {})
        self.env = env
        self.client = client if client is not None else ServiceClient()

    def url_of(self, service: Service) -> str:
        for prefix, replacement in self.rewrite.items():
            if service.url.startswith(prefix):
                return replacement + service.url[len(prefix) :]
        return service.url

    def request(
        self, skill: Skill, intent: str, slots: Mapping[str, str], session: Session, language: str
    ) -> ServiceRequest:
        return ServiceRequest(
            skill_id=skill.id,
            intent=intent,
            slots=dict(slots),
            session_id=session.id,
            device_type=session.device_type,
            locale=LOCALES.get(language, language),
            user_id=pseudonym(session.user, self.salt, skill.id),
        )

    async def call(
        self,
        skill: Skill,
        service: Service,
        intent: str,
        slots: Mapping[str, str],
        session: Session,
        language: str,
    ) -> ServiceResult:
        request = self.request(skill, intent, slots, session, language)
        started = time.perf_counter()
        try:
            secret = load_secret(service.secret or skill.id, self.env)
        except ServiceError as exc:
            logger.warning("service call skipped: skill=%s reason=no secret (%s)", skill.id, exc)
            return ServiceResult(ServiceCall(service.name, request.to_json(), "no secret", 0.0))
        outcome = await self.client.call(self.url_of(service), request, secret, service.timeout)
        elapsed = (time.perf_counter() - started) * 1000
        if isinstance(outcome, ServiceReply):
            call = ServiceCall(service.name, request.to_json(), "ok", elapsed)
            return ServiceResult(call, outcome.to_response(), outcome.slots)
        return ServiceResult(ServiceCall(service.name, request.to_json(), outcome.reason, elapsed))

    async def close(self) -> None:
        await self.client.close()
