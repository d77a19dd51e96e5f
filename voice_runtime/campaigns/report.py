"""A brand's campaign report: one HTML page and four PNG plots (matplotlib, Agg).

    path = write_report(events, "anchor_dairy", campaigns, Path("report"))

reads only that brand's events (`EventStore.events(brand)`) and only the
campaigns whose `brand` is that brand, so a report can never show another
brand's campaigns or people. People appear only as counts (reach, frequency):
the report names no person, not even by pseudonym. No audio is ever kept.

The numbers behind each plot come from small pure functions of the events
(`exposures_by_day`, `funnel`, `frequency`, `pacing`), which tests check
directly; the plot functions draw them on a `Figure` without pyplot, so
reports can be made from any thread.
"""

from __future__ import annotations

import html
import os
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# matplotlib 3.7 ships no type information (3.8 does)
from matplotlib.backends.backend_agg import FigureCanvasAgg  # type: ignore[import-untyped]
from matplotlib.figure import Figure  # type: ignore[import-untyped]
from matplotlib.ticker import MaxNLocator  # type: ignore[import-untyped]

from ..people import DEVICE_TYPES
from .events import EventStore, StoredEvent
from .model import Campaign

FUNNEL_STEPS = ("exposed", "accepted", "opened", "converted")
_FUNNEL_KINDS = {"exposed": "exposure", "accepted": "accepted", "opened": "opened"}
FREQUENCY_BUCKETS = ("1", "2", "3+")
PLOTS = {
    "exposures": "exposures.png",
    "funnel": "funnel.png",
    "frequency": "frequency.png",
    "pacing": "pacing.png",
}
_MAX_PACING_POINTS = 400


def exposures_by_day(events: Sequence[StoredEvent], tz: tzinfo = UTC) -> dict[date, dict[str, int]]:
    """Exposures per local day and device type, days in order (days without any left out)."""
    days: dict[date, Counter[str]] = defaultdict(Counter)
    for event in events:
        if event.kind == "exposure":
            days[event.at.astimezone(tz).date()][event.device_type] += 1
    return {day: dict(days[day]) for day in sorted(days)}


def funnel(events: Sequence[StoredEvent]) -> dict[str, int]:
    """Counts of each step: exposed -> accepted -> opened -> converted."""
    kinds: Counter[str] = Counter(event.kind for event in events)
    return {step: kinds[_FUNNEL_KINDS.get(step, step)] for step in FUNNEL_STEPS}


def frequency(events: Sequence[StoredEvent]) -> dict[str, int]:
    """How many people were exposed once, twice, three times or more."""
    per_person = Counter(event.person for event in events if event.kind == "exposure")
    buckets = Counter(str(n) if n < 3 else "3+" for n in per_person.values())
    return {bucket: buckets[bucket] for bucket in FREQUENCY_BUCKETS}


def reach(events: Sequence[StoredEvent]) -> int:
    """How many different people were exposed."""
    return len({event.person for event in events if event.kind == "exposure"})


@dataclass(frozen=True)
class PacingSeries:
    """Cumulative exposures against the even schedule over a campaign's flight.

    `times` span the flight (local midnights, or hours for flights under three
    days, plus start and end); `planned[i]` is what an even pace would have
    spent by `times[i]`; `actual[i]` what was spent, for the times up to `now`.
    """

    campaign: str
    budget: int
    times: list[datetime]
    planned: list[float]
    actual: list[int]

    @property
    def spent(self) -> int:
        return self.actual[-1] if self.actual else 0

    @property
    def due(self) -> float:
        """What an even pace would have spent by the last actual point."""
        return self.planned[len(self.actual) - 1] if self.actual else 0.0


