"""A patient's bookings for the chart: what is coming, what was, and how reliable they are."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from consultations.models import Appointment, AppointmentStatus, Patient

PAST_LIMIT = 20


@dataclass(frozen=True)
class BookingHistory:
    """Upcoming bookings soonest first; past ones newest first (the latest PAST_LIMIT)."""

    upcoming: list[Appointment]
    past: list[Appointment]
    past_total: int
    cancellations: int
    no_shows: int

    @property
    def earlier_not_shown(self) -> int:
        return self.past_total - len(self.past)


def patient_booking_history(*, patient: Patient) -> BookingHistory:
    """The patient's appointments at every location, in three queries whatever their number."""
    now = timezone.now()
    appointments = Appointment.objects.filter(patient=patient).select_related(
        "appointment_type", "practitioner__user", "location", "room"
    )
    counts = Appointment.objects.filter(patient=patient).aggregate(
        cancellations=Count("pk", filter=Q(status=AppointmentStatus.CANCELLED)),
        no_shows=Count("pk", filter=Q(status=AppointmentStatus.NO_SHOW)),
        past=Count("pk", filter=Q(ends_at__lte=now)),
    )
    return BookingHistory(
        upcoming=list(appointments.filter(ends_at__gt=now).order_by("starts_at", "pk")),
        past=list(appointments.filter(ends_at__lte=now).order_by("-starts_at", "-pk")[:PAST_LIMIT]),
        past_total=counts["past"],
        cancellations=counts["cancellations"],
        no_shows=counts["no_shows"],
    )
