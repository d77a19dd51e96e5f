"""Calling the service a skill's intent declares: the router's `ServiceGateway`.

`ServiceCaller.call` (a coroutine) builds the request (skill id, intent, slots, session id,
device type, locale and the user's per-brand pseudonym, never the raw id),
signs it with the brand's secret, awaits the aiohttp client, and returns what
happened as a `ServiceResult` (no response: the skill's fallback is spoken). It
never raises for anything the service, the network or the configuration does.

Slot values a service returns are checked like the user's before the router
sees them: the skill must declare the slot; a list slot's value must be one of
its value ids, a number slot's a plain decimal number within the slot's minimum
and maximum (kept as the router writes numbers: ``4``, ``2.5``), a time slot's a
clock time ``H:MM`` or ``HH:MM`` (kept as ``9:30``). Anything else is dropped,
with one log line per reply naming the dropped slots.
"""

from __future__ import annotations

import logging
import math
import os
import re
import secrets
import time
from collections.abc import Mapping
from pathlib import Path

from ..dialog.ports import ServiceResult
from ..dialog.session import Session
from ..dialog.turn import ServiceCall
from ..nlu.numbers_base import format_number
from ..skills.free_text import clean_free_text
from ..skills.model import Service, Skill, Slot
from .client import ServiceClient, ServiceRequest, pseudonym
from .policy import ascii_safe, display_url
from .reply import ServiceReply
from .secrets import load_secret
from .signing import ServiceError

logger = logging.getLogger(__name__)

LOCALES = {"en": "en-US", "zh": "zh-CN"}
SALT_ENV = "VOICE_USER_SALT"
_NUMBER = re.compile(r"-?[0-9]{1,12}(?:\.[0-9]{1,6})?", re.ASCII)
_CLOCK = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])", re.ASCII)


def slot_value(slot: Slot, value: str) -> str | None:
    """`value` as the router would store it for `slot`, or None when it is not valid."""
    if slot.type == "list":
        return value if any(v.id == value for v in slot.values) else None
    if slot.type == "text":
        return clean_free_text(value)
    if slot.type == "time":
        clock = _CLOCK.fullmatch(value)
        return f"{int(clock.group(1))}:{clock.group(2)}" if clock else None
    if not _NUMBER.fullmatch(value):
        return None
    number = float(value)
    if not math.isfinite(number):
        return None
    if slot.minimum is not None and number < slot.minimum:
        return None
    if slot.maximum is not None and number > slot.maximum:
        return None
    return format_number(number if number % 1 else int(number))


def checked_slots(skill: Skill, slots: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The service's slot values the skill accepts, and the names of those dropped."""
    kept: dict[str, str] = {}
    dropped: list[str] = []
    for name, value in slots.items():
        slot = skill.slots.get(name)
        checked = slot_value(slot, value) if slot is not None else None
        if checked is None:
            dropped.append(name)
        else:
            kept[name] = checked
    return kept, dropped


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
            slots, dropped = checked_slots(skill, outcome.slots)
            if dropped:
                logger.warning(
                    "service reply slots dropped: skill=%s url=%s slots=%s reason=not a value "
                    "the skill's slot accepts",
                    ascii_safe(skill.id),
                    display_url(self.url_of(service)),
                    ",".join(ascii_safe(name[:64]) for name in dropped[:20]),
                )
            return ServiceResult(call, outcome.to_response(), slots)
        return ServiceResult(ServiceCall(service.name, request.to_json(), outcome.reason, elapsed))

    async def close(self) -> None:
        await self.client.close()
