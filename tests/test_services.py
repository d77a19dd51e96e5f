"""Brand services against real aiohttp servers on 127.0.0.1 (no mocks)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import web
from blocking_client import BlockingServiceClient

from voice_runtime.errors import VoiceError
from voice_runtime.services import (
    BreakerState,
    CircuitBreaker,
    PolicyError,
    ServiceClient,
    ServiceError,
    ServiceFailure,
    ServicePolicy,
    ServiceReply,
    ServiceRequest,
    SignatureError,
    load_secret,
    pseudonym,
    sign,
    verify,
)
from voice_runtime.services.signing import SIGNATURE_HEADER, SKILL_HEADER, TIMESTAMP_HEADER
from voice_runtime.skills.model import Card

SECRET = b"anchor-dairy-test-secret"
TIMEOUT = 1.5
SLACK = 0.2
T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ServerLoop:
    """A background thread with its own event loop, hosting aiohttp test servers."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    @staticmethod
    async def _cancel_leftovers() -> None:
        """Cancel handlers still running (the slow service's sleep) and wait for them."""
        leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)

    def close(self) -> None:
        self.run(self._cancel_leftovers())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@dataclass
class Service:
    """One running test service: its URL and what reached it."""

    url: str
    runner: web.AppRunner
    loop: ServerLoop
    hits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.hits)

    def stop(self) -> None:
        self.loop.run(self.runner.cleanup())


async def _start(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, shutdown_timeout=0.2)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, int(runner.addresses[0][1])


@pytest.fixture(scope="module")
def server_loop() -> Iterator[ServerLoop]:
    loop = ServerLoop()
    yield loop
    loop.close()


@pytest.fixture()
def serve(server_loop: ServerLoop) -> Iterator[Callable[[Handler], Service]]:
    """Start a service whose handler is called after each request is recorded."""
    started: list[Service] = []

    def start(handler: Handler) -> Service:
        hits: list[dict[str, Any]] = []

        async def recording(request: web.Request) -> web.StreamResponse:
            body = await request.read()
            hits.append({"headers": dict(request.headers), "body": body})
            return await handler(request)

        app = web.Application()
        app.router.add_post("/{tail:.*}", recording)
        runner, port = server_loop.run(_start(app))
        service = Service(f"http://127.0.0.1:{port}/hook", runner, server_loop, hits)
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture()
def client(clock: FakeClock) -> Iterator[BlockingServiceClient]:
    blocking = BlockingServiceClient(
        ServiceClient(ServicePolicy(allow_private=True), monotonic=clock)
    )
    yield blocking
    blocking.close()


def make_request(**changes: Any) -> ServiceRequest:
    values: dict[str, Any] = {
        "skill_id": "anchor_baking",
        "intent": "recipe",
        "slots": {"dish": "bread"},
        "session_id": "s-1",
        "device_type": "speaker",
        "locale": "en-US",
        "user_id": pseudonym("user-42", b"device-salt", "anchor_dairy"),
    }
    values.update(changes)
    return ServiceRequest(**values)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def genuine(request: web.Request) -> web.StreamResponse:
    """A brand service: checks the signature with the shipped verifier, then answers."""
    body = await request.read()
    try:
        verify(request.headers, body, SECRET)
    except SignatureError as error:
        raise web.HTTPUnauthorized(text=str(error)) from None
    data = json.loads(body)
    return web.json_response(
        {
            "speech": f"Here is how to bake {data['slots']['dish']}.",
            "card": {
                "title": "Anchor Baking Class",
                "text": "Step 1: butter",
                "image": "https://example.com/a.png",
            },
            "slots": {"step": "1"},
        }
    )


def json_reply(payload: Any) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(payload)

    return handler


# -- a genuine call ----------------------------------------------------------------------


