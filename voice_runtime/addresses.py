"""Which addresses a brand service URL may name: the rule `voice validate` applies to skill
YAML and the service client applies to every connection (`services/policy.py`).

A service URL must be ``http`` or ``https``, name a host, and carry no
credentials: no user name or password, and no query parameter that looks like
one (``api_key``, ``token``, ``secret``, ...); secrets belong in the secrets
file, where the signing key is. A host written with non-ASCII characters must
be a valid IDNA name, and may not stand for an IP address (``１２７.０.０.１``,
``127。0。0。1``, ``①②⑦.0.0.1`` all mean 127.0.0.1 once normalised).

Addresses are refused unless they are global unicast addresses: loopback,
private (10/8, 172.16/12, 192.168/16), unique-local (fc00::/7) and link-local
addresses are refused unless ``VOICE_ALLOW_PRIVATE_SERVICES=1`` (or
``AddressRule(allow_private=True)``) allows them for development; unspecified,
multicast, shared (100.64/10, carrier-grade NAT), site-local (fec0::/10),
reserved, documentation, benchmarking and every other non-global range stay
refused even then (no brand service lives there). IPv4-mapped IPv6 addresses
are judged by their IPv4 address; 6to4 and NAT64 addresses by the IPv4 address
they carry; Teredo and IPv4-compatible ones are refused.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Self
from urllib.parse import parse_qsl, urlsplit

import idna

ALLOW_PRIVATE_ENV = "VOICE_ALLOW_PRIVATE_SERVICES"
_DEV_HINT = f"set {ALLOW_PRIVATE_ENV}=1 to allow it in development"
SECRETS_HINT = (
    "secrets belong in the secrets file (VOICE_SECRET_<SKILL_ID> or a line in the file "
    "named by VOICE_SECRETS_FILE), never in the URL"
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _nets(*cidrs: str) -> tuple[_Network, ...]:
    return tuple(ipaddress.ip_network(cidr) for cidr in cidrs)


# Allowed in development only (VOICE_ALLOW_PRIVATE_SERVICES=1).
_DEVELOPMENT = (
    (_nets("127.0.0.0/8", "::1/128"), "a loopback address"),
    (_nets("169.254.0.0/16", "fe80::/10"), "a link-local address"),
    (_nets("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"), "a private address"),
    (_nets("fc00::/7"), "a unique-local address"),
)
# Refused always, named explicitly (anything else that is not global is refused too).
_NEVER = (
    (_nets("0.0.0.0/8"), "an address of 'this network' (0.0.0.0/8)"),
    (_nets("100.64.0.0/10"), "a shared address (carrier-grade NAT, 100.64.0.0/10)"),
    (_nets("fec0::/10"), "a site-local address"),
    (_nets("2001::/32"), "a Teredo tunnel address"),
    (_nets("::/96"), "an IPv4-compatible IPv6 address"),
    (
        _nets("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"),
        "a documentation address",
    ),
    (_nets("198.18.0.0/15"), "a benchmarking address"),
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

# Query parameter names (split into words) that carry credentials.
_CREDENTIAL_WORDS = frozenset(
    {
        "key", "apikey", "token", "secret", "secrets", "password", "passwd", "pass", "pwd",
        "auth", "authorization", "signature", "sig", "credential", "credentials", "session",
        "sessionid", "sid", "access", "jwt", "bearer",
    }
)  # fmt: skip
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


def display_url(url: str) -> str:
    """`url` safe to show in a message or log: no user info, query or fragment, one line."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<malformed url>"
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    shown = f"{parts.scheme}://{netloc}{parts.path}" if parts.scheme else f"{netloc}{parts.path}"
    if parts.query or parts.fragment:
        shown += "?…"
    return ascii_safe(shown[:300])


def ascii_safe(text: str) -> str:
    """`text` with every non-printable character escaped (``\\x1b``, ``\\u202e``)."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def _literal_address(host: str) -> IPAddress | None:
    """The address `host` denotes without any lookup, or None for a name."""
    try:
        address: IPAddress = ipaddress.ip_address(host)
    except ValueError:
        # Legacy IPv4 forms the system resolver accepts: 127.1, 0x7f.0.0.1, 2130706433.
        if not host or not host.isascii() or not all(c in "0123456789abcdefx." for c in host):
            return None
        try:
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return address


def address_refusal(address: IPAddress, allow_private: bool) -> str | None:
    """Why `address` may not be called (a short phrase), or None when it may.

    Phrases of addresses refused even in development end with "(never allowed)".
    """
    why, development = _classify(address)
    if why is None or (development and allow_private):
        return None
    return why if development else f"{why} (never allowed)"


def _classify(address: IPAddress) -> tuple[str | None, bool]:
    """(why it is refused or None, whether development mode allows it)."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped
        if mapped is not None:
            return _classify(mapped)
        embedded = address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            inner, _ = _classify(embedded)
            if inner is None:
                return None, False
            return f"an IPv6 address that carries {embedded}, {inner}", False
    if address.is_unspecified:
        return "an unspecified address", False
    if address.is_multicast:
        return "a multicast address", False
    for networks, phrase in _DEVELOPMENT:
        if any(address in network for network in networks):
            return phrase, True
    for networks, phrase in _NEVER:
        if any(address in network for network in networks):
            return phrase, False
    if address.is_reserved:
        return "a reserved address", False
    if not address.is_global:
        return "a non-global address", False
    return None, False


