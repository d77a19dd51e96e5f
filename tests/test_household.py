"""The household: a conversation per device, 'continue on the TV', observers after each turn."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace

import pytest

from voice_runtime.dialog.router import Assistant
from voice_runtime.dialog.session import Session
from voice_runtime.dialog.turn import SkillResponse, Turn
from voice_runtime.household.handoff import handoff_request, pick_device
from voice_runtime.household.home import FixedDevices, Household
from voice_runtime.people import Device
from voice_runtime.store.redis_sessions import RedisSessionStore
from voice_runtime.store.sessions import MemorySessionStore, SessionStore

REDIS_URL = "redis://127.0.0.1:6379/0"


def devices(user: str) -> tuple[Device, Device, Device]:
    suffix = uuid.uuid4().hex[:6]
    return (
        Device.of_type(
            f"speaker-{suffix}", user, "speaker", name="Kitchen speaker", room="kitchen"
        ),
        Device.of_type(f"tv-{suffix}", user, "tv", name="Living room TV", room="living_room"),
        Device.of_type(f"phone-{suffix}", user, "phone", name="Alice's phone"),
    )


@pytest.mark.parametrize(
    ("text", "language", "words"),
    [
        ("continue on the TV", "en", "tv"),
        ("move this to the living room tv please", "en", "living room tv"),
        ("Continue on my phone.", "en", "phone"),
        ("在电视上继续", "zh", "电视"),
        ("转到手机上", "zh", "手机"),
        ("open baking class", "en", None),
        ("continue", "en", None),
        ("下一步", "zh", None),
    ],
)
def test_handoff_requests(text: str, language: str, words: str | None) -> None:
    assert handoff_request(text, language) == words


def test_pick_device_by_type_room_and_name() -> None:
    speaker, tv, phone = devices("alice")
    bedroom_tv = Device.of_type("tv-2", "alice", "tv", name="Bedroom TV", room="bedroom")
    assert pick_device("tv", [speaker, tv, phone]) == tv
    assert pick_device("bedroom tv", [tv, bedroom_tv]) == bedroom_tv
    assert pick_device("电视", [speaker, tv]) == tv
    assert pick_device("car", [speaker, tv]) is None
    assert pick_device("kitchen", [speaker, tv]) == speaker


def stores() -> list[SessionStore]:
    return [MemorySessionStore(), RedisSessionStore(REDIS_URL)]


@pytest.mark.parametrize("store_kind", ["memory", "redis"])
def test_continue_on_the_tv_moves_the_conversation(assistant: Assistant, store_kind: str) -> None:
    speaker, tv, phone = devices("alice")
    store: SessionStore = (
        MemorySessionStore() if store_kind == "memory" else RedisSessionStore(REDIS_URL)
    )
    pushed: list[tuple[Device, Turn]] = []

    async def notify(device: Device, turn: Turn) -> None:
        pushed.append((device, turn))

    household = Household(assistant, store, FixedDevices([speaker, tv, phone]), notify=notify)

    async def scenario() -> None:
        await household.turn(speaker, "open car viewing", "en")
        waiting = await household.turn(speaker, "book a test drive", "en")
        assert waiting.state["waiting_for"] == "model"
        moved = await household.turn(speaker, "continue on the TV", "en")
        assert (moved.intent, moved.handoff, moved.skill) == ("handoff", tv.id, None)
        assert moved.response.speech == "Okay, continuing on Living room TV."
        [(target, shown)] = pushed
        assert target == tv and shown.skill == "star_motors_cars"
        assert shown.response.speech.startswith("Which model")  # the pending question
        # the TV answers the question the speaker asked
        answer = await household.turn(tv, "the aurora", "en")
        assert (answer.skill, answer.state["waiting_for"]) == ("star_motors_cars", "day")
        assert answer.slots["model"] == "aurora"
        # the speaker's conversation has left it
        here = await household.session_of(speaker)
        assert here.skill is None
        await store.close()

    assistant.run(scenario())


def test_handoff_without_a_skill_or_a_device_says_why(assistant: Assistant) -> None:
    speaker, tv, _ = devices("bob")
    household = Household(assistant, MemorySessionStore(), FixedDevices([speaker, tv]))
    nothing = household.turn_sync(speaker, "continue on the TV", "en")
    assert nothing.response.speech.startswith("There's nothing open to continue")
    household.turn_sync(speaker, "打开烘焙课堂", "zh")
    missing = household.turn_sync(speaker, "在车上继续", "zh")
    assert missing.response.speech == "没有找到你的车，没法转过去。"
    assert missing.skill == "anchor_baking" and missing.handoff is None


def test_each_device_has_its_own_conversation(assistant: Assistant) -> None:
    speaker, tv, _ = devices("carol")
    household = Household(assistant, MemorySessionStore())
    household.turn_sync(speaker, "open baking class", "en")
    household.turn_sync(tv, "open car viewing", "en")
    assert household.run(household.session_of(speaker)).skill == "anchor_baking"
    assert household.run(household.session_of(tv)).skill == "star_motors_cars"
    person = household.run(household.sessions.load_person("carol"))
    assert (person["last_device"], person["last_skill"]) == (tv.id, "star_motors_cars")


def test_observers_run_in_order_and_may_change_the_turn(assistant: Assistant) -> None:
    speaker, _, _ = devices("dave")
    seen: list[str] = []

    async def first(turn: Turn, device: Device, session: Session) -> Turn:
        seen.append(f"first:{turn.intent}:{device.type}:{session.skill}")
        return replace(turn, response=SkillResponse(turn.response.speech + " [1]"))

    async def second(turn: Turn, device: Device, session: Session) -> Turn:
        seen.append("second:" + turn.response.speech[-3:])
        return turn

    household = Household(assistant, MemorySessionStore(), observers=[first, second])
    turn = household.turn_sync(speaker, "open baking class", "en")
    assert seen == ["first:open_skill:speaker:anchor_baking", "second:[1]"]
    assert turn.response.speech.endswith("[1]")


def test_two_devices_speaking_at_once_lose_no_turn(assistant: Assistant) -> None:
    """Concurrent turns of one device are serialised by its lock: every one is counted."""
    speaker, _, _ = devices("erin")
    counted: list[int] = []

    async def count(turn: Turn, device: Device, session: Session) -> Turn:
        counted.append(len(session.checkpoints))
        return turn

    household = Household(assistant, RedisSessionStore(REDIS_URL), observers=[count])

    async def scenario() -> None:
        await household.turn(speaker, "open baking class", "en")
        again = (household.turn(speaker, "open baking class", "en") for _ in range(8))
        await asyncio.gather(*again)
        await household.sessions.close()

    assistant.run(scenario())
    assert counted == sorted(counted) and len(set(counted)) == len(counted) == 9


def test_an_interceptor_answers_before_the_router(assistant: Assistant) -> None:
    speaker, _, _ = devices("fay")

    async def offer_answer(text: str, language: str, device: Device, session: Session) -> Turn:
        return Turn(text, language, "offer", None, SkillResponse(f"intercepted {text}"))

    async def nothing(text: str, language: str, device: Device, session: Session) -> None:
        return None

    household = Household(assistant, MemorySessionStore(), interceptors=[nothing, offer_answer])
    turn = household.turn_sync(speaker, "yes", "en")
    assert (turn.intent, turn.response.speech) == ("offer", "intercepted yes")
    plain = Household(assistant, MemorySessionStore(), interceptors=[nothing])
    assert plain.turn_sync(speaker, "open baking class", "en").skill == "anchor_baking"