def pacing(events: Sequence[StoredEvent], campaign: Campaign, now: datetime) -> PacingSeries:
    """The pacing series of `campaign` (only its exposures count)."""
    start, end = campaign.flight.start, campaign.flight.end
    tz = _zone(campaign.flight.time_zone)
    times = _grid(start.astimezone(tz), end.astimezone(tz))
    span = (end - start).total_seconds() or 1.0
    total = campaign.budget.total
    planned = [total * min(max((t - start).total_seconds() / span, 0.0), 1.0) for t in times]
    moments = sorted(e.at for e in events if e.kind == "exposure" and e.campaign == campaign.id)
    actual: list[int] = []
    spent = 0
    for t in times:
        if t > now and actual:
            break
        while spent < len(moments) and moments[spent] <= t:
            spent += 1
        actual.append(spent)
    if now < end and times[len(actual) - 1] < now:  # the last point: now, mid-interval
        times.insert(len(actual), now.astimezone(tz))
        planned.insert(len(actual), total * min(max((now - start).total_seconds() / span, 0), 1))
        actual.append(sum(1 for m in moments if m <= now))
    return PacingSeries(campaign.id, total, times, planned, actual)


def _grid(start: datetime, end: datetime) -> list[datetime]:
    step = timedelta(days=1) if end - start >= timedelta(days=3) else timedelta(hours=1)
    if step == timedelta(days=1):
        first = start.replace(hour=0, minute=0, second=0, microsecond=0) + step
    else:
        first = start.replace(minute=0, second=0, microsecond=0) + step
    times = [start]
    moment = first
    while moment < end and len(times) < _MAX_PACING_POINTS:
        # wall-clock steps in the local zone (a day stays a day across DST changes)
        times.append(moment)
        moment = (moment.replace(tzinfo=None) + step).replace(tzinfo=moment.tzinfo)
    times.append(end)
    return times


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


@dataclass(frozen=True)
class CampaignNumbers:
    """One campaign's line in the report."""

    id: str
    campaign: Campaign | None  # None: known from events only
    counts: dict[str, int]  # per event kind
    reach: int
    frequency: dict[str, int]
    pacing: PacingSeries | None

    @property
    def acceptance(self) -> float | None:
        exposed = self.counts.get("exposure", 0)
        return self.counts.get("accepted", 0) / exposed if exposed else None


@dataclass(frozen=True)
class BrandReport:
    """Everything one brand's report shows, computed from its own events and campaigns."""

    brand: str
    now: datetime
    tz: tzinfo
    events: list[StoredEvent]
    campaigns: list[CampaignNumbers] = field(default_factory=list)

    @property
    def exposures(self) -> int:
        return sum(1 for e in self.events if e.kind == "exposure")

    @property
    def reach(self) -> int:
        return reach(self.events)

    def summary(self) -> str:
        """One line: campaigns, exposures, reach, the funnel."""
        steps = funnel(self.events)
        return (
            f"{self.brand}: {len(self.campaigns)} campaign(s), {self.exposures} exposure(s), "
            f"reach {self.reach}, accepted {steps['accepted']}, opened {steps['opened']}, "
            f"converted {steps['converted']}"
        )


def build_report(
    store: EventStore,
    brand: str,
    campaigns_of_brand: Sequence[Campaign] = (),
    now: datetime | None = None,
) -> BrandReport:
    """The brand's numbers. Campaigns of other brands among `campaigns_of_brand` are
    ignored; campaigns seen only in events are listed without budget or pacing."""
    now = now or datetime.now(UTC)
    own = {c.id: c for c in campaigns_of_brand if c.brand == brand}
    events = store.events(brand)
    zones = {c.flight.time_zone for c in own.values()}
    tz = _zone(zones.pop()) if len(zones) == 1 else UTC
    by_campaign: dict[str, list[StoredEvent]] = defaultdict(list)
    for event in events:
        by_campaign[event.campaign].append(event)
    numbers = []
    for cid in sorted(set(own) | set(by_campaign)):
        mine = by_campaign.get(cid, [])
        campaign = own.get(cid)
        numbers.append(
            CampaignNumbers(
                id=cid,
                campaign=campaign,
                counts=dict(Counter(e.kind for e in mine)),
                reach=reach(mine),
                frequency=frequency(mine),
                pacing=pacing(mine, campaign, now) if campaign else None,
            )
        )
    return BrandReport(brand, now, tz, events, numbers)