def test_genuine_service_gets_a_signed_request_and_its_reply_comes_back(
    serve: Callable[[Handler], Service], client: BlockingServiceClient
) -> None:
    service = serve(genuine)
    outcome = client.call(service.url, make_request(), SECRET)
    assert outcome == ServiceReply(
        speech="Here is how to bake bread.",
        card=Card("Anchor Baking Class", "Step 1: butter", "https://example.com/a.png"),
        slots={"step": "1"},
    )
    assert outcome.ok and outcome.to_response().card is not None
    hit = service.hits[0]
    verify(hit["headers"], hit["body"], SECRET)  # the exact bytes that were sent
    assert hit["headers"][SKILL_HEADER] == "anchor_baking"
    assert hit["headers"]["Content-Type"].startswith("application/json")
    sent = json.loads(hit["body"])
    assert sent == {
        "version": 1,
        "skill_id": "anchor_baking",
        "intent": "recipe",
        "slots": {"dish": "bread"},
        "session_id": "s-1",
        "device_type": "speaker",
        "locale": "en-US",
        "user_id": pseudonym("user-42", b"device-salt", "anchor_dairy"),
    }
    assert "user-42" not in hit["body"].decode()


def test_wrong_secret_is_refused_by_the_service(
    serve: Callable[[Handler], Service], client: BlockingServiceClient
) -> None:
    service = serve(genuine)
    outcome = client.call(service.url, make_request(), b"not the brand secret")
    assert outcome == ServiceFailure("http 401", "Unauthorized")
    assert service.count == 1


def test_the_client_works_inside_the_tests_own_loop() -> None:
    async def scenario() -> tuple[ServiceReply | ServiceFailure, bool]:
        runner, port = await _start(_app(genuine))
        try:
            async with ServiceClient(ServicePolicy(allow_private=True)) as service_client:
                outcome = await service_client.call(
                    f"http://127.0.0.1:{port}/hook", make_request(), SECRET
                )
            return outcome, service_client._session is None
        finally:
            await runner.cleanup()

    outcome, closed = asyncio.run(scenario())
    assert isinstance(outcome, ServiceReply) and outcome.speech.startswith("Here is")
    assert closed


def _app(handler: Handler) -> web.Application:
    app = web.Application()
    app.router.add_post("/hook", handler)
    return app


def test_blocking_client_serves_several_threads_at_once(
    serve: Callable[[Handler], Service], client: BlockingServiceClient
) -> None:
    service = serve(genuine)
    results: list[bool] = []

    def worker() -> None:
        results.append(client.call(service.url, make_request(), SECRET).ok)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert results == [True] * 8 and service.count == 8


# -- the verifier -------------------------------------------------------------------------

BODY = b'{"skill_id":"anchor_baking","intent":"recipe"}'
NOW = 1_700_000_000


