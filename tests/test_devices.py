"""The device registry on a real SQLite file and a real PostgreSQL, and `voice devices`.

PostgreSQL tests each get a fresh schema (dropped afterwards) in the database
at $VOICE_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test);
they fail, not skip, when it cannot be reached.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import threading
import unicodedata
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from voice_runtime.cli.main import main
from voice_runtime.errors import AuthError, InputError, VoiceError
from voice_runtime.people import Device
from voice_runtime.store.database import (
    DatabaseError,
    database_url,
    migrate,
    open_database,
    safe_url,
    transaction,
)
from voice_runtime.store.devices import DeviceRegistry, token_hash

PG_URL = os.environ.get("VOICE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")

EngineFactory = Callable[[], Engine]


def open_postgres() -> Engine:
    """The test PostgreSQL; the test fails (it does not skip) when it cannot be reached."""
    problem = ""
    try:
        return open_database(PG_URL)
    except DatabaseError as error:
        problem = str(error)
    pytest.fail(f"this test needs PostgreSQL at {PG_URL}: {problem}", pytrace=False)


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh, empty PostgreSQL schema, dropped after the test."""
    admin = open_postgres()
    schema = f"t_{secrets.token_hex(6)}"
    with transaction(admin) as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield schema
    finally:
        with transaction(admin) as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture
def pg_engines(pg_schema: str) -> Iterator[EngineFactory]:
    """Opens engines whose tables live in the test's own schema."""
    engines: list[Engine] = []

    def make() -> Engine:
        engine = open_database(PG_URL, connect_args={"options": f"-csearch_path={pg_schema}"})
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()


@pytest.fixture
def sqlite_engines(tmp_path: Path) -> Iterator[EngineFactory]:
    """Opens engines on one SQLite file in the test's temporary directory."""
    engines: list[Engine] = []

    def make() -> Engine:
        engine = open_database(f"sqlite:///{tmp_path / 'voice.db'}")
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()


@pytest.fixture(params=["sqlite_engines", "pg_engines"], ids=["sqlite", "postgresql"])
def engines(request: pytest.FixtureRequest) -> EngineFactory:
    """Each test using it runs twice: on SQLite and on PostgreSQL."""
    factory: EngineFactory = request.getfixturevalue(request.param)
    return factory


@pytest.fixture
def registry(engines: EngineFactory) -> DeviceRegistry:
    return DeviceRegistry(engines())


def table_rows(engine: Engine) -> list[dict[str, object]]:
    with transaction(engine) as conn:
        return [dict(row._mapping) for row in conn.exec_driver_sql("SELECT * FROM devices")]


# -- the registry -----------------------------------------------------------------------


def test_the_token_is_returned_once_and_only_its_hash_is_stored(registry: DeviceRegistry) -> None:
    device, token = registry.add("alice", "tv", name="Living room TV", room="living_room")

    assert re.fullmatch(r"vd_[A-Za-z0-9_-]{43}", token)
    assert device == Device.of_type(
        device.id, "alice", "tv", name="Living room TV", room="living_room"
    )
    (row,) = table_rows(registry.engine)
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest() == token_hash(token)
    assert not any(token in str(value) for value in row.values())
    assert not any(token[3:20] in str(value) for value in row.values())
    assert registry.authenticate(token) == device


def test_two_devices_get_different_tokens_and_readable_ids(registry: DeviceRegistry) -> None:
    added = [registry.add("alice", kind) for kind in ("tv", "tv", "speaker", "phone", "car")]
    ids = [device.id for device, _ in added]
    tokens = {token for _, token in added}
    assert len(set(ids)) == 5 and len(tokens) == 5
    for (device, token), kind in zip(added, ("tv", "tv", "speaker", "phone", "car"), strict=True):
        assert re.fullmatch(rf"{kind}-[0-9a-f]{{6}}", device.id)
        assert registry.authenticate(token).id == device.id


