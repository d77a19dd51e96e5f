"""Why a person would (not) hear each campaign now: `voice campaigns why` and the shell's `/why`."""

from __future__ import annotations

from datetime import datetime

from ..dialog.session import Session
from ..people import Device
from .model import PLACEMENTS, Placement
from .placement import Placements


async def explain(
    placements: Placements,
    device: Device,
    language: str,
    session: Session | None = None,
    placement: Placement | None = None,
    finished: str | None = None,
    asked: str | None = None,
) -> list[str]:
    """One block per placement (or only `placement`): each campaign and its verdict."""
    now = placements.engine.now()
    where = f", {device.room}" if device.room else ""
    lines = [f"campaigns for {device.user} on {device.id} ({device.type}{where}) at {_time(now)}"]
    width = max((len(c.id) for c in placements.engine.campaigns), default=0)
    for name in [placement] if placement else PLACEMENTS:
        decision = await placements.decide(
            device, language, name, finished, asked, session, explain=True
        )
        lines.append(f"{name}:")
        lines += [f"  {v.campaign_id:<{width}}  {v.reason}" for v in decision.verdicts]
        if not decision.verdicts:
            lines.append("  (no campaigns)")
    return lines


def _time(now: datetime) -> str:
    return f"{now:%Y-%m-%d %H:%M} {now.tzname() or ''}".strip()