def write_report(
    store: EventStore,
    brand: str,
    campaigns_of_brand: Sequence[Campaign],
    out_dir: Path,
    now: datetime | None = None,
) -> Path:
    """Write `out_dir/index.html` and its PNGs for `brand`; the page's path."""
    return render_report(build_report(store, brand, campaigns_of_brand, now), out_dir)


def render_report(report: BrandReport, out_dir: Path) -> Path:
    """Write the report's plots and page into `out_dir` (created); the page's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = {
        "exposures": plot_exposures(exposures_by_day(report.events, report.tz)),
        "funnel": plot_funnel(funnel(report.events)),
        "frequency": plot_frequency(frequency(report.events)),
        "pacing": plot_pacing([c.pacing for c in report.campaigns if c.pacing is not None]),
    }
    for name, figure in figures.items():
        _write_atomic(out_dir / PLOTS[name], partial(_save, figure))
    page = out_dir / "index.html"
    _write_atomic(page, partial(_write_text, report_html(report)))
    return page


# --- plots -----------------------------------------------------------------------------


def _figure(title: str) -> Figure:
    figure = Figure(figsize=(8, 4), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    figure.suptitle(title)
    return figure


def _empty(figure: Figure, text: str) -> Figure:
    axes = figure.add_subplot()
    axes.set_axis_off()
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes)
    return figure


def plot_exposures(by_day: dict[date, dict[str, int]]) -> Figure:
    """Stacked bars: exposures per day, one series (labelled) per device type."""
    figure = _figure("Exposures per day by device type")
    if not by_day:
        return _empty(figure, "no exposures yet")
    axes = figure.add_subplot()
    seen = {t for counts in by_day.values() for t in counts}
    types = [t for t in DEVICE_TYPES if t in seen] + sorted(seen - set(DEVICE_TYPES))
    days = list(by_day)
    positions = list(range(len(days)))
    bottom = [0] * len(days)
    for device_type in types:
        heights = [by_day[day].get(device_type, 0) for day in days]
        axes.bar(positions, heights, bottom=bottom, label=device_type)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    axes.set_xticks(positions, [d.isoformat() for d in days], rotation=45, ha="right")
    axes.set_ylabel("exposures")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(title="device type", loc="upper left", bbox_to_anchor=(1.01, 1))
    return figure


def plot_funnel(steps: dict[str, int]) -> Figure:
    """One bar per funnel step, each with its count written on it."""
    figure = _figure("Funnel")
    axes = figure.add_subplot()
    names = list(steps)
    bars = axes.bar(names, [steps[n] for n in names], label="events", color="#4c72b0")
    axes.bar_label(bars)
    axes.set_ylabel("events")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    return figure


def plot_frequency(buckets: dict[str, int]) -> Figure:
    """Reach and frequency: people who heard it once, twice, three times or more."""
    figure = _figure(f"Reach {sum(buckets.values())}: people by times exposed")
    axes = figure.add_subplot()
    labels = [f"{b} time{'s' if b != '1' else ''}" for b in buckets]
    bars = axes.bar(labels, list(buckets.values()), label="people", color="#55a868")
    axes.bar_label(bars)
    axes.set_ylabel("people")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    return figure


def plot_pacing(series: Sequence[PacingSeries]) -> Figure:
    """Per campaign: cumulative exposures (solid) and the even schedule (dashed)."""
    figure = _figure("Pacing against budget")
    if not series:
        return _empty(figure, "no campaign definitions: budget unknown")
    axes = figure.add_subplot()
    for one in series:
        local = [t.replace(tzinfo=None) for t in one.times]
        (line,) = axes.plot(local[: len(one.actual)], one.actual, label=f"{one.campaign} exposures")
        axes.plot(
            local,
            one.planned,
            linestyle="--",
            color=line.get_color(),
            label=f"{one.campaign} even schedule (budget {one.budget})",
        )
    axes.set_ylabel("cumulative exposures")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(loc="upper left")
    axes.tick_params(axis="x", labelrotation=30)
    return figure


def _save(figure: Figure, path: Path) -> None:
    figure.savefig(path, format="png", metadata={"Software": None})


def _write_text(text: str, path: Path) -> None:
    path.write_text(text, encoding="utf-8")


def _write_atomic(target: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary name in the same directory, then rename over `target`."""
    descriptor, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(descriptor)
    temporary = Path(name)
    try:
        write(temporary)
        temporary.chmod(0o644)
        temporary.replace(target)
    finally:
        temporary.unlink(missing_ok=True)


