"""`voice report --brand B --out DIR`: one brand's campaign report (HTML and PNG plots).

Events come from the project's database (`$VOICE_DATABASE_URL`, else
`models/voice.db`; `--database URL` chooses another); campaign definitions
(budgets, flights, for pacing) from the project's `campaigns/*.yaml` of that
brand, through the campaign catalog. A campaign file with errors is left out
with a warning (`voice validate` explains it); the report then lists that
campaign from its events alone. matplotlib and SQLAlchemy are imported only when the command runs.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError
from ..people import check_id
from ..project import Project

if TYPE_CHECKING:
    from ..campaigns.model import Campaign


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--brand", required=True, help="the brand id, e.g. anchor_dairy")
    parser.add_argument(
        "--out", type=Path, required=True, help="directory for index.html and the plots"
    )
    parser.add_argument(
        "--database",
        metavar="URL",
        default=None,
        help="database URL (default: $VOICE_DATABASE_URL, else sqlite:///<project>/models/voice.db)",
    )
    parser.add_argument(
        "--now",
        default=None,
        metavar="TIME",
        help="report as of this ISO time, e.g. 2025-06-01T12:00:00+00:00 (default: now)",
    )


def run(args: argparse.Namespace) -> int:
    from ..campaigns.events import EventStore
    from ..campaigns.report import PLOTS, build_report, render_report
    from ..services.caller import user_salt
    from ..store.database import database_url, open_database

    brand = check_id(args.brand, "brand id")
    now = _moment(args.now) if args.now else datetime.now(UTC)
    project = Project.locate(args.project)
    campaigns = brand_campaigns(project, brand)
    engine = open_database(args.database or database_url(project.models_dir))
    try:
        store = EventStore(engine, user_salt(project.models_dir))
        report = build_report(store, brand, campaigns, now)
        try:
            page = render_report(report, args.out)
        except OSError as error:
            raise InputError(f"cannot write the report to {args.out}: {error.strerror}") from None
    finally:
        engine.dispose()
    print(f"wrote {page} and {len(PLOTS)} plots beside it")
    print(report.summary())
    return 0


def brand_campaigns(project: Project, brand: str) -> list[Campaign]:
    """The project's valid campaigns of `brand` (`campaigns/*.yaml`, checked against the
    skills); a skipped file is named in a warning."""
    from ..campaigns.catalog import campaigns_dir, load_project_campaigns
    from ..skills.catalog import load_catalog

    if not campaigns_dir(project).is_dir():
        return []
    catalog = load_project_campaigns(project, load_catalog([project.skills_dir]))
    for file, why in catalog.skipped.items():
        print(f"voice report: warning: skipped {file}: {why}", file=sys.stderr)
    return catalog.for_brand(brand)


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"invalid time {text!r}: use ISO 8601, e.g. 2025-06-01T12:00:00+00:00"
        ) from None
    if moment.tzinfo is None:
        raise InputError(f"time {text!r} needs a time zone, e.g. +00:00")
    return moment
