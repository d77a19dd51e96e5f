"""Campaign events, kept per brand under a pseudonym: what reports and privacy read.

Every step of a sponsored turn is one `Event`: the decision, the exposure (the
person heard or saw the line), their answer (accepted, declined, opted out),
the skill opened through the campaign, and a service conversion (a booked test
drive). The caller gives the raw user id; the store keeps only the per-brand
pseudonym `pseudonym(user, salt, brand)` (HMAC-SHA256 with the assistant's
salt), so one brand's rows can never be joined with another's, nor traced back
to the person without the salt. No audio is ever kept: events carry no audio,
transcripts or spoken text, only the short `detail` the caller chooses.

    store = EventStore(open_database(url), user_salt(project.models_dir))
    store.record(Event("exposure", "baking_weekend", "anchor_dairy", "alice", "speaker",
                       "weekend_kitchen", "after_goodbye", datetime.now(UTC)))
    store.events("anchor_dairy")  # rows with pseudonymous ids

The methods are synchronous, each one short transaction on the engine's pool:
callers on an event loop use `asyncio.to_thread(store.record, event)`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, get_args

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..errors import InputError
from ..people import check_id
from ..services.client import pseudonym
from ..store.database import migrate, transaction

EventKind = Literal[
    "decision",  # the engine chose the campaign for a turn (or `detail` says why not)
    "exposure",  # the sponsored line was spoken or the card shown
    "accepted",  # "yes" / "好的"
    "declined",  # "no"
    "opted_out",  # "stop suggesting that" (this brand) or "no more suggestions" (all)
    "opened",  # the promoted skill opened through the campaign (the deep link)
    "converted",  # the brand's service reported a conversion (a booked test drive)
]
EVENT_KINDS: tuple[EventKind, ...] = get_args(EventKind)

MAX_ID = 64
MAX_DETAIL = 200
SCHEMA = "campaign_events"


def migrations(dialect: str) -> list[list[str]]:
    """The schema steps for `dialect` (append-only: add a step, never edit a released one).

    Only the auto-numbered key differs between SQLite and PostgreSQL; a later
    step adds a column with `ALTER TABLE campaign_events ADD COLUMN ...`.
    """
    key = "BIGSERIAL PRIMARY KEY" if dialect == "postgresql" else "INTEGER PRIMARY KEY"
    return [
        [
            "CREATE TABLE campaign_events ("
            f" id {key},"
            " kind VARCHAR(16) NOT NULL,"
            " campaign VARCHAR(64) NOT NULL,"
            " brand VARCHAR(64) NOT NULL,"
            " person VARCHAR(64) NOT NULL,"  # the per-brand pseudonym, never the raw id
            " device_type VARCHAR(16) NOT NULL,"
            " scene VARCHAR(64),"
            " placement VARCHAR(32),"
            " at TIMESTAMP NOT NULL,"  # naive UTC
            " detail VARCHAR(200))",
            "CREATE INDEX campaign_events_brand_at ON campaign_events (brand, at)",
            "CREATE INDEX campaign_events_brand_person ON campaign_events (brand, person)",
        ],
    ]


_events = sa.Table(
    "campaign_events",
    sa.MetaData(),
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("campaign", sa.String(64), nullable=False),
    sa.Column("brand", sa.String(64), nullable=False),
    sa.Column("person", sa.String(64), nullable=False),
    sa.Column("device_type", sa.String(16), nullable=False),
    sa.Column("scene", sa.String(64)),
    sa.Column("placement", sa.String(32)),
    sa.Column("at", sa.DateTime(), nullable=False),
    sa.Column("detail", sa.String(200)),
)


@dataclass(frozen=True)
class Event:
    """One thing that happened to a campaign, as the caller reports it.

    `user` is the raw user id: it is turned into the brand's pseudonym before
    anything is written, and never stored. `at` is an aware datetime. `detail`
    is a short text (at most 200 characters: a reason, a booking reference),
    never speech or audio.
    """

    kind: EventKind
    campaign: str
    brand: str
    user: str
    device_type: str
    scene: str | None
    placement: str | None
    at: datetime
    detail: str | None = None


@dataclass(frozen=True)
class StoredEvent:
    """An event as kept: `person` is the brand's pseudonym (`u-` and 32 hex digits);
    `at` is aware, in UTC."""

    id: int
    kind: EventKind
    campaign: str
    brand: str
    person: str
    device_type: str
    scene: str | None
    placement: str | None
    at: datetime
    detail: str | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready (the time in ISO 8601)."""
        return {
            "kind": self.kind,
            "campaign": self.campaign,
            "brand": self.brand,
            "person": self.person,
            "device_type": self.device_type,
            "scene": self.scene,
            "placement": self.placement,
            "at": self.at.isoformat(),
            "detail": self.detail,
        }


