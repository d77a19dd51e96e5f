"""Calling the service a skill's intent declares, for the router.

`ServiceCaller.call` builds the request (skill id, intent, slots, session id,
device type, locale and the user's per-brand pseudonym, never the raw id),
signs it with the brand's secret, and returns what happened as a `ServiceCall`
plus the reply, or None when the skill's fallback must be spoken. It never
raises for anything the service, the network or the configuration does.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from ..dialog.session import Session
from ..dialog.turn import ServiceCall
from ..skills.model import Service, Skill
from .client import BlockingServiceClient, ServiceReply, ServiceRequest, pseudonym
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
    """Calls brand services from synchronous code (the router).

    `rewrite` maps URL prefixes to others, so tests and local development can
    point a skill's service at a server on another port without editing YAML.
    """

    def __init__(
        self,
        salt: bytes,
        client: BlockingServiceClient | None = None,
        rewrite: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.salt = salt
        self.rewrite = dict(rewrite or {})
        self.env = env
        self._client = client
        self._lock = threading.Lock()

    @property
    def client(self) -> BlockingServiceClient:
        with self._lock:
            if self._client is None:
                self._client = BlockingServiceClient()
            return self._client

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
            device_type=session.device,
            locale=LOCALES.get(language, language),
            user_id=pseudonym(session.user, self.salt, skill.id),
        )

    def call(
        self,
        skill: Skill,
        service: Service,
        intent: str,
        slots: Mapping[str, str],
        session: Session,
        language: str,
    ) -> tuple[ServiceCall, ServiceReply | None]:
        request = self.request(skill, intent, slots, session, language)
        started = time.perf_counter()
        try:
            secret = load_secret(service.secret or skill.id, self.env)
        except ServiceError as exc:
            logger.warning("service call skipped: skill=%s reason=no secret (%s)", skill.id, exc)
            return ServiceCall(service.name, request.to_json(), "no secret", 0.0), None
        outcome = self.client.call(self.url_of(service), request, secret, service.timeout)
        elapsed = (time.perf_counter() - started) * 1000
        if isinstance(outcome, ServiceReply):
            return ServiceCall(service.name, request.to_json(), "ok", elapsed), outcome
        return ServiceCall(service.name, request.to_json(), outcome.reason, elapsed), None

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