def test_verify_accepts_a_genuine_request_with_any_header_case() -> None:
    headers = sign(BODY, SECRET, NOW, skill="anchor_baking")
    verify(headers, BODY, SECRET, now=NOW)
    verify({k.lower(): v for k, v in headers.items()}, BODY, SECRET, now=NOW + 299)
    verify(headers, BODY, SECRET, now=NOW - 299)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda h, b, s, n: (h, b + b" ", s, n), "signature mismatch"),
        (lambda h, b, s, n: (h, b.replace(b"recipe", b"refund"), s, n), "signature mismatch"),
        (lambda h, b, s, n: (h, b, b"wrong secret", n), "signature mismatch"),
        (lambda h, b, s, n: ({**h, TIMESTAMP_HEADER: str(NOW + 1)}, b, s, n), "mismatch"),
        (lambda h, b, s, n: (h, b, s, n + 360), "stale request: timestamp is 360 s old"),
        (lambda h, b, s, n: (h, b, s, n - 360), "stale request: timestamp is 360 s in the future"),
        (
            lambda h, b, s, n: ({SIGNATURE_HEADER: h[SIGNATURE_HEADER]}, b, s, n),
            "missing header X-Voice-Timestamp",
        ),
        (
            lambda h, b, s, n: ({TIMESTAMP_HEADER: h[TIMESTAMP_HEADER]}, b, s, n),
            "missing header X-Voice-Signature",
        ),
        (lambda h, b, s, n: ({}, b, s, n), "missing header"),
        (
            lambda h, b, s, n: ({**h, TIMESTAMP_HEADER: "soon"}, b, s, n),
            "malformed X-Voice-Timestamp",
        ),
        (
            lambda h, b, s, n: ({**h, SIGNATURE_HEADER: "v2=" + "0" * 64}, b, s, n),
            "malformed X-Voice-Signature",
        ),
        (
            lambda h, b, s, n: ({**h, SIGNATURE_HEADER: "v1=" + "zz" * 32}, b, s, n),
            "malformed X-Voice-Signature",
        ),
    ],
    ids=[
        "tampered-body",
        "tampered-field",
        "wrong-secret",
        "changed-timestamp",
        "stale-6-minutes",
        "future-6-minutes",
        "no-timestamp",
        "no-signature",
        "no-headers",
        "bad-timestamp",
        "bad-version",
        "bad-hex",
    ],
)
def test_verify_refuses(
    change: Callable[
        [dict[str, str], bytes, bytes, float], tuple[dict[str, str], bytes, bytes, float]
    ],
    message: str,
) -> None:
    headers, body, secret, now = change(sign(BODY, SECRET, NOW), BODY, SECRET, NOW)
    with pytest.raises(SignatureError, match=message) as caught:
        verify(headers, body, secret, now=now)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, VoiceError)


# -- failures ----------------------------------------------------------------------------


def test_slow_service_times_out_within_the_deadline(
    serve: Callable[[Handler], Service],
    client: BlockingServiceClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(3)
        return web.json_response({"speech": "too late"})

    service = serve(slow)
    started = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger="voice_runtime.services"):
        outcome = client.call(service.url, make_request(), SECRET, timeout=TIMEOUT)
    elapsed = time.perf_counter() - started
    assert isinstance(outcome, ServiceFailure) and outcome.reason == "timeout"
    assert TIMEOUT - 0.05 <= elapsed < TIMEOUT + SLACK, elapsed
    assert service.count == 1  # a timeout is not retried
    [record] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "reason=timeout" in record.getMessage() and "\n" not in record.getMessage()


def test_http_500_is_reported_without_a_retry(
    serve: Callable[[Handler], Service], client: BlockingServiceClient
) -> None:
    async def broken(request: web.Request) -> web.StreamResponse:
        raise web.HTTPInternalServerError()

    service = serve(broken)
    outcome = client.call(service.url, make_request(), SECRET)
    assert isinstance(outcome, ServiceFailure) and outcome.reason == "http 500"
    assert service.count == 1


def test_a_redirect_is_not_followed(
    serve: Callable[[Handler], Service], client: BlockingServiceClient
) -> None:
    async def redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("http://10.0.0.1/elsewhere")

    service = serve(redirect)
    outcome = client.call(service.url, make_request(), SECRET)
    assert isinstance(outcome, ServiceFailure) and outcome.reason == "http 302"
    assert service.count == 1


def test_invalid_json(serve: Callable[[Handler], Service], client: BlockingServiceClient) -> None:
    async def garbage(request: web.Request) -> web.StreamResponse:
        return web.Response(text='{"speech": "unterminated', content_type="application/json")

    outcome = client.call(serve(garbage).url, make_request(), SECRET)
    assert isinstance(outcome, ServiceFailure) and outcome.reason == "invalid json"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"speech": "hi", "extra": 1}, "invalid reply: extra"),
        ({"speech": ""}, "invalid reply: speech"),
        ({"speech": "   "}, "invalid reply: speech"),
        ({"speech": "x" * 2001}, "invalid reply: speech"),
        ({"speech": 42}, "invalid reply: speech"),
        ({"card": {"title": "t", "text": "x"}}, "invalid reply: speech"),
        ({"speech": "hi", "card": {"title": "t"}}, "invalid reply: card.text"),
        (
            {"speech": "hi", "card": {"title": "t", "text": "x", "url": "u"}},
            "invalid reply: card.url",
        ),
        ({"speech": "hi", "card": {"title": "t", "text": 3}}, "invalid reply: card.text"),
        ({"speech": "hi", "slots": {"dish": 3}}, "invalid reply: slots"),
        ({"speech": "hi", "slots": ["dish"]}, "invalid reply: slots"),
        (["speech", "hi"], "invalid reply: body"),
    ],
)
def test_invalid_reply(
    serve: Callable[[Handler], Service],
    client: BlockingServiceClient,
    payload: Any,
    reason: str,
) -> None:
    outcome = client.call(serve(json_reply(payload)).url, make_request(), SECRET)
    assert isinstance(outcome, ServiceFailure) and outcome.reason == reason, outcome


