"""Multi-turn conversations on given NLU results: slots, confirmation, steps, services.

The skill here is written for the tests; the example skills' flows are played
end to end against the real model by the dialog tests (tests/dialogs).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from conftest import route

from voice_runtime.dialog.router import Assistant
from voice_runtime.dialog.session import Session
from voice_runtime.dialog.slots import value_in_text
from voice_runtime.dialog.turn import Turn
from voice_runtime.nlu.result import EntityMatch, IntentScore, NluResult
from voice_runtime.services.caller import ServiceCaller
from voice_runtime.services.client import ServiceClient
from voice_runtime.services.policy import ServicePolicy
from voice_runtime.services.signing import verify
from voice_runtime.skills.catalog import Catalog
from voice_runtime.skills.loader import load_skill_text

SECRET = "garage-secret"
SKILL = """
version: 1
id: garage
brand: Garage Co
resumable: true
max_attempts: 2
name: {en: Garage, zh: 车库}
invocations: {en: [garage], zh: [车库]}
launch: {en: Welcome to the garage., zh: 欢迎来到车库。}
help: {en: Ask to book a service or for wash steps., zh: 你可以预约保养或者问洗车步骤。}
slots:
  car:
    values:
      van: {en: [van], zh: [面包车]}
      coupe: {en: [coupe], zh: [跑车]}
    prompt: {en: "Which car?", zh: 哪辆车？}
    reprompt: {en: "Van or coupe?", zh: 面包车还是跑车？}
  day:
    values:
      saturday: {en: [saturday], zh: [周六]}
      sunday: {en: [sunday], zh: [周日]}
    prompt: {en: "Which day?", zh: 哪天？}
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
    slots: [car, day, time]
    confirm:
      en: "Book the {car} on {day} at {time}. Shall I?"
      zh: "{day}{time}保养{car}，确定吗？"
  wash:
    examples:
      en: ["how do I wash my [van](car)", wash steps]
      zh: ["怎么洗[面包车](car)", 洗车步骤]
    slots: [car]
    response: {en: "Washing the {car}. Say next step.", zh: "洗{car}。说下一步。"}
    steps:
      by: car
      van:
        en: [Rinse the van., Soap the van., Dry the van.]
        zh: [冲洗。, 打泡沫。, 擦干。]
      coupe: {en: [Rinse., Dry.], zh: [冲洗。, 擦干。]}
  party:
    examples:
      en: ["a tour for [4](people)", book a garage tour]
      zh: [参观车库, "预约[4](people)个人参观"]
    slots: [people]
    response: {en: "A tour for {people}.", zh: "{people}人参观。"}
services:
  booking:
    url: http://127.0.0.1:9/garage/booking
    timeout: 0.5
    intents: [book]
    fallback: {en: "Sorry, the garage can't be reached.", zh: 抱歉，联系不上车库。}