def _credential_parameter(query: str) -> str | None:
    """The first query parameter whose name looks like a credential, or None."""
    for name, _ in parse_qsl(query, keep_blank_values=True):
        spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
        words = {w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w}
        if words & _CREDENTIAL_WORDS or name.lower().replace("-", "_") in ("api_key", "apikey"):
            return name
    return None


def ascii_host(host: str) -> str:
    """The ASCII form of a URL host; raises ValueError with the reason when it has none.

    Non-ASCII hosts must be valid IDNA names (UTS 46) and may not stand for an IP
    address after normalisation (full-width digits, ideographic full stops, circled
    or superscript digits).
    """
    if host.isascii():
        if "%" in host:
            shown = ascii_safe(host)
            raise ValueError(f"host {shown} contains '%' (percent-encoding or a zone id)")
        if any(label.lower().startswith("xn--") for label in host.split(".")):
            try:
                idna.decode(host.rstrip("."))
            except (idna.IDNAError, UnicodeError, ValueError) as error:
                shown = ascii_safe(host)
                raise ValueError(f"host {shown} is not a valid IDNA name ({error})") from None
        return host.lower()
    folded = unicodedata.normalize("NFKC", host).translate(_DOTS).rstrip(".")
    if _literal_address(folded) is not None or _literal_address(folded.strip("[]")) is not None:
        raise ValueError(
            f"host {ascii_safe(host)} is the IP address {folded} written with non-ASCII characters"
        )
    try:
        encoded = idna.encode(host.rstrip(".\u3002\uff0e\uff61"), uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError) as error:
        raise ValueError(f"host {ascii_safe(host)} is not a valid IDNA name ({error})") from None
    if _literal_address(encoded) is not None:
        raise ValueError(f"host {ascii_safe(host)} stands for the IP address {encoded}")
    if encoded.lower().rstrip(".").split(".")[-1] == "localhost":
        shown = ascii_safe(host)
        raise ValueError(f"host {shown} is '{encoded}' written with non-ASCII characters")
    return encoded.lower()


@dataclass(frozen=True)
class AddressRule:
    """The URL rule; `allow_private` is the development switch."""

    allow_private: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        """`allow_private` from ``VOICE_ALLOW_PRIVATE_SERVICES=1`` in `env` (or os.environ)."""
        environ = os.environ if env is None else env
        return cls(allow_private=environ.get(ALLOW_PRIVATE_ENV, "").strip() == "1")

    def problem(self, url: str, *, query_credentials: bool = True) -> str | None:
        """What is wrong with `url` (a phrase that never quotes the URL), or None.

        `query_credentials` False skips the check of query parameter names (card
        images: a CDN's signed URL is the brand's business, not a secret of ours).
        """
        if not isinstance(url, str):
            return "must be a string"
        if any(not c.isprintable() or c.isspace() for c in url):
            return "contains spaces or control characters"
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as error:
            return f"malformed ({error})"
        if parts.scheme not in ("http", "https"):
            return f"scheme must be http or https, not {ascii_safe(parts.scheme or 'none')}"
        if port == 0:
            return "port 0"
        if parts.username is not None or parts.password is not None or "@" in parts.netloc:
            return f"credentials in the URL are not allowed (user name or password); {SECRETS_HINT}"
        credential = _credential_parameter(parts.query) if query_credentials else None
        if credential is not None:
            return (
                f"credentials in the URL are not allowed (query parameter "
                f"'{ascii_safe(credential[:40])}'); {SECRETS_HINT}"
            )
        raw_host = parts.hostname or ""
        if not raw_host.rstrip("."):
            return "no host"
        try:
            host = ascii_host(raw_host).rstrip(".")
        except ValueError as error:
            return ascii_safe(str(error))
        if not host:
            return "no host"
        shown = ascii_safe(host)
        if host == "localhost" or host.endswith(".localhost"):
            if self.allow_private:
                return None
            return f"host {shown} is the device itself; {_DEV_HINT}"
        address = _literal_address(host)
        if address is None:
            return None
        why = address_refusal(address, self.allow_private)
        if why is None:
            return None
        hint = "" if self.allow_private or why.endswith("(never allowed)") else f"; {_DEV_HINT}"
        return f"host {shown} is {why}{hint}"

    def refusal(self, url: str) -> str | None:
        """A one-line reason why `url` is refused, or None when it is allowed."""
        problem = self.problem(url)
        if problem is None:
            return None
        return f"refused url {display_url(url)!r}: {problem}"

    def connection_refusal(self, host: object) -> str | None:
        """Why the connection address `host` (an IP address string) is refused, or None."""
        try:
            address = ipaddress.ip_address(str(host).split("%", 1)[0])
        except ValueError:
            return f"{ascii_safe(str(host))[:80]} is not an IP address"
        return address_refusal(address, self.allow_private)
