"""Scene marketing in the real server: sponsored lines in REST turns, and idle-screen
posters pushed over the WebSocket (the trained English model on loopback, the
project's campaigns, devices and campaign events in SQLite, sessions in memory).

The campaign engine's clock is fixed at a Saturday evening in the campaigns' time
zone (2026-12-05 20:00, Asia/Shanghai): Star Motors shows on TVs then, and Anchor's
Baking Class follows a Golden Wok recipe. One test moves it to the afternoon.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from browser import Browser, chromium_path
from test_stream import Client, LiveServer, live_assistant

from voice_runtime.campaigns.setup import Marketing
from voice_runtime.people import Device
from voice_runtime.project import Project
from voice_runtime.server import REGISTRY, ServerSettings, create_app
from voice_runtime.server.app import MARKETING, POSTERS
from voice_runtime.services.demo import DemoServices
from voice_runtime.skills.catalog import Catalog

SHANGHAI = ZoneInfo("Asia/Shanghai")
SATURDAY_EVENING = datetime(2026, 12, 5, 20, 0, tzinfo=SHANGHAI)
SATURDAY_AFTERNOON = datetime(2026, 12, 5, 15, 0, tzinfo=SHANGHAI)
INTERVAL = 0.25  # the poster loop looks this often (seconds)
IDLE = 1.0  # a screen is idle after this long without a turn
CAR_POSTER = "Sponsored: Star Motors Aurora"
ANCHOR_LINE = (
    "Sponsored: Anchor Baking Class has a new bread lesson this weekend, "
    "with a crusty loaf made with Anchor butter. Say yes to start."
)


class PosterServer(LiveServer):
    """LiveServer with the project's campaigns, a movable campaign clock and quick posters."""

    def __init__(self, assistant: Any, project: Project, directory: Path) -> None:
        import threading

        self.moment = SATURDAY_EVENING
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        settings = ServerSettings(
            database_url=f"sqlite:///{directory / 'voice.db'}",
            languages=("en",),
            burst=50,
            poster_interval=INTERVAL,
            poster_idle=IDLE,
        )

        async def start() -> TestServer:
            app = create_app(assistant, settings, project=project, campaign_clock=self.now)
            server = TestServer(app, host="127.0.0.1", port=0)
            await server.start_server()
            return server

        self.server = self.run(start(), timeout=600)
        self.app: web.Application = self.server.app

    def now(self) -> datetime:
        return self.moment

    @property
    def marketing(self) -> Marketing:
        return self.app[MARKETING]

    def device(self, user: str, type: str, room: str) -> tuple[Device, str]:
        device, token = self.app[REGISTRY].add(user, type, name=f"{room} {type}", room=room)
        return device, token

    def why(self, device: Device, campaign: str) -> str:
        """The engine's verdict on `campaign` for a poster on `device` now (reserves nothing)."""
        decision = self.run(
            self.marketing.placements.decide(device, "en", "idle_screen", explain=True)
        )
        return decision.verdict(campaign).reason

    def poster_exposures(self, brand: str) -> int:
        events = self.marketing.events.events(brand)
        return sum(1 for e in events if e.kind == "exposure" and e.placement == "idle_screen")


@pytest.fixture(scope="module")
def live(
    project: Project,
    catalog: Catalog,
    demo_services: DemoServices,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[PosterServer]:
    server = PosterServer(
        live_assistant(project, catalog, demo_services), project, tmp_path_factory.mktemp("posters")
    )
    yield server
    server.close()


async def post_turn(live: LiveServer, token: str, text: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{live.url}/v1/turns",
            json={"text": text},
            headers={"Authorization": f"Bearer {token}"},
        ) as response,
    ):
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
        return body


async def pushes_within(client: Client, seconds: float) -> list[dict[str, Any]]:
    """Every push the client receives in the next `seconds`."""
    deadline = time.monotonic() + seconds
    found: list[dict[str, Any]] = []
    while (left := deadline - time.monotonic()) > 0:
        try:
            item = await client.next(left)
        except TimeoutError:
            break
        if item is None:
            raise AssertionError(f"closed ({client.ws.close_code}): {client.kinds}")
        if isinstance(item, dict) and item.get("type") == "push":
            found.append(item)
    return found


def test_a_sponsored_line_follows_golden_wok_on_the_kitchen_speaker(live: PosterServer) -> None:
    _, token = live.device("posters-rest", "speaker", "kitchen")

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        opened = await post_turn(live, token, "open golden wok")
        stopped = await post_turn(live, token, "stop")
        return opened, stopped

    opened, stopped = live.run(scenario())
    assert opened["skill"] == "wok_kitchen"
    assert "Sponsored" not in opened["speech"]
    assert stopped["intent"] == "stop"
    assert stopped["speech"].endswith(ANCHOR_LINE), stopped["speech"]
    assert stopped["card"] is None  # a speaker has no screen


