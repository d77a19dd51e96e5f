"""The brand report: its numbers, its real matplotlib plots, its page in headless Chromium,
and that one brand's report never shows another brand's data."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from browser import Browser
from PIL import Image
from sqlalchemy.engine import Engine
from test_campaign_events import SALT, event

from voice_runtime.campaigns.events import EventStore, StoredEvent
from voice_runtime.campaigns.model import Budget, Campaign, Caps, Creative, Flight, Scene
from voice_runtime.campaigns.report import (
    PLOTS,
    build_report,
    exposures_by_day,
    frequency,
    funnel,
    pacing,
    plot_exposures,
    plot_frequency,
    plot_funnel,
    plot_pacing,
    reach,
    write_report,
)
from voice_runtime.cli import main as cli_main
from voice_runtime.store.database import open_database

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2025, 6, 1, tzinfo=UTC)
NOW = datetime(2025, 6, 6, tzinfo=UTC)


def campaign(
    id: str = "baking_weekend", brand: str = "anchor_dairy", days: int = 10, total: int = 100
) -> Campaign:
    return Campaign(
        id=id,
        brand=brand,
        skill="anchor_baking",
        flight=Flight(START, START + timedelta(days=days), "UTC"),
        budget=Budget(total, per_day=20),
        caps=Caps(per_day=1),
        scenes=(Scene("weekend_kitchen", frozenset({"after_goodbye"})),),
        creatives={"speaker": {"en": Creative("Anchor's baking class is on this weekend.")}},
    )


def stored(kind: str, person: str = "u-1", device: str = "speaker", day: int = 1) -> StoredEvent:
    return StoredEvent(
        id=0,
        kind=kind,  # type: ignore[arg-type]
        campaign="baking_weekend",
        brand="anchor_dairy",
        person=person,
        device_type=device,
        scene="weekend_kitchen",
        placement="after_goodbye",
        at=datetime(2025, 6, day, 12, tzinfo=UTC),
    )


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_database(f"sqlite:///{tmp_path / 'voice.db'}")
    yield engine
    engine.dispose()


# -- the numbers -------------------------------------------------------------------------

SAMPLE = [
    stored("exposure", "u-1", "speaker", 1),
    stored("exposure", "u-1", "tv", 2),
    stored("exposure", "u-2", "speaker", 2),
    stored("exposure", "u-3", "phone", 2),
    stored("exposure", "u-1", "speaker", 3),
    stored("exposure", "u-2", "car", 3),
    stored("accepted", "u-1", "speaker", 3),
    stored("accepted", "u-2", "car", 3),
    stored("opened", "u-1", "speaker", 3),
    stored("converted", "u-1", "speaker", 4),
    stored("declined", "u-3", "phone", 2),
    stored("decision", "u-3", "phone", 2),
]


def test_the_numbers_behind_the_plots() -> None:
    assert funnel(SAMPLE) == {"exposed": 6, "accepted": 2, "opened": 1, "converted": 1}
    assert frequency(SAMPLE) == {"1": 1, "2": 1, "3+": 1}
    assert reach(SAMPLE) == 3
    assert exposures_by_day(SAMPLE) == {
        date(2025, 6, 1): {"speaker": 1},
        date(2025, 6, 2): {"tv": 1, "speaker": 1, "phone": 1},
        date(2025, 6, 3): {"speaker": 1, "car": 1},
    }
    assert funnel([]) == {"exposed": 0, "accepted": 0, "opened": 0, "converted": 0}


def test_pacing_against_the_even_schedule() -> None:
    series = pacing(SAMPLE, campaign(days=10, total=100), NOW)
    assert series.times[0] == START and series.times[-1] == START + timedelta(days=10)
    assert len(series.times) == 11  # start, nine midnights, end
    assert series.planned[0] == 0 and series.planned[5] == 50 and series.planned[-1] == 100
    assert series.actual == [0, 1, 4, 6, 6, 6]  # cumulative at each midnight up to now
    assert (series.spent, series.due) == (6, 50.0)

    mid_day = pacing(SAMPLE, campaign(days=10, total=100), NOW + timedelta(hours=12))
    assert mid_day.times[6] == NOW + timedelta(hours=12)  # "now" between two midnights
    assert mid_day.planned[6] == pytest.approx(55) and mid_day.actual[-1] == 6

    short = pacing([], campaign(days=1, total=24), START + timedelta(hours=30))
    assert len(short.times) == 25 and short.planned[1] == 1  # hourly for short flights


def test_the_plots_draw_the_expected_series() -> None:
    figure = plot_exposures(exposures_by_day(SAMPLE))
    axes = figure.axes[0]
    assert [c.get_label() for c in axes.containers] == ["speaker", "tv", "phone", "car"]
    speaker = [bar.get_height() for bar in axes.containers[0]]
    assert speaker == [1, 1, 1]
    car = axes.containers[3]
    assert [bar.get_height() for bar in car] == [0, 0, 1]
    assert car[2].get_y() == 1  # stacked on the speaker bar of that day
    assert [t.get_text() for t in axes.get_xticklabels()] == [
        "2025-06-01",
        "2025-06-02",
        "2025-06-03",
    ]

    axes = plot_funnel(funnel(SAMPLE)).axes[0]
    bars = axes.containers[0]
    assert [t.get_text() for t in axes.get_xticklabels()] == list(funnel(SAMPLE))
    assert [bar.get_height() for bar in bars] == [6, 2, 1, 1]
    assert [t.get_text() for t in axes.texts] == ["6", "2", "1", "1"]  # counts on the bars

    axes = plot_frequency(frequency(SAMPLE)).axes[0]
    assert [t.get_text() for t in axes.get_xticklabels()] == ["1 time", "2 times", "3+ times"]
    assert [bar.get_height() for bar in axes.containers[0]] == [1, 1, 1]
    assert plot_frequency(frequency(SAMPLE))._suptitle.get_text().startswith("Reach 3")

    series = pacing(SAMPLE, campaign(), NOW)
    axes = plot_pacing([series]).axes[0]
    lines = {line.get_label(): line for line in axes.get_lines()}
    assert set(lines) == {
        "baking_weekend exposures",
        "baking_weekend even schedule (budget 100)",
    }
    assert list(lines["baking_weekend exposures"].get_ydata()) == series.actual
    assert list(lines["baking_weekend even schedule (budget 100)"].get_ydata()) == series.planned
    assert lines["baking_weekend even schedule (budget 100)"].get_linestyle() == "--"

    empty = plot_exposures({})
    assert [t.get_text() for t in empty.axes[0].texts] == ["no exposures yet"]


# -- the report on disk ------------------------------------------------------------------


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    with Image.open(path) as image:
        image.verify()
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def fill_two_brands(store: EventStore) -> None:
    """anchor_dairy and star_motors reach the same people on the same days."""
    for day in range(1, 5):
        at = datetime(2025, 6, day, 17, tzinfo=UTC)
        for user, device in (("alice-raw", "speaker"), ("bob-raw", "tv"), ("carol-raw", "phone")):
            store.record(event("exposure", user=user, device_type=device, at=at))
            store.record(
                event(
                    "exposure",
                    user=user,
                    brand="star_motors",
                    campaign="aurora_secret_launch",
                    device_type=device,
                    at=at,
                )
            )
    store.record(event("accepted", user="alice-raw", at=datetime(2025, 6, 2, 17, 1, tzinfo=UTC)))
    store.record(event("opened", user="alice-raw", at=datetime(2025, 6, 2, 17, 2, tzinfo=UTC)))
    store.record(
        event(
            "converted",
            user="bob-raw",
            brand="star_motors",
            campaign="aurora_secret_launch",
            detail="booking SM-99172",
        )
    )


def test_the_report_is_written_with_valid_pngs(engine: Engine, tmp_path: Path) -> None:
    store = EventStore(engine, SALT)
    fill_two_brands(store)
    out = tmp_path / "report"
    page = write_report(store, "anchor_dairy", [campaign()], out, now=NOW)
    assert page == out / "index.html"
    assert sorted(p.name for p in out.iterdir()) == sorted(["index.html", *PLOTS.values()])
    for name in PLOTS.values():
        width, height = png_size(out / name)
        assert width > 100 and height > 100
    text = page.read_text(encoding="utf-8")
    for name in PLOTS.values():
        assert f'src="{name}"' in text
    assert '<tr id="campaign-baking_weekend"><td class="campaign">baking_weekend</td>' in text
    assert "behind by 38 (12 spent, 50 due, of 100)" in text

    report = build_report(store, "anchor_dairy", [campaign()], NOW)
    assert report.summary() == (
        "anchor_dairy: 1 campaign(s), 12 exposure(s), reach 3, accepted 1, opened 1, converted 0"
    )


def test_a_brand_report_never_shows_another_brand(engine: Engine, tmp_path: Path) -> None:
    store = EventStore(engine, SALT)
    fill_two_brands(store)
    out = tmp_path / "report"
    rival = campaign("aurora_secret_launch", brand="star_motors")
    write_report(store, "anchor_dairy", [campaign(), rival], out, now=NOW)

    forbidden = ["star_motors", "aurora_secret_launch", "SM-99172", "alice-raw", "bob-raw"]
    forbidden += ["carol-raw"]
    forbidden += [store.pseudonym(u, "star_motors") for u in ("alice-raw", "bob-raw", "carol-raw")]
    # the brand's own pseudonyms are not shown either: people are only counted
    forbidden += [store.pseudonym(u, "anchor_dairy") for u in ("alice-raw", "bob-raw", "carol-raw")]
    files = list(out.iterdir())
    assert len(files) == 5
    for path in files:
        data = path.read_bytes()
        for word in forbidden:
            assert word.encode() not in data, f"{word} appears in {path.name}"
    assert "baking_weekend" in (out / "index.html").read_text(encoding="utf-8")


def test_values_are_escaped_and_an_empty_brand_still_renders(
    engine: Engine, tmp_path: Path
) -> None:
    store = EventStore(engine, SALT)
    store.record(event(campaign="<script>alert(1)</script>", brand="odd_brand"))
    page = write_report(store, "odd_brand", [], tmp_path / "odd", now=NOW)
    text = page.read_text(encoding="utf-8")
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "budget unknown" in text

    empty = write_report(store, "nobody", [], tmp_path / "empty", now=NOW)
    assert "no campaigns and no events" in empty.read_text(encoding="utf-8")
    for name in PLOTS.values():
        png_size(tmp_path / "empty" / name)


def test_the_report_loads_in_headless_chromium(engine: Engine, tmp_path: Path) -> None:
    store = EventStore(engine, SALT)
    fill_two_brands(store)
    page_path = write_report(store, "anchor_dairy", [campaign()], tmp_path / "report", now=NOW)

    async def scenario() -> None:
        async with Browser() as browser:
            page = await browser.page()
            await page.navigate(page_path.as_uri())
            assert await page.text_of("h1") == "Campaign report: anchor_dairy"
            assert await page.text_of("#campaign-baking_weekend td.campaign") == "baking_weekend"
            widths = await page.wait_for(
                "Array.from(document.images).every(i => i.complete)"
                " && Array.from(document.images).map(i => [i.id, i.naturalWidth])"
            )
            assert sorted(name for name, _ in widths) == sorted(f"plot-{n}" for n in PLOTS)
            assert all(width > 0 for _, width in widths), widths

    asyncio.run(asyncio.wait_for(scenario(), 90))


def test_voice_report_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(cli_main.COMMANDS, "report", ("a brand's campaign report", "report"))
    monkeypatch.setenv("VOICE_USER_SALT", SALT.decode())
    url = f"sqlite:///{tmp_path / 'events.db'}"
    engine = open_database(url)
    fill_two_brands(EventStore(engine, SALT))
    engine.dispose()
    out = tmp_path / "report"
    voice = ["--project", str(tmp_path), "report", "--database", url]
    argv = [*voice, "--brand", "anchor_dairy", "--out", str(out), "--now", "2025-06-06T00:00+00:00"]
    assert cli_main.main(argv) == 0
    assert capsys.readouterr().out == (
        f"wrote {out / 'index.html'} and 4 plots beside it\n"
        "anchor_dairy: 1 campaign(s), 12 exposure(s), reach 3, accepted 1, opened 1, converted 0\n"
    )
    assert (out / "pacing.png").is_file()

    blocked = tmp_path / "a-file"
    blocked.write_text("")
    assert cli_main.main([*voice, "--brand", "anchor_dairy", "--out", str(blocked)]) == 1
    err = capsys.readouterr().err
    assert (
        err.startswith("voice report: error: cannot write the report to") and err.count("\n") == 1
    )
    assert (
        cli_main.main([*voice, "--brand", "anchor_dairy", "--out", str(out), "--now", "6 June"])
        == 1
    )
    assert "invalid time '6 June'" in capsys.readouterr().err


def test_voice_report_with_the_project_campaigns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real campaigns/*.yaml: only anchor_dairy's campaign is read and shown."""
    monkeypatch.setitem(cli_main.COMMANDS, "report", ("a brand's campaign report", "report"))
    monkeypatch.setenv("VOICE_USER_SALT", SALT.decode())  # nothing written to the project
    url = f"sqlite:///{tmp_path / 'events.db'}"
    engine = open_database(url)
    store = EventStore(engine, SALT)
    at = datetime(2026, 11, 7, 7, tzinfo=UTC)  # a Saturday, 15:00 in Shanghai
    store.record(event("exposure", campaign="anchor_weekend_baking", at=at))
    store.record(event("exposure", brand="star_motors", campaign="star_motors_evening_tv", at=at))
    engine.dispose()
    out = tmp_path / "report"
    argv = ["--project", str(ROOT), "report", "--database", url, "--brand", "anchor_dairy"]
    argv += ["--out", str(out), "--now", "2026-11-08T00:00+08:00"]
    assert cli_main.main(argv) == 0
    assert capsys.readouterr().out.splitlines()[1] == (
        "anchor_dairy: 1 campaign(s), 1 exposure(s), reach 1, accepted 0, opened 0, converted 0"
    )
    text = (out / "index.html").read_text(encoding="utf-8")
    assert "anchor_weekend_baking" in text and "Asia/Shanghai" in text
    assert "star_motors" not in text and "dreamwell" not in text
