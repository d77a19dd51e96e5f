"""voice simulate: small deterministic runs through the real router, campaigns and events."""

from __future__ import annotations

import argparse
import re
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from voice_runtime.campaigns.catalog import load_project_campaigns
from voice_runtime.campaigns.ledger import paced_limit
from voice_runtime.campaigns.model import Campaign
from voice_runtime.campaigns.simulate import (
    Exposure,
    SimClock,
    SimulationResult,
    SimulationSettings,
    cap_violations,
    make_homes,
    overspend,
    simulate,
)
from voice_runtime.cli import simulate as simulate_cli
from voice_runtime.dialog.router import Assistant
from voice_runtime.errors import InputError
from voice_runtime.household.home import Household
from voice_runtime.project import Project
from voice_runtime.skills.catalog import Catalog
from voice_runtime.store.sessions import MemorySessionStore

HOUSEHOLDS, DAYS = 20, 2
WEEKEND = date(2026, 12, 5)  # a Saturday: cooking, weekend kitchen and driving routines


def run_once(
    assistant: Assistant,
    project: Project,
    database: Path,
    seed: int = 1,
    scope: str = "person",
    households: int = HOUSEHOLDS,
    start: date = WEEKEND,
) -> SimulationResult:
    settings = SimulationSettings(households, DAYS, seed, start, scope)
    clock = SimClock(datetime(2026, 12, 1, tzinfo=UTC))
    household = Household(assistant, MemorySessionStore(300.0, clock=clock.timestamp))
    url = f"sqlite:///{database}"
    return assistant.run(simulate(household, project, url, clock, settings))


@pytest.fixture(scope="module")
def person_run(
    assistant: Assistant, project: Project, tmp_path_factory: pytest.TempPathFactory
) -> tuple[SimulationResult, Path]:
    database = tmp_path_factory.mktemp("sim") / "person.db"
    return run_once(assistant, project, database), database


@pytest.fixture(scope="module")
def campaigns(project: Project, catalog: Catalog) -> dict[str, Campaign]:
    return {c.id: c for c in load_project_campaigns(project, catalog).campaigns}


def test_a_small_run_keeps_every_cap_and_budget(person_run: tuple[SimulationResult, Path]) -> None:
    result, _ = person_run
    assert result.households == HOUSEHOLDS and result.people > HOUSEHOLDS
    assert 0 < result.children < result.people
    assert result.turns > 200 and result.placements > 50
    assert result.exposures > 20 and result.decisions == result.exposures
    assert result.heard == result.exposures  # what the devices said matches the events
    assert 0 < result.reach <= result.people - result.children
    assert result.cap_violations == 0 and result.person_repeats == 0
    assert result.overspend == 0 and result.ahead_of_pace == 0
    assert result.ok
    assert set(result.campaigns) == {
        "anchor_weekend_baking",
        "star_motors_evening_tv",
        "dreamwell_evening_wind_down",
    }
    kinds = sum((t.kinds for t in result.campaigns.values()), start=type(result.languages)())
    assert kinds["accepted"] == kinds["opened"] > 0
    assert kinds["declined"] > 0 and kinds["opted_out"] > 0


def test_the_same_seed_gives_the_same_numbers_another_seed_others(
    assistant: Assistant,
    project: Project,
    tmp_path: Path,
    person_run: tuple[SimulationResult, Path],
) -> None:
    again = run_once(assistant, project, tmp_path / "again.db")
    assert again.numbers() == person_run[0].numbers()
    other = run_once(assistant, project, tmp_path / "other.db", seed=2)
    assert other.numbers() != again.numbers()
    assert other.cap_violations == 0 and other.overspend == 0


def test_caps_per_device_repeat_a_brand_to_one_person(
    assistant: Assistant, project: Project, tmp_path: Path
) -> None:
    device = run_once(assistant, project, tmp_path / "device.db", scope="device", households=30)
    person = run_once(assistant, project, tmp_path / "person.db", households=30)
    assert device.cap_violations == 0  # each device's own caps hold ...
    assert device.person_repeats > 0  # ... but people hear the same brand again
    assert device.exposures > person.exposures
    assert person.cap_violations == person.person_repeats == 0
    assert device.overspend == person.overspend == 0