# --- the page --------------------------------------------------------------------------

_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; max-width: 70em; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
img { max-width: 100%; display: block; margin: 1em 0; }
.note { color: #555; }
"""

_KINDS = ("decision", "exposure", "accepted", "declined", "opted_out", "opened", "converted")


def report_html(report: BrandReport) -> str:
    """The page (every value escaped; images by relative name)."""
    e = html.escape
    steps = funnel(report.events)
    rows = []
    for c in report.campaigns:
        skill = c.campaign.skill if c.campaign else "-"
        flight = (
            f"{c.campaign.flight.start:%Y-%m-%d %H:%M} - {c.campaign.flight.end:%Y-%m-%d %H:%M} "
            f"{c.campaign.flight.time_zone}"
            if c.campaign
            else "-"
        )
        budget = str(c.campaign.budget.total) if c.campaign else "-"
        pace = _pace(c.pacing)
        rate = "-" if c.acceptance is None else f"{c.acceptance:.0%}"
        cells = [skill, flight, budget] + [str(c.counts.get(k, 0)) for k in _KINDS]
        cells += [str(c.reach), " / ".join(str(v) for v in c.frequency.values()), rate, pace]
        rows.append(
            f'<tr id="campaign-{e(c.id)}"><td class="campaign">{e(c.id)}</td>'
            + "".join(f"<td>{e(cell)}</td>" for cell in cells)
            + "</tr>"
        )
    header = ["campaign", "skill", "flight", "budget", *_KINDS, "reach", "freq 1/2/3+"]
    header += ["accept rate", "pacing"]
    images = [
        ("exposures", "Exposures per day by device type"),
        ("funnel", "Funnel: exposed, accepted, opened, converted"),
        ("frequency", "Reach and frequency"),
        ("pacing", "Pacing against budget"),
    ]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            '<head><meta charset="utf-8">',
            f"<title>Campaign report: {e(report.brand)}</title>",
            f"<style>{_STYLE}</style></head>",
            "<body>",
            f"<h1>Campaign report: {e(report.brand)}</h1>",
            f'<p class="note">Made {e(report.now.astimezone(UTC).isoformat(timespec="seconds"))}'
            f" from {len(report.events)} event(s) of this brand only. People are counted, never"
            " named: events hold per-brand pseudonyms, and no audio is kept.</p>",
            "<h2>Summary</h2>",
            '<table id="summary">',
            f"<tr><th>exposures</th><td>{steps['exposed']}</td></tr>",
            f"<tr><th>reach (people)</th><td>{report.reach}</td></tr>",
            f"<tr><th>accepted</th><td>{steps['accepted']}</td></tr>",
            f"<tr><th>opened</th><td>{steps['opened']}</td></tr>",
            f"<tr><th>converted</th><td>{steps['converted']}</td></tr>",
            "</table>",
            "<h2>Campaigns</h2>",
            '<table id="campaigns">',
            "<tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>",
            *(rows or ['<tr><td colspan="17">no campaigns and no events</td></tr>']),
            "</table>",
            *(
                f'<h2>{e(title)}</h2>\n<img id="plot-{name}" src="{PLOTS[name]}" alt="{e(title)}">'
                for name, title in images
            ),
            "</body>",
            "</html>",
            "",
        ]
    )


def _pace(series: PacingSeries | None) -> str:
    if series is None:
        return "budget unknown"
    due = round(series.due)
    if series.spent == due:
        return f"on schedule ({series.spent} of {series.budget})"
    word = "ahead" if series.spent > due else "behind"
    return (
        f"{word} by {abs(series.spent - due)} ({series.spent} spent, {due} due, of {series.budget})"
    )
