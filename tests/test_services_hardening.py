"""Issue 10, items 1-5: hostile brand-service URLs, replies and signatures.

One regression test per case found (each failed before the fix), and property
tests that mutate service replies, parsed directly and served by a real aiohttp
server on 127.0.0.1. Nothing here connects anywhere but loopback: refusals of
other addresses are tested without connecting, or with a resolver stub and a
stubbed dial that records any attempt.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import json
import logging
import socket
import threading
import unicodedata
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web
from blocking_client import BlockingServiceClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from voice_runtime.cli.main import main
from voice_runtime.cli.shell import print_turn
from voice_runtime.dialog.session import Session
from voice_runtime.dialog.turn import ServiceCall, SkillResponse, Turn
from voice_runtime.services.caller import ServiceCaller
from voice_runtime.services.client import ServiceClient, ServiceFailure, ServiceRequest, scrub
from voice_runtime.services.policy import PolicyConnector, RefusedAddressError, ServicePolicy
from voice_runtime.services.reply import (
    MAX_CARD_TEXT,
    MAX_SPEECH,
    ServiceReply,
    is_unsafe_char,
    parse_reply,
)
from voice_runtime.services.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    ServiceError,
    SignatureError,
    sign,
    verify,
)
from voice_runtime.skills.loader import load_skill_text
from voice_runtime.skills.model import Card, Skill

T = TypeVar("T")
SECRET = b"hardening-secret"
STRICT = ServicePolicy()
DEV = ServicePolicy(allow_private=True)

SKILL = """\
version: 1
id: garage
brand: Garage Co
name: {en: Garage, zh: 车库}
invocations: {en: [garage], zh: [车库]}
launch: {en: Welcome to the garage., zh: 欢迎来到车库。}
help: {en: Ask to book a service., zh: 你可以预约保养。}
slots:
  car:
    values:
      van: {en: [van], zh: [面包车]}
      coupe: {en: [coupe], zh: [跑车]}
    prompt: {en: "Which car?", zh: 哪辆车？}
  time:
    type: time
    prompt: {en: "What time?", zh: 几点？}
  people:
    type: number
    min: 1
    max: 12
    prompt: {en: "How many people?", zh: 几个人？}
intents:
  book:
    examples:
      en: [book a service, "book my [van](car) in"]
      zh: [预约保养, "帮我预约[面包车](car)保养"]
    slots: [car]
services:
  booking:
    url: http://127.0.0.1:9/garage/booking
    timeout: 1.0
    intents: [book]
    fallback: {en: "Sorry, the garage can't be reached.", zh: 抱歉，联系不上车库。}
