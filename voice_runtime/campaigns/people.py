"""What scene marketing knows about a person: a child profile, and their opt-outs.

`people(user_id, household, child, created_at)` says who is a child (no
sponsored content, ever); `opt_outs(user_id, brand, at)` who said "stop
suggesting that" (one brand) or "no more suggestions" (`brand = '*'`: all).

Opt-outs are keyed by the raw user id, unlike campaign events: they must hold
on every device at once, for every brand, and survive a privacy delete.
`forget(user)` removes the person row and keeps the opt-outs as a tombstone,
so a deleted person is never marketed to again by mistake.

    people = PeopleStore(open_database(url))
    people.opt_out("alice", "anchor_dairy")
    people.profile("alice").excluded("anchor_dairy")  # "opted out of anchor_dairy"

Every method is one short transaction; callers on an event loop use
`asyncio.to_thread`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import Engine

from ..people import check_id
from ..store.database import migrate, transaction
from .model import PersonProfile

ALL_BRANDS = "*"
SCHEMA = "people"

# Append-only: add a step to change the tables, never edit a released one.
MIGRATIONS: list[list[str]] = [
    [
        "CREATE TABLE people ("
        " user_id VARCHAR(64) PRIMARY KEY,"
        " household VARCHAR(64) NOT NULL,"
        " child BOOLEAN NOT NULL,"
        " created_at TIMESTAMP NOT NULL)",
        "CREATE TABLE opt_outs ("
        " user_id VARCHAR(64) NOT NULL,"
        " brand VARCHAR(64) NOT NULL,"
        " at TIMESTAMP NOT NULL,"
        " PRIMARY KEY (user_id, brand))",
    ],
]

_metadata = sa.MetaData()
_people = sa.Table(
    "people",
    _metadata,
    sa.Column("user_id", sa.String(64), primary_key=True),
    sa.Column("household", sa.String(64), nullable=False),
    sa.Column("child", sa.Boolean(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),  # naive UTC
)
_opt_outs = sa.Table(
    "opt_outs",
    _metadata,
    sa.Column("user_id", sa.String(64), primary_key=True),
    sa.Column("brand", sa.String(64), primary_key=True),
    sa.Column("at", sa.DateTime(), nullable=False),  # naive UTC
)


@dataclass(frozen=True)
class PersonRecord:
    """A person row: their household, whether theirs is a child profile, when it was made."""

    user: str
    household: str
    child: bool
    created_at: datetime

    def to_dict(self) -> dict[str, object]:
        return {
            "user": self.user,
            "household": self.household,
            "child": self.child,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class OptOut:
    """A person's opt-out of one brand, or of all (`brand == '*'`), since `at` (UTC)."""

    user: str
    brand: str
    at: datetime

    def to_dict(self) -> dict[str, object]:
        return {"brand": self.brand, "at": self.at.isoformat()}


class PeopleStore:
    """The `people` and `opt_outs` tables (created on first use)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        migrate(engine, SCHEMA, MIGRATIONS)

    def profile(self, user: str) -> PersonProfile:
        """What campaigns must respect for `user` (an unknown person: an adult, no opt-outs)."""
        record = self.person(user)
        brands = {o.brand for o in self.opt_outs(user)}
        return PersonProfile(
            user=user,
            child=record.child if record else False,
            opted_out=frozenset(brands - {ALL_BRANDS}),
            opted_out_all=ALL_BRANDS in brands,
        )

    def person(self, user: str) -> PersonRecord | None:
        """The person row, or None."""
        check_id(user, "user id")
        with transaction(self.engine) as conn:
            row = conn.execute(sa.select(_people).where(_people.c.user_id == user)).first()
        if row is None:
            return None
        return PersonRecord(row.user_id, row.household, bool(row.child), _utc(row.created_at))

    def opt_outs(self, user: str) -> list[OptOut]:
        """The person's opt-outs ('*' first, then brands in order)."""
        check_id(user, "user id")
        query = sa.select(_opt_outs).where(_opt_outs.c.user_id == user).order_by(_opt_outs.c.brand)
        with transaction(self.engine) as conn:
            rows = conn.execute(query).all()
        return [OptOut(row.user_id, row.brand, _utc(row.at)) for row in rows]

    def set_child(self, user: str, child: bool, household: str | None = None) -> PersonRecord:
        """Mark (or unmark) a child profile; creates the person row when needed.

        `household` changes the person's household; without it a new person's
        household is their own id and an existing one's stays.
        """
        check_id(user, "user id")
        if household is not None:
            check_id(household, "household id")
        values: dict[str, object] = {"child": child}
        if household is not None:
            values["household"] = household
        for _ in range(2):  # a concurrent first insert makes the second round an update
            try:
                with transaction(self.engine, write=True) as conn:
                    updated = conn.execute(
                        _people.update().where(_people.c.user_id == user).values(**values)
                    ).rowcount
                    if not updated:
                        conn.execute(
                            _people.insert().values(
                                user_id=user,
                                household=household or user,
                                child=child,
                                created_at=_now(),
                            )
                        )
                break
            except exc.IntegrityError:
                continue
        record = self.person(user)
        assert record is not None
        return record

    def opt_out(self, user: str, brand: str | None) -> bool:
        """Opt `user` out of `brand` (None: of all suggestions); False if already out."""
        key = self._brand(user, brand)
        try:
            with transaction(self.engine, write=True) as conn:
                exists = conn.execute(
                    sa.select(_opt_outs.c.brand).where(
                        _opt_outs.c.user_id == user, _opt_outs.c.brand == key
                    )
                ).first()
                if exists is not None:
                    return False
                conn.execute(_opt_outs.insert().values(user_id=user, brand=key, at=_now()))
        except exc.IntegrityError:  # the same opt-out, said on two devices at once
            return False
        return True

    def opt_in(self, user: str, brand: str | None) -> bool:
        """Lift the opt-out of `brand` (None: the opt-out of all suggestions; opt-outs of
        single brands stay, each was its own choice); False if there was none."""
        key = self._brand(user, brand)
        with transaction(self.engine, write=True) as conn:
            removed = conn.execute(
                _opt_outs.delete().where(_opt_outs.c.user_id == user, _opt_outs.c.brand == key)
            ).rowcount
        return bool(removed)

    def forget(self, user: str) -> bool:
        """Delete the person row (privacy delete); the opt-outs stay as a tombstone.

        False when there was no person row.
        """
        check_id(user, "user id")
        with transaction(self.engine, write=True) as conn:
            removed = conn.execute(_people.delete().where(_people.c.user_id == user)).rowcount
        return bool(removed)

    @staticmethod
    def _brand(user: str, brand: str | None) -> str:
        check_id(user, "user id")
        return ALL_BRANDS if brand is None else check_id(brand, "brand id")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)
