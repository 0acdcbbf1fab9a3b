"""Awkward days computed from today, so a test about them never expires.

A test pinned to "28 March 2027" checks the clock change only until that day
passes; after it, the slots of that day are in the past and the test fails for
no fault of the code. These give the next such day instead.
"""

from collections.abc import Iterator
from contextlib import contextmanager
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


# Clocks moved forward by `travel_to` during the current test; conftest stops them after it.
_travellers: list = []


def travel_to(moment: datetime) -> None:
    """From now until the test ends, the clock reads `moment` and ticks on from there.

    For a test that must reach a time it booked ahead (the service refuses bookings in
    the past): a session starts only once its appointment has begun.
    """
    import time_machine

    traveller = time_machine.travel(moment, tick=True)
    traveller.start()
    _travellers.append(traveller)


def arrive_for(appointment) -> None:
    """The appointment's time has come: the clock moves to a minute after its start."""
    if appointment.starts_at > timezone.now():
        travel_to(appointment.starts_at + timedelta(minutes=1))


def stop_travelling() -> None:
    while _travellers:
        _travellers.pop().stop()


@contextmanager
def travels_kept() -> Iterator[list]:
    """Clock moves made inside are kept past the current test, for a fixture wider than one
    test (module scope): the caller stops them with `stop_kept` when it is torn down."""
    start = len(_travellers)
    kept: list = []
    try:
        yield kept
    finally:
        kept.extend(_travellers[start:])
        del _travellers[start:]


def stop_kept(kept: list) -> None:
    while kept:
        kept.pop().stop()
