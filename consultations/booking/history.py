"""A patient's bookings for the chart (what is coming, what was, how reliable they are),
and one appointment's own history (its status changes and its moves)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
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


@dataclass(frozen=True)
class AppointmentHistoryEntry:
    """One line of an appointment's history: booked, a status change, an undo or a move."""

    at: datetime
    what: str
    note: str
    by: Any  # the user, or None for the system


def appointment_history(*, appointment: Appointment) -> list[AppointmentHistoryEntry]:
    """Status changes (with undos) and moves, oldest first, in two queries.

    Status changes are kept as AppointmentStatusChange rows; moves as the
    appointment's history rows (simple_history), of which each one whose time,
    practitioner or room differs from the row before is a move.
    """
    zone = appointment.location.zone
    entries = [
        AppointmentHistoryEntry(
            at=change.changed_at,
            what=(
                f"{change.get_from_status_display()} → {change.get_to_status_display()}"
                if change.from_status
                else change.get_to_status_display()
            ),
            note=change.note,
            by=change.changed_by,
        )
        for change in appointment.status_changes.select_related("changed_by")
    ]
    history = appointment.history.select_related("practitioner__user", "room", "history_user")
    for before, after in appointment_moves(history):
        was = timezone.localtime(before.starts_at, zone)
        now = timezone.localtime(after.starts_at, zone)
        where = []
        if before.practitioner_id != after.practitioner_id:
            where.append(f"with {after.practitioner}")
        if before.room_id != after.room_id:
            where.append(f"in {after.room.name if after.room else 'no room'}")
        entries.append(
            AppointmentHistoryEntry(
                at=after.history_date,
                what="Moved",
                note=f"From {was:%a %d %b %H:%M} to {now:%a %d %b %H:%M}"
                + (f", {', '.join(where)}" if where else ""),
                by=after.history_user,
            )
        )
    return sorted(entries, key=lambda entry: entry.at)


def appointment_moves(history: QuerySet[Any]) -> Iterator[tuple[Any, Any]]:
    """(before, after) for each move in appointments' history rows (simple_history keeps
    one per save; status changes are saved without one): a row whose time, practitioner
    or room differs from the same appointment's row before it. One query."""
    previous: dict[int, Any] = {}
    for row in history.order_by("history_date", "history_id"):
        before = previous.get(row.id)
        previous[row.id] = row
        if before is not None and (before.starts_at, before.practitioner_id, before.room_id) != (
            row.starts_at,
            row.practitioner_id,
            row.room_id,
        ):
            yield before, row
