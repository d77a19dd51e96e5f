"""The example brands' services: the shipped verifier guards them, the assistant reaches them."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from voice_runtime.services.demo import DemoServices
from voice_runtime.services.signing import sign

BODY = json.dumps(
    {
        "version": 1,
        "skill_id": "star_motors_cars",
        "intent": "book_test_drive",
        "slots": {"model": "aurora", "day": "saturday", "time": "10:00"},
        "session_id": "s1",
        "device_type": "tv",
        "locale": "en-US",
        "user_id": "u-1",
    }
).encode()


def post(base: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        f"{base}/star_motors_cars/booking", body, headers | {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def secret_of(services: DemoServices) -> bytes:
    assert services.env is not None
    return services.env["VOICE_SECRET_STAR_MOTORS_CARS"].encode()


def test_a_genuine_request_is_answered(demo_services: DemoServices) -> None:
    headers = sign(BODY, secret_of(demo_services), int(time.time()))
    status, reply = post(demo_services.base, BODY, headers)
    assert status == 200
    assert str(reply["speech"]).startswith("You're booked! A test drive of the Aurora for Saturday")


@pytest.mark.parametrize("case", ["unsigned", "tampered", "stale", "wrong secret"])
def test_unsigned_tampered_or_stale_requests_are_refused(
    demo_services: DemoServices, case: str
) -> None:
    secret, now = secret_of(demo_services), int(time.time())
    body, headers = {
        "unsigned": (BODY, {}),
        "tampered": (BODY.replace(b"aurora", b"orion"), sign(BODY, secret, now)),
        "stale": (BODY, sign(BODY, secret, now - 301)),
        "wrong secret": (BODY, sign(BODY, b"guess", now)),
    }[case]
    status, reply = post(demo_services.base, body, headers)
    assert status == 401, case
    assert str(reply["error"]).startswith("signature:")