def test_a_card_image_that_is_not_allowed_is_dropped_and_the_card_kept(
    serve: Callable[[Handler], Service], client: BlockingServiceClient
) -> None:
    card = {"title": "t", "text": "x", "image": "ftp://e.com/a.png"}
    outcome = client.call(
        serve(json_reply({"speech": "hi", "card": card})).url, make_request(), SECRET
    )
    assert outcome == ServiceReply(speech="hi", card=Card("t", "x", None))


def test_speech_of_2000_characters_and_null_optionals_are_valid(
    serve: Callable[[Handler], Service], client: BlockingServiceClient
) -> None:
    payload = {"speech": "x" * 2000, "card": None, "slots": None}
    outcome = client.call(serve(json_reply(payload)).url, make_request(), SECRET)
    assert outcome == ServiceReply(speech="x" * 2000)


def _drop_first(times: int) -> Handler:
    """A handler that cuts the connection for the first `times` requests, then answers."""
    seen = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal seen
        seen += 1
        if seen <= times:
            assert request.transport is not None
            request.transport.abort()
            raise web.HTTPInternalServerError()  # never reaches the client
        return web.json_response({"speech": "second time lucky"})

    return handler


def test_a_dropped_connection_is_retried_once_and_succeeds(
    serve: Callable[[Handler], Service], client: BlockingServiceClient
) -> None:
    service = serve(_drop_first(1))
    outcome = client.call(service.url, make_request(), SECRET)
    assert outcome == ServiceReply(speech="second time lucky")
    assert service.count == 2
    for hit in service.hits:
        verify(hit["headers"], hit["body"], SECRET)


def test_connections_dropped_twice_give_connection_after_exactly_one_retry(
    serve: Callable[[Handler], Service], client: BlockingServiceClient
) -> None:
    service = serve(_drop_first(5))
    outcome = client.call(service.url, make_request(), SECRET)
    assert isinstance(outcome, ServiceFailure) and outcome.reason == "connection"
    assert service.count == 2


