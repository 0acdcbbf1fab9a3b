"""Cooling-off: the per-location minimum time between deciding on a treatment and having it.

Counted in whole days on the location's calendar from the signed consent (when a
session starts) or from the latest consultation (when a treatment is booked); the
period comes from the location (Location.cooling_off_adult_days and
cooling_off_minor_days, which cite their source). Booking and the treatment-day check
both ask `cooling_off_problem`, so they never disagree about the first allowed day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.utils import timezone

from clinic.models import Location


def first_allowed_day(*, location: Location, age: int, since: datetime) -> date:
    """The first day, on the location's calendar, a treatment may take place."""
    signed_on = timezone.localtime(since, location.zone).date()
    return signed_on + timedelta(days=location.cooling_off_days(age))


def cooling_off_problem(
    *, location: Location, age: int, since: datetime, treatment_day: date, what: str
) -> str | None:
    """Why a treatment on `treatment_day` falls inside the location's cooling-off after
    `since` (`what` names it: "signing the consent", "the consultation"), naming the
    first allowed day; None when it does not."""
    days = location.cooling_off_days(age)
    first = first_allowed_day(location=location, age=age, since=since)
    if days <= 0 or treatment_day >= first:
        return None
    who = "patients under 18" if age < 18 else "adults"
    return (
        f"Cooling-off: {location.name} keeps {days} days between {what} and the treatment "
        f"for {who}. {what[0].upper()}{what[1:]} was on "
        f"{timezone.localtime(since, location.zone):%d %b %Y}, so the treatment can be from "
        f"{first:%a %d %b %Y} ({location.time_zone})."
    )
