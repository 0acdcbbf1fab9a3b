"""The chart's timeline: everything that happened to a patient, newest first.

The chart lives here, but plans, consents, sessions, reviews and adverse events
belong to treatments, which sits above consultations and may not be imported
from here (layers point down). So each app hands its entries in through a
source registered with `register_timeline_source`: consultations' own source
below, and treatments' in its AppConfig.ready (treatments.timeline). The chart
asks every source; no module here knows what treatments holds.

Every source reads one query per kind of entry, whatever the number of
entries, and links an entry only to a page the viewer may open: clinical
entries are left out for the front desk, and a record held at a location the
viewer does not work at is shown without a link.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from clinic.access import reachable_locations
from consultations.booking.history import appointment_moves
from consultations.models import (
    Appointment,
    AppointmentStatus,
    AppointmentStatusChange,
    Patient,
)
from consultations.selectors import screening_needs_review

CLINICAL_PERMISSION = "clinic.view_clinical"

# What each status change says on the timeline ("Thread lift: checked in").
STATUS_WORDS: dict[str, str] = {
    AppointmentStatus.BOOKED: "back to booked",
    AppointmentStatus.ARRIVED: "checked in",
    AppointmentStatus.IN_PROGRESS: "started",
    AppointmentStatus.COMPLETED: "completed",
    AppointmentStatus.CANCELLED: "cancelled",
    AppointmentStatus.NO_SHOW: "no-show",
}


@dataclass(frozen=True)
class TimelineEntry:
    when: datetime
    kind: str
    title: str
    detail: str = ""
    url: str = ""
    clinical: bool = False


@dataclass(frozen=True)
class TimelineViewer:
    """Who is reading the timeline: whether they see clinical entries, where they work."""

    clinical: bool
    location_ids: frozenset[int]

    @classmethod
    def of(cls, user: User) -> TimelineViewer:
        return cls(
            clinical=user.has_perm(CLINICAL_PERMISSION),
            location_ids=frozenset(reachable_locations(user).values_list("pk", flat=True)),
        )

    def may_open(self, location_id: int | None) -> bool:
        """Whether a record held at this location opens for the viewer (else: 404)."""
        return location_id in self.location_ids

    def link(self, location_id: int | None, url_name: str, *args: object, anchor: str = "") -> str:
        """The URL of a location-held record's page, or "" where the viewer may not open it."""
        if not self.may_open(location_id):
            return ""
        return reverse(url_name, args=list(args)) + (f"#{anchor}" if anchor else "")


TimelineSource = Callable[[Patient, TimelineViewer], list[TimelineEntry]]

_sources: list[TimelineSource] = []


def register_timeline_source(source: TimelineSource) -> None:
    """Add an app's entries to every chart's timeline (once, however often it is called)."""
    if source not in _sources:
        _sources.append(source)


def patient_timeline(patient: Patient, viewer: TimelineViewer) -> list[TimelineEntry]:
    """What happened to this patient, newest first, from every registered source."""
    entries = consultation_entries(patient, viewer) + appointment_entries(patient, viewer)
    for source in _sources:
        entries.extend(source(patient, viewer))
    return sorted(entries, key=lambda entry: entry.when, reverse=True)


def _local(moment: datetime, appointment: Appointment) -> str:
    local = timezone.localtime(moment, appointment.location.zone)
    return f"{local.day} {local:%b %Y %H:%M}"


