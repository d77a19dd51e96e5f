"""Campaign events under per-brand pseudonyms, and the people store, on real databases.

SQLite files and a real PostgreSQL (a fresh schema per test, dropped afterwards,
in the database at $VOICE_TEST_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/test). PostgreSQL tests fail, not skip,
when it cannot be reached. `engines` and `engine_kind` are shared with the
report and privacy tests.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from voice_runtime.campaigns.events import Event, EventStore, migrations
from voice_runtime.campaigns.people import PeopleStore
from voice_runtime.cli import main as cli_main
from voice_runtime.errors import InputError
from voice_runtime.services.client import pseudonym
from voice_runtime.store.database import DatabaseError, migrate, open_database, transaction

PG_URL = os.environ.get("VOICE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
SALT = b"test-salt-events"
T0 = datetime(2025, 6, 7, 15, 0, tzinfo=UTC)  # a Saturday afternoon

EngineFactory = Callable[[], Engine]


def open_postgres() -> Engine:
    """The test PostgreSQL; the test fails (it does not skip) when it cannot be reached."""
    problem = ""
    try:
        return open_database(PG_URL)
    except DatabaseError as error:
        problem = str(error)
    pytest.fail(f"this test needs PostgreSQL at {PG_URL}: {problem}", pytrace=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def engines(engine_kind: str, tmp_path: Path) -> Iterator[EngineFactory]:
    """Opens engines on one fresh database: a SQLite file, or a PostgreSQL schema."""
    opened: list[Engine] = []
    schema = f"t_{secrets.token_hex(6)}"
    admin: Engine | None = None
    if engine_kind == "postgresql":
        admin = open_postgres()
        with transaction(admin) as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")

    def make() -> Engine:
        if engine_kind == "postgresql":
            engine = open_database(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
        else:
            engine = open_database(f"sqlite:///{tmp_path / 'voice.db'}")
        opened.append(engine)
        return engine

    try:
        yield make
    finally:
        for engine in opened:
            engine.dispose()
        if admin is not None:
            with transaction(admin) as conn:
                conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
            admin.dispose()


def event(
    kind: str = "exposure",
    user: str = "alice",
    brand: str = "anchor_dairy",
    campaign: str = "baking_weekend",
    device_type: str = "speaker",
    at: datetime = T0,
    detail: str | None = None,
) -> Event:
    return Event(
        kind,  # type: ignore[arg-type]
        campaign,
        brand,
        user,
        device_type,
        "weekend_kitchen",
        "after_goodbye",
        at,
        detail,
    )


def all_cells(engine: Engine, table: str) -> list[str]:
    with transaction(engine) as conn:
        rows = conn.exec_driver_sql(f"SELECT * FROM {table}").all()
    return [str(cell) for row in rows for cell in row]


# -- events ------------------------------------------------------------------------------


def test_events_are_kept_under_per_brand_pseudonyms_only(engines: EngineFactory) -> None:
    engine = engines()
    store = EventStore(engine, SALT)
    raw = "alice.smith@example.com"
    store.record_many(
        [
            event("decision", user=raw),
            event("exposure", user=raw),
            event("accepted", user=raw, at=T0 + timedelta(seconds=5)),
            event("exposure", user=raw, brand="star_motors", campaign="car_viewing"),
        ]
    )
    store.record(event("exposure", user="bob", device_type="tv"))

    cells = all_cells(engine, "campaign_events")
    assert cells, "nothing was stored"
    assert not [c for c in cells if raw in c or "alice" in c or "bob" in c]

    anchor = pseudonym(raw, SALT, "anchor_dairy")
    star = pseudonym(raw, SALT, "star_motors")
    assert anchor != star and anchor.startswith("u-") and len(anchor) == 34
    assert store.pseudonym(raw, "anchor_dairy") == anchor

    mine = store.events("anchor_dairy")
    assert [(e.kind, e.person) for e in mine] == [
        ("decision", anchor),
        ("exposure", anchor),
        ("exposure", pseudonym("bob", SALT, "anchor_dairy")),
        ("accepted", anchor),
    ]
    assert {e.brand for e in mine} == {"anchor_dairy"}
    assert mine[0].at == T0 and mine[0].at.tzinfo is UTC
    assert [e.person for e in store.events("star_motors")] == [star]
    assert store.brands() == ["anchor_dairy", "star_motors"]
    assert store.events("anchor_dairy", since=T0 + timedelta(seconds=1))[0].kind == "accepted"


def test_a_sqlite_file_never_holds_the_raw_user_id(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'events.db'}"
    engine = open_database(url)
    raw = "carol-7d41c9e2"
    EventStore(engine, SALT).record_many(event(k, user=raw) for k in ("exposure", "declined"))
    engine.dispose()
    files = list(tmp_path.iterdir())
    assert files
    for path in files:
        assert raw.encode() not in path.read_bytes(), path


def test_the_salt_changes_every_pseudonym(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'voice.db'}")
    try:
        EventStore(engine, b"salt-one").record(event())
        EventStore(engine, b"salt-two").record(event())
        people = {e.person for e in EventStore(engine, b"salt-one").events("anchor_dairy")}
        assert len(people) == 2
        with pytest.raises(InputError, match="salt"):
            EventStore(engine, b"")
    finally:
        engine.dispose()


def test_delete_user_removes_only_that_person(engines: EngineFactory) -> None:
    store = EventStore(engines(), SALT)
    for brand, campaign in (("anchor_dairy", "baking_weekend"), ("star_motors", "car_viewing")):
        store.record_many(
            [
                event(user="alice", brand=brand, campaign=campaign),
                event(user="bob", brand=brand, campaign=campaign),
            ]
        )
    by_brand = store.events_of("alice")
    assert sorted(by_brand) == ["anchor_dairy", "star_motors"]
    assert store.delete_user("alice", ["anchor_dairy"]) == 1
    assert sorted(store.events_of("alice")) == ["star_motors"]
    assert store.delete_user("alice") == 1
    assert store.events_of("alice") == {}
    assert len(store.events_of("bob")) == 2
    assert store.delete_user("alice") == 0


def test_the_migration_is_idempotent_and_a_later_version_adds_a_column(
    engines: EngineFactory,
) -> None:
    first, second = engines(), engines()
    assert EventStore(first, SALT).version == 1
    assert EventStore(second, SALT).version == 1  # nothing applied twice
    store = EventStore(first, SALT)
    store.record(event())
    with transaction(first) as conn:
        version = conn.exec_driver_sql(
            "SELECT version FROM schema_migrations WHERE name = 'campaign_events'"
        ).scalar()
    assert version == 1

    later = [
        *migrations(first.dialect.name),
        ["ALTER TABLE campaign_events ADD COLUMN room VARCHAR(64)"],
    ]
    assert migrate(first, "campaign_events", later) == 2
    assert migrate(second, "campaign_events", later) == 2
    with transaction(first) as conn:
        rows = conn.execute(sa.text("SELECT kind, room FROM campaign_events")).all()
    assert [tuple(r) for r in rows] == [("exposure", None)]
    with pytest.raises(DatabaseError, match="newer than this program knows"):
        EventStore(second, SALT)


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        ({"kind": "clicked"}, "unknown event kind"),
        ({"user": "not a valid id"}, "invalid user id"),
        ({"at": datetime(2025, 6, 7, 15, 0)}, "must carry a time zone"),
        ({"campaign": ""}, "invalid campaign id"),
        ({"detail": "x" * 201}, "invalid event detail"),
        ({"detail": "line\nbreak"}, "no control characters"),
    ],
)
def test_bad_events_are_refused_in_one_line(
    tmp_path: Path, changed: dict[str, object], message: str
) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'voice.db'}")
    try:
        store = EventStore(engine, SALT)
        values: dict[str, object] = {
            "kind": "exposure",
            "user": "alice",
            "at": T0,
            "campaign": "baking_weekend",
        }
        values.update(changed)
        bad = event(**values)  # type: ignore[arg-type]
        with pytest.raises(InputError, match=message) as raised:
            store.record_many([event(), bad])
        assert "\n" not in str(raised.value).replace("\\n", "")
        assert store.events("anchor_dairy") == []  # nothing of the batch was written
    finally:
        engine.dispose()


def test_other_time_zones_are_stored_as_utc(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'voice.db'}")
    try:
        store = EventStore(engine, SALT)
        shanghai = timezone(timedelta(hours=8))
        store.record(event(at=datetime(2025, 6, 7, 23, 30, tzinfo=shanghai)))
        assert store.events("anchor_dairy")[0].at == datetime(2025, 6, 7, 15, 30, tzinfo=UTC)
    finally:
        engine.dispose()


# -- people ------------------------------------------------------------------------------


def test_people_child_profiles_and_opt_outs(engines: EngineFactory) -> None:
    people = PeopleStore(engines())
    assert PeopleStore(engines()).profile("alice").excluded("anchor_dairy") is None
    assert people.person("alice") is None

    record = people.set_child("tim", True, household="smiths")
    assert (record.user, record.household, record.child) == ("tim", "smiths", True)
    assert people.profile("tim").excluded("anchor_dairy") == "excluded: child profile"
    assert people.set_child("tim", False).household == "smiths"  # the household stays
    assert people.profile("tim").child is False

    assert people.opt_out("alice", "anchor_dairy") is True
    assert people.opt_out("alice", "anchor_dairy") is False  # said twice: kept once
    profile = people.profile("alice")
    assert profile.opted_out == frozenset({"anchor_dairy"}) and not profile.opted_out_all
    assert profile.excluded("anchor_dairy") == "opted out of anchor_dairy"
    assert profile.excluded("star_motors") is None

    assert people.opt_out("alice", None) is True
    assert people.profile("alice").excluded("star_motors") == "opted out of all suggestions"
    assert [o.brand for o in people.opt_outs("alice")] == ["*", "anchor_dairy"]
    assert people.opt_in("alice", None) is True  # "all" lifted; the brand's own stays
    assert people.profile("alice").opted_out == frozenset({"anchor_dairy"})
    assert people.opt_in("alice", "anchor_dairy") is True
    assert people.opt_in("alice", "anchor_dairy") is False
    assert people.opt_outs("alice") == []
    with pytest.raises(InputError, match="invalid brand id"):
        people.opt_out("alice", "*")


def test_forget_keeps_the_opt_outs_as_a_tombstone(engines: EngineFactory) -> None:
    people = PeopleStore(engines())
    people.set_child("alice", False)
    people.opt_out("alice", "anchor_dairy")
    assert people.forget("alice") is True
    assert people.forget("alice") is False
    assert people.person("alice") is None
    assert PeopleStore(engines()).profile("alice").excluded("anchor_dairy") == (
        "opted out of anchor_dairy"
    )
    people.set_child("alice", False)  # she comes back: the opt-out still holds
    assert people.profile("alice").opted_out == frozenset({"anchor_dairy"})


def test_voice_people_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(cli_main.COMMANDS, "people", ("child profiles and opt-outs", "people"))
    monkeypatch.delenv("VOICE_DATABASE_URL", raising=False)
    voice = ["--project", str(tmp_path), "people"]

    assert cli_main.main([*voice, "show", "--user", "tim"]) == 0
    assert capsys.readouterr().out == (
        "user: tim\nprofile: none kept (an adult by default)\nopt-outs: none\n"
    )
    assert cli_main.main([*voice, "child", "--user", "tim", "--household", "smiths"]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == [
        "user: tim",
        "profile: child (no sponsored content), household smiths",
    ]
    assert cli_main.main([*voice, "opt-out", "--user", "tim", "--brand", "anchor_dairy"]) == 0
    assert capsys.readouterr().out == "tim opted out of anchor_dairy\n"
    assert cli_main.main([*voice, "opt-out", "--user", "tim"]) == 0
    assert capsys.readouterr().out == "tim opted out of all suggestions\n"
    assert cli_main.main([*voice, "child", "--user", "tim", "--off"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "profile: adult, household smiths"
    assert lines[2].startswith("opted out of all suggestions since ")
    assert lines[3].startswith("opted out of anchor_dairy since ")
    assert (tmp_path / "models" / "voice.db").is_file()

    assert cli_main.main([*voice, "show", "--user", "no spaces"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("voice people: error: invalid user id") and err.count("\n") == 1
