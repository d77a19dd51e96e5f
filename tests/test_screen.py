"""The /screen page in a real headless Chromium (driven over the DevTools protocol),
against the real server on loopback."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import Browser, Page, chromium_path
from test_stream import LiveServer, live_assistant

from voice_runtime.project import Project
from voice_runtime.services.demo import DemoServices
from voice_runtime.skills.catalog import Catalog

assert chromium_path() is not None, "these tests need Chromium: apt-get install -y chromium"
CAR_TITLE = "Star Motors Car Viewing"  # skills/star_motors_cars.yaml, launch card title (en)


@pytest.fixture(scope="module")
def live(
    project: Project,
    catalog: Catalog,
    demo_services: DemoServices,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    server = LiveServer(
        live_assistant(project, catalog, demo_services), tmp_path_factory.mktemp("screen")
    )
    yield server
    server.close()


async def paired(browser: Browser, live: LiveServer, token: str) -> Page:
    page = await browser.page()
    await page.navigate(f"{live.url}/screen")
    await page.type_into("#token", token)
    await page.click("#pair-button")
    return page


def run(coroutine: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(coroutine, 120))


def test_typing_a_request_shows_the_car_card(live: LiveServer) -> None:
    device, token = live.add_device("screen-alice", "tv", name="Living room TV")

    async def scenario() -> None:
        async with Browser() as browser:
            page = await paired(browser, live, token)
            status = await page.wait_for(
                "document.getElementById('status').textContent.startsWith('Paired')"
                " && document.getElementById('status').textContent"
            )
            assert status == f"Paired as {device.id}."
            assert await page.evaluate("localStorage.getItem('voice.token')") == token
            await page.type_into("#request", "open car viewing")
            await page.press_enter()
            title = await page.wait_for("document.getElementById('card-title').textContent")
            assert title == CAR_TITLE
            assert await page.text_of("#card-text") == "Try: show me the Aurora"
            image = await page.evaluate("document.getElementById('card-image').src")
            assert image == "https://example.com/star-motors/showroom.png"
            speech = await page.text_of("#speech")
            assert speech.startswith("Welcome to Star Motors Big-Screen Car Viewing!")
            assert await page.evaluate("document.getElementById('card').hidden") is False
            # reloading keeps the pairing (the token is in localStorage)
            await page.navigate(f"{live.url}/screen")
            await page.wait_for(
                "document.getElementById('status').textContent.startsWith('Paired')"
            )
            assert await page.text_of("#error") == ""

    run(scenario())


def test_a_bad_token_shows_an_error(live: LiveServer) -> None:
    async def scenario() -> None:
        async with Browser() as browser:
            page = await paired(browser, live, "vd_not-a-token")
            error = await page.wait_for("document.getElementById('error').textContent")
            assert error == "Pairing failed: unknown token"
            assert await page.text_of("#status") == "Not paired."

    run(scenario())


def test_a_pushed_conversation_appears_on_the_tv(live: LiveServer) -> None:
    """The kitchen speaker opens Baking Class and says "continue on the TV"."""
    speaker, speaker_token = live.add_device("screen-bob", "speaker", name="Kitchen speaker")
    _, tv_token = live.add_device("screen-bob", "tv", name="Living room TV")

    async def scenario() -> None:
        async with Browser() as browser:
            page = await paired(browser, live, tv_token)
            await page.wait_for(
                "document.getElementById('status').textContent.startsWith('Paired')"
            )
            await asyncio.to_thread(live.run, _say(live, speaker_token, "open baking class"))
            await asyncio.to_thread(live.run, _say(live, speaker_token, "continue on the TV"))
            title = await page.wait_for("document.getElementById('card-title').textContent")
            assert title == "Anchor Baking Class"
            assert await page.text_of("#push-note") == "Continued from another device"

    run(scenario())


async def _say(live: LiveServer, token: str, text: str) -> None:
    import aiohttp

    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{live.url}/v1/turns",
            json={"text": text},
            headers={"Authorization": f"Bearer {token}"},
        ) as response,
    ):
        assert response.status == 200, await response.text()


def test_hold_to_talk_with_the_browser_microphone(live: LiveServer, tmp_path: Path) -> None:
    """Chromium's fake microphone plays an espeak-ng WAV; the page downsamples it to
    16 kHz frames, streams them while the button is held, and shows the answer."""
    _, token = live.add_device("screen-carol", "tv")
    spoken = tmp_path / "spoken.wav"
    subprocess.run(
        ["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(spoken), "open car viewing"],
        check=True,
    )
    padded = tmp_path / "mic.wav"  # a second of silence first, then the sentence, then silence
    subprocess.run(["sox", str(spoken), str(padded), "pad", "1", "2"], check=True)

    async def scenario() -> None:
        async with Browser(fake_microphone=padded) as browser:
            page = await paired(browser, live, token)
            await page.wait_for(
                "document.getElementById('status').textContent.startsWith('Paired')"
            )
            await page.evaluate("window.voiceScreen.startTalking()")
            await page.wait_for("window.voiceScreen.state.talking")
            await asyncio.sleep(4.5)  # the fake microphone plays the file once, in real time
            await page.evaluate("window.voiceScreen.stopTalking()")
            title = await page.wait_for("document.getElementById('card-title').textContent", 30)
            assert title == CAR_TITLE, await page.text_of("#heard")
            assert await page.text_of("#heard") == "“open car viewing”"

    run(scenario())