"""


def parse(
    text: str,
    intent: str = "out_of_scope",
    confidence: float = 0.9,
    language: str = "en",
    entities: tuple[EntityMatch, ...] = (),
) -> NluResult:
    score = IntentScore(intent, confidence)
    return NluResult(text, language, score, (score,), entities)


class Garage:
    """A loopback brand service for the garage skill that records what it was sent."""

    def __init__(self, delay: float = 0.0, mode: str = "ok") -> None:
        self.delay = delay
        self.mode = mode
        self.received: list[dict[str, Any]] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        verify(request.headers, body, SECRET.encode())
        data = json.loads(body)
        self.received.append(data)
        await asyncio.sleep(self.delay)
        if self.mode == "http 500":
            return web.Response(status=500, text="database down")
        if self.mode == "invalid json":
            return web.Response(text="<html>oops</html>", content_type="application/json")
        if self.mode == "invalid reply: speach":
            return web.json_response({"speach": "typo"})
        if self.mode == "connection":
            assert request.transport is not None
            request.transport.close()  # the connection drops mid-answer
            return web.Response()
        slots = data["slots"]
        return web.json_response(
            {"speech": f"Booked {slots['car']} for {slots['day']}.", "slots": {"day": slots["day"]}}
        )

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/garage/booking", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self.port = int(self._runner.addresses[0][1])

    def start(self) -> Garage:
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(5)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(5)
            self._runner = None

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


@pytest.fixture()
def garage() -> Iterator[Garage]:
    server = Garage().start()
    yield server
    server.close()


@pytest.fixture()
def catalog_with_garage(catalog: Catalog) -> Catalog:
    loaded = load_skill_text(SKILL, "garage.yaml")
    assert loaded.skill is not None, [str(d) for d in loaded.diagnostics]
    return Catalog([loaded.skill, *catalog.skills], [])


def make_router(catalog: Catalog, assistant: Assistant, port: int) -> Assistant:
    client = ServiceClient(ServicePolicy(allow_private=True))
    caller = ServiceCaller(
        b"salt",
        client,
        {"http://127.0.0.1:9": f"http://127.0.0.1:{port}"},
        env={"VOICE_SECRET_GARAGE": SECRET},
    )
    return Assistant(catalog, assistant.nlu, services=caller)


@pytest.fixture()
def router(
    catalog_with_garage: Catalog, assistant: Assistant, garage: Garage
) -> Iterator[Assistant]:
    router = make_router(catalog_with_garage, assistant, garage.port)
    yield router
    close_router(router)


def close_router(router: Assistant) -> None:
    router.close()


def say(
    router: Assistant,
    session: Session,
    text: str,
    intent: str = "out_of_scope",
    language: str = "en",
    confidence: float = 0.9,
) -> Turn:
    return route(router, parse(text, intent, confidence, language), session)


def up_to_confirmation(router: Assistant, session: Session, day: str = "saturday") -> None:
    """Book the van for `day` at ten, up to the question 'Shall I?'."""
    say(router, session, "book my van in", "garage.book")
    say(router, session, day)
    turn = say(router, session, "at ten")
    assert turn.state["waiting_for"] == "confirm", turn.response.speech


def test_required_slots_are_asked_in_order_then_confirmed(
    router: Assistant, garage: Garage
) -> None:
    session = Session()
    turn = say(router, session, "book a service", "garage.book")
    assert (turn.response.speech, turn.state["waiting_for"]) == ("Which car?", "car")
    turn = say(router, session, "the van please")
    assert (turn.response.speech, turn.state["waiting_for"]) == ("Which day?", "day")
    turn = say(router, session, "saturday")
    assert turn.state["waiting_for"] == "time"
    turn = say(router, session, "at half past ten")
    assert turn.response.speech == "Book the van on saturday at 10:30. Shall I?"
    assert turn.state["waiting_for"] == "confirm" and garage.received == []
    turn = say(router, session, "yes please", "yes")
    assert turn.response.speech == "Booked van for saturday."
    assert turn.service is not None and turn.service.outcome == "ok"
    assert turn.state["waiting_for"] is None


def test_the_service_gets_the_documented_request_with_a_pseudonym(
    router: Assistant, garage: Garage
) -> None:
    session = Session(user="alice@example.com", device="tv-1", device_type="tv")
    up_to_confirmation(router, session, "sunday")
    turn = say(router, session, "yes", "yes")
    [sent] = garage.received
    assert sent["skill_id"] == "garage" and sent["intent"] == "book"
    assert sent["slots"] == {"car": "van", "day": "sunday", "time": "10:00"}
    assert sent["session_id"] == session.id and sent["device_type"] == "tv"
    assert sent["locale"] == "en-US"
    assert sent["user_id"].startswith("u-") and "alice" not in json.dumps(sent)
    assert turn.service is not None and turn.service.request == sent


def test_no_cancels_and_a_new_value_changes_the_request(router: Assistant, garage: Garage) -> None:
    session = Session()
    up_to_confirmation(router, session)
    turn = say(router, session, "no, sunday", "no")
    assert turn.response.speech == "Book the van on sunday at 10:00. Shall I?"
    turn = say(router, session, "no", "no")
    assert turn.intent == "no" and "won't" in turn.response.speech
    assert turn.state["waiting_for"] is None and garage.received == []


def test_unusable_answers_get_the_reprompt_then_a_graceful_exit(router: Assistant) -> None:
    session = Session()
    say(router, session, "book a service", "garage.book")
    turn = say(router, session, "a bicycle")
    assert (turn.intent, turn.response.speech) == ("reprompt", "Van or coupe?")
    assert turn.state["attempts"] == 1
    turn = say(router, session, "a boat")
    assert turn.intent == "reprompt"
    assert turn.response.speech.startswith("Sorry, I still couldn't get that")
    assert "Ask to book a service" in turn.response.speech
    assert turn.state["waiting_for"] is None and turn.skill == "garage"


def test_numbers_are_understood_and_bounded(router: Assistant) -> None:
    for text, language, expected in [
        ("two", "en", "2"),
        ("a dozen", "en", "12"),
        ("two of us", "en", "2"),
        ("两个", "zh", "2"),
        ("三个人", "zh", "3"),
    ]:
        session = Session()
        say(router, session, "tour", "garage.party", language=language)
        turn = say(router, session, text, language=language)
        assert turn.slots.get("people") == expected, (text, turn.response.speech)
    session = Session()
    say(router, session, "tour", "garage.party")
    assert say(router, session, "forty").intent == "reprompt"  # above max 12


def test_steps_next_go_back_repeat_and_start_over(router: Assistant) -> None:
    session = Session()
    turn = say(router, session, "how do I wash", "garage.wash")
    assert turn.state["waiting_for"] == "car"
    turn = say(router, session, "the van")
    assert turn.response.speech == "Washing the van. Say next step."
    turn = say(router, session, "next step", "next")
    assert turn.response.speech == "Step 1 of 3: Rinse the van."
    turn = say(router, session, "next", "next")
    assert (turn.response.speech, turn.state["step"]) == ("Step 2 of 3: Soap the van.", 1)
    assert say(router, session, "say that again", "repeat").response.speech.endswith(
        "Soap the van."
    )
    turn = say(router, session, "go back", "go_back")
    assert (turn.response.speech, turn.state["step"]) == ("Step 1 of 3: Rinse the van.", 0)
    say(router, session, "next", "next")
    say(router, session, "next", "next")
    assert say(router, session, "next", "next").response.speech.startswith("That was the last")
    turn = say(router, session, "start over", "start_over")
    assert turn.response.speech == "Okay, let's start over. Welcome to the garage."
    assert turn.state["intent"] is None and turn.slots == {}


def test_follow_up_reuses_the_intent_with_the_new_value(router: Assistant) -> None:
    session = Session()
    say(router, session, "how do I wash my van", "garage.wash")
    turn = say(router, session, "how about the coupe", "out_of_scope", confidence=0.5)
    assert (turn.intent, turn.slots) == ("garage.wash", {"car": "coupe"})
    assert turn.response.speech == "Washing the coupe. Say next step."


def test_help_in_the_middle_asks_the_question_again(router: Assistant) -> None:
    session = Session()
    say(router, session, "book a service", "garage.book")
    turn = say(router, session, "help", "help")
    assert turn.response.speech == "Ask to book a service or for wash steps. Which car?"
    assert turn.state["waiting_for"] == "car"


def test_switching_away_and_resuming(router: Assistant) -> None:
    session = Session()
    say(router, session, "book a service", "garage.book")
    say(router, session, "coupe")
    baking = EntityMatch("skill", "anchor_baking", "baking class", 5, 17, 0.9)
    turn = route(router, parse("open baking class", "open_skill", entities=(baking,)), session)
    assert turn.skill == "anchor_baking" and turn.state["suspended"] == ["garage"]
    garage_entity = EntityMatch("skill", "garage", "garage", 8, 14, 0.9)
    turn = route(router, parse("back to garage", "open_skill", entities=(garage_entity,)), session)
    assert (turn.intent, turn.skill) == ("resume", "garage")
    assert turn.response.speech == "Back to Garage. Which day?"
    assert turn.slots == {"car": "coupe"} and turn.state["waiting_for"] == "day"


def test_chinese_conversation(router: Assistant) -> None:
    session = Session(language="zh")
    turn = say(router, session, "预约保养", "garage.book", language="zh")
    assert turn.response.speech == "哪辆车？"
    say(router, session, "跑车", language="zh")
    say(router, session, "周六", language="zh")
    turn = say(router, session, "下午三点", language="zh")
    assert turn.response.speech == "周六15:00保养跑车，确定吗？"
    turn = say(router, session, "不，周日", "no", language="zh")
    assert turn.response.speech == "周日15:00保养跑车，确定吗？"
    turn = say(router, session, "好的", "yes", language="zh")
    assert turn.service is not None and turn.service.request["locale"] == "zh-CN"


def test_a_killed_service_gives_the_fallback_in_time_and_the_talk_goes_on(
    catalog_with_garage: Catalog, assistant: Assistant, garage: Garage
) -> None:
    router = make_router(catalog_with_garage, assistant, garage.port)
    session = Session()
    up_to_confirmation(router, session)
    garage.stop()  # the brand's service dies mid-conversation
    started = time.perf_counter()
    turn = say(router, session, "yes", "yes")
    elapsed = time.perf_counter() - started
    assert turn.response.speech == "Sorry, the garage can't be reached."
    assert turn.service is not None and turn.service.outcome == "connection"
    assert elapsed < 0.5 + 0.2
    turn = say(router, session, "wash steps", "garage.wash")
    assert turn.slots.get("car") == "van" and turn.response.speech.startswith("Washing the van")
    close_router(router)


def test_a_slow_service_times_out_to_the_fallback(
    catalog_with_garage: Catalog, assistant: Assistant
) -> None:
    slow = Garage(delay=2.0).start()
    router = make_router(catalog_with_garage, assistant, slow.port)
    session = Session()
    up_to_confirmation(router, session)
    started = time.perf_counter()
    turn = say(router, session, "yes", "yes")
    assert time.perf_counter() - started < 0.5 + 0.2
    assert turn.service is not None and turn.service.outcome == "timeout"
    assert turn.response.speech == "Sorry, the garage can't be reached."
    close_router(router)
    slow.close()


@pytest.mark.parametrize(
    "mode", ["http 500", "invalid json", "invalid reply: speach", "connection"]
)
def test_a_failing_service_gives_the_fallback_and_the_reason(
    catalog_with_garage: Catalog, assistant: Assistant, mode: str
) -> None:
    broken = Garage(mode=mode).start()
    router = make_router(catalog_with_garage, assistant, broken.port)
    session = Session()
    up_to_confirmation(router, session)
    turn = say(router, session, "yes", "yes")
    assert turn.response.speech == "Sorry, the garage can't be reached."
    assert turn.service is not None and turn.service.outcome == mode
    close_router(router)
    broken.close()


def test_a_missing_secret_gives_the_fallback_and_sends_nothing(
    catalog_with_garage: Catalog, assistant: Assistant, garage: Garage
) -> None:
    caller = ServiceCaller(
        b"salt", rewrite={"http://127.0.0.1:9": f"http://127.0.0.1:{garage.port}"}, env={}
    )
    router = Assistant(catalog_with_garage, assistant.nlu, services=caller)
    session = Session()
    up_to_confirmation(router, session)
    turn = say(router, session, "yes", "yes")
    assert turn.service is not None and turn.service.outcome == "no secret"
    assert turn.response.speech == "Sorry, the garage can't be reached." and garage.received == []


def test_slot_words_are_whole_words_and_never_part_of_a_longer_number(catalog: Catalog) -> None:
    lumen, sleep = catalog.get("lumen_jewels"), catalog.get("dreamwell_sleep")
    assert lumen is not None and sleep is not None
    recipient, duration = lumen.slots["recipient"], sleep.slots["duration"]
    assert value_in_text(recipient, "送给我朋友", "zh") == "friend"
    assert value_in_text(recipient, "送给男朋友", "zh") != "friend"  # 朋友 inside 男朋友
    assert value_in_text(duration, "twenty minutes please", "en") == "min_20"
    assert value_in_text(duration, "a hundred and twenty minutes", "en") is None
    assert value_in_text(duration, "一百二十分钟", "zh") is None
    assert value_in_text(duration, "three minutes", "en", whole=True) is None
