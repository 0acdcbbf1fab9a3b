"""The page everyone lands on after signing in: the day's work for the user's role.

- Front desk: today's list at the current location with check-in, the patient search
  box, and what needs attention (arrivals due, bookings no reminder will confirm, intake
  forms owed, online bookings whose patient may already have a record). Nothing
  clinical: no answers, no screenings, no plans.
- Practitioner: patients who said something is wrong at a check-in after their session,
  their day, who has arrived and waits, plans still in draft, reviews with an outcome to
  record, booked treatments the screening will be too old for, medical histories
  patients sent from a link that nobody has reviewed yet.
- Manager: lots expiring or low and open recalls at every location, adverse events
  this month, today's bookings per location.

Each list comes from a selector answering in a fixed number of queries, so the page
costs the same with two appointments or two hundred. Every time is shown on the
wall clock of its location.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from clinic.access import reachable_locations
from clinic.locations import current_location
from clinic.models import Location, StaffMember
from clinic.roles import Role
from consultations import patient_forms
from consultations import selectors as bookings
from consultations.models import AppointmentStatus
from treatments import selectors as treatments


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    staff: StaffMember | None = getattr(request.user, "staff", None)
    locations = list(reachable_locations(request.user))
    location = current_location(request)
    role = staff.role if staff else (Role.MANAGER if request.user.is_superuser else None)
    context: dict[str, Any] = {
        "staff": staff,
        "role": role,
        "location": location,
        "now": timezone.now(),
        "locations": locations,
    }
    if role == Role.MANAGER:
        context.update(manager_home(request, locations, location))
    elif location is not None and staff is not None and role == Role.FRONT_DESK:
        context.update(front_desk_home(request, location))
    elif location is not None and staff is not None and role == Role.PRACTITIONER:
        context.update(practitioner_home(request, staff, location))
    if location is not None:
        # The lists show times on the current location's wall clock.
        with timezone.override(location.zone):
            return render(request, "clinic/home.html", context)
    return render(request, "clinic/home.html", context)


def front_desk_home(request: HttpRequest, location: Location) -> dict[str, Any]:
    today = timezone.localdate(timezone=location.zone)
    day = bookings.appointments_on(user=request.user, location=location, day=today)
    return {
        "today": today,
        "day": day,
        "arrivals_due": bookings.arrivals_due(day, now=timezone.now()),
        "unconfirmed": bookings.unconfirmed_bookings(
            user=request.user, location=location, today=today
        ),
        "forms_due": bookings.forms_not_filled(user=request.user, location=location, today=today),
        "online_requests": bookings.online_requests_waiting(user=request.user, location=location),
        "arrival_due_minutes": bookings.ARRIVAL_DUE_MINUTES,
        "forms_ahead_days": bookings.FORMS_AHEAD_DAYS,
    }


def practitioner_home(
    request: HttpRequest, staff: StaffMember, location: Location
) -> dict[str, Any]:
    today = timezone.localdate(timezone=location.zone)
    day = bookings.appointments_on(
        user=request.user, location=location, day=today, practitioner=staff
    )
    return {
        "today": today,
        "day": day,
        "waiting": [a for a in day if a.status == AppointmentStatus.ARRIVED],
        "draft_plans": treatments.draft_plans(user=request.user, practitioner=staff),
        "reviews_due": treatments.reviews_due(
            user=request.user, practitioner=staff, today=today, location=location
        ),
        "screenings_due": bookings.screenings_expiring(
            user=request.user, practitioner=staff, today=today, location=location
        ),
        "screening_ahead_days": bookings.SCREENING_AHEAD_DAYS,
        "histories_to_review": patient_forms.histories_to_review(user=request.user),
        "check_ins": treatments.check_ins_to_answer(user=request.user, practitioner=staff),
    }


def manager_home(
    request: HttpRequest, locations: list[Location], location: Location | None
) -> dict[str, Any]:
    today = timezone.localdate(timezone=location.zone) if location else timezone.localdate()
    counts = bookings.bookings_per_location(user=request.user, locations=locations)
    return {
        "today": today,
        "bookings_today": [(place, counts[place.pk]) for place in locations],
        "stock": [
            (place, alerts)
            for place, alerts in treatments.stock_alerts_by_location(
                user=request.user, locations=locations
            )
            if alerts.count
        ],
        "month_start": treatments.month_start(today),
        "adverse_events": treatments.adverse_events_since(
            user=request.user, since=treatments.month_start(today)
        ),
        "expiring_within_days": treatments.EXPIRING_WITHIN_DAYS,
    }
