"""`voice campaigns why --user U --device D`: for each campaign, why it would or would not
be offered to that person on that device now (capped, out of scene, budget spent, opted
out, excluded), with the caps and budgets as the database (or Redis) holds them."""

from __future__ import annotations

import argparse
from datetime import datetime

from ..errors import InputError
from ..people import DEVICE_TYPES, Device
from ..store.devices import DeviceRegistry
from .common import build_household, project_of


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    why = sub.add_parser("why", help="explain the choice for a person on a device")
    why.add_argument("--user", required=True, help="the person")
    why.add_argument(
        "--device",
        required=True,
        help="a registered device id (voice devices list), or a type: " + ", ".join(DEVICE_TYPES),
    )
    why.add_argument("--room", default=None, help="with a device type: the room it is in")
    why.add_argument("--lang", choices=["en", "zh"], default="en", help="language (default en)")
    why.add_argument(
        "--placement",
        choices=["after_goodbye", "what_can_you_do", "open_question", "idle_screen"],
        default=None,
        help="one placement (default: every one)",
    )
    why.add_argument("--after", default=None, help="the skill (or skill.intent) just finished")
    why.add_argument("--asked", default=None, help="what the person asked (open questions)")
    why.add_argument("--at", default=None, help="the moment, ISO with offset (default: now)")
    why.add_argument("--database", default=None, help="database URL (default as voice serve)")
    why.add_argument("--redis", default=None, help="Redis URL when caps live there")


def run(args: argparse.Namespace) -> int:
    from ..campaigns.setup import Marketing
    from ..campaigns.why import explain
    from ..store.database import database_url, open_database

    project = project_of(args)
    url = args.database or database_url(project.models_dir)
    moment = _moment(args.at)
    device = _device(args, DeviceRegistry(open_database(url)))
    household = build_household(args, auto_train=False)
    marketing = Marketing.attach(household, project, url, args.redis, clock=lambda: moment)
    try:
        lines = household.run(
            explain(
                marketing.placements,
                device,
                args.lang,
                placement=args.placement,
                finished=args.after,
                asked=args.asked,
            )
        )
    finally:
        household.run(marketing.aclose())
        household.close()
    print("\n".join(lines))
    return 0


def _moment(text: str | None) -> datetime:
    if text is None:
        return datetime.now().astimezone()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"--at {text!r} is not an ISO time like 2026-12-05T20:00+08:00") from None
    if moment.tzinfo is None:
        raise InputError(f"--at {text!r} needs an offset, like +08:00")
    return moment


def _device(args: argparse.Namespace, registry: DeviceRegistry) -> Device:
    if args.device in DEVICE_TYPES:
        return Device.of_type(f"{args.user}-{args.device}", args.user, args.device, room=args.room)
    found = registry.get(args.device)
    if found is None:
        raise InputError(f"unknown device {args.device!r}; see voice devices list")
    if found.user != args.user:
        raise InputError(f"device {args.device} belongs to {found.user}, not {args.user}")
    return found
