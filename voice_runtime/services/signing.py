"""Request signing for brand services: HMAC-SHA256 over ``timestamp + "." + body``.

Every request the assistant sends to a brand service carries three headers:

``X-Voice-Timestamp``
    the unix time (whole seconds) at which the request was signed;
``X-Voice-Signature``
    ``v1=<hex>``, the lower-case hex HMAC-SHA256 of ``f"{timestamp}.".encode() + body``
    keyed with the brand's secret;
``X-Voice-Skill``
    the skill id (informational: the signed body names the skill too).

`verify` is what a brand runs on its side. It uses the standard library only;
to copy it into a service, take `verify`, `_header`, the four constants
(headers, ``v1``), ``import math`` and a ``class SignatureError(Exception)``.

An empty secret is refused on both sides (`sign` raises `ServiceError`,
`verify` raises `SignatureError`): a brand whose secret is missing from its
configuration must not accept requests anyone can sign.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Mapping

from ..errors import VoiceError

TIMESTAMP_HEADER = "X-Voice-Timestamp"
SIGNATURE_HEADER = "X-Voice-Signature"
SKILL_HEADER = "X-Voice-Skill"
SIGNATURE_VERSION = "v1"


class ServiceError(VoiceError):
    """A brand service cannot be used: its secret, URL or signature is wrong."""


class SignatureError(ServiceError):
    """A request's signature headers are missing, malformed, stale or do not match."""


def _mac(body: bytes, secret: bytes, timestamp: int) -> str:
    return hmac.new(secret, f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()


def sign(body: bytes, secret: bytes, timestamp: int, *, skill: str | None = None) -> dict[str, str]:
    """The signature headers for `body` sent at `timestamp` (unix seconds).

    `skill`, when given, adds the ``X-Voice-Skill`` header.
    """
    if not secret:
        raise ServiceError("cannot sign with an empty secret")
    headers = {
        TIMESTAMP_HEADER: str(int(timestamp)),
        SIGNATURE_HEADER: f"{SIGNATURE_VERSION}={_mac(body, secret, int(timestamp))}",
    }
    if skill is not None:
        headers[SKILL_HEADER] = skill
    return headers


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, ignoring case (a plain dict is case-sensitive)."""
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    for key, candidate in headers.items():
        if key.lower() == wanted:
            return candidate
    return None


def verify(
    headers: Mapping[str, str],
    body: bytes,
    secret: bytes,
    now: float | None = None,
    tolerance: int = 300,
) -> None:
    """Check that a request to a brand service was signed by the assistant.

    Call it with the request's headers (any mapping; names are matched ignoring
    case), the raw body bytes exactly as received (before any JSON parsing) and
    your brand secret. It returns None when the request is genuine and raises
    `SignatureError` with a one-line reason otherwise:

    - ``missing header X-Voice-Timestamp`` / ``missing header X-Voice-Signature``;
    - ``malformed X-Voice-Timestamp ...`` (not whole unix seconds) or
      ``malformed X-Voice-Signature ...`` (not ``v1=`` + 64 hex digits);
    - ``stale request: timestamp is N s old`` / ``... N s in the future``, when
      the timestamp is more than `tolerance` seconds (default 300, 5 minutes)
      away from `now` (default: the current time); this bounds replays;
    - ``signature mismatch`` (wrong secret, or the body or timestamp changed);
    - ``empty secret ...`` when `secret` is empty (a missing configuration must
      never accept requests signed with an empty key), and ``invalid clock ...``
      when `now` or `tolerance` is not a finite number (NaN would pass any
      freshness check).

    The expected signature is ``"v1=" + hex(HMAC_SHA256(secret, f"{timestamp}." + body))``,
    compared in constant time (`hmac.compare_digest`).

    A brand service answers a failed check with HTTP 401 and does not act on
    the request. Example (aiohttp)::

        body = await request.read()
        try:
            verify(request.headers, body, SECRET)
        except SignatureError as error:
            raise web.HTTPUnauthorized(text=str(error))
    """
    if not secret:
        raise SignatureError("empty secret: refusing every request until the secret is set")
    current = time.time() if now is None else now
    if not isinstance(current, int | float) or not math.isfinite(current):
        raise SignatureError(f"invalid clock: now must be a finite number, not {current!r}")
    if not isinstance(tolerance, int | float) or not math.isfinite(tolerance) or tolerance < 0:
        raise SignatureError("invalid clock: tolerance must be a finite number >= 0")
    raw_timestamp = _header(headers, TIMESTAMP_HEADER)
    if raw_timestamp is None:
        raise SignatureError(f"missing header {TIMESTAMP_HEADER}")
    raw_signature = _header(headers, SIGNATURE_HEADER)
    if raw_signature is None:
        raise SignatureError(f"missing header {SIGNATURE_HEADER}")

    raw_timestamp = raw_timestamp.strip()
    if not (raw_timestamp.isascii() and raw_timestamp.isdigit()) or len(raw_timestamp) > 12:
        raise SignatureError(f"malformed {TIMESTAMP_HEADER}: expected unix seconds")
    timestamp = int(raw_timestamp)

    version, _, digest = raw_signature.strip().partition("=")
    if version != SIGNATURE_VERSION or len(digest) != 64:
        raise SignatureError(f"malformed {SIGNATURE_HEADER}: expected 'v1=' and 64 hex digits")
    try:
        given = bytes.fromhex(digest)
    except ValueError:
        raise SignatureError(
            f"malformed {SIGNATURE_HEADER}: expected 'v1=' and 64 hex digits"
        ) from None

    age = current - timestamp
    if age > tolerance:
        raise SignatureError(f"stale request: timestamp is {age:.0f} s old (limit {tolerance} s)")
    if -age > tolerance:
        raise SignatureError(
            f"stale request: timestamp is {-age:.0f} s in the future (limit {tolerance} s)"
        )

    expected = hmac.new(secret, f"{timestamp}.".encode("ascii") + body, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, given):
        raise SignatureError("signature mismatch")
