"""`voice campaigns why` and the shell's `/why`: every campaign with the reason it was or was
not chosen, on the real campaigns and skills."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import pytest

from voice_runtime.campaigns.ledger import MemoryLedger
from voice_runtime.campaigns.setup import Marketing
from voice_runtime.cli.common import local_device
from voice_runtime.cli.main import main
from voice_runtime.cli.shell import converse
from voice_runtime.dialog.router import Assistant
from voice_runtime.household.home import Household
from voice_runtime.project import Project
from voice_runtime.store.sessions import MemorySessionStore

ROOT = Path(__file__).resolve().parent.parent
SATURDAY_EVENING = "2026-12-05T20:00:00+08:00"


def why(tmp_path: Path, *args: str) -> None:
    database = f"sqlite:///{tmp_path / 'why.db'}"
    code = main(["--project", str(ROOT), "campaigns", "why", "--database", database, *args])
    assert code == 0


def test_why_names_every_campaign_with_its_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    why(
        tmp_path,
        "--user",
        "alice",
        "--device",
        "tv",
        "--room",
        "living_room",
        "--at",
        SATURDAY_EVENING,
        "--placement",
        "what_can_you_do",
    )
    lines = capsys.readouterr().out.splitlines()
    assert (
        lines[0]
        == "campaigns for alice on alice-tv (tv, living_room) at 2026-12-05 20:00 UTC+08:00"
    )
    assert lines[1] == "what_can_you_do:"
    reasons = {line.split()[0]: " ".join(line.split()[1:]) for line in lines[2:]}
    assert reasons == {
        "anchor_weekend_baking": (
            "out of scene: not in the kitchen; outside 13:00-18:00 on sat, sun"
        ),
        "dreamwell_evening_wind_down": "out of scene: not a phone or speaker; not in the bedroom",
        "star_motors_evening_tv": "chosen (scene evening on the TV)",
    }


def test_why_for_a_child_and_an_unknown_device(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = f"sqlite:///{tmp_path / 'why.db'}"
    assert (
        main(["--project", str(ROOT), "people", "child", "--user", "tim", "--database", database])
        == 0
    )
    why(
        tmp_path,
        "--user",
        "tim",
        "--device",
        "tv",
        "--at",
        SATURDAY_EVENING,
        "--placement",
        "idle_screen",
    )
    out = capsys.readouterr().out
    assert out.count("excluded: child profile") == 3
    code = main(
        [
            "--project",
            str(ROOT),
            "campaigns",
            "why",
            "--database",
            database,
            "--user",
            "tim",
            "--device",
            "tv-nope",
        ]
    )
    assert code == 1
    assert capsys.readouterr().err.strip() == (
        "voice campaigns: error: unknown device 'tv-nope'; see voice devices list"
    )


def test_shell_why_shows_a_cap_after_an_exposure(
    tmp_path: Path, assistant: Assistant, project: Project
) -> None:
    household = Household(assistant, MemorySessionStore())
    moment = datetime.fromisoformat("2026-12-05T15:00:00+08:00")  # the kitchen's weekend scene
    marketing = Marketing.attach(
        household,
        project,
        f"sqlite:///{tmp_path / 'shell.db'}",
        ledger=MemoryLedger(),
        clock=lambda: moment,
    )
    out = io.StringIO()
    kitchen = local_device("alice", "speaker", "en", "kitchen")
    converse(household, kitchen, ["open golden wok", "stop", "/why"], out, marketing=marketing)
    text = out.getvalue()
    assert "Sponsored: Anchor Baking Class" in text
    block = text.split("what_can_you_do:")[1].split("open_question:")[0]
    assert "anchor_weekend_baking" in block and "capped: 1 a day" in block
    household.run(marketing.aclose())


def test_privacy_exports_and_deletes_the_sessions_kept_in_redis(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio
    import json
    import uuid

    from voice_runtime.dialog.session import Session
    from voice_runtime.store.redis_sessions import RedisSessionStore

    redis = "redis://127.0.0.1:6379/0"
    database = f"sqlite:///{tmp_path / 'privacy.db'}"
    user = f"priv-{uuid.uuid4().hex[:8]}"
    device = f"{user}-tv"
    assert (
        main(
            [
                "devices",
                "add",
                "--database",
                database,
                "--user",
                user,
                "--type",
                "tv",
                "--id",
                device,
            ]
        )
        == 0
    )

    async def keep() -> None:
        store = RedisSessionStore(redis)
        await store.save(Session(user=user, device=device, skill="anchor_baking"))
        await store.close()

    asyncio.run(keep())
    capsys.readouterr()
    common = ["--user", user, "--database", database, "--redis", redis]
    assert main(["--project", str(ROOT), "privacy", "export", *common]) == 0
    kept = json.loads(capsys.readouterr().out)
    assert [s["skill"] for s in kept["sessions"] if "skill" in s] == ["anchor_baking"]
    assert main(["--project", str(ROOT), "privacy", "delete", *common]) == 0
    assert "1 session(s)" in capsys.readouterr().out
    assert main(["--project", str(ROOT), "privacy", "export", *common]) == 0
    assert json.loads(capsys.readouterr().out)["sessions"] == []


def test_a_booking_through_a_campaign_counts_as_a_conversion(
    tmp_path: Path, assistant: Assistant, project: Project
) -> None:
    """Offered on the TV, accepted, opened at the Aurora, then a test drive booked with the
    brand's (demo) service: the funnel's events, under the brand's pseudonym."""
    from voice_runtime.people import Device

    household = Household(assistant, MemorySessionStore())
    moment = datetime.fromisoformat(SATURDAY_EVENING)
    marketing = Marketing.attach(
        household,
        project,
        f"sqlite:///{tmp_path / 'funnel.db'}",
        ledger=MemoryLedger(),
        clock=lambda: moment,
    )
    tv = Device.of_type("funnel-tv", "funnel-user", "tv", room="living_room", language="en")
    said = [
        household.turn_sync(tv, text, "en")
        for text in [
            "help",
            "yes",
            "book a test drive",
            "Saturday",
            "at ten",
            "yes",
        ]
    ]
    assert "Sponsored: See the new Aurora" in said[0].response.speech
    assert said[1].skill == "star_motors_cars" and said[1].slots.get("model") == "aurora"
    assert said[-1].service is not None and said[-1].service.outcome == "ok", said[-1]
    kinds = [e.kind for e in marketing.events.events("star_motors")]
    assert kinds == ["decision", "exposure", "accepted", "opened", "converted"]
    people = {e.person for e in marketing.events.events("star_motors")}
    assert len(people) == 1 and "funnel-user" not in next(iter(people))
    household.run(marketing.aclose())
