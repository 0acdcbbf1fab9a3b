"""Read-only queries that span treatments and bookings: the re-treatment recall list."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from clinic.models import Location
from consultations.booking.services import day_bounds
from consultations.models import Appointment, AppointmentKind, AppointmentStatus, Patient
from treatments.models import TreatmentSession

# A thread lift is offered again 9 to 12 months after the last one: PDO threads are
# absorbed by about then (treatments.default_content, the aftercare's absorption lines).
RECALL_FROM_MONTHS = 9
RECALL_TO_MONTHS = 12
# Bookings that mean the patient is already coming back.
UPCOMING_STATUSES = [
    AppointmentStatus.BOOKED,
    AppointmentStatus.ARRIVED,
    AppointmentStatus.IN_PROGRESS,
]


def months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier (the month's last day if it is shorter)."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last_day))


@dataclass(frozen=True)
class RecallRow:
    patient: Patient
    last_session_at: datetime
    last_session_id: int


def retreatment_recall(location: Location, today: date) -> list[RecallRow]:
    """Patients whose last completed session was here 9 to 12 months ago, with nothing booked.

    "Nothing booked" means no treatment or consultation to come, at any location. One
    query, whatever the number of patients.
    """
    start, _ = day_bounds(months_before(today, RECALL_TO_MONTHS), location)
    _, end = day_bounds(months_before(today, RECALL_FROM_MONTHS), location)
    last = TreatmentSession.objects.filter(
        patient=OuterRef("pk"), completed_at__isnull=False
    ).order_by("-completed_at", "-pk")
    booked = Appointment.objects.filter(
        patient=OuterRef("pk"),
        status__in=UPCOMING_STATUSES,
        starts_at__gte=timezone.now(),
        appointment_type__kind__in=[AppointmentKind.TREATMENT, AppointmentKind.CONSULTATION],
    )
    patients = (
        Patient.objects.filter(is_archived=False)
        .annotate(
            last_session_at=Subquery(last.values("completed_at")[:1]),
            last_session_location=Subquery(last.values("location_id")[:1]),
            last_session_id=Subquery(last.values("pk")[:1]),
        )
        .filter(
            last_session_location=location.pk,
            last_session_at__gte=start,
            last_session_at__lt=end,
        )
        .exclude(Exists(booked))
        .order_by("last_session_at", "pk")
    )
    return [
        RecallRow(
            patient=patient,
            last_session_at=patient.last_session_at,
            last_session_id=patient.last_session_id,
        )
        for patient in patients
    ]
