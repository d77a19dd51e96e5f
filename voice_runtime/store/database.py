"""The SQL database behind the household's state: SQLite by default, PostgreSQL when set.

`database_url` picks the database (`$VOICE_DATABASE_URL`, else a SQLite file
in the project's models directory); `open_database` opens it and checks it
answers, raising `DatabaseError` with one line (password masked) when it
cannot; `transaction` runs a unit of work, and `migrate` brings a component's
tables to the latest version of its schema, once, even when several
processes start at the same time.

    engine = open_database(database_url(project.models_dir))
    migrate(engine, "devices", [["CREATE TABLE devices (...)"], ["ALTER TABLE ..."]])
    with transaction(engine, write=True) as conn:
        conn.execute(...)
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import QueuePool

from ..errors import VoiceError

ENV_VAR = "VOICE_DATABASE_URL"
DATABASE_FILE = "voice.db"
SQLITE_BUSY_TIMEOUT_MS = 10_000
POSTGRES_CONNECT_TIMEOUT_S = 5
# One advisory lock serialises every migration of the database (any component).
_MIGRATION_LOCK = int.from_bytes(
    hashlib.sha256(b"voice_runtime.store.migrate").digest()[:8], "big", signed=True
)
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class DatabaseError(VoiceError):
    """The database cannot be opened or used, or its schema is newer than this program."""


def database_url(project_models_dir: Path, env: Mapping[str, str] = os.environ) -> str:
    """`$VOICE_DATABASE_URL`, else `sqlite:///<models_dir>/voice.db` (the directory is created)."""
    url = env.get(ENV_VAR, "").strip()
    if url:
        return url
    project_models_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{project_models_dir.resolve() / DATABASE_FILE}"


def safe_url(url: str | URL) -> str:
    """The URL for messages: any password replaced by `***`."""
    if isinstance(url, URL):
        return str(url.render_as_string(hide_password=True))
    try:
        return safe_url(make_url(url))
    except (exc.ArgumentError, ValueError):  # unparseable: mask what sits between : and @
        return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


def open_database(url: str, connect_args: Mapping[str, Any] | None = None) -> Engine:
    """An engine for `url` (SQLite or PostgreSQL), checked with one connection.

    SQLite: WAL journal, a busy timeout, foreign keys on, usable from any
    thread. PostgreSQL: connections checked before use. `connect_args` go to
    the driver (e.g. `{"options": "-csearch_path=myschema"}` for psycopg2).
    """
    try:
        parsed = make_url(url)
    except (exc.ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise DatabaseError(
            f"invalid database URL {safe_url(url)!r}: use sqlite:///PATH or "
            "postgresql://USER@HOST:PORT/DATABASE"
        ) from None
    backend = parsed.get_backend_name()
    args = dict(connect_args or {})
    try:
        if backend == "sqlite":
            args.setdefault("check_same_thread", False)
            memory = parsed.database in (None, "", ":memory:")
            pool: dict[str, Any] = {} if memory else {"poolclass": QueuePool}
            engine = sa.create_engine(parsed, future=True, connect_args=args, **pool)
            _configure_sqlite(engine)
        elif backend == "postgresql":
            args.setdefault("connect_timeout", POSTGRES_CONNECT_TIMEOUT_S)
            engine = sa.create_engine(parsed, future=True, pool_pre_ping=True, connect_args=args)
        else:
            raise DatabaseError(
                f"unsupported database {safe_url(parsed)}: use sqlite:///PATH or "
                "postgresql://USER@HOST:PORT/DATABASE"
            )
    except (exc.ArgumentError, exc.NoSuchModuleError, ImportError) as error:
        raise DatabaseError(f"cannot open database {safe_url(parsed)}: {reason(error)}") from None
    try:
        with engine.connect():
            pass
    except exc.DBAPIError as error:
        engine.dispose()
        raise DatabaseError(f"cannot open database {safe_url(parsed)}: {reason(error)}") from None
    return engine


def _configure_sqlite(engine: Engine) -> None:
    """Pragmas on every new connection; transactions begun by us, not by pysqlite.

    pysqlite would otherwise open transactions itself (and not before DDL);
    with `isolation_level = None` SQLAlchemy's `begin` emits `BEGIN`, or
    `BEGIN IMMEDIATE` (take the write lock now) for `transaction(write=True)`.
    """

    def _wal(cursor: Any) -> None:
        """WAL journal. Switching a new file to WAL takes an exclusive lock that SQLite does
        not wait for, so two processes creating the database at once retry briefly."""
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                cursor.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            _wal(cursor)
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def reason(error: BaseException) -> str:
    """The driver's message of a database error, as one short line."""
    original = getattr(error, "orig", None) or error
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    text = lines[0] if lines else type(original).__name__
    text = re.sub(r'^connection to server at "[^"]*"(?: \([^)]*\))?, port \d+ failed:\s*', "", text)
    text = re.sub(r"^(FATAL|ERROR):\s*", "", text)
    if "Connection refused" in text:
        return "connection refused"
    if len(text) > 1 and text[1].islower():  # "Unable to ..." -> "unable to ...", not "SSL"
        text = text[0].lower() + text[1:]
    return text


