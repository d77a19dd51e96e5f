"""`voice people show|child|opt-out|opt-in`: what scene marketing knows about a person.

A child profile never gets sponsored content; opt-outs hold for one brand
(`--brand`) or for all, on every device of the person. The tables live in the
project's database (`$VOICE_DATABASE_URL`, else `models/voice.db`).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..project import Project

if TYPE_CHECKING:
    from ..campaigns.people import PeopleStore


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--user", required=True, help="the person's user id")
    common.add_argument(
        "--database",
        metavar="URL",
        default=None,
        help="database URL (default: $VOICE_DATABASE_URL, else sqlite:///<project>/models/voice.db)",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("show", parents=[common], help="the person's profile and opt-outs")
    child = actions.add_parser("child", parents=[common], help="mark a child profile")
    child.add_argument("--off", action="store_true", help="unmark: an adult profile")
    child.add_argument("--household", default=None, help="the person's household")
    for name, summary in (("opt-out", "stop suggestions"), ("opt-in", "allow suggestions again")):
        action = actions.add_parser(name, parents=[common], help=f"{summary} (of one brand or all)")
        action.add_argument("--brand", default=None, help="one brand (default: all suggestions)")


def run(args: argparse.Namespace) -> int:
    from ..campaigns.people import PeopleStore
    from ..store.database import database_url, open_database

    engine = open_database(args.database or database_url(Project.locate(args.project).models_dir))
    try:
        people = PeopleStore(engine)
        if args.action == "child":
            people.set_child(args.user, not args.off, args.household)
        elif args.action == "opt-out":
            changed = people.opt_out(args.user, args.brand)
            what = args.brand or "all suggestions"
            print(f"{args.user} opted out of {what}" + ("" if changed else " (already)"))
            return 0
        elif args.action == "opt-in":
            changed = people.opt_in(args.user, args.brand)
            what = args.brand or "all suggestions"
            print(f"{args.user} opted in to {what}" + ("" if changed else " (was not opted out)"))
            return 0
        print(describe(people, args.user))
        return 0
    finally:
        engine.dispose()


def describe(people: PeopleStore, user: str) -> str:
    """One person as a few lines: profile, household, opt-outs."""
    record = people.person(user)
    outs = people.opt_outs(user)
    lines = [f"user: {user}"]
    if record is None:
        lines.append("profile: none kept (an adult by default)")
    else:
        kind = "child (no sponsored content)" if record.child else "adult"
        lines.append(f"profile: {kind}, household {record.household}")
    if outs:
        for out in outs:
            what = "all suggestions" if out.brand == "*" else out.brand
            lines.append(f"opted out of {what} since {out.at:%Y-%m-%d %H:%M} UTC")
    else:
        lines.append("opt-outs: none")
    return "\n".join(lines)
