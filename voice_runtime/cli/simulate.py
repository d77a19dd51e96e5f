"""`voice simulate`: synthetic households through the real router and campaign engine.

    voice simulate --households 1000 --days 14 --seed 1
    voice simulate --households 200 --days 7 --compare      # caps per person vs per device
    voice simulate --households 30 --days 3 --report-brand anchor_dairy --out report/

Prints households, people, devices, turns, sponsored decisions and exposures,
unique reach, cap violations and budget overspend (recounted from the events:
both must be 0), decisions and turns per second; with `--cap-scope device` (or
`--compare`) how many exposures were repeats to a person beyond the person-level
caps. Events go to a fresh SQLite file in a temporary folder (kept, and named)
or to `--database URL` (which must hold no campaign events yet); caps and
budgets are counted in this process, or in Redis with `--redis URL` (under a
fresh key prefix, removed afterwards). Exit status 1 if a cap was broken or a
budget overspent.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError
from ..people import check_id
from .common import build_assistant, err, nlu_engine, project_of

if TYPE_CHECKING:
    from ..campaigns.simulate import SimulationResult, SimulationSettings
    from ..dialog.router import Assistant

SCOPES = ("person", "device")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--households", type=int, default=1000, help="homes (default 1000)")
    parser.add_argument("--days", type=int, default=14, help="days simulated (default 14)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--start",
        type=date.fromisoformat,
        default=date(2026, 12, 1),
        help="first day, local time Asia/Shanghai (default 2026-12-01)",
    )
    parser.add_argument(
        "--cap-scope",
        choices=SCOPES,
        default="person",
        help="count caps per person across their devices (default), or per device "
        "(the baseline that repeats a brand across one person's devices)",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="run both cap scopes with the same seed and print them side by side",
    )
    parser.add_argument(
        "--database",
        metavar="URL",
        default=None,
        help="where the events go (default: a fresh SQLite file in a temporary folder); "
        "it must hold no campaign events yet",
    )
    parser.add_argument(
        "--redis", metavar="URL", default=None, help="count caps and budgets in Redis"
    )
    parser.add_argument("--report-brand", metavar="BRAND", help="write this brand's report")
    parser.add_argument("--out", type=Path, help="folder for the report (with --report-brand)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def run(args: argparse.Namespace) -> int:
    from ..campaigns.simulate import SimulationSettings

    if args.households < 1 or args.days < 1:
        raise InputError("--households and --days must be at least 1")
    if (args.report_brand is None) != (args.out is None):
        raise InputError("--report-brand and --out go together")
    if args.report_brand is not None:
        check_id(args.report_brand, "brand id")
    scopes = list(SCOPES) if args.compare else [args.cap_scope]
    if args.compare and args.database:
        raise InputError("--compare writes two databases: leave out --database")
    folder = Path(tempfile.mkdtemp(prefix="voice-simulate-"))
    assistant = build_assistant(args)
    started = time.perf_counter()
    for language in ("en", "zh"):  # loaded before the clock starts: timings are of turns
        nlu_engine(assistant).model(language)
    if not args.quiet:
        err(f"NLU models ready in {time.perf_counter() - started:.1f} s")
    results = []
    try:
        for scope in scopes:
            settings = SimulationSettings(
                households=args.households,
                days=args.days,
                seed=args.seed,
                start=args.start,
                cap_scope=scope,
            )
            url = args.database or f"sqlite:///{folder / f'simulation-{scope}.db'}"
            results.append((url, _one(args, assistant, settings, url)))
    finally:
        assistant.close()
    print(format_results([r for _, r in results]))
    for (url, _), scope in zip(results, scopes, strict=True):
        print(f"events ({scope} caps): {url}")
    if args.report_brand is not None:
        url, first = results[0]
        assert first.end is not None
        page = _report(args, url, first.end)
        print(f"report: {page}")
        print(
            f"  (again: voice report --brand {args.report_brand} --database {url} "
            f"--now {first.end.isoformat()} --out DIR)"
        )
    return 0 if all(r.ok for _, r in results) else 1


def _one(
    args: argparse.Namespace, assistant: Assistant, settings: SimulationSettings, url: str
) -> SimulationResult:
    """One simulation run on a fresh household (sessions on the simulated clock)."""
    from ..campaigns.ledger import Ledger
    from ..campaigns.simulate import SimClock, simulate
    from ..household.home import Household
    from ..store.sessions import MemorySessionStore

    clock = SimClock(datetime.combine(settings.start, datetime.min.time(), UTC))
    household = Household(assistant, MemorySessionStore(300.0, clock=clock.timestamp))
    ledger: Ledger | None = None
    prefix = f"voice-simulate:{uuid.uuid4().hex}:"
    if args.redis:
        from ..campaigns.ledger_redis import RedisLedger

        ledger = RedisLedger(args.redis, prefix=prefix)

    def progress(line: str) -> None:
        if not args.quiet:
            err(f"[{settings.cap_scope} caps] {line}")

    try:
        return household.run(
            simulate(household, project_of(args), url, clock, settings, ledger, progress)
        )
    finally:
        if args.redis:
            _forget_redis(args.redis, prefix)


def _forget_redis(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
    finally:
        client.close()


def _report(args: argparse.Namespace, url: str, now: datetime) -> Path:
    from ..campaigns.events import EventStore
    from ..campaigns.report import write_report
    from ..services.caller import user_salt
    from ..store.database import open_database
    from .report import brand_campaigns

    project = project_of(args)
    engine = open_database(url)
    try:
        store = EventStore(engine, user_salt(project.models_dir))
        campaigns = brand_campaigns(project, args.report_brand)
        return write_report(store, args.report_brand, campaigns, args.out, now)
    except OSError as error:
        raise InputError(f"cannot write the report to {args.out}: {error.strerror}") from None
    finally:
        engine.dispose()


def _n(value: float) -> str:
    return f"{value:,.0f}"


def format_results(runs: list[SimulationResult]) -> str:
    """The numbers of one run, or of several side by side (one column per cap scope)."""
    first = runs[0]
    s = first.settings
    end = s.start + timedelta(days=s.days - 1)
    lines = [
        f"voice simulate: {s.households:,} households, {s.days} days "
        f"({s.start.isoformat()} to {end.isoformat()}, {s.time_zone}), seed {s.seed}",
    ]
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, values: list[str]) -> None:
        rows.append((label, values))

    row("caps counted per", [r.settings.cap_scope for r in runs])
    row(
        "households",
        [f"{r.households:,} (en {r.languages['en']:,}, zh {r.languages['zh']:,})" for r in runs],
    )
    row("people", [f"{r.people:,} ({r.children:,} child profiles)" for r in runs])
    row(
        "devices",
        [
            f"{sum(r.devices.values()):,} (speakers {r.devices['speaker']:,}, "
            f"TVs {r.devices['tv']:,}, phones {r.devices['phone']:,}, cars {r.devices['car']:,})"
            for r in runs
        ],
    )
    row("turns", [_n(r.turns) for r in runs])
    row("placements considered", [_n(r.placements) for r in runs])
    row("sponsored decisions", [_n(r.decisions) for r in runs])
    row("exposures", [_n(r.exposures) for r in runs])
    row("unique reach (people)", [_n(r.reach) for r in runs])
    row("cap violations", [_n(r.cap_violations) for r in runs])
    row("repeats beyond person caps", [_n(r.person_repeats) for r in runs])
    row("budget overspend", [_n(r.overspend) for r in runs])
    row("ahead of even pacing", [_n(r.ahead_of_pace) for r in runs])
    row("decisions per second", [_decide_rate(r) for r in runs])
    row("turns per second", [f"{r.turns / r.seconds:,.0f}" if r.seconds else "-" for r in runs])
    row("time", [f"{r.seconds:.1f} s" for r in runs])
    width = max(len(label) for label, _ in rows) + 2
    columns = [max(len(v[i]) for _, v in rows) for i in range(len(runs))]
    for label, values in rows:
        cells = "   ".join(v.ljust(columns[i]) for i, v in enumerate(values)).rstrip()
        lines.append(f"  {label.ljust(width)}{cells}")
    for r in runs:
        if r.heard != r.exposures:
            lines.append(
                f"  warning ({r.settings.cap_scope}): devices said {r.heard:,} sponsored lines, "
                f"the events hold {r.exposures:,} exposures"
            )
        lines.append(f"  per campaign ({r.settings.cap_scope} caps):")
        for cid, t in sorted(r.campaigns.items()):
            k = t.kinds
            lines.append(
                f"    {cid}: exposures {t.exposures:,}, reach {t.reach:,}, busiest day "
                f"{t.busiest_day:,}; accepted {k['accepted']:,}, opened {k['opened']:,}, "
                f"declined {k['declined']:,}, opted out {k['opted_out']:,}"
            )
    return "\n".join(lines)


def _decide_rate(r: SimulationResult) -> str:
    spent = sum(r.decide_seconds)
    if not spent:
        return "-"
    p50 = statistics.median(r.decide_seconds) * 1000
    wall = len(r.decide_seconds) / r.seconds if r.seconds else 0.0
    return (
        f"{len(r.decide_seconds) / spent:,.0f} in the engine (p50 {p50:.2f} ms; {wall:,.0f} wall)"
    )
