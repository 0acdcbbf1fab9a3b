"""Awkward days computed from today, so a test about them never expires.

A test pinned to "28 March 2027" checks the clock change only until that day
passes; after it, the slots of that day are in the past and the test fails for
no fault of the code. These give the next such day instead.
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone


def next_clock_change(zone_name: str, *, forward: bool) -> date:
    """The next day, wholly in the future, on which the clocks of `zone_name` go forward
    (spring) or back (autumn)."""
    zone = ZoneInfo(zone_name)
    # From the day after tomorrow: the whole day is ahead in every time zone.
    day = timezone.localdate() + timedelta(days=2)
    for _ in range(800):
        start = datetime.combine(day, time(0), tzinfo=zone)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
        shift = end.utcoffset() - start.utcoffset()
        if (shift > timedelta(0)) if forward else (shift < timedelta(0)):
            return day
        day += timedelta(days=1)
    raise LookupError(f"{zone_name} changes its clocks no more")