@contextmanager
def transaction(engine: Engine, write: bool = False) -> Iterator[Connection]:
    """A connection inside one transaction, committed when the block ends normally.

    `write=True` takes SQLite's write lock at the start (`BEGIN IMMEDIATE`), so
    a read-then-write unit waits for other writers instead of failing. A lost
    or unreachable database raises `DatabaseError`; constraint violations
    (`sqlalchemy.exc.IntegrityError`) pass through for the caller to explain.
    """
    target = engine.execution_options(sqlite_immediate=True) if write else engine
    try:
        with target.begin() as conn:
            yield conn
    except (exc.OperationalError, exc.InterfaceError) as error:
        url = safe_url(engine.url)
        raise DatabaseError(f"database {url}: {reason(error)}") from None


def migrate(engine: Engine, name: str, steps: Sequence[Sequence[str]]) -> int:
    """Apply the steps of `name`'s schema not yet applied; returns its version.

    Step `i` (counting from 1) holds the SQL statements that take the schema
    from version `i - 1` to `i`; each step runs in its own transaction and
    records its version in `schema_migrations(name, version)`. Steps are
    append-only: never edit one that was released, add the next. Every step
    runs under one database-wide lock (PostgreSQL `pg_advisory_xact_lock`,
    SQLite `BEGIN IMMEDIATE`), so processes starting at once apply each step
    exactly once.
    """
    if not _NAME.match(name):
        raise ValueError(f"invalid schema name {name!r}")
    while True:
        with _locked(engine) as conn:
            conn.exec_driver_sql(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "name VARCHAR(64) PRIMARY KEY, version INTEGER NOT NULL)"
            )
            version = conn.execute(
                sa.text("SELECT version FROM schema_migrations WHERE name = :name"),
                {"name": name},
            ).scalar()
            if version is None:
                conn.execute(
                    sa.text("INSERT INTO schema_migrations (name, version) VALUES (:name, 0)"),
                    {"name": name},
                )
                version = 0
            if version > len(steps):
                raise DatabaseError(
                    f"the {name} tables of {safe_url(engine.url)} are at version {version}, "
                    f"newer than this program knows ({len(steps)}): upgrade voice-runtime"
                )
            if version == len(steps):
                return int(version)
            for statement in steps[version]:
                try:
                    conn.exec_driver_sql(statement)
                except exc.DBAPIError as error:
                    raise DatabaseError(
                        f"migrating {name} to version {version + 1} failed: {reason(error)}"
                    ) from None
            conn.execute(
                sa.text("UPDATE schema_migrations SET version = :version WHERE name = :name"),
                {"name": name, "version": version + 1},
            )


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """A write transaction holding the database-wide migration lock."""
    with transaction(engine, write=True) as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        yield conn