"""
URL_LINE = 1 + SKILL.splitlines().index("    url: http://127.0.0.1:9/garage/booking")

UNICODE_LOOPBACK_HOSTS = [
    "１２７.０.０.１",
    "127。0。0。1",
    "①②⑦.0.0.1",
    "127.0.0.¹",
    "127．0．0．1",
]


# -- a loopback service in a background loop ----------------------------------------------


class Loopback:
    """An aiohttp server on 127.0.0.1 in its own thread; replies with `body` and records hits."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.body: bytes = b'{"speech": "ok"}'
        self.hits: list[bytes] = []
        self.drop_first = False
        self.on_hit: list[Any] = []
        self.runner: web.AppRunner | None = None
        self.port = 0
        self.run(self._start())

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.hits.append(await request.read())
        for hook in self.on_hit:
            hook()
        if self.drop_first and len(self.hits) == 1:
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        return web.Response(body=self.body, content_type="application/json")

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.port = int(self.runner.addresses[0][1])

    def url(self, host: str = "127.0.0.1", path: str = "/hook") -> str:
        return f"http://{host}:{self.port}{path}"

    def close(self) -> None:
        if self.runner is not None:
            self.run(self.runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture(scope="module")
def loopback() -> Iterator[Loopback]:
    server = Loopback()
    yield server
    server.close()


@pytest.fixture()
def service(loopback: Loopback) -> Loopback:
    loopback.hits.clear()
    loopback.body = b'{"speech": "ok"}'
    loopback.drop_first = False
    loopback.on_hit.clear()
    return loopback


def make_request() -> ServiceRequest:
    return ServiceRequest("garage", "book", {"car": "van"}, "s-1", "speaker", "en-US", "u-1")


def blocking(policy: ServicePolicy) -> BlockingServiceClient:
    return BlockingServiceClient(ServiceClient(policy, failure_threshold=10**9))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def validate(tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    path = tmp_path / "garage.yaml"
    path.write_text(SKILL.replace("http://127.0.0.1:9/garage/booking", url), "utf-8")
    assert main(["validate", str(path)]) == 1
    output = capsys.readouterr().out
    errors = [line for line in output.splitlines() if ": error: " in line]
    assert len(errors) == 1, output
    assert errors[0].startswith(f"{path}:{URL_LINE}:"), errors
    return errors


# -- 1. address policy --------------------------------------------------------------------


@pytest.mark.parametrize("host", UNICODE_LOOPBACK_HOSTS)
def test_unicode_spelled_loopback_is_refused_by_the_policy(host: str) -> None:
    url = f"http://{host}:18921/anchor_baking/lessons"
    for policy in (STRICT, DEV):
        reason = policy.refusal(url)
        assert reason is not None and "127.0.0.1" in reason and "non-ASCII" in reason, reason


@pytest.mark.parametrize("host", UNICODE_LOOPBACK_HOSTS)
def test_validate_rejects_unicode_spelled_addresses_with_file_and_line(
    host: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    [error] = validate(tmp_path, f"http://{host}:18921/anchor_baking/lessons", capsys)
    assert "url is refused: host" in error and "127.0.0.1" in error


@pytest.mark.parametrize(
    "url",
    [
        "http://ｌｏｃａｌｈｏｓｔ/hook",
        "http://xn--a.example/hook",
        "http://ex\u00adample.com/hook",
        "http://a\u202eb.example/hook",
        "http://100.64.0.1/hook",
        "http://[fec0::1]/hook",
        "http://[::ffff:100.64.1.1]/hook",
        "http://255.255.255.255/hook",
        "http://240.0.0.1/hook",
    ],
)
def test_validate_rejects_hosts_that_are_never_allowed(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    [error] = validate(tmp_path, url, capsys)
    assert "url is refused" in error


def test_validate_accepts_a_loopback_service_for_development_and_an_idn() -> None:
    for url in ("http://127.0.0.1:8790/x", "https://bücher.example/hook?v=2"):
        loaded = load_skill_text(SKILL.replace("http://127.0.0.1:9/garage/booking", url), "g.yaml")
        assert loaded.skill is not None, [str(d) for d in loaded.diagnostics]


@pytest.mark.parametrize(
    ("address", "allowed_in_development"),
    [
        ("100.64.0.1", False),  # shared, carrier-grade NAT
        ("100.127.255.254", False),
        ("fec0::1", False),  # site-local
        ("0.1.2.3", False),  # "this network"
        ("198.18.0.1", False),  # benchmarking
        ("192.0.2.7", False),  # documentation
        ("2001:db8::1", False),
        ("240.0.0.1", False),  # reserved
        ("255.255.255.255", False),
        ("224.0.0.251", False),  # multicast
        ("ff02::1", False),
        ("::", False),
        ("::ffff:100.64.0.1", False),  # IPv4-mapped
        ("::ffff:0.0.0.0", False),
        ("::7f00:1", False),  # IPv4-compatible
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("64:ff9b::a00:1", False),  # NAT64 of 10.0.0.1
        ("2001::1", False),  # Teredo
        ("fc00::1", True),  # unique-local
        ("fd12:3456::1", True),
        ("127.0.0.1", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.1.2.3", True),
        ("169.254.169.254", True),
        ("fe80::1", True),
    ],
)
def test_non_global_addresses_are_refused(address: str, allowed_in_development: bool) -> None:
    assert STRICT.connection_refusal(address) is not None
    assert (DEV.connection_refusal(address) is None) is allowed_in_development
    host = f"[{address}]" if ":" in address else address
    assert STRICT.refusal(f"https://{host}/hook") is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700::1", "64:ff9b::5db8:d822"])
def test_global_addresses_are_allowed(address: str) -> None:
    assert STRICT.connection_refusal(address) is None


@pytest.mark.parametrize("host", UNICODE_LOOPBACK_HOSTS)
def test_unicode_spelled_loopback_sends_nothing(service: Loopback, host: str) -> None:
    with blocking(STRICT) as client:
        outcome = client.call(service.url(host), make_request(), SECRET)
    assert isinstance(outcome, ServiceFailure) and outcome.reason == "refused url", outcome
    assert service.hits == []


def test_the_connector_refuses_loopback_even_when_the_url_check_is_bypassed(
    service: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The address actually dialled is checked: yarl turns １２７.０.０.１ into 127.0.0.1,
    which aiohttp never gives to a resolver."""
    monkeypatch.setattr(ServicePolicy, "problem", lambda self, url, **_: None)
    with blocking(STRICT) as client:
        for host in ["127.0.0.1", "１２７.０.０.１", "127.1", "[::ffff:127.0.0.1]", "localhost"]:
            outcome = client.call(service.url(host), make_request(), SECRET)
            assert isinstance(outcome, ServiceFailure), outcome
            assert outcome.reason == "refused url" and "loopback" in outcome.detail, outcome
    assert service.hits == []


class _Gate:
    open = True


class GatedPolicy(ServicePolicy):
    """Allows loopback while the gate is open (a stand-in for a name that changes address)."""

    def problem(self, url: str, *, query_credentials: bool = True) -> str | None:
        return None

    def connection_refusal(self, host: object) -> str | None:
        return None if _Gate.open else super().connection_refusal(host)


def test_the_retry_connection_is_checked_too(service: Loopback) -> None:
    _Gate.open = True

    def close_gate() -> None:
        _Gate.open = False

    service.drop_first = True
    service.on_hit.append(close_gate)
    with blocking(GatedPolicy()) as client:
        outcome = client.call(service.url(), make_request(), SECRET)
    assert isinstance(outcome, ServiceFailure) and outcome.reason == "refused url", outcome
    assert len(service.hits) == 1  # the first connection got through; the retry did not


class StubResolver(aiohttp.abc.AbstractResolver):
    """Resolves every name to the addresses given, without any lookup."""

    addresses: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    async def resolve(
        self, host: str, port: int = 0, family: int = socket.AF_INET
    ) -> list[dict[str, Any]]:
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": 0,
            }
            for address in self.addresses
        ]

    async def close(self) -> None:
        pass


@pytest.fixture()
def no_dialing(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Resolve with `StubResolver`; record (and fail) every connection attempt."""
    attempts: list[tuple[Any, ...]] = []

    async def dial(self: Any, *args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise AssertionError("no connection may be attempted")

    monkeypatch.setattr(aiohttp.connector, "DefaultResolver", StubResolver)
    monkeypatch.setattr(aiohttp.TCPConnector, "_wrap_create_connection", dial)
    return attempts


@pytest.mark.parametrize(
    "addresses",
    [["10.0.0.7"], ["100.64.3.4"], ["fec0::2"], ["fd00::1"], ["93.184.216.34", "127.0.0.1"]],
)
def test_a_name_resolving_to_a_refused_address_is_never_dialled(
    no_dialing: list[tuple[Any, ...]], addresses: list[str]
) -> None:
    StubResolver.addresses = addresses
    with blocking(STRICT) as client:
        outcome = client.call("https://brand.example.com/hook", make_request(), SECRET)
    assert isinstance(outcome, ServiceFailure) and outcome.reason == "refused url", outcome
    assert "resolves to" in outcome.detail
    assert no_dialing == []


class FakeTransport:
    def __init__(self, peer: tuple[str, int]) -> None:
        self.peer = peer
        self.aborted = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.peer if name == "peername" else default

    def abort(self) -> None:
        self.aborted = True


def test_the_peer_address_of_the_connection_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """A dial to an allowed address that ends up connected to loopback is closed unused."""
    transport = FakeTransport(("127.0.0.1", 443))

    async def dial(self: Any, *args: Any, **kwargs: Any) -> Any:
        return transport, object()

    monkeypatch.setattr(aiohttp.TCPConnector, "_wrap_create_connection", dial)

    async def connect() -> BaseException | None:
        connector = PolicyConnector(STRICT)
        key = aiohttp.client_reqrep.ConnectionKey(
            "brand.example.com", 443, True, True, None, None, None
        )
        request = type("Req", (), {"connection_key": key})()
        try:
            await connector._wrap_create_connection(
                None, "93.184.216.34", 443, req=request, timeout=None
            )
        except aiohttp.ClientConnectorError as error:
            return error.os_error
        finally:
            await connector.close()
        return None

    error = asyncio.run(connect())
    assert isinstance(error, RefusedAddressError) and "connected to 127.0.0.1" in str(error)
    assert transport.aborted


# -- 2. card images -----------------------------------------------------------------------


def card_reply(image: object) -> dict[str, Any]:
    return {"speech": "hi", "card": {"title": "T", "text": "x", "image": image}}


@pytest.mark.parametrize(
    "image",
    [
        "http://127.0.0.1/admin",
        "https://127.0.0.1/admin",
        "https://[::1]/a.png",
        "https://localhost/a.png",
        "https://10.0.0.1/a.png",
        "https://１２７.０.０.１/a.png",
        "javascript:alert(1)",
        "data:image/png;base64,iVBORw0KGgo=",
        "file:///etc/passwd",
        "http://cdn.example.com/a.png",  # http only in development
        "https://user:pw@cdn.example.com/a.png",
        "https://cdn.example.com/a b.png",
        "https://cdn.example.com/\u202egnp.exe",
        "https://100.64.0.1/a.png",
        "https:///a.png",
        "https://cdn.example.com/" + "a" * 3000,
        42,
        ["https://cdn.example.com/a.png"],
    ],
)
def test_card_images_the_policy_refuses_are_dropped_and_the_card_kept(image: object) -> None:
    reply = parse_reply(card_reply(image), STRICT)
    assert reply.card == Card("T", "x", None)
    assert len(reply.notes) == 1 and "card image" in reply.notes[0]
    assert "\n" not in reply.notes[0] and "pw@" not in reply.notes[0]


def test_allowed_card_images() -> None:
    for image in ("https://cdn.example.com/a.png?sig=abc", "https://bücher.example/a.png"):
        assert parse_reply(card_reply(image), STRICT).card == Card("T", "x", image)
    assert parse_reply(card_reply("http://127.0.0.1/a.png"), DEV).card == Card(
        "T", "x", "http://127.0.0.1/a.png"
    )
    assert parse_reply(card_reply("javascript:alert(1)"), DEV).card == Card("T", "x", None)
    assert parse_reply(card_reply("https://100.64.0.1/a.png"), DEV).card == Card("T", "x", None)


def test_a_served_javascript_image_never_reaches_the_card(
    service: Loopback, caplog: pytest.LogCaptureFixture
) -> None:
    service.body = json.dumps(card_reply("javascript:alert(document.cookie)")).encode()
    with caplog.at_level(logging.INFO, "voice_runtime.services"), blocking(DEV) as client:
        outcome = client.call(service.url(), make_request(), SECRET)
    assert outcome == ServiceReply("hi", Card("T", "x", None))
    [line] = [r.getMessage() for r in caplog.records if "card image" in r.getMessage()]
    assert line.startswith("service reply cleaned: skill=garage")


# -- 3. cleaning replies, slot values, the shell --------------------------------------------

HOSTILE_SPEECH = (
    "Fine.\x1b]0;pwned\x07\x00\r\n  answer    FORGED LINE\u202egnp.exe\u2066x\u2069\u200e"
    "\x9b31m\ufeff\u2028end"
)


def test_speech_and_card_texts_are_cleaned(service: Loopback) -> None:
    card = {"title": "\x1b[2JTitle\n", "text": "a\tb\u202ec\u200dd"}
    service.body = json.dumps({"speech": HOSTILE_SPEECH, "card": card}).encode()
    with blocking(DEV) as client:
        outcome = client.call(service.url(), make_request(), SECRET)
    assert isinstance(outcome, ServiceReply), outcome
    assert outcome.speech == "Fine.]0;pwned answer FORGED LINEgnp.exex31m end"
    assert outcome.card == Card("[2JTitle", "a bc\u200dd", None)


@pytest.mark.parametrize("speech", ["\x1b\x07\x00", "\u202e\n\t ", "\ud800\udfff"])
def test_speech_that_is_only_control_characters_is_invalid(speech: str) -> None:
    with pytest.raises(ValueError, match="speech"):
        parse_reply({"speech": speech})


def test_slot_values_with_control_characters_are_dropped() -> None:
    reply = parse_reply({"speech": "ok", "slots": {"car": "van\x1b[0m", "a\u202e": "b", "t": "1"}})
    assert reply.slots == {"t": "1"} and len(reply.notes) == 2


def test_print_turn_is_terminal_safe() -> None:
    hostile = "hi\x1b]0;title\x07\n  answer    FORGED LINE\u202e\x00"
    turn = Turn(
        text=hostile,
        language="en",
        intent="garage.book",
        skill="garage",
        response=SkillResponse(HOSTILE_SPEECH, Card(hostile, hostile, hostile)),
        slots={"car": hostile},
        service=ServiceCall("booking", {}, "ok", 1.0),
        state={"waiting_for": hostile},
    )
    out = io.StringIO()
    print_turn(turn, out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 8, lines
    assert [line for line in lines if line.startswith("  answer")] == [lines[6]]
    assert not any(c in out.getvalue() for c in "\x1b\x07\x00\u202e\u2028\x9b\r")
    assert "\\x1b]0;title\\x07\\n  answer    FORGED LINE\\u202e\\x00" in lines[0]
    assert "中文\u3000文本" in _printed("中文\u3000文本")


def _printed(text: str) -> str:
    out = io.StringIO()
    print_turn(Turn(text, "zh", "x", None, SkillResponse(text)), out)
    return out.getvalue()


def load_garage(url: str) -> Skill:
    loaded = load_skill_text(SKILL.replace("http://127.0.0.1:9", url), "garage.yaml")
    assert loaded.skill is not None, [str(d) for d in loaded.diagnostics]
    return loaded.skill


@pytest.mark.parametrize(
    ("slots", "kept"),
    [
        (
            {
                "car": "../../etc/passwd",
                "people": "99999",
                "time": "25:99",
                "ghost": "x",
            },
            {},
        ),
        ({"people": "0", "time": "9:3", "car": "VAN"}, {}),
        ({"people": "1e3", "time": "１０:３０", "car": " van"}, {}),
        ({"people": "nan", "time": "10:30:00"}, {}),
        (
            {"people": "4", "time": "09:30", "car": "van"},
            {"people": "4", "time": "9:30", "car": "van"},
        ),
        ({"people": "12.0", "time": "23:59"}, {"people": "12", "time": "23:59"}),
    ],
)
def test_service_slot_values_are_checked_against_the_skill(
    service: Loopback,
    caplog: pytest.LogCaptureFixture,
    slots: dict[str, str],
    kept: dict[str, str],
) -> None:
    service.body = json.dumps({"speech": "Booked.", "slots": slots}).encode()
    skill = load_garage(f"http://127.0.0.1:{service.port}")

    async def call() -> Any:
        caller = ServiceCaller(
            b"salt",
            ServiceClient(DEV),
            env={"VOICE_SECRET_GARAGE": SECRET.decode()},
        )
        try:
            return await caller.call(
                skill, skill.services["booking"], "book", {"car": "van"}, Session(), "en"
            )
        finally:
            await caller.close()

    with caplog.at_level(logging.INFO, "voice_runtime.services"):
        result = asyncio.run(call())
    assert result.call.outcome == "ok" and dict(result.slots) == kept
    dropped = [r.getMessage() for r in caplog.records if "slots dropped" in r.getMessage()]
    assert len(dropped) == (1 if len(kept) < len(slots) else 0), dropped
    assert all("passwd" not in line for line in dropped)


# -- 4. credentials in URLs -----------------------------------------------------------------

CREDENTIAL_URL = "https://brand:SECRETPASS@api.example.com/hook?api_key=SECRETQUERY"


@pytest.mark.parametrize(
    "url",
    [
        CREDENTIAL_URL,
        "https://brand@api.example.com/hook",
        "https://api.example.com/hook?token=SECRETQUERY",
        "https://api.example.com/hook?v=1&accessToken=SECRETQUERY",
        "https://api.example.com/hook?X-Api-Key=SECRETQUERY",
    ],
)
def test_validate_refuses_credentials_in_urls_without_printing_them(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    [error] = validate(tmp_path, url, capsys)
    assert "credentials in the URL are not allowed" in error and "secrets file" in error
    assert "SECRET" not in error.replace("VOICE_SECRET", "")


def test_logs_never_show_userinfo_or_query(caplog: pytest.LogCaptureFixture) -> None:
    closed = free_port()
    with caplog.at_level(logging.DEBUG, "voice_runtime.services"):
        with blocking(STRICT) as strict:
            outcome = strict.call(CREDENTIAL_URL, make_request(), SECRET)
            assert isinstance(outcome, ServiceFailure) and outcome.reason == "refused url"
            assert "SECRET" not in outcome.detail.replace("VOICE_SECRET", "")
        with blocking(DEV) as dev:
            for url in (
                f"http://127.0.0.1:{closed}/hook?v=SECRETQUERY#SECRETFRAGMENT",
                f"http://u:SECRETPASS@127.0.0.1:{closed}/hook",
                f"http://127.0.0.1:{closed}/hook?session=SECRETQUERY",
            ):
                outcome = dev.call(url, make_request(), SECRET)
                assert isinstance(outcome, ServiceFailure), outcome
                assert "SECRET" not in outcome.detail.replace("VOICE_SECRET", "")
    messages = [r.getMessage() for r in caplog.records]
    assert any("retrying once" in m for m in messages)  # the retry line was checked too
    assert len(messages) >= 5
    for message in messages:
        assert "SECRET" not in message.replace("VOICE_SECRET", ""), message
        assert "\n" not in message


def test_scrub_removes_the_secret_parts_of_a_quoted_url() -> None:
    url = "http://u:SECRETPASS@h.example/p?q=SECRETQUERY"
    text = scrub(f"InvalidURL {url} and URL('{url}') and SECRETPASS", url)
    assert "SECRET" not in text and "http://h.example/p?…" in text


# -- 5. signatures ----------------------------------------------------------------------------

BODY = b'{"version":1}'
NOW = 1_700_000_000


def test_verify_refuses_an_empty_key() -> None:
    digest = hmac.new(b"", f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    forged = {TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: f"v1={digest}"}
    with pytest.raises(SignatureError, match="empty secret"):
        verify(forged, BODY, b"", now=NOW)
    with pytest.raises(ServiceError, match="empty secret"):
        sign(BODY, b"", NOW)


@pytest.mark.parametrize("now", [float("nan"), float("inf"), float("-inf")])
def test_verify_refuses_a_non_finite_clock(now: float) -> None:
    headers = sign(BODY, SECRET, NOW - 10**6)  # stale by far
    with pytest.raises(SignatureError, match="invalid clock"):
        verify(headers, BODY, SECRET, now=now)
    with pytest.raises(SignatureError, match="invalid clock"):
        verify(sign(BODY, SECRET, NOW), BODY, SECRET, now=NOW, tolerance=now)  # type: ignore[arg-type]
    verify(sign(BODY, SECRET, NOW), BODY, SECRET, now=NOW)


# -- property tests: mutated replies ----------------------------------------------------------

NASTY = (
    "\x00\x07\x08\x1b\x7f\x85\x9b\u200b\u200e\u200f\u202a\u202e\u2066\u2069\u061c"
    "\ufeff\u2028\u2029\ud800\udfff\n\r\t "
)
nasty_text = st.text(
    st.one_of(st.sampled_from(NASTY), st.characters(blacklist_categories=())), max_size=40
)
huge_text = st.integers(1990, 2100).map(lambda n: "x\x1b" * (n // 2))
texts = st.one_of(nasty_text, huge_text, st.sampled_from(["", " ", "ok", "好的"]))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=8,
)
images = st.one_of(
    st.sampled_from(
        [
            "https://cdn.example.com/a.png",
            "http://cdn.example.com/a.png",
            "http://127.0.0.1/admin",
            "https://１２７.０.０.１/x",
            "javascript:alert(1)",
            "data:text/html,<script>",
            "https://u:p@cdn.example.com/a.png",
            "https://100.64.0.1/a.png",
        ]
    ),
    st.builds(
        lambda scheme, host, path: f"{scheme}://{host}/{path}",
        st.sampled_from(["http", "https", "ftp", "javascript", ""]),
        st.one_of(st.sampled_from(["cdn.example.com", "10.0.0.1", "[::1]", "[fec0::1]"]), texts),
        texts,
    ),
    json_values,
)
slot_maps = st.dictionaries(
    st.one_of(st.sampled_from(["car", "people", "time", "ghost"]), texts),
    st.one_of(st.sampled_from(["van", "4", "99999", "10:30", "../../etc/passwd"]), nasty_text),
    max_size=5,
)
# Mostly well-shaped replies (so cleaning is exercised), some with wrong types or fields.
spoken = st.builds(
    lambda word, rest: word + rest,
    st.sampled_from(["Booked", "好的", "Fine", "x"]),
    st.integers(0, 7).flatmap(lambda n: huge_text if n == 0 else nasty_text),
)
cards = st.one_of(
    st.none(),
    st.fixed_dictionaries({"title": spoken, "text": spoken}, optional={"image": images}),
    st.fixed_dictionaries({"title": spoken, "text": spoken}, optional={"image": images}),
    st.fixed_dictionaries({"title": texts, "text": json_values}),
    json_values,
)
well_shaped = st.fixed_dictionaries(
    {"speech": spoken}, optional={"card": cards, "slots": slot_maps}
)
badly_shaped = st.fixed_dictionaries(
    {"speech": st.one_of(texts, json_values)},
    optional={"card": cards, "slots": st.one_of(slot_maps, json_values), "extra": json_values},
)
replies = st.integers(0, 3).flatmap(
    lambda n: well_shaped if n < 2 else badly_shaped if n == 2 else json_values
)
FAILURES = ("invalid json", "invalid reply: ", "http ", "connection", "refused url", "timeout")


def clean(text: str, limit: int) -> bool:
    return (
        isinstance(text, str)
        and 0 < len(text) <= limit
        and text == text.strip()
        and not any(is_unsafe_char(c) for c in text)
    )


def assert_clean(reply: ServiceReply, policy: ServicePolicy) -> None:
    assert clean(reply.speech, MAX_SPEECH), ascii(reply.speech)
    if reply.card is not None:
        assert clean(reply.card.title, MAX_CARD_TEXT) and clean(reply.card.text, MAX_CARD_TEXT)
        image = reply.card.image
        if image is not None:
            scheme = urlsplit(image).scheme
            assert scheme == "https" or (scheme == "http" and policy.allow_private), image
            assert policy.refusal(image.split("?")[0]) is None, image
    for name, value in reply.slots.items():
        assert isinstance(name, str) and isinstance(value, str)
        assert not any(is_unsafe_char(c) for c in name + value)
    for note in reply.notes:
        assert note.isprintable()


@settings(max_examples=1000, derandomize=True, deadline=None, database=None)
@given(data=replies, development=st.booleans())
def test_parse_reply_cleans_or_rejects_any_reply(data: Any, development: bool) -> None:
    policy = DEV if development else STRICT
    try:
        reply = parse_reply(data, policy)
    except ValueError as error:  # InvalidReplyError
        event(f"invalid reply: {error.field.split('.')[0]}")  # type: ignore[attr-defined]
        assert str(error).isprintable()
        return
    event("reply" + (" with card" if reply.card else "") + (" and notes" if reply.notes else ""))
    assert_clean(reply, policy)


@pytest.fixture(scope="module")
def fuzz_client() -> Iterator[BlockingServiceClient]:
    client = blocking(DEV)
    yield client
    client.close()


@settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.one_of(
        replies.map(lambda data: json.dumps(data).encode()),
        st.binary(max_size=200),
        st.just(b"[" * 100_000),
        st.just(b'{"speech": "' + b"x" * 70_000 + b'"}'),
        st.just(b'{"speech": ' + b"1" * 5000 + b"}"),
    )
)
def test_served_replies_give_a_clean_reply_or_a_failure(
    loopback: Loopback, fuzz_client: BlockingServiceClient, body: bytes
) -> None:
    loopback.body = body
    outcome = fuzz_client.call(loopback.url(), make_request(), SECRET, timeout=2.0)
    if isinstance(outcome, ServiceFailure):
        event(outcome.reason.split(":")[0])
        assert outcome.reason.startswith(FAILURES), outcome
        assert outcome.detail.isprintable()
    else:
        event(
            "reply"
            + (" with card" if outcome.card else "")
            + (" and notes" if outcome.notes else "")
        )
        assert_clean(outcome, DEV)


def test_the_fuzz_strings_really_contain_hostile_characters() -> None:
    assert all(is_unsafe_char(c) for c in NASTY if c not in " ")
    assert unicodedata.category("\u202e") == "Cf"
