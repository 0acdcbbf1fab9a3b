"""The demo clinic's past: its records are made at past moments through the real services.

The services stamp what they record with `django.utils.timezone.now()` and refuse what
cannot have happened (a booking in the past, a session before its appointment). So the
demo does not back-date rows after the fact: it moves the clock to each moment with
time-machine (`as_of`) and calls the services there, in the order things happened, the
way a clinic would have lived through them. Only the demo loader does this; it is refused
with DEBUG off.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import time_machine
from django.utils import timezone

# The demo clinic opened this long before the day it is loaded: its staff, products,
# stock and consent form date from then, before any patient's story begins.
OPENED_DAYS_AGO = 120


def opened_at(now: datetime) -> datetime:
    """When the demo clinic opened, seen from `now`."""
    return now - timedelta(days=OPENED_DAYS_AGO)


@contextmanager
def as_of(moment: datetime) -> Iterator[None]:
    """Inside, the clock reads `moment` and ticks on from there; refused for the future."""
    if moment > timezone.now():
        raise ValueError(f"The demo cannot record what has not happened yet ({moment}).")
    with time_machine.travel(moment, tick=True):
        yield