def test_events_hold_pseudonyms_only(person_run: tuple[SimulationResult, Path]) -> None:
    result, database = person_run
    with sqlite3.connect(database) as conn:
        rows = conn.execute("SELECT kind, brand, person FROM campaign_events").fetchall()
        children = conn.execute("SELECT COUNT(*) FROM people WHERE child").fetchone()[0]
    assert len([r for r in rows if r[0] == "exposure"]) == result.exposures
    assert all(re.fullmatch(r"u-[0-9a-f]{32}", person) for _, _, person in rows)
    assert children == result.children
    users = [m.user for h in make_homes(HOUSEHOLDS, 1) for m in h.members]
    # people and opt_outs name people by user id, on purpose (child profiles, opt-outs
    # that hold on every device); the events never do
    with sqlite3.connect(database) as conn:
        dumped = [line for line in conn.iterdump() if "campaign_events" in line]
    assert len(dumped) > result.exposures
    assert not [u for u in users if any(u in line for line in dumped)]


def test_a_fresh_database_is_required(
    assistant: Assistant, project: Project, person_run: tuple[SimulationResult, Path]
) -> None:
    with pytest.raises(InputError, match="already holds campaign events"):
        run_once(assistant, project, person_run[1])


def test_the_recount_sees_broken_caps_and_budgets(campaigns: dict[str, Campaign]) -> None:
    baking = campaigns["anchor_weekend_baking"]  # 1 a day, 3 a week, 4 h apart; 800 a day
    at = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
    kept = [Exposure(baking.id, "a", at + timedelta(days=d)) for d in range(3)]
    assert cap_violations(kept, campaigns) == 0
    two = kept[:2]
    same_day = [*two, Exposure(baking.id, "a", at + timedelta(hours=5))]
    assert cap_violations(same_day, campaigns) == 1
    late = at + timedelta(hours=13)  # Monday 23:00 in Shanghai
    too_close = [
        Exposure(baking.id, "a", late),
        Exposure(baking.id, "a", late + timedelta(hours=2)),
    ]
    assert cap_violations(too_close, campaigns) == 1  # the next local day, but 2 h apart
    fourth = [*kept, Exposure(baking.id, "a", at + timedelta(days=4))]
    assert cap_violations(fourth, campaigns) == 1  # a fourth in the same week
    assert cap_violations([*kept, Exposure(baking.id, "b", at)], campaigns) == 0
    busy = [Exposure(baking.id, f"p{n}", at) for n in range(801)]
    assert overspend(busy, campaigns) == (1, 0)
    early = baking.flight.start + timedelta(hours=1)
    allowed = paced_limit(baking, early)  # 2% of the budget ahead of the straight line
    assert 400 <= allowed < 800
    paced = [Exposure(baking.id, f"p{n}", early) for n in range(allowed + 1)]
    assert overspend(paced, campaigns) == (0, 1)


def test_the_command_prints_the_numbers_and_writes_the_report(
    assistant: Assistant,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(simulate_cli, "build_assistant", lambda args: assistant)
    monkeypatch.setattr(assistant, "close", lambda: None)
    parser = argparse.ArgumentParser()
    parser.add_argument("--project", default=None)
    simulate_cli.add_arguments(parser)
    out = tmp_path / "report"
    args = parser.parse_args(
        f"--households 6 --days 1 --start 2026-12-05 --compare --quiet "
        f"--report-brand anchor_dairy --out {out}".split()
    )
    assert simulate_cli.run(args) == 0
    printed = capsys.readouterr().out
    assert re.search(r"caps counted per\s+person\s+device", printed)
    assert re.search(r"cap violations\s+0\s+0\n", printed)
    assert re.search(r"budget overspend\s+0\s+0\n", printed)
    assert "repeats beyond person caps" in printed and "decisions per second" in printed
    assert (out / "index.html").is_file() and f"report: {out / 'index.html'}" in printed
    with pytest.raises(InputError, match="go together"):
        simulate_cli.run(parser.parse_args(["--report-brand", "anchor_dairy"]))
