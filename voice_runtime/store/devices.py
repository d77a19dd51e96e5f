"""The device registry: which devices may use the household server, and their tokens.

A device is added once (`voice devices add`), which gives it a token shown
that one time; only the token's SHA-256 is kept. The server then knows a
device by its token (`authenticate`) until the device is revoked.

    registry = DeviceRegistry(open_database(url))
    device, token = registry.add("alice", "tv", name="Living room TV", room="living_room")
    registry.authenticate(token) == device

Every method runs its own short transaction on the engine's pool, so one
registry may be used from several threads (e.g. through `asyncio.to_thread`).
"""

from __future__ import annotations

import builtins
import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import Engine

from ..errors import AuthError, InputError, VoiceError
from ..languages import LANGUAGES
from ..people import Device, check_id, check_type
from .database import migrate, transaction

TOKEN_PREFIX = "vd_"
MAX_NAME = 200
MAX_TOKEN = 512
_ID_ATTEMPTS = 5

# Append-only: add a step to change the table, never edit a released one.
# (`user` is a reserved word in SQL, hence `user_id`.)
MIGRATIONS: list[list[str]] = [
    [
        "CREATE TABLE devices ("
        " id VARCHAR(64) PRIMARY KEY,"
        " user_id VARCHAR(64) NOT NULL,"
        " household VARCHAR(64) NOT NULL,"
        " type VARCHAR(16) NOT NULL,"
        " name VARCHAR(200) NOT NULL,"
        " room VARCHAR(64),"
        " language VARCHAR(16),"
        " token_hash CHAR(64) NOT NULL UNIQUE,"
        " created_at TIMESTAMP NOT NULL,"
        " revoked_at TIMESTAMP)",
        "CREATE INDEX devices_user_id ON devices (user_id)",
    ],
]

_devices = sa.Table(
    "devices",
    sa.MetaData(),
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("household", sa.String(64), nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("room", sa.String(64)),
    sa.Column("language", sa.String(16)),
    sa.Column("token_hash", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),  # naive UTC
    sa.Column("revoked_at", sa.DateTime()),
)


@dataclass(frozen=True)
class DeviceRecord:
    """A registered device as listed: the device, when it was added and revoked (UTC)."""

    device: Device
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


def token_hash(token: str) -> str:
    """What the registry keeps of a token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class DeviceRegistry:
    """The devices of every household, in the `devices` table (created on first use)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        migrate(engine, "devices", MIGRATIONS)

    def add(
        self,
        user: str,
        type: str,
        name: str = "",
        room: str | None = None,
        household: str | None = None,
        language: str | None = None,
        device_id: str | None = None,
    ) -> tuple[Device, str]:
        """Register a device; returns it and its token, which is never shown again.

        Without `device_id` the id is the type and six hex digits (`tv-3f9a2c`).
        `household` defaults to the user's own.
        """
        check_type(type)
        name = " ".join(name.split())
        if len(name) > MAX_NAME:
            raise InputError(f"device name too long ({len(name)} characters; at most {MAX_NAME})")
        if any(unicodedata.category(c) in ("Cc", "Cs") for c in name):
            raise InputError(f"device name may not hold control characters: {name!r}")
        if language is not None and language not in LANGUAGES:
            raise InputError(f"unknown language {language!r}; use one of: {', '.join(LANGUAGES)}")
        for _ in range(_ID_ATTEMPTS):
            chosen = device_id or f"{type}-{secrets.token_hex(3)}"
            device = Device.of_type(chosen, user, type, household, name, room, language)
            token = TOKEN_PREFIX + secrets.token_urlsafe(32)
            try:
                with transaction(self.engine, write=True) as conn:
                    conn.execute(
                        _devices.insert().values(
                            id=device.id,
                            user_id=device.user,
                            household=device.household,
                            type=device.type,
                            name=device.name,
                            room=device.room,
                            language=device.language,
                            token_hash=token_hash(token),
                            created_at=_now(),
                            revoked_at=None,
                        )
                    )
            except exc.IntegrityError:
                if device_id is not None:
                    raise InputError(f"device {device_id} already exists") from None
                continue  # a generated id (or, astronomically rarely, a token) collided
            return device, token
        raise VoiceError(f"could not find a free {type} device id; give one with an id")

    def authenticate(self, token: str) -> Device:
        """The active device holding `token`; AuthError when missing, unknown or revoked."""
        if not token:
            raise AuthError("missing token")
        if len(token) > MAX_TOKEN or not token.startswith(TOKEN_PREFIX):
            raise AuthError("unknown token")
        with transaction(self.engine) as conn:
            row = conn.execute(
                sa.select(_devices).where(_devices.c.token_hash == token_hash(token))
            ).first()
        if row is None:
            raise AuthError("unknown token")
        if row.revoked_at is not None:
            raise AuthError(f"device {row.id} was revoked")
        return _device(row)

    def get(self, device_id: str) -> Device | None:
        """The device with this id (active or revoked), or None."""
        with transaction(self.engine) as conn:
            row = conn.execute(sa.select(_devices).where(_devices.c.id == device_id)).first()
        return None if row is None else _device(row)

    def record(self, device_id: str) -> DeviceRecord | None:
        """The device with this id, with its dates, or None."""
        with transaction(self.engine) as conn:
            row = conn.execute(sa.select(_devices).where(_devices.c.id == device_id)).first()
        return None if row is None else _record(row)

    def devices_of(self, user: str) -> builtins.list[Device]:
        """The user's active devices, oldest first (where to "continue on the TV")."""
        check_id(user, "user id")
        query = (
            sa.select(_devices)
            .where(_devices.c.user_id == user, _devices.c.revoked_at.is_(None))
            .order_by(_devices.c.created_at, _devices.c.id)
        )
        with transaction(self.engine) as conn:
            return [_device(row) for row in conn.execute(query)]

    def revoke(self, device_id: str) -> None:
        """Refuse the device's token from now on; an unknown id is an InputError.

        Revoking a revoked device keeps its first revocation time.
        """
        with transaction(self.engine, write=True) as conn:
            revoked = conn.execute(
                _devices.update()
                .where(_devices.c.id == device_id, _devices.c.revoked_at.is_(None))
                .values(revoked_at=_now())
            ).rowcount
            if not revoked:
                known = conn.execute(sa.select(_devices.c.id).where(_devices.c.id == device_id))
                if known.first() is None:
                    raise InputError(f"unknown device {device_id!r}")

    def list(self, user: str | None = None) -> builtins.list[DeviceRecord]:
        """Every device (active and revoked), of one user or of all, oldest first."""
        query = sa.select(_devices).order_by(_devices.c.created_at, _devices.c.id)
        if user is not None:
            check_id(user, "user id")
            query = query.where(_devices.c.user_id == user)
        with transaction(self.engine) as conn:
            return [_record(row) for row in conn.execute(query)]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)


def _device(row: sa.engine.Row) -> Device:
    return Device.of_type(
        row.id, row.user_id, row.type, row.household, row.name, row.room, row.language
    )


def _record(row: sa.engine.Row) -> DeviceRecord:
    revoked = None if row.revoked_at is None else _utc(row.revoked_at)
    return DeviceRecord(_device(row), _utc(row.created_at), revoked)
