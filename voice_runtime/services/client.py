"""Calling a brand service: a signed JSON POST, a validated reply, or a failure reason.

`ServiceClient.call` never raises for anything the service or the network does:
it returns a `ServiceReply` or a `ServiceFailure` whose `reason` is one of

``refused url`` · ``circuit open`` · ``timeout`` · ``connection`` ·
``http <status>`` · ``invalid json`` · ``invalid reply: <field>``

and logs each failure as one line, so the caller can speak its fallback. Log
lines and failure details never show a URL's user info, query or fragment.

A reply is validated and cleaned by `reply.parse_reply` before it is returned.

`timeout` bounds the whole call, the one retry included. Only connection errors
that happen before a response arrives are retried (once); timeouts and HTTP
errors are not. Redirects are not followed (a redirect could leave the policy).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import aiohttp
import yarl

from .breaker import CircuitBreaker
from .policy import PolicyConnector, RefusedAddressError, ServicePolicy, ascii_safe, display_url
from .reply import InvalidReplyError, ServiceReply, parse_reply
from .signing import ServiceError, sign

logger = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
MAX_REPLY_BYTES = 64 * 1024
USER_AGENT = "voice-runtime-services/1"


@dataclass(frozen=True)
class ServiceRequest:
    """What the assistant tells a brand service about one turn.

    `user_id` is a pseudonym (see `pseudonym`), never the raw user id.
    """

    skill_id: str
    intent: str
    slots: Mapping[str, str]
    session_id: str
    device_type: str
    locale: str
    user_id: str

    def to_json(self) -> dict[str, Any]:
        """The JSON body of the request."""
        return {
            "version": PROTOCOL_VERSION,
            "skill_id": self.skill_id,
            "intent": self.intent,
            "slots": dict(self.slots),
            "session_id": self.session_id,
            "device_type": self.device_type,
            "locale": self.locale,
            "user_id": self.user_id,
        }

    def body(self) -> bytes:
        """The exact bytes sent (and signed)."""
        return json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class ServiceFailure:
    """Why a call produced no reply: a short `reason` and a human `detail`."""

    reason: str
    detail: str = ""

    @property
    def ok(self) -> Literal[False]:
        return False


ServiceOutcome = ServiceReply | ServiceFailure


def pseudonym(user_id: str, brand_secret_or_salt: bytes | str, brand_id: str) -> str:
    """A stable per-brand pseudonym for `user_id`: HMAC-SHA256(salt, brand_id, user_id).

    The same user gets a different id for each brand (the brand id is part of
    the MAC input even when two brands share a salt), and the raw id never
    leaves the device. Prefer an assistant-side salt the brand does not know:
    with the brand's own secret as the key, a brand could test guesses of
    low-entropy user ids (phone numbers) against the pseudonym.
    """
    key = (
        brand_secret_or_salt.encode("utf-8")
        if isinstance(brand_secret_or_salt, str)
        else brand_secret_or_salt
    )
    if not key:
        raise ServiceError("pseudonym needs a non-empty secret or salt")
    message = b"voice-pseudonym-v1\x00" + brand_id.encode() + b"\x00" + user_id.encode()
    return "u-" + hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


class _RetryableError(Exception):
    """A connection failure before any response: the request may not have arrived."""


def _one_line(text: str) -> str:
    return ascii_safe(" ".join(text.split()))


def _loggable(url: str) -> str:
    """The URL without user info, query or fragment (they may carry secrets)."""
    return display_url(url)


def scrub(text: str, url: str) -> str:
    """`text` (an error message) with `url`'s user info, password and query removed.

    Error messages of aiohttp and yarl may quote the URL, raw or normalised.
    """
    try:
        parts = urlsplit(url)
        secrets = [parts.password or "", parts.query, parts.fragment, parts.username or ""]
    except ValueError:
        secrets = []
    forms = [url]
    with contextlib.suppress(ValueError, TypeError, UnicodeError):
        forms.append(str(yarl.URL(url)))
    for form in forms:
        text = text.replace(form, display_url(url))
    for secret in secrets:
        for variant in {secret, unquote(secret)}:
            if len(variant) >= 3:
                text = text.replace(variant, "…")
    return text


def _log_failure(url: str, request: ServiceRequest, failure: ServiceFailure) -> ServiceFailure:
    clean = ServiceFailure(failure.reason, _one_line(scrub(failure.detail, url))[:500])
    logger.warning(
        "service call failed: skill=%s url=%s reason=%s detail=%s",
        ascii_safe(request.skill_id),
        _loggable(url),
        clean.reason,
        clean.detail,
    )
    return clean


class ServiceClient:
    """Calls brand services from a running event loop.

    The aiohttp session is created on the first call, inside the running loop,
    and bound to it; call `close()` (or use ``async with``) when done. One
    circuit breaker is kept per service URL.
    """

    def __init__(
        self,
        policy: ServicePolicy | None = None,
        *,
        failure_threshold: int = 3,
        cool_down: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.policy = policy if policy is not None else ServicePolicy.from_env()
        self._failure_threshold = failure_threshold
        self._cool_down = cool_down
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        self._breakers: dict[str, CircuitBreaker] = {}
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def breaker(self, url: str) -> CircuitBreaker:
        """The circuit breaker of the service at `url`."""
        breaker = self._breakers.get(url)
        if breaker is None:
            breaker = CircuitBreaker(self._failure_threshold, self._cool_down, self._monotonic)
            self._breakers[url] = breaker
        return breaker

    def _get_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is not None and not self._session.closed:
            if self._loop is not loop:
                raise ServiceError("ServiceClient used from another event loop; make one per loop")
            return self._session
        connector = PolicyConnector(self.policy, limit=32, enable_cleanup_closed=False)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None),  # the call's own deadline applies
            headers={"User-Agent": USER_AGENT},
            trust_env=False,
        )
        self._loop = loop
        return self._session

    async def close(self) -> None:
        """Close the HTTP session (a later call opens a new one)."""
        if self._session is not None:
            await self._session.close()
            self._session = None
            self._loop = None

    async def __aenter__(self) -> ServiceClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def call(
        self, url: str, request: ServiceRequest, secret: bytes, timeout: float = 1.5
    ) -> ServiceOutcome:
        """POST `request` to `url`, signed with `secret`; a reply or a failure, never an error."""
        refusal = self.policy.refusal(url)
        if refusal is not None:
            return _log_failure(url, request, ServiceFailure("refused url", refusal))
        breaker = self.breaker(url)
        if not breaker.allow():
            detail = f"{breaker.failures} consecutive failures; next try after the cool-down"
            return _log_failure(url, request, ServiceFailure("circuit open", detail))
        settled = False
        try:
            outcome = await self._call(url, request, secret, timeout)
            if isinstance(outcome, ServiceReply):
                breaker.record_success()
            elif outcome.reason == "refused url":  # the service was never reached
                breaker.release()
            else:
                breaker.record_failure()
            settled = True
        finally:
            if not settled:  # cancelled by the caller: not the service's fault
                breaker.release()
        if isinstance(outcome, ServiceFailure):
            return _log_failure(url, request, outcome)
        for note in outcome.notes:
            logger.warning(
                "service reply cleaned: skill=%s url=%s %s",
                ascii_safe(request.skill_id),
                _loggable(url),
                _one_line(note),
            )
        return outcome

    async def _call(
        self, url: str, request: ServiceRequest, secret: bytes, timeout: float
    ) -> ServiceOutcome:
        body = request.body()
        session = self._get_session()
        try:
            async with asyncio.timeout(timeout):
                try:
                    return await self._attempt(session, url, request, body, secret)
                except _RetryableError as first:
                    logger.info(
                        "service %s: connection failed (%s), retrying once",
                        _loggable(url),
                        _one_line(scrub(str(first), url)),
                    )
                try:
                    return await self._attempt(session, url, request, body, secret)
                except _RetryableError as second:
                    return ServiceFailure("connection", f"after one retry: {second}")
        except TimeoutError:
            return ServiceFailure("timeout", f"no reply within {timeout:g} s")

    async def _attempt(
        self,
        session: aiohttp.ClientSession,
        url: str,
        request: ServiceRequest,
        body: bytes,
        secret: bytes,
    ) -> ServiceOutcome:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Accept": "application/json",
            **sign(body, secret, int(self._wall_clock()), skill=request.skill_id),
        }
        try:
            response = await session.post(url, data=body, headers=headers, allow_redirects=False)
        except aiohttp.ClientConnectorCertificateError as error:
            return ServiceFailure("connection", f"certificate: {error.certificate_error}")
        except aiohttp.ClientConnectorError as error:
            if isinstance(error.os_error, RefusedAddressError):
                return ServiceFailure("refused url", str(error.os_error))
            raise _RetryableError(str(error)) from error
        except aiohttp.ClientConnectionError as error:  # disconnected, reset
            raise _RetryableError(str(error) or type(error).__name__) from error
        except aiohttp.ClientResponseError as error:  # not HTTP at all
            return ServiceFailure("connection", f"malformed HTTP response: {error.message}")
        except aiohttp.InvalidURL as error:
            return ServiceFailure("refused url", f"invalid URL {error}")
        except aiohttp.ClientError as error:  # any other client-side HTTP failure
            return ServiceFailure("connection", f"{type(error).__name__}: {error}")
        async with response:
            if response.status != 200:
                return ServiceFailure(f"http {response.status}", response.reason or "")
            try:
                raw = await _read_limited(response, MAX_REPLY_BYTES)
            except aiohttp.ClientError as error:  # cut off mid-body: not retried
                return ServiceFailure("connection", f"reply cut off: {error}")
        if raw is None:
            return ServiceFailure("invalid reply: body", f"larger than {MAX_REPLY_BYTES} bytes")
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError) as error:
            return ServiceFailure("invalid json", _one_line(str(error))[:200])
        try:
            return parse_reply(data, self.policy)
        except InvalidReplyError as error:
            return ServiceFailure(f"invalid reply: {error.field}", error.detail)


async def _read_limited(response: aiohttp.ClientResponse, limit: int) -> bytes | None:
    """The body, or None when it is longer than `limit` bytes."""
    if response.content_length is not None and response.content_length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await response.content.read(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