def test_nothing_listening_gives_connection_after_exactly_one_retry(
    client: BlockingServiceClient, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"
    with caplog.at_level(logging.INFO, logger="voice_runtime.services"):
        outcome = client.call(url, make_request(), SECRET)
    assert isinstance(outcome, ServiceFailure) and outcome.reason == "connection"
    assert outcome.detail.startswith("after one retry")
    retries = [r for r in caplog.records if "retrying once" in r.getMessage()]
    failures = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(retries) == 1 and len(failures) == 1
    assert "reason=connection" in failures[0].getMessage()


def test_a_service_killed_mid_conversation_fails_fast(
    serve: Callable[[Handler], Service], client: BlockingServiceClient
) -> None:
    service = serve(genuine)
    assert client.call(service.url, make_request(), SECRET).ok
    service.stop()
    started = time.perf_counter()
    outcome = client.call(service.url, make_request(), SECRET, timeout=TIMEOUT)
    elapsed = time.perf_counter() - started
    assert isinstance(outcome, ServiceFailure)
    assert outcome.reason in ("connection", "timeout")
    assert elapsed < TIMEOUT + SLACK, elapsed


# -- circuit breaker ---------------------------------------------------------------------


def test_the_circuit_opens_after_three_failures_and_half_opens_after_the_cool_down(
    serve: Callable[[Handler], Service], client: BlockingServiceClient, clock: FakeClock
) -> None:
    healthy = False

    async def flaky(request: web.Request) -> web.StreamResponse:
        if not healthy:
            raise web.HTTPServiceUnavailable()
        return web.json_response({"speech": "back again"})

    service = serve(flaky)
    for _ in range(3):
        outcome = client.call(service.url, make_request(), SECRET)
        assert isinstance(outcome, ServiceFailure) and outcome.reason == "http 503"
    assert client.breaker(service.url).state is BreakerState.OPEN
    outcome = client.call(service.url, make_request(), SECRET)
    assert isinstance(outcome, ServiceFailure) and outcome.reason == "circuit open"
    assert service.count == 3  # the 4th call never reached the service

    clock.advance(29.9)
    assert client.call(service.url, make_request(), SECRET) == ServiceFailure(
        "circuit open", "3 consecutive failures; next try after the cool-down"
    )
    clock.advance(0.1)
    assert client.breaker(service.url).state is BreakerState.HALF_OPEN
    healthy = True
    assert client.call(service.url, make_request(), SECRET) == ServiceReply(speech="back again")
    assert service.count == 4
    assert client.breaker(service.url).state is BreakerState.CLOSED


def test_breaker_half_open_allows_one_trial_and_a_failed_trial_reopens() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=3, cool_down=30, clock=clock)
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()
    breaker.record_success()  # consecutive failures only
    for _ in range(3):
        breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    clock.advance(30)
    assert breaker.allow()  # the trial
    assert not breaker.allow()  # only one at a time
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    clock.advance(30)
    assert breaker.allow()
    breaker.release()  # an abandoned trial gives its slot back
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.failures == 0


# -- URL policy --------------------------------------------------------------------------

PRIVATE_URLS = [
    "http://10.0.0.1/hook",
    "http://192.168.1.20/hook",
    "http://127.0.0.1:8080/hook",
    "http://127.1/hook",
    "http://2130706433/hook",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://169.254.1.1/hook",
    "http://[fe80::1]/hook",
    "http://localhost/hook",
    "http://LOCALHOST./hook",
    "http://api.localhost/hook",
]


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_policy_refuses_private_hosts_unless_allowed(url: str) -> None:
    reason = ServicePolicy().refusal(url)
    assert reason is not None and "\n" not in reason
    assert "VOICE_ALLOW_PRIVATE_SERVICES=1" in reason
    with pytest.raises(PolicyError, match="refused url"):
        ServicePolicy().check(url)
    assert ServicePolicy(allow_private=True).refusal(url) is None


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://brand.example.com/hook", "scheme must be http or https, not ftp"),
        ("brand.example.com/hook", "scheme must be http or https, not none"),
        ("http:///hook", "no host"),
        ("https://user:pw@brand.example.com/hook", "credentials"),
        ("http://0.0.0.0/hook", "unspecified address"),
        ("http://[::]/hook", "unspecified address"),
        ("http://224.0.0.1/hook", "multicast address"),
        ("http://brand.example.com:99999/hook", "out of range"),
    ],
)
def test_policy_refuses_always(url: str, why: str) -> None:
    for policy in (ServicePolicy(), ServicePolicy(allow_private=True)):
        reason = policy.refusal(url)
        assert reason is not None and why in reason, reason


@pytest.mark.parametrize(
    "url", ["https://brand.example.com/hook", "http://93.184.216.34/x", "https://[2606:4700::1]/"]
)
def test_policy_allows_public_hosts(url: str) -> None:
    assert ServicePolicy().refusal(url) is None


def test_policy_from_environment() -> None:
    assert ServicePolicy.from_env({}).allow_private is False
    assert ServicePolicy.from_env({"VOICE_ALLOW_PRIVATE_SERVICES": "0"}).allow_private is False
    assert ServicePolicy.from_env({"VOICE_ALLOW_PRIVATE_SERVICES": "1"}).allow_private is True


