"""`voice privacy export|delete --user U`: everything kept about a person, or erase it.

`export` prints (or writes with `--out FILE`) the person's data as JSON: the
person row and opt-outs, campaign events per brand under the pseudonym that
brand knows them by, and their registered devices. `delete` removes their
campaign events and person row; their opt-outs stay as a tombstone so they are
never marketed to again. Sessions live in the household server's session store
(memory or Redis), which this command does not reach: the server's own
privacy path handles them. No audio is ever kept.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
from collections.abc import Awaitable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import InputError
from ..people import check_id
from ..project import Project

if TYPE_CHECKING:
    from ..store.redis_sessions import RedisSessionStore

T = TypeVar("T")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--user", required=True, help="the person's user id")
    common.add_argument(
        "--database",
        metavar="URL",
        default=None,
        help="database URL (default: $VOICE_DATABASE_URL, else sqlite:///<project>/models/voice.db)",
    )
    common.add_argument(
        "--redis",
        metavar="URL",
        default=None,
        help="the server's session store (default: $VOICE_REDIS_URL); sessions kept in a "
        "server's own memory end with it (at most --idle-timeout later)",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    export = actions.add_parser("export", parents=[common], help="everything kept, as JSON")
    export.add_argument("--out", type=Path, default=None, help="write to FILE (default: stdout)")
    actions.add_parser(
        "delete", parents=[common], help="delete events and the person row; keep opt-outs"
    )


def run(args: argparse.Namespace) -> int:
    from ..campaigns.events import EventStore
    from ..campaigns.people import PeopleStore
    from ..campaigns.privacy import Privacy
    from ..services.caller import user_salt
    from ..store.database import database_url, open_database
    from ..store.devices import DeviceRegistry
    from ..store.redis_sessions import RedisSessionStore

    user = check_id(args.user, "user id")
    project = Project.locate(args.project)
    engine = open_database(args.database or database_url(project.models_dir))
    devices = DeviceRegistry(engine)
    redis_url = args.redis or os.environ.get("VOICE_REDIS_URL")
    sessions = RedisSessionStore(redis_url) if redis_url else None

    async def sessions_of(person: str) -> list[dict[str, Any]]:
        assert sessions is not None
        found = [await sessions.load(d.id) for d in devices.devices_of(person)]
        shared = await sessions.load_person(person)
        return [s.to_json() for s in found if s is not None] + ([shared] if shared else [])

    async def forget_sessions(person: str) -> int:
        assert sessions is not None
        held = [d for d in devices.devices_of(person) if await sessions.load(d.id) is not None]
        for device in held:
            await sessions.forget(device.id)
        await sessions.save_person(person, {})
        return len(held)

    try:
        privacy = Privacy(
            PeopleStore(engine),
            EventStore(engine, user_salt(project.models_dir)),
            devices=devices,
            sessions_of=sessions_of if sessions else None,
            forget_sessions=forget_sessions if sessions else None,
        )
        if args.action == "export":
            kept = asyncio.run(_closing(privacy.export(user), sessions))
            text = json.dumps(kept, ensure_ascii=False, indent=2)
            if args.out is None:
                print(text)
            else:
                write_private(args.out, text + "\n")
                print(f"wrote everything kept about {user} to {args.out}")
            return 0
        print(asyncio.run(_closing(privacy.delete(user), sessions)).summary())
        return 0
    finally:
        engine.dispose()


async def _closing(work: Awaitable[T], sessions: RedisSessionStore | None) -> T:
    """`work`, then the session store's connections closed on the same loop."""
    try:
        return await work
    finally:
        if sessions is not None:
            await sessions.close()


def write_private(path: Path, text: str) -> None:
    """Write `text` whole (a temporary name, then a rename), readable by the owner only."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    except OSError as error:
        raise InputError(f"cannot write {path}: {error.strerror}") from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(name, path)
    except OSError as error:
        raise InputError(f"cannot write {path}: {error.strerror}") from None
    finally:
        Path(name).unlink(missing_ok=True)