class EventStore:
    """The `campaign_events` table (created or upgraded on first use)."""

    def __init__(self, engine: Engine, salt: bytes | str) -> None:
        if not salt:
            raise InputError("the event store needs a non-empty pseudonym salt")
        self.engine = engine
        self.salt = salt
        self.version = migrate(engine, SCHEMA, migrations(engine.dialect.name))

    def pseudonym(self, user: str, brand: str) -> str:
        """The id `brand` knows `user` by in events and reports."""
        return pseudonym(check_id(user, "user id"), self.salt, brand)

    def record(self, event: Event) -> None:
        """Keep one event (under the brand's pseudonym of its user)."""
        self.record_many([event])

    def record_many(self, events: Iterable[Event]) -> int:
        """Keep several events in one transaction; how many."""
        rows = [self._row(event) for event in events]
        if rows:
            with transaction(self.engine, write=True) as conn:
                conn.execute(_events.insert(), rows)
        return len(rows)

    def events(self, brand: str, since: datetime | None = None) -> list[StoredEvent]:
        """The brand's events (only its own), oldest first; `since` (aware) inclusive."""
        query = sa.select(_events).where(_events.c.brand == brand)
        if since is not None:
            query = query.where(_events.c.at >= _naive_utc(since, "since"))
        with transaction(self.engine) as conn:
            rows = conn.execute(query.order_by(_events.c.at, _events.c.id)).all()
        return [_stored(row) for row in rows]

    def brands(self) -> list[str]:
        """Every brand with at least one event, sorted."""
        with transaction(self.engine) as conn:
            found = conn.execute(sa.select(_events.c.brand).distinct()).scalars().all()
        return sorted(str(brand) for brand in found)

    def events_of(
        self, user: str, brands: Iterable[str] | None = None
    ) -> dict[str, list[StoredEvent]]:
        """A person's events per brand (brands where they have none are left out)."""
        found: dict[str, list[StoredEvent]] = {}
        with transaction(self.engine) as conn:
            for brand in self._brands(brands):
                query = (
                    sa.select(_events)
                    .where(
                        _events.c.brand == brand, _events.c.person == self.pseudonym(user, brand)
                    )
                    .order_by(_events.c.at, _events.c.id)
                )
                rows = conn.execute(query).all()
                if rows:
                    found[brand] = [_stored(row) for row in rows]
        return found

    def delete_user(self, user: str, brands: Iterable[str] | None = None) -> int:
        """Delete the person's events for `brands` (default: every brand); how many went."""
        deleted = 0
        with transaction(self.engine, write=True) as conn:
            for brand in self._brands(brands):
                result = conn.execute(
                    _events.delete().where(
                        _events.c.brand == brand, _events.c.person == self.pseudonym(user, brand)
                    )
                )
                deleted += int(result.rowcount or 0)
        return deleted

    def _brands(self, brands: Iterable[str] | None) -> Sequence[str]:
        return self.brands() if brands is None else sorted(set(brands))

    def _row(self, event: Event) -> dict[str, object]:
        if event.kind not in EVENT_KINDS:
            raise InputError(
                f"unknown event kind {event.kind!r}; use one of: {', '.join(EVENT_KINDS)}"
            )
        for value, what in ((event.campaign, "campaign id"), (event.brand, "brand id")):
            _check_text(value, what, MAX_ID, required=True)
        _check_text(event.device_type, "device type", 16, required=True)
        _check_text(event.scene, "scene", MAX_ID)
        _check_text(event.placement, "placement", 32)
        _check_text(event.detail, "event detail", MAX_DETAIL)
        return {
            "kind": event.kind,
            "campaign": event.campaign,
            "brand": event.brand,
            "person": self.pseudonym(event.user, event.brand),
            "device_type": event.device_type,
            "scene": event.scene,
            "placement": event.placement,
            "at": _naive_utc(event.at, "event time"),
            "detail": event.detail,
        }


def _check_text(value: str | None, what: str, limit: int, required: bool = False) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str) or not value or len(value) > limit:
        raise InputError(f"invalid {what} {value!r}: 1-{limit} characters")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in value):
        raise InputError(f"invalid {what} {value!r}: no control characters")


def _naive_utc(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InputError(f"{what} must carry a time zone, got {moment.isoformat()}")
    return moment.astimezone(UTC).replace(tzinfo=None)


def _stored(row: sa.engine.Row) -> StoredEvent:
    return StoredEvent(
        id=int(row.id),
        kind=row.kind,
        campaign=row.campaign,
        brand=row.brand,
        person=row.person,
        device_type=row.device_type,
        scene=row.scene,
        placement=row.placement,
        at=row.at.replace(tzinfo=UTC),
        detail=row.detail,
    )