def test_client_refuses_a_private_url_without_sending_anything(
    serve: Callable[[Handler], Service],
) -> None:
    service = serve(genuine)
    with BlockingServiceClient(ServiceClient(ServicePolicy(allow_private=False))) as strict:
        outcome = strict.call(service.url, make_request(), SECRET)
        assert isinstance(outcome, ServiceFailure) and outcome.reason == "refused url"
        assert "loopback" in outcome.detail
        # A name that only resolves to loopback is refused when connecting.
        name = socket.gethostname()
        try:
            infos = socket.getaddrinfo(name, None, socket.AF_INET)
            resolved = {str(info[4][0]) for info in infos}
        except OSError:
            resolved = set()
        if resolved and all(address.startswith("127.") for address in resolved):
            by_name = service.url.replace("127.0.0.1", name)
            outcome = strict.call(by_name, make_request(), SECRET)
            assert isinstance(outcome, ServiceFailure) and outcome.reason == "refused url"
            assert "resolves to 127." in outcome.detail
        assert strict.breaker(service.url).state is BreakerState.CLOSED
    assert service.count == 0


# -- pseudonyms and secrets --------------------------------------------------------------


def test_pseudonyms_are_stable_per_brand_and_never_the_raw_id() -> None:
    first = pseudonym("user-42", b"salt", "anchor_dairy")
    assert first == pseudonym("user-42", "salt", "anchor_dairy")
    assert first != pseudonym("user-42", b"salt", "star_motors")
    assert first != pseudonym("user-43", b"salt", "anchor_dairy")
    assert first != pseudonym("user-42", b"other salt", "anchor_dairy")
    assert "user-42" not in first and len(first) == 34
    with pytest.raises(ServiceError):
        pseudonym("user-42", b"", "anchor_dairy")


def test_secret_from_environment_then_file(tmp_path: Path) -> None:
    secrets_file = tmp_path / "secrets"
    secrets_file.write_text("# brand = secret\n\nanchor_dairy = from-file\nstar = s3\n", "utf-8")
    env = {"VOICE_SECRETS_FILE": str(secrets_file)}
    assert load_secret("anchor_dairy", env) == b"from-file"
    env["VOICE_SECRET_ANCHOR_DAIRY"] = "from-env"
    assert load_secret("anchor_dairy", env) == b"from-env"
    assert load_secret("star", env) == b"s3"


def test_missing_secret_names_the_variable_to_set(tmp_path: Path) -> None:
    with pytest.raises(ServiceError, match="set VOICE_SECRET_ANCHOR_DAIRY") as caught:
        load_secret("anchor_dairy", {})
    assert "VOICE_SECRETS_FILE" in str(caught.value)
    empty = tmp_path / "secrets"
    empty.write_text("star = s3\n", "utf-8")
    with pytest.raises(ServiceError, match="set VOICE_SECRET_ANCHOR_DAIRY; .* has no line"):
        load_secret("anchor_dairy", {"VOICE_SECRETS_FILE": str(empty)})
    with pytest.raises(ServiceError, match="cannot read secrets file"):
        load_secret("anchor_dairy", {"VOICE_SECRETS_FILE": str(tmp_path / "nope")})
    with pytest.raises(ServiceError, match="invalid brand id"):
        load_secret("Anchor Dairy", {})


def test_a_malformed_secrets_file_line_is_reported_without_the_secret(tmp_path: Path) -> None:
    secrets_file = tmp_path / "secrets"
    secrets_file.write_text("anchor_dairy = ok\nstar motors: hunter2\n", "utf-8")
    with pytest.raises(ServiceError, match=r"secrets:2: expected 'brand_id = secret'") as caught:
        load_secret("anchor_dairy", {"VOICE_SECRETS_FILE": str(secrets_file)})
    assert "hunter2" not in str(caught.value)
