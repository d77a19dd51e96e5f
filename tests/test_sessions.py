"""Session stores: the lossless JSON form, memory and real Redis, and the lock per conversation."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voice_runtime.dialog.session import Checkpoint, Session, SkillState
from voice_runtime.dialog.turn import SkillResponse
from voice_runtime.skills.model import Card
from voice_runtime.store.redis_sessions import RedisSessionStore
from voice_runtime.store.sessions import (
    MemorySessionStore,
    SessionStore,
    StoreUnavailable,
    update_person,
)

REDIS_URL = os.environ.get("VOICE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

texts = st.text(max_size=30)
responses = st.builds(
    SkillResponse,
    texts,
    st.none() | st.builds(Card, texts, texts, st.none() | texts),
)
states = st.builds(
    SkillState,
    intent=st.none() | texts,
    slots=st.dictionaries(texts, texts, max_size=3),
    waiting=st.sampled_from([None, "slot", "confirm"]),
    slot=st.none() | texts,
    attempts=st.integers(0, 5),
    step=st.none() | st.integers(0, 9),
    done=st.booleans(),
    said=st.none() | responses,
)
sessions = st.builds(
    Session,
    language=st.sampled_from([None, "en", "zh"]),
    skill=st.none() | texts,
    last=st.none() | responses,
    state=states,
    suspended=st.dictionaries(texts, states, max_size=2),
    checkpoints=st.lists(st.builds(Checkpoint, st.none() | texts, states, responses), max_size=3),
    user=texts,
    device=texts,
    device_type=st.sampled_from(["speaker", "tv", "phone", "car"]),
)


@settings(max_examples=200, derandomize=True)
@given(sessions)
def test_json_round_trip_is_lossless(session: Session) -> None:
    assert Session.from_json(session.to_json()) == session


@pytest.mark.parametrize("data", [None, [], {}, {"version": 99}, {"version": 1, "id": "x"}])
def test_malformed_saved_sessions_are_refused(data: Any) -> None:
    with pytest.raises(ValueError):
        Session.from_json(data)


async def _redis_store(idle: float = 300.0) -> RedisSessionStore:
    store = RedisSessionStore(REDIS_URL, idle)
    try:
        await store.ping()
    except StoreUnavailable as exc:
        pytest.fail(f"these tests need Redis at {REDIS_URL}: {exc}")
    return store


StoreFactory = Callable[[], Awaitable[SessionStore]]


async def _memory() -> SessionStore:
    return MemorySessionStore()


@pytest.fixture(params=["memory", "redis"])
def make_store(request: pytest.FixtureRequest) -> StoreFactory:
    return _memory if request.param == "memory" else _redis_store


def run(coroutine: Awaitable[None]) -> None:
    async def main() -> None:
        await coroutine

    asyncio.run(main())


def test_save_load_forget(make_store: StoreFactory) -> None:
    async def scenario() -> None:
        store = await make_store()
        device = f"dev-{uuid.uuid4().hex[:8]}"
        assert await store.load(device) is None
        session = Session(language="zh", skill="anchor_baking", user="alice", device=device)
        session.state.slots["dish"] = "bread"
        await store.save(session)
        assert await store.load(device) == session
        await store.save_person("alice-" + device, {"last_device": device})
        assert await store.load_person("alice-" + device) == {"last_device": device}
        await store.forget(device)
        assert await store.load(device) is None
        await store.close()

    run(scenario())


def test_the_lock_keeps_every_update_of_concurrent_turns(make_store: StoreFactory) -> None:
    """Two devices of one person (or two processes) updating one record lose nothing."""

    async def scenario() -> None:
        store = await make_store()
        device = f"dev-{uuid.uuid4().hex[:8]}"
        await store.save(Session(user="alice", device=device))

        async def bump() -> None:
            async with store.lock(device):
                session = await store.load(device)
                assert session is not None
                await asyncio.sleep(0)  # another turn would interleave here without the lock
                session.state.attempts += 1
                await store.save(session)

        await asyncio.gather(*(bump() for _ in range(20)))
        final = await store.load(device)
        assert final is not None and final.state.attempts == 20
        await store.close()

    run(scenario())


def test_memory_sessions_expire_when_idle() -> None:
    now = [0.0]
    store = MemorySessionStore(idle_timeout=60, clock=lambda: now[0])

    async def scenario() -> None:
        await store.save(Session(user="alice", device="tv-1"))
        now[0] = 59
        assert await store.load("tv-1") is not None
        await store.save(Session(user="alice", device="tv-1"))  # a turn keeps it alive
        now[0] = 118
        assert await store.load("tv-1") is not None
        now[0] = 200
        assert await store.load("tv-1") is None and len(store) == 0

    run(scenario())


def test_redis_sessions_expire_when_idle() -> None:
    async def scenario() -> None:
        store = await _redis_store(idle=1)
        device = f"dev-{uuid.uuid4().hex[:8]}"
        await store.save(Session(user="alice", device=device))
        assert await store.client.ttl(f"voice:session:{device}") == 1
        await store.close()

    run(scenario())


def test_unreachable_redis_says_so_in_one_line() -> None:
    async def scenario() -> None:
        store = RedisSessionStore("redis://127.0.0.1:1/0")
        with pytest.raises(StoreUnavailable) as caught:
            await store.load("tv-1")
        message = str(caught.value)
        assert message.startswith("session store unavailable: Redis at 127.0.0.1:1")
        assert "\n" not in message
        with pytest.raises(StoreUnavailable):
            async with store.lock("tv-1"):
                pass
        await store.close()

    run(scenario())


def test_person_updates_from_many_devices_at_once_lose_nothing(make_store: StoreFactory) -> None:
    async def scenario() -> None:
        store = await make_store()
        user = f"person-{uuid.uuid4().hex[:8]}"

        def bump(state: dict[str, Any]) -> None:
            state["count"] = state.get("count", 0) + 1

        async def device_turn() -> None:
            await asyncio.sleep(0)
            await update_person(store, user, bump)

        await asyncio.gather(*(device_turn() for _ in range(20)))
        assert (await store.load_person(user))["count"] == 20
        await store.close()

    run(scenario())
