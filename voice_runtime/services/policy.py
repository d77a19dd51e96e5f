"""Which service URLs the assistant may call.

A service URL must be ``http`` or ``https``, name a host, and carry no user
name or password. Hosts that are private, loopback, link-local, multicast,
unspecified or reserved addresses are refused, so a skill cannot make the
assistant reach into the home network or the device itself. The check looks
only at literal addresses (including legacy IPv4 forms such as ``127.1`` and
IPv4-mapped IPv6) and at ``localhost`` names: it never resolves a name.
`PolicyResolver` applies the same rule to the addresses a name resolves to when
the client connects (the DNS lookup the connection makes anyway).

Development against a local service: ``VOICE_ALLOW_PRIVATE_SERVICES=1`` (or
``ServicePolicy(allow_private=True)``) allows private, loopback and link-local
hosts; multicast, unspecified and reserved addresses stay refused (no HTTP
service can live there).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver
from aiohttp.resolver import DefaultResolver

from .signing import ServiceError

ALLOW_PRIVATE_ENV = "VOICE_ALLOW_PRIVATE_SERVICES"
_DEV_HINT = f"set {ALLOW_PRIVATE_ENV}=1 to allow it in development"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class PolicyError(ServiceError):
    """A service URL is not allowed."""


class RefusedAddressError(OSError):
    """A service host resolved to an address the policy refuses (raised while connecting)."""


def _literal_address(host: str) -> IPAddress | None:
    """The address `host` denotes without any lookup, or None for a name."""
    try:
        address: IPAddress = ipaddress.ip_address(host)
    except ValueError:
        # Legacy IPv4 forms the system resolver accepts: 127.1, 0x7f.0.0.1, 2130706433.
        if not host or not all(c in "0123456789abcdefx." for c in host):
            return None
        try:
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def address_refusal(address: IPAddress, allow_private: bool) -> str | None:
    """Why `address` may not be called (a short phrase), or None when it may."""
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_multicast:
        return "a multicast address"
    for private, phrase in (
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_private, "a private address"),
    ):
        if private:
            return None if allow_private else phrase
    if address.is_reserved:
        return "a reserved address"
    return None


@dataclass(frozen=True)
class ServicePolicy:
    """The URL rule; `allow_private` is the development switch."""

    allow_private: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServicePolicy:
        """`allow_private` from ``VOICE_ALLOW_PRIVATE_SERVICES=1`` in `env` (or os.environ)."""
        environ = os.environ if env is None else env
        return cls(allow_private=environ.get(ALLOW_PRIVATE_ENV, "").strip() == "1")

    def refusal(self, url: str) -> str | None:
        """A one-line reason why `url` is refused, or None when it is allowed."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as error:
            return f"refused url {url!r}: {error}"
        if port == 0:
            return f"refused url {url!r}: port 0"
        if parts.scheme not in ("http", "https"):
            scheme = parts.scheme or "none"
            return f"refused url {url!r}: scheme must be http or https, not {scheme}"
        host = (parts.hostname or "").rstrip(".")
        if not host:
            return f"refused url {url!r}: no host"
        if parts.username is not None or parts.password is not None:
            return f"refused url {url!r}: credentials in the URL are not allowed"
        if host == "localhost" or host.endswith(".localhost"):
            if self.allow_private:
                return None
            return f"refused url {url!r}: host {host} is the device itself; {_DEV_HINT}"
        address = _literal_address(host.split("%", 1)[0])
        if address is None:
            return None
        why = address_refusal(address, self.allow_private)
        if why is None:
            return None
        hint = "" if self.allow_private or why in _ALWAYS_REFUSED else f"; {_DEV_HINT}"
        return f"refused url {url!r}: host {host} is {why}{hint}"

    def check(self, url: str) -> None:
        """Raise `PolicyError` with the reason when `url` is refused."""
        reason = self.refusal(url)
        if reason is not None:
            raise PolicyError(reason)


_ALWAYS_REFUSED = ("an unspecified address", "a multicast address", "a reserved address")


class PolicyResolver(AbstractResolver):
    """aiohttp resolver that refuses names resolving to addresses the policy refuses.

    It wraps aiohttp's default resolver (the lookup the connection makes anyway)
    and raises `RefusedAddressError` if any resolved address is refused, which
    stops a public-looking name that points into the local network.
    """

    def __init__(self, policy: ServicePolicy) -> None:
        self._policy = policy
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: int = socket.AF_INET
    ) -> list[dict[str, Any]]:
        infos = await self._inner.resolve(host, port, family)
        for info in infos:
            address = ipaddress.ip_address(str(info["host"]).split("%", 1)[0])
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
                address = address.ipv4_mapped
            why = address_refusal(address, self._policy.allow_private)
            if why is not None:
                raise RefusedAddressError(f"host {host} resolves to {address}, {why}")
        return infos

    async def close(self) -> None:
        await self._inner.close()