def test_an_idle_tv_gets_a_poster_and_yes_opens_the_car(live: PosterServer) -> None:
    _, tv_token = live.device("posters-ann", "tv", "living_room")
    bedroom_tv, bedroom_token = live.device("posters-ann", "tv", "bedroom")
    _, speaker_token = live.device("posters-sam", "speaker", "living_room")
    before = live.poster_exposures("star_motors")

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], list[Any], list[Any]]:
        speaker = await Client.connect(live, speaker_token)
        television = await Client.connect(live, tv_token)
        try:
            await television.until("ready")
            started = time.monotonic()
            push = await television.until("push", timeout=20)
            assert time.monotonic() - started >= IDLE - 0.1  # only once the screen is idle
            await television.send(type="text", text="yes", audio=False)
            opened = await television.until("turn", timeout=30)
            # the same person's other TV, and the first TV idle again: the caps refuse
            other = await Client.connect(live, bedroom_token)
            try:
                later = await asyncio.gather(
                    pushes_within(television, IDLE + 8 * INTERVAL + 1),
                    pushes_within(other, IDLE + 8 * INTERVAL + 1),
                )
            finally:
                await other.close()
            # everything the speaker was sent meanwhile is waiting in its socket
            speaker_pushes = await pushes_within(speaker, 0.5)
            assert "ready" in speaker.kinds
            return push, opened, later[0] + later[1], speaker_pushes
        finally:
            await television.close()
            await speaker.close()

    push, opened, second, speaker_pushes = live.run(scenario(), timeout=90)
    assert push["reason"] == "poster"
    turn = push["turn"]
    assert turn["card"]["title"] == CAR_POSTER
    assert turn["card"]["image"] == "https://example.com/star-motors/aurora.png"
    assert turn["speech"] == (
        "Sponsored: See the new Aurora full size on your TV. Say yes to start."
    )
    assert turn["intent"] == "poster" and turn["waiting_for"] is None
    # "yes" on that TV deep-links into the car viewing, at the Aurora
    assert opened["skill"] == "star_motors_cars", opened
    assert opened["intent"] == "star_motors_cars.show_model"
    assert opened["slots"].get("model") == "aurora"
    assert "Sponsored" not in opened["speech"]
    # one poster for the person across both TVs: the second is refused by the caps
    assert second == []
    assert live.why(bedroom_tv, "star_motors_evening_tv").startswith("capped"), live.why(
        bedroom_tv, "star_motors_evening_tv"
    )
    assert live.poster_exposures("star_motors") == before + 1
    assert speaker_pushes == []  # the speaker has no screen
    assert live.app[POSTERS].pushed >= 1


def test_a_speaker_in_scene_still_gets_no_poster(live: PosterServer) -> None:
    """Saturday afternoon in the kitchen: Anchor's scene names speakers and TVs for
    idle screens, so the TV gets its poster; the speaker (no screen) never does."""
    speaker, speaker_token = live.device("posters-kim", "speaker", "kitchen")
    _, tv_token = live.device("posters-lee", "tv", "kitchen")
    live.moment = SATURDAY_AFTERNOON
    try:
        why = live.why(speaker, "anchor_weekend_baking")
        assert why.startswith("chosen"), why  # the engine alone would offer it

        async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]]]:
            kitchen_speaker = await Client.connect(live, speaker_token)
            television = await Client.connect(live, tv_token)
            try:
                push = await television.until("push", timeout=20)
                return push, await pushes_within(kitchen_speaker, IDLE + 4 * INTERVAL)
            finally:
                await television.close()
                await kitchen_speaker.close()

        push, speaker_pushes = live.run(scenario(), timeout=60)
        still = live.why(speaker, "anchor_weekend_baking")  # nothing was reserved for it
    finally:
        live.moment = SATURDAY_EVENING
    assert push["turn"]["card"]["title"] == "Sponsored: Anchor Baking Class"
    assert speaker_pushes == []
    assert still.startswith("chosen"), still


def test_the_screen_page_shows_the_poster_and_its_yes_button(live: PosterServer) -> None:
    assert chromium_path() is not None, "this test needs Chromium: apt-get install -y chromium"
    _, token = live.device("posters-page", "tv", "living_room")

    async def scenario() -> None:
        async with Browser() as browser:
            page = await browser.page()
            await page.navigate(f"{live.url}/screen")
            await page.type_into("#token", token)
            await page.click("#pair-button")
            title = await page.wait_for(
                "!document.getElementById('poster-actions').hidden"
                " && document.getElementById('card-title').textContent"
            )
            assert title == CAR_POSTER
            assert await page.text_of("#push-note") == "Say or type “yes” to start."
            assert (await page.text_of("#speech")).startswith("Sponsored:")
            await page.click("#poster-yes")
            heard = await page.wait_for(
                "document.getElementById('poster-actions').hidden"
                " && document.getElementById('heard').textContent"
            )
            assert heard == "“yes”"
            speech = await page.text_of("#speech")
            assert "Aurora" in speech and "Sponsored" not in speech, speech

    asyncio.run(asyncio.wait_for(scenario(), 60))