def test_missing_unknown_and_revoked_tokens_are_refused_with_the_reason(
    registry: DeviceRegistry,
) -> None:
    tv, tv_token = registry.add("alice", "tv", device_id="tv-1")
    _, phone_token = registry.add("alice", "phone", device_id="phone-1")

    with pytest.raises(AuthError, match="^missing token$"):
        registry.authenticate("")
    with pytest.raises(AuthError, match="^unknown token$"):
        registry.authenticate("vd_" + secrets.token_urlsafe(32))
    with pytest.raises(AuthError, match="^unknown token$"):
        registry.authenticate(tv_token[:-1])
    with pytest.raises(AuthError, match="^unknown token$"):  # the hash is not a token
        registry.authenticate(token_hash(tv_token))

    registry.revoke("tv-1")
    with pytest.raises(AuthError, match="^device tv-1 was revoked$"):
        registry.authenticate(tv_token)
    assert registry.authenticate(phone_token).id == "phone-1"
    assert registry.get("tv-1") == tv  # a revoked device is still known


def test_list_get_and_the_active_devices_of_a_person(registry: DeviceRegistry) -> None:
    tv, _ = registry.add("alice", "tv", name="Living room TV", room="living_room", language="en")
    speaker, _ = registry.add("alice", "speaker", name="厨房音箱", room="kitchen", language="zh")
    car, _ = registry.add("alice", "car", device_id="alice-car")
    bobs, _ = registry.add("bob", "phone", household="alice", device_id="bob.phone@home")

    assert registry.get(tv.id) == tv and tv.has_screen and tv.language == "en"
    assert registry.get(speaker.id) == speaker and not speaker.has_screen
    assert speaker.name == "厨房音箱" and speaker.room == "kitchen"
    assert car.name == "car" and car.household == "alice" and car.room is None
    assert bobs.household == "alice" and bobs.user == "bob"
    assert registry.get("nope") is None

    registry.revoke(speaker.id)
    assert registry.devices_of("alice") == [tv, car]
    assert registry.devices_of("bob") == [bobs]
    assert registry.devices_of("carol") == []

    records = registry.list()
    assert [r.device for r in records] == [tv, speaker, car, bobs]
    assert [r.revoked for r in records] == [False, True, False, False]
    assert [r.device.id for r in registry.list("bob")] == [bobs.id]
    now = datetime.now(UTC)
    for record in records:
        assert record.created_at.tzinfo is UTC
        assert abs((now - record.created_at).total_seconds()) < 60
    revoked = records[1].revoked_at
    assert revoked is not None and revoked >= records[1].created_at