def appointment_entries(patient: Patient, viewer: TimelineViewer) -> list[TimelineEntry]:
    """Bookings, moves and status changes, in three queries. Open to the front desk."""
    appointments = {
        appointment.pk: appointment
        for appointment in Appointment.objects.filter(patient=patient).select_related(
            "appointment_type", "location", "practitioner__user"
        )
    }
    entries: list[TimelineEntry] = []

    def url_of(appointment: Appointment) -> str:
        return viewer.link(
            appointment.location_id, "consultations:appointment_detail", appointment.pk
        )

    # Moves: each history row that differs from the one before it (booking.history).
    first_starts: dict[int, datetime] = {}
    for before, after in appointment_moves(Appointment.history.filter(patient_id=patient.pk)):
        first_starts.setdefault(after.id, before.starts_at)
        moved = appointments.get(after.id)
        if moved is None:
            continue
        if before.starts_at == after.starts_at:
            whom = "practitioner" if before.practitioner_id != after.practitioner_id else "room"
            detail = f"to another {whom}, still {_local(after.starts_at, moved)}"
        else:
            detail = f"from {_local(before.starts_at, moved)} to {_local(after.starts_at, moved)}"
        entries.append(
            TimelineEntry(
                after.history_date,
                "appointment_moved",
                f"Moved: {moved.appointment_type.name}",
                detail,
                url_of(moved),
            )
        )
    # Each booking as it was made: at the time first booked (a move is its own entry).
    for appointment in appointments.values():
        booked_for = first_starts.get(appointment.pk, appointment.starts_at)
        entries.append(
            TimelineEntry(
                appointment.booked_at,
                "appointment",
                f"Booked: {appointment.appointment_type.name}",
                f"for {_local(booked_for, appointment)} at "
                f"{appointment.location.name} with {appointment.practitioner}",
                url_of(appointment),
            )
        )
    changes = AppointmentStatusChange.objects.filter(appointment__patient=patient).exclude(
        from_status=""
    )
    for change in changes:
        changed = appointments[change.appointment_id]
        words = STATUS_WORDS.get(change.to_status, change.to_status)
        entries.append(
            TimelineEntry(
                change.changed_at,
                "appointment_status",
                f"{changed.appointment_type.name}: {words}",
                change.note,
                url_of(changed),
            )
        )
    return entries


def consultation_entries(patient: Patient, viewer: TimelineViewer) -> list[TimelineEntry]:
    """Registration and archiving for everyone; the clinical record for clinicians."""
    entries = [TimelineEntry(patient.created_at, "registered", "Registered", patient.record_number)]
    if viewer.clinical:
        for history in patient.medical_histories.select_related("submitted_by"):
            by = (
                "the patient from a link" + (", to review" if history.awaiting_review else "")
                if history.from_patient_link
                else "the patient"
                if history.completed_by_patient
                else (history.submitted_by.get_full_name() if history.submitted_by else "unknown")
            )
            entries.append(
                TimelineEntry(
                    history.submitted_at,
                    "medical_history",
                    f"Medical history, version {history.version}",
                    f"completed by {by}",
                    reverse("consultations:medical_history_detail", args=[history.pk]),
                    clinical=True,
                )
            )
        for photo in patient.photos.filter(is_archived=False):
            entries.append(
                TimelineEntry(
                    photo.uploaded_at,
                    "photo",
                    f"Photo: {photo.get_view_display()}, {photo.get_stage_display()}",
                    f"taken {photo.taken_on:%d %b %Y}",
                    reverse("consultations:photo_list", args=[patient.pk]),
                    clinical=True,
                )
            )
        latest_version = (
            patient.medical_histories.order_by("-version").values_list("version", flat=True).first()
        )
        for consultation in patient.consultations.select_related("practitioner__user"):
            entries.append(
                TimelineEntry(
                    consultation.started_at,
                    "consultation",
                    "Consultation",
                    f"with {consultation.practitioner}",
                    reverse("consultations:consultation_detail", args=[consultation.pk]),
                    clinical=True,
                )
            )
        for screening in patient.screenings.select_related("medical_history"):
            detail = screening.get_decision_display() or "no decision yet"
            if screening_needs_review(screening, latest_version):
                detail += " · needs review: the medical history changed since"
            entries.append(
                TimelineEntry(
                    screening.screened_at,
                    "screening",
                    f"Screening: {screening.get_outcome_display()}",
                    detail,
                    reverse("consultations:screening_detail", args=[screening.pk]),
                    clinical=True,
                )
            )
    if patient.is_archived and patient.archived_at:
        entries.append(
            TimelineEntry(patient.archived_at, "archived", "Archived", patient.archive_reason)
        )
    return entries
