"""Booking on the large clinic: day view, week view and the 30-day free-slot search.

Aim (issue: booking): each under 50 ms median on this 2-core machine, with
200,000 appointments in the table.
"""

from datetime import timedelta

from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.clinic_data import signed_in
from bench.timing import Result, summarise, time_calls
from clinic.models import Location, Role, StaffMember
from consultations.booking import services as booking
from consultations.models import AppointmentType


def _page(client, url: str, runs: int, name: str, target: str) -> Result:
    reset_queries()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    count = len(queries.captured_queries)  # now: later requests clear the log
    return summarise(
        name,
        time_calls(lambda: client.get(url), runs=runs),
        floor="view",
        queries=count,
        target=target,
    )


def run(runs: int) -> list[Result]:
    location = Location.objects.get(name="Threadline London")
    practitioner = StaffMember.objects.filter(locations=location, role=Role.PRACTITIONER).first()
    day = (timezone.localdate() + timedelta(days=3)).isoformat()
    desk = signed_in("seed-desk", location)
    review = AppointmentType.objects.get(kind="review")
    slots = time_calls(
        lambda: booking.next_free_slots(
            appointment_type=review, location=location, days=30, limit=5
        ),
        runs=runs,
    )
    return [
        _page(desk, f"/calendar/?date={day}", runs, "day view (5 practitioners)", "< 50 ms"),
        _page(
            desk,
            f"/calendar/week/?practitioner={practitioner.pk}&date={day}",
            runs,
            "week view (one practitioner)",
            "< 50 ms",
        ),
        summarise("free slots, 30 days ahead", slots, floor="view", target="< 50 ms"),
    ]
