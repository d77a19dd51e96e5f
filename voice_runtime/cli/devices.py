"""`voice devices add|list|revoke`: the devices allowed to use the household server.

The registry lives in the project's database (`$VOICE_DATABASE_URL`, else
`models/voice.db`); `--database URL` chooses another. SQLAlchemy is imported
only when the command runs, and nothing of Rasa is.
"""

from __future__ import annotations

import argparse
import unicodedata
from typing import TYPE_CHECKING

from ..project import Project

if TYPE_CHECKING:
    from ..store.devices import DeviceRecord, DeviceRegistry


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database",
        metavar="URL",
        default=None,
        help="database URL, e.g. postgresql://postgres@127.0.0.1:5432/voice "
        "(default: $VOICE_DATABASE_URL, else sqlite:///<project>/models/voice.db)",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    add = actions.add_parser(
        "add", parents=[common], help="register a device and print its token (shown once)"
    )
    add.add_argument("--user", required=True, help="the person the device belongs to")
    add.add_argument("--type", required=True, help="speaker, tv, phone or car")
    add.add_argument("--name", default="", help='what people call it, e.g. "Living room TV"')
    add.add_argument("--room", default=None, help="where it stands, e.g. kitchen, living_room")
    add.add_argument("--household", default=None, help="the household (default: the user's own)")
    add.add_argument("--lang", default=None, help="its default language: en or zh")
    add.add_argument(
        "--id", dest="device_id", default=None, help="the device id (default: TYPE-xxxxxx)"
    )

    listing = actions.add_parser("list", parents=[common], help="list the devices")
    listing.add_argument("--user", default=None, help="only this person's devices")

    revoke = actions.add_parser("revoke", parents=[common], help="refuse a device's token")
    revoke.add_argument("device_id", metavar="ID", help="the device id")


def run(args: argparse.Namespace) -> int:
    from ..store.database import database_url, open_database
    from ..store.devices import DeviceRegistry

    url = args.database or database_url(Project.locate(args.project).models_dir)
    engine = open_database(url)
    try:
        registry = DeviceRegistry(engine)
        if args.action == "add":
            return _add(registry, args)
        if args.action == "list":
            records = registry.list(args.user)
            print(format_table(records) if records else f"no devices{_of(args.user)}")
            return 0
        registry.revoke(args.device_id)
        print(f"revoked {args.device_id}")
        return 0
    finally:
        engine.dispose()


def _add(registry: DeviceRegistry, args: argparse.Namespace) -> int:
    device, token = registry.add(
        args.user,
        args.type,
        name=args.name,
        room=args.room,
        household=args.household,
        language=args.lang,
        device_id=args.device_id,
    )
    where = f", room {device.room}" if device.room else ""
    print(
        f"added {device.id} ({device.name}, {device.type}{where}) "
        f"for {device.user} in household {device.household}"
    )
    print(f"token: {token}   (shown once; only its hash is kept)")
    return 0


def _of(user: str | None) -> str:
    return f" of {user}" if user else ""


def format_table(records: list[DeviceRecord]) -> str:
    """The devices as an aligned table under a header."""
    header = ("ID", "USER", "HOUSEHOLD", "TYPE", "NAME", "ROOM", "STATE")
    rows = [header] + [
        (
            r.device.id,
            r.device.user,
            r.device.household,
            r.device.type,
            r.device.name,
            r.device.room or "-",
            "revoked" if r.revoked else "active",
        )
        for r in records
    ]
    widths = [max(_width(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(_pad(cell, width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _width(text: str) -> int:
    """Columns on a terminal: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
