"""Campaign time formats: durations ('4h', '1h30m'), local hour ranges and time zones.

Pure parsing, no diagnostics: the loader turns a None or a reason into a message.
"""

from __future__ import annotations

import functools
import re
from datetime import timedelta
from zoneinfo import available_timezones

from .model import HourRange

HOURS = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
DURATION = re.compile(r"^(?:(\d{1,4})d)?(?:(\d{1,5})h)?(?:(\d{1,6})m)?$")


@functools.lru_cache(maxsize=1)
def time_zones() -> frozenset[str]:
    """The IANA time zone names this machine knows (e.g. Asia/Shanghai)."""
    return frozenset(available_timezones()) | {"UTC"}


def parse_duration(text: str) -> timedelta | None:
    """'30m', '4h', '1d', '1h30m' -> a positive timedelta; None if malformed or zero."""
    match = DURATION.match(text.replace(" ", "").lower())
    if not match or not any(match.groups()):
        return None
    days, hours, minutes = (int(part or 0) for part in match.groups())
    gap = timedelta(days=days, hours=hours, minutes=minutes)
    return gap if gap > timedelta(0) else None


def parse_hours(text: str) -> HourRange | str:
    """'13:00-18:00' -> HourRange(780, 1080); or why it is not a range."""
    match = HOURS.match(text.strip())
    if not match:
        return 'must be a range of local times like "13:00-18:00" (HH:MM-HH:MM)'
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    if start_h > 23 or start_m > 59 or end_m > 59 or end_h > 24 or (end_h == 24 and end_m):
        return "has a time that does not exist (hours 00-23, minutes 00-59; 24:00 may end a range)"
    start, end = start_h * 60 + start_m, (end_h * 60 + end_m) % (24 * 60)
    if start == end:
        return "is empty (it starts where it ends); leave 'hours' out to allow the whole day"
    return HourRange(start, end)