def test_revoking_twice_keeps_the_first_time_and_unknown_ids_are_errors(
    registry: DeviceRegistry,
) -> None:
    registry.add("alice", "tv", device_id="tv-1")
    registry.revoke("tv-1")
    first = registry.record("tv-1")
    registry.revoke("tv-1")
    assert registry.record("tv-1") == first and first is not None and first.revoked
    with pytest.raises(InputError, match="^unknown device 'tv-2'$"):
        registry.revoke("tv-2")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"type": "fridge"}, "unknown device type 'fridge'"),
        ({"user": "al ice"}, "invalid user id 'al ice'"),
        ({"user": ""}, "invalid user id ''"),
        ({"household": "a/b"}, "invalid household id 'a/b'"),
        ({"room": "living room"}, "invalid room 'living room'"),
        ({"device_id": "x" * 65}, "invalid device id"),
        ({"language": "fr"}, "unknown language 'fr'"),
        ({"name": "n" * 201}, "device name too long"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(
    sqlite_engines: EngineFactory, arguments: dict[str, str], message: str
) -> None:
    registry = DeviceRegistry(sqlite_engines())
    call = {"user": "alice", "type": "tv", **arguments}
    with pytest.raises(InputError, match=re.escape(message)):
        registry.add(**call)
    assert table_rows(registry.engine) == []


def test_a_device_id_cannot_be_taken_twice(registry: DeviceRegistry) -> None:
    registry.add("alice", "tv", device_id="tv-1")
    with pytest.raises(InputError, match="^device tv-1 already exists$"):
        registry.add("bob", "phone", device_id="tv-1")
    assert [r.device.user for r in registry.list()] == ["alice"]


def test_devices_survive_a_restart(engines: EngineFactory) -> None:
    device, token = DeviceRegistry(engines()).add("alice", "tv", room="den")
    again = DeviceRegistry(engines())  # a new process: same database, migration already done
    assert again.authenticate(token) == device
    assert again.list()[0].device == device


def test_threads_may_share_one_registry(registry: DeviceRegistry) -> None:
    results: list[tuple[Device, str]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def work(n: int) -> None:
        try:
            start.wait()
            for i in range(5):
                added = registry.add(f"user{n}", "speaker", device_id=f"s-{n}-{i}")
                assert registry.authenticate(added[1]) == added[0]
                with lock:
                    results.append(added)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == 20 and len(registry.list()) == 20
    assert len(registry.devices_of("user2")) == 5


# -- the database and its migrations ----------------------------------------------------


def test_migrate_applies_each_step_once_and_in_order(engines: EngineFactory) -> None:
    engine = engines()
    steps = [
        ["CREATE TABLE notes (n INTEGER NOT NULL)", "INSERT INTO notes (n) VALUES (1)"],
        ["INSERT INTO notes (n) VALUES (2)"],
    ]
    assert migrate(engine, "notes", steps[:1]) == 1
    assert migrate(engine, "notes", steps[:1]) == 1
    assert migrate(engine, "notes", steps) == 2
    assert migrate(engines(), "notes", steps) == 2
    with transaction(engine) as conn:
        assert conn.exec_driver_sql("SELECT n FROM notes ORDER BY n").scalars().all() == [1, 2]
        versions = dict(conn.exec_driver_sql("SELECT name, version FROM schema_migrations").all())
    assert versions == {"notes": 2}

    with pytest.raises(DatabaseError, match=r"notes tables of .* are at version 2, newer"):
        migrate(engine, "notes", steps[:1])


def test_a_failing_step_is_rolled_back_and_reported(engines: EngineFactory) -> None:
    engine = engines()
    steps = [["CREATE TABLE notes (n INTEGER)"], ["INSERT INTO notes (n) VALUES (7)", "BROKEN SQL"]]
    with pytest.raises(DatabaseError, match="^migrating notes to version 2 failed: .*syntax"):
        migrate(engine, "notes", steps)
    with transaction(engine) as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM notes").scalar() == 0
    assert migrate(engine, "notes", steps[:1]) == 1


def run_together(count: int, work: Callable[[], int]) -> list[int | BaseException]:
    """`work` in `count` threads released at the same moment; their results or errors."""
    results: list[int | BaseException] = []
    start = threading.Barrier(count)

    def one() -> None:
        start.wait()
        try:
            results.append(work())
        except BaseException as error:
            results.append(error)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_processes_migrating_at_once_on_postgresql_apply_each_step_once(
    pg_engines: EngineFactory,
) -> None:
    # Each engine stands for a server process starting at the same time; the slow
    # step widens the window in which an unlocked migration would run twice.
    steps = [
        ["CREATE TABLE applied (step INTEGER NOT NULL)"],
        ["INSERT INTO applied (step) VALUES (2)", "SELECT pg_sleep(0.2)"],
        ["INSERT INTO applied (step) VALUES (3)"],
    ]
    engines = [pg_engines() for _ in range(4)]
    engines_iter = iter(engines)
    results = run_together(4, lambda: migrate(next(engines_iter), "race", steps))
    assert results == [3, 3, 3, 3]
    with transaction(engines[0]) as conn:
        assert conn.exec_driver_sql("SELECT step FROM applied ORDER BY step").scalars().all() == [
            2,
            3,
        ]


def test_registries_starting_at_once_on_postgresql_share_one_table(
    pg_engines: EngineFactory,
) -> None:
    engines = iter([pg_engines() for _ in range(3)])
    registries: list[DeviceRegistry] = []

    def start() -> int:
        registries.append(DeviceRegistry(next(engines)))
        return 1

    assert run_together(3, start) == [1, 1, 1]
    device, token = registries[0].add("alice", "tv")
    assert registries[2].authenticate(token) == device


def test_processes_migrating_at_once_on_sqlite_apply_each_step_once(
    sqlite_engines: EngineFactory,
) -> None:
    steps = [
        ["CREATE TABLE applied (step INTEGER NOT NULL)"],
        ["INSERT INTO applied (step) VALUES (2)"],
    ]
    engines = iter([sqlite_engines() for _ in range(4)])
    assert run_together(4, lambda: migrate(next(engines), "race", steps)) == [2, 2, 2, 2]
    with transaction(sqlite_engines()) as conn:
        assert conn.exec_driver_sql("SELECT step FROM applied").scalars().all() == [2]


def test_sqlite_is_opened_with_wal_a_busy_timeout_and_foreign_keys(
    sqlite_engines: EngineFactory,
) -> None:
    with transaction(sqlite_engines()) as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000


def test_an_unreachable_database_is_one_line_without_the_password() -> None:
    with pytest.raises(DatabaseError) as caught:
        open_database("postgresql://postgres:s3cret@127.0.0.1:5999/test")
    assert str(caught.value) == (
        "cannot open database postgresql://postgres:***@127.0.0.1:5999/test: connection refused"
    )
    with pytest.raises(DatabaseError, match='^cannot open database .*/nope: database "nope"'):
        open_database(PG_URL.rsplit("/", 1)[0] + "/nope")
    with pytest.raises(DatabaseError, match="^invalid database URL 'not a url'"):
        open_database("not a url")
    with pytest.raises(DatabaseError, match=r"^invalid database URL 'postgresql://u:\*\*\*@h:x/d'"):
        open_database("postgresql://u:pw@h:x/d")
    with pytest.raises(DatabaseError, match=r"^unsupported database mysql://u:\*\*\*@h/d: use"):
        open_database("mysql://u:pw@h/d")
    with pytest.raises(DatabaseError, match="unable to open database file"):
        open_database("sqlite:////nonexistent/directory/voice.db")
    assert issubclass(DatabaseError, VoiceError)
    assert safe_url("postgresql://u:pw@h:1/d") == "postgresql://u:***@h:1/d"


def test_the_database_url_is_the_environment_s_else_a_file_in_models(tmp_path: Path) -> None:
    models = tmp_path / "project" / "models"
    url = database_url(models, env={})
    assert url == f"sqlite:///{models}/voice.db" and models.is_dir()
    assert database_url(models, env={"VOICE_DATABASE_URL": "postgresql://x@h/d"}) == (
        "postgresql://x@h/d"
    )
    engine = open_database(url)
    DeviceRegistry(engine).add("alice", "tv")
    engine.dispose()
    assert (models / "voice.db").is_file()


# -- `voice devices` --------------------------------------------------------------------


def test_voice_devices_add_list_revoke(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VOICE_DATABASE_URL", raising=False)
    voice = ["--project", str(tmp_path), "devices"]
    added = [
        "add",
        "--user",
        "alice",
        "--type",
        "tv",
        "--name",
        "Living room TV",
        "--room",
        "living_room",
        "--id",
        "tv-3f9a2c",
    ]
    assert main([*voice, *added]) == 0
    out = capsys.readouterr().out.splitlines()
    assert (
        out[0]
        == "added tv-3f9a2c (Living room TV, tv, room living_room) for alice in household alice"
    )
    token = re.fullmatch(r"token: (vd_\S+)   \(shown once; only its hash is kept\)", out[1])
    assert token is not None and len(out) == 2

    assert (
        main(
            [
                *voice,
                "add",
                "--user",
                "bob",
                "--type",
                "speaker",
                "--household",
                "alice",
                "--lang",
                "zh",
                "--name",
                "厨房音箱",
            ]
        )
        == 0
    )
    line = capsys.readouterr().out.splitlines()[0]
    speaker_id = re.fullmatch(
        r"added (speaker-[0-9a-f]{6}) \(厨房音箱, speaker\) for bob in household alice", line
    )
    assert speaker_id is not None

    assert main([*voice, "revoke", speaker_id[1]]) == 0
    assert capsys.readouterr().out == f"revoked {speaker_id[1]}\n"

    assert main([*voice, "list"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert re.split(r"\s{2,}", table[0]) == [
        "ID",
        "USER",
        "HOUSEHOLD",
        "TYPE",
        "NAME",
        "ROOM",
        "STATE",
    ]
    assert re.split(r"\s{2,}", table[1]) == [
        "tv-3f9a2c",
        "alice",
        "alice",
        "tv",
        "Living room TV",
        "living_room",
        "active",
    ]
    assert re.split(r"\s{2,}", table[2]) == [
        speaker_id[1],
        "bob",
        "alice",
        "speaker",
        "厨房音箱",
        "-",
        "revoked",
    ]
    assert table[0].index("STATE") == table[1].index("active")

    assert main([*voice, "list", "--user", "carol"]) == 0
    assert capsys.readouterr().out == "no devices of carol\n"

    # the CLI wrote to the project's database, where the server will look
    engine = open_database(f"sqlite:///{tmp_path / 'models' / 'voice.db'}")
    try:
        assert DeviceRegistry(engine).authenticate(token[1]).id == "tv-3f9a2c"
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["add", "--user", "alice", "--type", "fridge"], "unknown device type 'fridge'; use"),
        (["add", "--user", "alice", "--type", "tv", "--lang", "fr"], "unknown language 'fr'"),
        (["revoke", "tv-404"], "unknown device 'tv-404'"),
        (
            ["list", "--database", "postgresql://postgres:pw@127.0.0.1:5999/test"],
            "cannot open database postgresql://postgres:***@127.0.0.1:5999/test: "
            "connection refused",
        ),
    ],
)
def test_voice_devices_errors_are_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    assert main(["--project", str(tmp_path), "devices", *arguments]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"voice devices: error: {message}")
    assert captured.err.count("\n") == 1


def test_voice_devices_on_postgresql(pg_schema: str, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"{PG_URL}?options=-csearch_path%3D{pg_schema}"
    assert main(["devices", "add", "--database", url, "--user", "alice", "--type", "car"]) == 0
    device_id = capsys.readouterr().out.split()[1]
    assert main(["devices", "list", "--database", url, "--user", "alice"]) == 0
    assert device_id in capsys.readouterr().out
    assert main(["devices", "revoke", device_id, "--database", url]) == 0
    engine = open_database(PG_URL, connect_args={"options": f"-csearch_path={pg_schema}"})
    try:
        assert DeviceRegistry(engine).list()[0].revoked
    finally:
        engine.dispose()


# -- properties -------------------------------------------------------------------------


SETTINGS = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
URLSAFE = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@SETTINGS
@given(token=st.text(max_size=80) | st.lists(URLSAFE, min_size=43, max_size=43).map("vd_".join))
def test_no_token_but_an_issued_one_is_accepted(registry: DeviceRegistry, token: str) -> None:
    if not registry.list():
        device, issued = registry.add("alice", "tv")
        assert registry.authenticate(issued) == device
    with pytest.raises(AuthError, match="^(missing|unknown) token$"):
        registry.authenticate(token)


@SETTINGS
@given(
    name=st.text(max_size=60),
    room=st.none() | st.from_regex(r"\A[a-z][a-z0-9_]{0,20}\Z"),
    kind=st.sampled_from(["speaker", "tv", "phone", "car"]),
)
def test_a_device_reads_back_as_added_or_is_refused_as_input(
    registry: DeviceRegistry, name: str, room: str | None, kind: str
) -> None:
    try:
        device, token = registry.add("alice", kind, name=name, room=room)
    except InputError as error:
        assert "device name may not hold control characters" in str(error)
        assert any(unicodedata.category(c) in ("Cc", "Cs") for c in name)
        return
    assert registry.get(device.id) == device == registry.authenticate(token)
    assert device.name == (" ".join(name.split()) or kind) and device.room == room
