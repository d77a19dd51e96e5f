"""Which service URLs the assistant may call, and the connector that enforces it.

A service URL must be ``http`` or ``https``, name a host, and carry no
credentials: no user name or password, and no query parameter that looks like
one (``api_key``, ``token``, ``secret``, ...); secrets belong in the secrets
file, where the signing key is. A host written with non-ASCII characters must
be a valid IDNA name, and may not stand for an IP address (``１２７.０.０.１``,
``127。0。0。1``, ``①②⑦.0.0.1`` all mean 127.0.0.1 once normalised).

Addresses are refused unless they are global unicast addresses: loopback,
private (10/8, 172.16/12, 192.168/16), unique-local (fc00::/7) and link-local
addresses are refused unless ``VOICE_ALLOW_PRIVATE_SERVICES=1`` (or
``ServicePolicy(allow_private=True)``) allows them for development; unspecified,
multicast, shared (100.64/10, carrier-grade NAT), site-local (fec0::/10),
reserved, documentation, benchmarking and every other non-global range stay
refused even then (no brand service lives there). IPv4-mapped IPv6 addresses
are judged by their IPv4 address; 6to4 and NAT64 addresses by the IPv4 address
they carry; Teredo and IPv4-compatible ones are refused.

`ServicePolicy.refusal` looks at the URL only (literal addresses, ``localhost``
names); it never resolves a name. `PolicyConnector` applies the address rule
where it matters: to every address a name resolves to, to literal addresses
(which aiohttp never passes to a resolver), before each connection is opened and
again to the peer address of the established connection, so nothing the URL
parser or resolver does can lead the client to a refused address. Messages show
URLs without user info, query or fragment.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver
from aiohttp.resolver import DefaultResolver

from ..addresses import ALLOW_PRIVATE_ENV, AddressRule, ascii_safe, display_url
from .signing import ServiceError


class PolicyError(ServiceError):
    """A service URL is not allowed."""


class RefusedAddressError(OSError):
    """A service host resolved (or connected) to an address the policy refuses."""


@dataclass(frozen=True)
class ServicePolicy(AddressRule):
    """The address rule, as the service client enforces it."""

    def check(self, url: str) -> None:
        """Raise `PolicyError` with the reason when `url` is refused."""
        reason = self.refusal(url)
        if reason is not None:
            raise PolicyError(reason)


class PolicyResolver(AbstractResolver):
    """aiohttp resolver that refuses names resolving to addresses the policy refuses.

    It wraps aiohttp's default resolver (the lookup the connection makes anyway)
    and raises `RefusedAddressError` if any resolved address is refused, which
    stops a public-looking name that points into the local network.
    (`PolicyConnector` checks every connection itself; this stays for callers
    that build their own connector.)
    """

    def __init__(self, policy: ServicePolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner if inner is not None else DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: int = socket.AF_INET
    ) -> list[dict[str, Any]]:
        infos = await self._inner.resolve(host, port, family)
        _check_resolved(self._policy, host, infos)
        return infos

    async def close(self) -> None:
        await self._inner.close()


def _check_resolved(policy: ServicePolicy, host: str, infos: list[dict[str, Any]]) -> None:
    if not infos:
        raise RefusedAddressError(f"host {ascii_safe(host)} resolves to no address")
    for info in infos:
        why = policy.connection_refusal(info.get("host"))
        if why is not None:
            address = ascii_safe(str(info.get("host")))
            raise RefusedAddressError(f"host {ascii_safe(host)} resolves to {address}, {why}")


class PolicyConnector(aiohttp.TCPConnector):
    """A `TCPConnector` that connects only to addresses `policy` allows.

    Checked for every new connection (the client's retry included): the
    addresses a host resolves to, the literal address aiohttp uses without a
    lookup, the address about to be connected and the peer address of the
    connection once established (refused: the transport is closed before
    anything is sent). A refusal raises `aiohttp.ClientConnectorError` whose
    `os_error` is a `RefusedAddressError`. This relies on aiohttp 3.9's
    `_resolve_host` and `_wrap_create_connection` (the project pins aiohttp <3.10).
    """

    def __init__(self, policy: ServicePolicy, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.policy = policy

    async def _resolve_host(self, host: str, port: int, traces: Any = None) -> list[dict[str, Any]]:
        infos: list[dict[str, Any]] = await super()._resolve_host(host, port, traces=traces)
        _check_resolved(self.policy, host, infos)
        return infos

    async def _wrap_create_connection(
        self,
        *args: Any,
        req: Any,
        timeout: Any,
        client_error: type[Exception] = aiohttp.ClientConnectorError,
        **kwargs: Any,
    ) -> tuple[asyncio.Transport, Any]:
        target = args[1] if len(args) > 1 else kwargs.get("host")
        if target is None:  # a socket handed over (proxies): only the peer check applies
            why: str | None = None
        else:
            why = self.policy.connection_refusal(target)
        if why is not None:
            error = RefusedAddressError(f"address {ascii_safe(str(target))} is {why}")
            raise aiohttp.ClientConnectorError(req.connection_key, error)
        transport, protocol = await super()._wrap_create_connection(
            *args, req=req, timeout=timeout, client_error=client_error, **kwargs
        )
        peer = transport.get_extra_info("peername")
        address = peer[0] if isinstance(peer, tuple) and peer else None
        why = (
            "unknown (no peer address)"
            if address is None
            else self.policy.connection_refusal(address)
        )
        if why is not None:
            transport.abort()
            shown = ascii_safe(str(address))
            error = RefusedAddressError(f"connected to {shown}, {why}")
            raise aiohttp.ClientConnectorError(req.connection_key, error)
        return transport, protocol


__all__ = [
    "ALLOW_PRIVATE_ENV",
    "PolicyConnector",
    "PolicyError",
    "PolicyResolver",
    "RefusedAddressError",
    "ServicePolicy",
    "ascii_safe",
    "display_url",
]
