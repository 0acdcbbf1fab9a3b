"""The booking service: every appointment is made, moved, cancelled and progressed here.

Forms, the calendar's drag and drop, the admin and the demo data all call these
functions, so the rules hold whichever way a booking arrives:

- inside the practitioner's working hours at that location, not in their time off;
- no overlap for the practitioner or the room, the buffer after included
  (cancelled and no-show appointments free the slot);
- not in the past (except a walk-in that has already started), not absurdly far ahead;
- a patient never holds two overlapping appointments.

On PostgreSQL exclusion constraints enforce the overlaps in the database too
(migration 0005), so two people booking the same slot at once cannot both win;
on SQLite the write transaction is taken at BEGIN (IMMEDIATE), which serialises
check-and-insert. The loser gets `SlotUnavailable` with the next free slots.

Rooms have a kind (clinic.models.RoomKind) and each appointment type names the kind it
needs (AppointmentType.suits): a procedure only in a procedure room, a consultation
anywhere but in a consultation room first. A room the user chose is that room or a
refusal. "Any free room" is the first suitable free room; when a concurrent booking takes
that room between our look and our insert (the room's exclusion constraint refuses the
row), the attempt is rolled back to its savepoint and the next suitable free room is
tried, so a refusal means no suitable room is left.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import partial
from itertools import accumulate

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from clinic.actors import Actor
from clinic.audit import record_event
from clinic.cooling_off import cooling_off_problem
from clinic.models import (
    AuditAction,
    Location,
    Room,
    RoomKind,
    StaffMember,
    TimeOff,
    WorkingHours,
)
from clinic.roles import Role
from consultations.booking.reminders import schedule_reminder
from consultations.models import (
    FREEING_STATUSES,
    LONGEST_BLOCK,
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    AppointmentStatusChange,
    AppointmentType,
    Consultation,
    Patient,
)

SLOT_STEP = timedelta(minutes=15)
MAX_DAYS_AHEAD = 2 * 365
SLOT_SEARCH_DAYS = 30
ROOM_OVERLAP_CONSTRAINT = "appointment_no_room_overlap"
OVERLAP_CONSTRAINTS = (
    "appointment_no_practitioner_overlap",
    ROOM_OVERLAP_CONSTRAINT,
    "appointment_no_patient_overlap",
)

# Which status may follow which. Cancelled, no-show and completed are final.
NEXT_STATUSES = {
    AppointmentStatus.BOOKED: {
        AppointmentStatus.ARRIVED,
        AppointmentStatus.IN_PROGRESS,
        AppointmentStatus.CANCELLED,
        AppointmentStatus.NO_SHOW,
    },
    # Back to booked only through undo_appointment_status: with a reason, the same day.
    AppointmentStatus.ARRIVED: {
        AppointmentStatus.IN_PROGRESS,
        AppointmentStatus.CANCELLED,
    },
    AppointmentStatus.IN_PROGRESS: {AppointmentStatus.COMPLETED},
    AppointmentStatus.COMPLETED: set(),
    AppointmentStatus.CANCELLED: set(),
    AppointmentStatus.NO_SHOW: set(),
    # An online hold becomes booked only through confirm_held_booking (it needs a patient).
    AppointmentStatus.HELD: {AppointmentStatus.CANCELLED},
}


# A stretch of time, [start, end).
Span = tuple[datetime, datetime]


@dataclass(frozen=True)
class Slot:
    """A bookable time: start and end (UTC), with whom and, if needed, which room."""

    starts_at: datetime
    ends_at: datetime
    practitioner: StaffMember
    room: Room | None

    def local_start(self, location: Location) -> datetime:
        return timezone.localtime(self.starts_at, location.zone)


class SlotUnavailable(Exception):
    """The time is taken (or just got taken); `next_slots` are the nearest free ones."""

    def __init__(self, message: str, next_slots: list[Slot]):
        super().__init__(message)
        self.message = message
        self.next_slots = next_slots


def active(appointments: QuerySet[Appointment]) -> QuerySet[Appointment]:
    """The appointments that keep their slot: not cancelled or no-show, and not an online
    hold past its time (released lazily by `_release_expired_holds` before any write)."""
    return appointments.exclude(status__in=FREEING_STATUSES).exclude(
        status=AppointmentStatus.HELD, hold_expires_at__lte=timezone.now()
    )


def overlapping(
    appointments: QuerySet[Appointment], starts_at: datetime, until: datetime
) -> QuerySet[Appointment]:
    """Appointments whose blocked span [starts_at, blocked_until) meets [starts_at, until).

    No booking blocks longer than LONGEST_BLOCK (a database constraint), so one that meets
    the span starts less than that before it: bounded on both sides, the range is read
    from the (practitioner | room | location | patient, starts_at) indexes instead of
    everything earlier.
    """
    return appointments.filter(
        starts_at__gt=starts_at - LONGEST_BLOCK, starts_at__lt=until, blocked_until__gt=starts_at
    )


def _plausible_start(starts_at: datetime) -> datetime:
    """The start in UTC, refusing times far outside the booking window before any arithmetic."""
    if starts_at.tzinfo is None:
        raise ValidationError({"starts_at": ["The time has no time zone."]})
    if not 1900 < starts_at.year < 9000:
        raise ValidationError({"starts_at": ["That date is not a plausible appointment date."]})
    return starts_at.astimezone(UTC)


def _local_span(location: Location, starts_at: datetime, ends_at: datetime) -> Span:
    zone = location.zone
    return timezone.localtime(starts_at, zone), timezone.localtime(ends_at, zone)


def _check_rules(
    *,
    patient: Patient | None,
    practitioner: StaffMember,
    location: Location,
    appointment_type: AppointmentType,
    room: Room | None,
    starts_at: datetime,
    walk_in: bool,
) -> None:
    """Raise ValidationError for anything wrong with the request itself."""
    errors: dict[str, list[str]] = {}
    duration = timedelta(minutes=appointment_type.duration_minutes)
    ends_at = starts_at + duration
    if problem := _practitioner_problem(practitioner, location):
        errors.setdefault("practitioner", []).append(problem)
    if room is not None and room.location_id != location.pk:
        errors.setdefault("room", []).append(f"{room.name} is at another location.")
    if room is not None and not room.is_active:
        errors.setdefault("room", []).append(f"{room.name} is not in use.")
    if room is not None and (problem := appointment_type.room_problem(room)):
        errors.setdefault("room", []).append(problem)
    if not appointment_type.is_active:
        errors.setdefault("appointment_type", []).append("This appointment type is retired.")
    if patient is not None and patient.is_archived:
        errors.setdefault("patient", []).append("This patient's record is archived.")
    if problems := _start_problems(starts_at, duration=duration, walk_in=walk_in):
        errors.setdefault("starts_at", []).extend(problems)
    if (
        patient is not None
        and appointment_type.kind == AppointmentKind.TREATMENT
        and (problem := _cooling_off_problem(patient, location, starts_at))
    ):
        errors.setdefault("starts_at", []).append(problem)
    if errors:
        raise ValidationError(errors)
    _check_practitioner_free(practitioner, location, starts_at, ends_at)


def _cooling_off_problem(patient: Patient, location: Location, starts_at: datetime) -> str | None:
    """A treatment booked inside the location's cooling-off after the latest consultation.

    At booking there may be no signed consent yet, so the consultation is what the
    period runs from here; the treatment-day check counts it again from the consent.
    """
    consultation = (
        Consultation.objects.filter(patient=patient)
        .order_by("-started_at")
        .only("started_at")
        .first()
    )
    if consultation is None:
        return None
    treatment_day = timezone.localtime(starts_at, location.zone).date()
    return cooling_off_problem(
        location=location,
        age=patient.age_on(treatment_day),
        since=consultation.started_at,
        treatment_day=treatment_day,
        what="the consultation",
    )


def _practitioner_problem(practitioner: StaffMember, location: Location) -> str | None:
    if practitioner.role != Role.PRACTITIONER:
        return "Only practitioners can be booked."
    if not practitioner.user.is_active:
        return f"{practitioner} no longer works here."
    if not practitioner.locations.filter(pk=location.pk).exists():
        return f"{practitioner} does not work at {location}."
    return None


def _start_problems(starts_at: datetime, *, duration: timedelta, walk_in: bool) -> list[str]:
    """What is wrong with the start time itself: in the past, or too far ahead."""
    now = timezone.now()
    problems = []
    if walk_in:
        if not (now - duration < starts_at <= now + timedelta(minutes=5)):
            problems.append("A walk-in is recorded from the time it started, within its length.")
    elif starts_at < now:
        problems.append("This time has passed: choose a later one.")
    if starts_at > now + timedelta(days=MAX_DAYS_AHEAD):
        problems.append("That is more than two years ahead.")
    return problems


def _check_practitioner_free(
    practitioner: StaffMember, location: Location, starts_at: datetime, ends_at: datetime
) -> None:
    """Refuse a time outside the practitioner's hours there, or during their time off."""
    local_start, local_end = _local_span(location, starts_at, ends_at)
    if (
        local_start.date() != local_end.date()
        or not WorkingHours.objects.filter(
            staff=practitioner,
            location=location,
            weekday=local_start.weekday(),
            starts_at__lte=local_start.time(),
            ends_at__gte=local_end.time(),
        ).exists()
    ):
        raise ValidationError(
            {
                "starts_at": [
                    f"{practitioner} does not work at {location} "
                    f"{local_start:%A %d %b, %H:%M}–{local_end:%H:%M}."
                ]
            }
        )
    if TimeOff.objects.filter(
        staff=practitioner, starts_at__lt=ends_at, ends_at__gt=starts_at
    ).exists():
        raise ValidationError({"starts_at": [f"{practitioner} is away at that time."]})


def _conflict(
    *,
    patient: Patient | None,
    practitioner: StaffMember,
    room: Room | None,
    starts_at: datetime,
    ends_at: datetime,
    blocked_until: datetime,
    ignore: Appointment | None,
) -> str | None:
    """What makes the slot unavailable, in words, or None if it is free."""
    others = active(Appointment.objects.all())
    if ignore is not None:
        others = others.exclude(pk=ignore.pk)
    if overlapping(others.filter(practitioner=practitioner), starts_at, blocked_until).exists():
        return f"{practitioner} is already booked at that time."
    if (
        room is not None
        and overlapping(others.filter(room=room), starts_at, blocked_until).exists()
    ):
        return f"{room.name} is already booked at that time."
    if (
        patient is not None
        and others.filter(
            patient=patient,
            starts_at__gt=starts_at - LONGEST_BLOCK,
            starts_at__lt=ends_at,
            ends_at__gt=starts_at,
        ).exists()
    ):
        return "The patient already has an appointment at that time."
    return None


def _free_room(
    location: Location,
    appointment_type: AppointmentType,
    starts_at: datetime,
    blocked_until: datetime,
    *,
    ignore: Appointment | None = None,
    skip: set[int] | frozenset[int] = frozenset(),
) -> Room | None:
    """The free room at the location this type prefers (one query), or None.

    `skip` holds rooms a concurrent booking has just taken (not yet visible to this look).
    """
    busy = active(Appointment.objects.filter(room__location=location))
    if ignore is not None:
        busy = busy.exclude(pk=ignore.pk)
    taken = overlapping(busy, starts_at, blocked_until).values_list("room_id", flat=True)
    free = Room.objects.filter(location=location, is_active=True).exclude(pk__in=taken)
    suitable = [room for room in free if room.pk not in skip and appointment_type.suits(room)]
    return min(suitable, key=appointment_type.room_order, default=None)


def _room_for_move(
    appointment: Appointment,
    *,
    appointment_type: AppointmentType,
    location: Location,
    starts_at: datetime,
    blocked_until: datetime,
    skip: set[int],
) -> Room | None:
    """Where a move with no room named goes: its own room if that suits and is free at the
    new time, else (if the type needs a room) the free room the type prefers, else None."""
    keep = appointment.room
    if (
        keep is not None
        and keep.pk not in skip
        and appointment_type.suits(keep)
        and not overlapping(
            active(Appointment.objects.filter(room=keep)).exclude(pk=appointment.pk),
            starts_at,
            blocked_until,
        ).exists()
    ):
        return keep
    if not appointment_type.needs_room:
        return None
    return _free_room(
        location, appointment_type, starts_at, blocked_until, ignore=appointment, skip=skip
    )


def _no_room(appointment_type: AppointmentType) -> str:
    if appointment_type.room_kind == RoomKind.PROCEDURE:
        return "No procedure room is free at that time."
    return "No room is free at that time."


def _is_overlap_violation(error: IntegrityError) -> bool:
    return any(name in str(error) for name in OVERLAP_CONSTRAINTS)


def _unavailable(
    message: str,
    *,
    appointment_type: AppointmentType,
    location: Location,
    practitioner: StaffMember,
    after: datetime,
    patient: Patient | None,
    ignore: Appointment | None = None,
) -> SlotUnavailable:
    """SlotUnavailable with the next free slots with this practitioner, else anyone.

    The slots are free for the patient too, and an appointment being moved does
    not count against its own new time.
    """
    search = partial(
        next_free_slots,
        appointment_type=appointment_type,
        location=location,
        after=after,
        patient=patient,
        ignore=ignore,
    )
    slots = search(practitioner=practitioner) or search()
    return SlotUnavailable(message, slots)


def _record_status(
    appointment: Appointment, from_status: str, actor: Actor, note: str = ""
) -> None:
    AppointmentStatusChange.objects.create(
        appointment=appointment,
        from_status=from_status,
        to_status=appointment.status,
        changed_by=actor.user,
        note=note[:200],
    )


def book_appointment(
    *,
    patient: Patient,
    practitioner: StaffMember,
    location: Location,
    appointment_type: AppointmentType,
    starts_at: datetime,
    room: Room | None = None,
    notes: str = "",
    walk_in: bool = False,
    send_reminder: bool = True,
    actor: Actor,
) -> Appointment:
    """Book an appointment, or raise ValidationError (bad request) or SlotUnavailable (taken).

    If the type needs a room and none is named, the suitable free room it prefers is
    taken; if a concurrent booking takes that room first, the next one (see above). The
    patient's reminder is queued once the booking commits, unless `send_reminder`
    is False (the demo clinic, whose patients are invented, sends nothing).
    """
    starts_at = _plausible_start(starts_at)
    _check_rules(
        patient=patient,
        practitioner=practitioner,
        location=location,
        appointment_type=appointment_type,
        room=room,
        starts_at=starts_at,
        walk_in=walk_in,
    )
    status = AppointmentStatus.ARRIVED if walk_in else AppointmentStatus.BOOKED

    def after_insert(appointment: Appointment) -> None:
        _record_status(appointment, "", actor, "walk-in" if walk_in else "booked")
        if send_reminder:
            transaction.on_commit(partial(schedule_reminder, appointment=appointment), robust=True)
        record_event(
            action=AuditAction.CREATE,
            actor=actor,
            obj=appointment,
            patient_id=patient.pk,
            summary=f"Booked {appointment_type} with {practitioner} "
            f"at {timezone.localtime(starts_at, location.zone):%Y-%m-%d %H:%M}",
        )

    return _place(
        patient=patient,
        practitioner=practitioner,
        location=location,
        appointment_type=appointment_type,
        starts_at=starts_at,
        room=room,
        fields={"notes": notes, "booked_by": actor.user, "status": status},
        after_insert=after_insert,
    )


def _place(
    *,
    patient: Patient | None,
    practitioner: StaffMember,
    location: Location,
    appointment_type: AppointmentType,
    starts_at: datetime,
    room: Room | None,
    fields: dict[str, object],
    after_insert: Callable[[Appointment], None],
) -> Appointment:
    """Insert the appointment if the slot is free (checked after the rules), else raise
    SlotUnavailable. A booking, a walk-in and an online hold all go through here."""
    duration = timedelta(minutes=appointment_type.duration_minutes)
    ends_at = starts_at + duration
    blocked_until = ends_at + timedelta(minutes=appointment_type.buffer_minutes)
    chosen = room
    picked: Room | None
    taken_meanwhile: set[int] = set()
    while True:
        problem, picked, room = None, None, chosen
        try:
            with transaction.atomic():  # a savepoint when called inside a transaction
                # One booking per practitioner at a time; the constraint covers rooms.
                StaffMember.objects.select_for_update().filter(pk=practitioner.pk).first()
                # An expired online hold frees its slot: let it go before looking.
                _release_expired_holds(starts_at=starts_at, until=blocked_until)
                if room is None and appointment_type.needs_room:
                    room = picked = _free_room(
                        location, appointment_type, starts_at, blocked_until, skip=taken_meanwhile
                    )
                    if room is None:
                        problem = _no_room(appointment_type)
                if problem is None:
                    problem = _conflict(
                        patient=patient,
                        practitioner=practitioner,
                        # A room just found free needs no second look; a race is the
                        # constraint's to catch.
                        room=room if picked is None else None,
                        starts_at=starts_at,
                        ends_at=ends_at,
                        blocked_until=blocked_until,
                        ignore=None,
                    )
                if problem is None:
                    appointment = Appointment.objects.create(
                        patient=patient,
                        practitioner=practitioner,
                        location=location,
                        room=room,
                        appointment_type=appointment_type,
                        starts_at=starts_at,
                        ends_at=ends_at,
                        blocked_until=blocked_until,
                        **fields,
                    )
                    after_insert(appointment)
        except IntegrityError as error:
            if not _is_overlap_violation(error):
                raise
            if picked is not None and ROOM_OVERLAP_CONSTRAINT in str(error):
                taken_meanwhile.add(picked.pk)  # lost to a concurrent booking: the next room
                continue
            problem = "Someone else has just booked that time."
        break
    if problem is not None:
        raise _unavailable(
            problem,
            appointment_type=appointment_type,
            location=location,
            practitioner=practitioner,
            after=starts_at,
            patient=patient,
        )
    return appointment


def reschedule_appointment(
    *,
    appointment: Appointment,
    starts_at: datetime,
    practitioner: StaffMember | None = None,
    room: Room | None = None,
    by_patient: bool = False,
    actor: Actor,
) -> Appointment:
    """Move a booked appointment (and optionally to another practitioner or room).

    `by_patient`: the patient moves it from their booking link, which the notice period
    forbids close to the start (`patient_notice_problem`). A move clears any confirmation
    of attendance: it was for the old time.
    """
    _check_movable(appointment, by_patient=by_patient)
    practitioner = practitioner or appointment.practitioner
    appointment_type = appointment.appointment_type
    location = appointment.location
    starts_at = _plausible_start(starts_at)
    ends_at = starts_at + timedelta(minutes=appointment_type.duration_minutes)
    blocked_until = ends_at + timedelta(minutes=appointment_type.buffer_minutes)
    _check_rules(
        patient=appointment.patient,
        practitioner=practitioner,
        location=location,
        appointment_type=appointment_type,
        room=room,
        starts_at=starts_at,
        walk_in=False,
    )
    previous = timezone.localtime(appointment.starts_at, location.zone)
    chosen = room
    picked: Room | None
    taken_meanwhile: set[int] = set()
    while True:
        problem, picked, room = None, None, chosen
        try:
            with transaction.atomic():
                StaffMember.objects.select_for_update().filter(pk=practitioner.pk).first()
                locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
                _release_expired_holds(starts_at=starts_at, until=blocked_until)
                if locked.status != AppointmentStatus.BOOKED:
                    raise ValidationError(
                        "This appointment changed meanwhile; reload and try again."
                    )
                if room is None:
                    room = picked = _room_for_move(
                        locked,
                        appointment_type=appointment_type,
                        location=location,
                        starts_at=starts_at,
                        blocked_until=blocked_until,
                        skip=taken_meanwhile,
                    )
                    if room is None and appointment_type.needs_room:
                        problem = _no_room(appointment_type)
                if problem is None:
                    problem = _conflict(
                        patient=locked.patient,
                        practitioner=practitioner,
                        room=room if picked is None else None,
                        starts_at=starts_at,
                        ends_at=ends_at,
                        blocked_until=blocked_until,
                        ignore=locked,
                    )
                if problem is None:
                    locked.starts_at, locked.ends_at, locked.blocked_until = (
                        starts_at,
                        ends_at,
                        blocked_until,
                    )
                    locked.practitioner, locked.room = practitioner, room
                    locked.confirmed_at, locked.confirmed_by = None, None
                    # Who moved it, kept in the appointment's own history row.
                    locked._history_user = actor.user  # type: ignore[attr-defined]
                    locked.save()
                    transaction.on_commit(
                        partial(schedule_reminder, appointment=locked), robust=True
                    )
                    record_event(
                        action=AuditAction.UPDATE,
                        actor=actor,
                        obj=locked,
                        patient_id=locked.patient_id,
                        summary=f"Moved from {previous:%Y-%m-%d %H:%M} to "
                        f"{timezone.localtime(starts_at, location.zone):%Y-%m-%d %H:%M} "
                        f"with {practitioner}{' by the patient' if by_patient else ''}",
                    )
                    appointment = locked
        except IntegrityError as error:
            if not _is_overlap_violation(error):
                raise
            if picked is not None and ROOM_OVERLAP_CONSTRAINT in str(error):
                taken_meanwhile.add(picked.pk)  # lost to a concurrent booking: the next room
                continue
            problem = "Someone else has just booked that time."
        break
    if problem is not None:
        raise _unavailable(
            problem,
            appointment_type=appointment_type,
            location=location,
            practitioner=practitioner,
            after=starts_at,
            patient=appointment.patient,
            ignore=appointment,
        )
    return appointment


def _check_movable(appointment: Appointment, *, by_patient: bool) -> None:
    if appointment.status != AppointmentStatus.BOOKED:
        status = appointment.get_status_display().lower()
        raise ValidationError(f"Only booked appointments can be moved; this one is {status}.")
    if by_patient and (problem := patient_notice_problem(appointment)):
        raise ValidationError(problem)


@transaction.atomic
def set_appointment_status(
    *,
    appointment: Appointment,
    status: str,
    actor: Actor,
    reason: str = "",
) -> Appointment:
    """Move an appointment along booked → arrived → in progress → completed, or end it.

    Cancelling needs a reason. Arrival and completion count as the patient's
    latest visit (search lists recent visitors first).

    The change is recorded once, as an AppointmentStatusChange (who, when, from,
    to, why): the appointment's page, the day list and the patient's export read
    it. It is not repeated in the audit trail nor in the appointment's history
    rows, which keep bookings and moves.
    """
    locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if status not in AppointmentStatus.values:
        raise ValidationError({"status": ["Unknown appointment status."]})
    status = AppointmentStatus(status)
    if status not in NEXT_STATUSES[AppointmentStatus(locked.status)]:
        current = locked.get_status_display().lower()
        article = "An" if current[0] in "aeiou" else "A"
        raise ValidationError(
            f"{article} {current} appointment cannot become {status.label.lower()}."
        )
    reason = reason.strip()
    if len(reason) > 200 or "\x00" in reason:
        raise ValidationError({"reason": ["Write the reason as text of at most 200 characters."]})
    if status == AppointmentStatus.CANCELLED and not reason:
        raise ValidationError({"reason": ["Say why the appointment is cancelled."]})
    if status == AppointmentStatus.NO_SHOW and timezone.now() < locked.starts_at:
        local_start = timezone.localtime(locked.starts_at, locked.location.zone)
        raise ValidationError(
            f"A no-show can be recorded only once the appointment has begun "
            f"({local_start:%H:%M} on {local_start:%d %b})."
        )
    previous = locked.status
    locked.status = status
    if status == AppointmentStatus.CANCELLED:
        locked.cancel_reason = reason[:200]
    # Added by simple_history at run time: the status change is recorded once, below.
    locked.save_without_historical_record(  # type: ignore[attr-defined]
        update_fields=["status", "cancel_reason"]
    )
    _record_status(locked, previous, actor, reason)
    if status in (AppointmentStatus.ARRIVED, AppointmentStatus.COMPLETED):
        Patient.objects.filter(pk=locked.booked_patient.pk).update(last_visit_at=timezone.now())
    return locked


# What the desk may take back the same day, with a reason: a check-in, a no-show, a cancel.
UNDOABLE_STATUSES = {
    AppointmentStatus.ARRIVED,
    AppointmentStatus.NO_SHOW,
    AppointmentStatus.CANCELLED,
}


def change_to_undo(appointment: Appointment) -> AppointmentStatusChange | None:
    """The check-in, no-show or cancellation the desk may still take back: the change that
    gave the appointment its status, if it was made today on the location's clock (one
    query; None when there is nothing to undo)."""
    if appointment.status not in UNDOABLE_STATUSES:
        return None
    last = (
        appointment.status_changes.filter(to_status=appointment.status)
        .order_by("-changed_at", "-pk")
        .first()
    )
    zone = appointment.location.zone
    if last is None or timezone.localdate(last.changed_at, zone) != timezone.localdate(
        timezone=zone
    ):
        return None
    return last


@transaction.atomic
def undo_appointment_status(*, appointment: Appointment, reason: str, actor: Actor) -> Appointment:
    """Take back the last check-in, no-show or cancellation, made today at the location.

    The appointment returns to the status it had before, and the undo is a status
    change of its own, with who, when and why: the history keeps both. A cancelled
    or missed appointment comes back only if its time is still free (someone may
    have been booked into it since).
    """
    # Only the appointment's own row is locked: PostgreSQL refuses FOR UPDATE on the nullable
    # side of an outer join (the room), which select_related brings in.
    locked = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("location", "practitioner__user", "room", "patient")
        .get(pk=appointment.pk)
    )
    current = AppointmentStatus(locked.status)
    if current not in UNDOABLE_STATUSES:
        raise ValidationError(
            f"A {locked.get_status_display().lower()} appointment has no check-in, no-show "
            "or cancellation to undo."
        )
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": ["Say why the change is undone."]})
    if len(reason) > 190 or "\x00" in reason:
        raise ValidationError({"reason": ["Write the reason as text of at most 190 characters."]})
    last = change_to_undo(locked)
    if last is None:
        raise ValidationError(
            f"Only a change made today can be undone: this appointment was "
            f"{current.label.lower()} on an earlier day."
        )
    previous = AppointmentStatus(last.from_status or AppointmentStatus.BOOKED)
    if current in FREEING_STATUSES:
        _release_expired_holds(starts_at=locked.starts_at, until=locked.blocked_until)
        problem = _conflict(
            patient=locked.patient,
            practitioner=locked.practitioner,
            room=locked.room,
            starts_at=locked.starts_at,
            ends_at=locked.ends_at,
            blocked_until=locked.blocked_until,
            ignore=locked,
        )
        if problem is not None:
            raise ValidationError(f"It cannot come back: {problem} Book a new time instead.")
    locked.status = previous
    if current == AppointmentStatus.CANCELLED:
        locked.cancel_reason = ""
        locked.cancelled_by_patient = False
    try:
        # The exclusion constraints catch a booking made into the freed time meanwhile.
        with transaction.atomic():
            locked.save_without_historical_record(  # type: ignore[attr-defined]
                update_fields=["status", "cancel_reason", "cancelled_by_patient"]
            )
    except IntegrityError as error:
        if not _is_overlap_violation(error):
            raise
        raise ValidationError(
            "It cannot come back: someone has just been booked into its time. "
            "Book a new time instead."
        ) from error
    _record_status(locked, current, actor, f"Undone: {reason}")
    return locked


@transaction.atomic
def cancel_appointment(
    *, appointment: Appointment, reason: str, by_patient: bool = False, actor: Actor
) -> Appointment:
    """Cancel with a reason; the slot is free again at once.

    `by_patient`: the patient cancels from their booking link, which the notice period
    forbids close to the start; the day list then says the patient cancelled.
    """
    if by_patient and (problem := patient_notice_problem(appointment)):
        raise ValidationError(problem)
    cancelled = set_appointment_status(
        appointment=appointment,
        status=AppointmentStatus.CANCELLED,
        actor=actor,
        reason=reason,
    )
    if by_patient:
        cancelled.cancelled_by_patient = True
        cancelled.save_without_historical_record(  # type: ignore[attr-defined]
            update_fields=["cancelled_by_patient"]
        )
        record_event(
            action=AuditAction.UPDATE,
            actor=actor,
            obj=cancelled,
            patient_id=cancelled.patient_id,
            summary="The patient cancelled from their booking link",
        )
    return cancelled


def patient_notice_problem(appointment: Appointment, *, now: datetime | None = None) -> str | None:
    """Why the patient may not cancel or move this booking themselves, or None.

    Inside PATIENT_CANCEL_NOTICE_HOURS of the start the desk, not a link, takes the
    change: it can offer the time to someone waiting, or ask about a charge.
    """
    now = now or timezone.now()
    notice = timedelta(hours=settings.PATIENT_CANCEL_NOTICE_HOURS)
    if appointment.starts_at - now >= notice:
        return None
    return (
        f"It is too close to your appointment to change it here: please call us on "
        f"{appointment.location.phone}."
    )


@transaction.atomic
def confirm_attendance(*, appointment: Appointment, actor: Actor) -> Appointment:
    """Record that the patient will come: by the patient from their booking link (no
    user), or by the desk who phoned them. Only a booked appointment can be confirmed;
    confirming again changes nothing."""
    locked = Appointment.objects.select_for_update(of=("self",)).get(pk=appointment.pk)
    if locked.status != AppointmentStatus.BOOKED:
        status = locked.get_status_display().lower()
        raise ValidationError(f"Only a booked appointment can be confirmed; this one is {status}.")
    if locked.starts_at <= timezone.now():
        raise ValidationError("This appointment has already started.")
    if locked.confirmed_at is not None:
        return locked
    locked.confirmed_at = timezone.now()
    locked.confirmed_by = actor.user
    locked.save_without_historical_record(  # type: ignore[attr-defined]
        update_fields=["confirmed_at", "confirmed_by"]
    )
    record_event(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=locked,
        patient_id=locked.patient_id,
        summary="The patient confirmed they will come"
        if actor.user is None
        else "Confirmed the patient will come",
    )
    return locked


# Online holds -----------------------------------------------------------------------------
#
# A patient booking online (consultations.views.online_booking) first holds a free slot for
# a few minutes while they type their details: a held appointment with no patient, which
# the exclusion constraints count like any booking, so the desk cannot book over it. Once
# its time has passed it frees the slot: every write here first releases the expired holds
# meeting the time it looks at (cancelled, with EXPIRED_HOLD_REASON), the slot finder
# offers their times again, and `release_expired_holds` sweeps the rest (the
# release_online_holds command, run every few minutes).

EXPIRED_HOLD_REASON = "Online hold expired"


def _release_expired_holds(
    *, starts_at: datetime | None = None, until: datetime | None = None
) -> int:
    """Cancel the online holds past their time (only those meeting [starts_at, until) if
    given), inside the caller's transaction; each release is a status change and audited."""
    expired: QuerySet[Appointment] = Appointment.objects.expired_holds(timezone.now())
    if starts_at is not None and until is not None:
        expired = overlapping(expired, starts_at, until)
    pks = list(expired.select_for_update(of=("self",)).values_list("pk", flat=True))
    system = Actor.system()
    for hold in Appointment.objects.filter(pk__in=pks).select_related("location"):
        hold.status = AppointmentStatus.CANCELLED
        hold.cancel_reason = EXPIRED_HOLD_REASON
        hold.save_without_historical_record(  # type: ignore[attr-defined]
            update_fields=["status", "cancel_reason"]
        )
        _record_status(hold, AppointmentStatus.HELD, system, EXPIRED_HOLD_REASON)
        record_event(
            action=AuditAction.UPDATE,
            actor=system,
            obj=hold,
            summary=f"Released an expired online hold at "
            f"{timezone.localtime(hold.starts_at, hold.location.zone):%Y-%m-%d %H:%M}",
        )
    return len(pks)


@transaction.atomic
def release_expired_holds() -> int:
    """Free every online hold past its time; how many were released."""
    return _release_expired_holds()


def hold_slot(
    *,
    location: Location,
    appointment_type: AppointmentType,
    practitioner: StaffMember,
    starts_at: datetime,
    actor: Actor,
) -> Appointment:
    """Hold a free consultation slot for a patient booking online, for
    settings.ONLINE_BOOKING_HOLD_MINUTES; raise ValidationError (a request that cannot be
    booked online) or SlotUnavailable (taken), as booking does."""
    if not (location.online_booking and location.is_active):
        raise ValidationError("This clinic does not take bookings online.")
    if appointment_type.kind != AppointmentKind.CONSULTATION or not appointment_type.is_active:
        raise ValidationError({"appointment_type": ["Only a consultation can be booked online."]})
    starts_at = _plausible_start(starts_at)
    _check_rules(
        patient=None,
        practitioner=practitioner,
        location=location,
        appointment_type=appointment_type,
        room=None,
        starts_at=starts_at,
        walk_in=False,
    )
    expires_at = timezone.now() + timedelta(minutes=settings.ONLINE_BOOKING_HOLD_MINUTES)

    def after_insert(hold: Appointment) -> None:
        _record_status(hold, "", actor, "held online")
        record_event(
            action=AuditAction.CREATE,
            actor=actor,
            obj=hold,
            summary=f"Held {appointment_type} with {practitioner} at "
            f"{timezone.localtime(starts_at, location.zone):%Y-%m-%d %H:%M} for an online "
            f"booking until {timezone.localtime(expires_at, location.zone):%H:%M}",
        )

    with transaction.atomic():
        return _place(
            patient=None,
            practitioner=practitioner,
            location=location,
            appointment_type=appointment_type,
            starts_at=starts_at,
            room=None,
            fields={"status": AppointmentStatus.HELD, "hold_expires_at": expires_at},
            after_insert=after_insert,
        )


def _is_released_hold(appointment: Appointment) -> bool:
    return (
        appointment.status == AppointmentStatus.CANCELLED
        and appointment.patient_id is None
        and appointment.cancel_reason == EXPIRED_HOLD_REASON
    )


def lock_hold(hold: Appointment) -> Appointment:
    """The hold's row, locked, or ValidationError if it is no longer an online hold (booked
    since, or cancelled by the desk). A released expired hold is returned as it is."""
    locked = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("location", "appointment_type", "practitioner__user", "room")
        .get(pk=hold.pk)
    )
    if locked.status != AppointmentStatus.HELD and not _is_released_hold(locked):
        raise ValidationError("This booking has already been confirmed or cancelled.")
    return locked


def keep_hold(*, hold: Appointment, actor: Actor, until: datetime | None) -> Appointment:
    """Keep the held slot (past its time, if it is still free): until `until`, or with no
    end (None: the desk is matching the patient). Raise SlotUnavailable if it was taken.
    Call inside the caller's transaction."""
    locked = lock_hold(hold)
    problem = None
    if _is_released_hold(locked):
        # Released when it expired: it comes back only if nobody took its time meanwhile.
        StaffMember.objects.select_for_update().filter(pk=locked.practitioner_id).first()
        _release_expired_holds(starts_at=locked.starts_at, until=locked.blocked_until)
        problem = _conflict(
            patient=None,
            practitioner=locked.practitioner,
            room=locked.room,
            starts_at=locked.starts_at,
            ends_at=locked.ends_at,
            blocked_until=locked.blocked_until,
            ignore=locked,
        )
        if problem is None and locked.starts_at <= timezone.now():
            problem = "This time has passed."
    if problem is None:
        previous = locked.status
        locked.status = AppointmentStatus.HELD
        locked.cancel_reason = ""
        locked.hold_expires_at = until
        try:
            with transaction.atomic():
                locked.save_without_historical_record(  # type: ignore[attr-defined]
                    update_fields=["status", "cancel_reason", "hold_expires_at"]
                )
        except IntegrityError as error:
            if not _is_overlap_violation(error):
                raise
            problem = "Someone else has just booked that time."
        else:
            if previous != AppointmentStatus.HELD:
                _record_status(locked, previous, actor, "held again online")
            return locked
    raise _unavailable(
        problem,
        appointment_type=locked.appointment_type,
        location=locked.location,
        practitioner=locked.practitioner,
        after=max(locked.starts_at, timezone.now()),
        patient=None,
    )


@transaction.atomic
def confirm_held_booking(
    *, hold: Appointment, patient: Patient, actor: Actor, send_reminder: bool = True
) -> Appointment:
    """Book the held slot for the patient: the hold becomes a booked appointment.

    A hold past its time is still booked if its time is free (whether or not it has been
    released); if it was taken meanwhile, SlotUnavailable with the next free slots.
    """
    if patient.is_archived:
        raise ValidationError({"patient": ["This patient's record is archived."]})
    locked = keep_hold(hold=hold, actor=actor, until=None)
    problem = _conflict(
        patient=patient,
        practitioner=locked.practitioner,
        room=None,
        starts_at=locked.starts_at,
        ends_at=locked.ends_at,
        blocked_until=locked.blocked_until,
        ignore=locked,
    )
    if problem is not None:
        raise _unavailable(
            problem,
            appointment_type=locked.appointment_type,
            location=locked.location,
            practitioner=locked.practitioner,
            after=locked.starts_at,
            patient=patient,
            ignore=locked,
        )
    locked.patient = patient
    locked.status = AppointmentStatus.BOOKED
    locked.hold_expires_at = None
    locked._history_user = actor.user  # type: ignore[attr-defined]
    try:
        with transaction.atomic():
            locked.save(update_fields=["patient", "status", "hold_expires_at"])
    except IntegrityError as error:
        if not _is_overlap_violation(error):
            raise
        raise _unavailable(
            "The patient already has an appointment at that time.",
            appointment_type=locked.appointment_type,
            location=locked.location,
            practitioner=locked.practitioner,
            after=locked.starts_at,
            patient=patient,
            ignore=locked,
        ) from error
    _record_status(locked, AppointmentStatus.HELD, actor, "booked online")
    if send_reminder:
        transaction.on_commit(partial(schedule_reminder, appointment=locked), robust=True)
    record_event(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=locked,
        patient_id=patient.pk,
        summary=f"Booked online: {locked.appointment_type} with {locked.practitioner} at "
        f"{timezone.localtime(locked.starts_at, locked.location.zone):%Y-%m-%d %H:%M}",
    )
    return locked


def next_free_slots(
    *,
    appointment_type: AppointmentType,
    location: Location,
    practitioner: StaffMember | None = None,
    after: datetime | None = None,
    days: int = SLOT_SEARCH_DAYS,
    limit: int = 5,
    patient: Patient | None = None,
    ignore: Appointment | None = None,
) -> list[Slot]:
    """The next `limit` free slots at this location, soonest first.

    Slots start on the quarter hour of the location's wall clock, inside each
    practitioner's hours there, outside their time off, clear of every active
    booking (buffers included) and, if the type needs one, with a free room of a kind
    that suits it (the one it prefers, as booking would pick).
    A fixed number of queries, however many days are searched.
    """
    now = timezone.now()
    after = max(after or now, now)
    zone = location.zone
    first_day = timezone.localtime(after, zone).date()
    last_day = first_day + timedelta(days=days)
    window_start = datetime.combine(first_day, time.min, tzinfo=zone)
    window_end = datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=zone)

    staff = _bookable_practitioners(location, practitioner)
    hours: dict[int, list[WorkingHours]] = {}
    for row in WorkingHours.objects.filter(location=location, staff__in=staff.keys()):
        hours.setdefault(row.staff_id, []).append(row)
    rooms = (
        sorted(
            (
                room
                for room in Room.objects.filter(location=location, is_active=True)
                if appointment_type.suits(room)
            ),
            key=appointment_type.room_order,
        )
        if appointment_type.needs_room
        else []
    )
    busy = _busy_spans(
        staff_ids=list(staff.keys()),
        rooms=rooms,
        patient=patient,
        ignore=ignore,
        window_start=window_start,
        window_end=window_end,
    )
    found: list[Slot] = []
    for offset in range(days + 1):
        day = first_day + timedelta(days=offset)
        todays: list[Slot] = []
        for staff_id, rows in hours.items():
            for row in rows:
                if row.weekday == day.weekday():
                    todays.extend(
                        _free_slots_in_hours(
                            day=day,
                            hours=row,
                            practitioner=staff[staff_id],
                            appointment_type=appointment_type,
                            zone=zone,
                            after=after,
                            rooms=rooms,
                            busy=busy,
                        )
                    )
        todays.sort(key=lambda slot: (slot.starts_at, str(slot.practitioner)))
        found.extend(todays[: limit - len(found)])
        if len(found) >= limit:
            break
    return found


class _SortedSpans:
    """Spans (they may overlap) sorted by start, with the latest end among each prefix:
    whether [start, until) meets one of them is a binary search, not a scan of the list."""

    def __init__(self, spans: list[Span]):
        ordered = sorted(spans)
        self.starts = [s for s, _ in ordered]
        self.latest_ends = list(accumulate((e for _, e in ordered), max))

    def clash(self, start: datetime, until: datetime) -> bool:
        # The spans starting before `until`; one of them meets the span if it ends after `start`.
        before = bisect_left(self.starts, until)
        return before > 0 and self.latest_ends[before - 1] > start


NO_SPANS = _SortedSpans([])


@dataclass(frozen=True)
class _BusySpans:
    """What is taken in the search window: per practitioner (time off and bookings,
    buffers included), per room, and the patient's own appointments."""

    away: dict[int, _SortedSpans]
    staff: dict[int, _SortedSpans]
    rooms: dict[int, _SortedSpans]
    patient: _SortedSpans


def _bookable_practitioners(
    location: Location, practitioner: StaffMember | None
) -> dict[int, StaffMember]:
    """The active practitioners at the location (only `practitioner`, if given), by id."""
    staff = StaffMember.objects.practitioners_at(location)
    if practitioner is not None:
        staff = staff.filter(pk=practitioner.pk)
    return {member.pk: member for member in staff}


def _busy_spans(
    *,
    staff_ids: list[int],
    rooms: list[Room],
    patient: Patient | None,
    ignore: Appointment | None,
    window_start: datetime,
    window_end: datetime,
) -> _BusySpans:
    """Time off and active bookings meeting the window, in two queries."""
    away: dict[int, list[Span]] = {}
    for time_off in TimeOff.objects.filter(
        staff__in=staff_ids, starts_at__lt=window_end, ends_at__gt=window_start
    ):
        away.setdefault(time_off.staff_id, []).append((time_off.starts_at, time_off.ends_at))
    busy_staff: dict[int, list[Span]] = {}
    busy_room: dict[int, list[Span]] = {}
    busy_patient: list[Span] = []
    who = Q(practitioner__in=staff_ids) | Q(room__in=rooms)
    if patient is not None:
        who |= Q(patient=patient)
    bookings = overlapping(active(Appointment.objects.all()).filter(who), window_start, window_end)
    if ignore is not None:
        bookings = bookings.exclude(pk=ignore.pk)
    for start, end, until, staff_id, room_id, patient_id in bookings.values_list(
        "starts_at", "ends_at", "blocked_until", "practitioner_id", "room_id", "patient_id"
    ):
        busy_staff.setdefault(staff_id, []).append((start, until))
        if room_id is not None:
            busy_room.setdefault(room_id, []).append((start, until))
        if patient is not None and patient_id == patient.pk:
            busy_patient.append((start, end))
    return _BusySpans(
        away={pk: _SortedSpans(spans) for pk, spans in away.items()},
        staff={pk: _SortedSpans(spans) for pk, spans in busy_staff.items()},
        rooms={pk: _SortedSpans(spans) for pk, spans in busy_room.items()},
        patient=_SortedSpans(busy_patient),
    )


def _free_slots_in_hours(
    *,
    day: date,
    hours: WorkingHours,
    practitioner: StaffMember,
    appointment_type: AppointmentType,
    zone: tzinfo,
    after: datetime,
    rooms: list[Room],
    busy: _BusySpans,
) -> list[Slot]:
    """The free quarter-hour starts in one stretch of a practitioner's hours on `day`."""
    duration = timedelta(minutes=appointment_type.duration_minutes)
    buffer = timedelta(minutes=appointment_type.buffer_minutes)
    slots: list[Slot] = []
    away = busy.away.get(practitioner.pk, NO_SPANS)
    booked = busy.staff.get(practitioner.pk, NO_SPANS)
    for starts_utc in _quarter_hours(day, hours, duration, zone):
        until = starts_utc + duration + buffer
        if starts_utc >= after and not (
            away.clash(starts_utc, starts_utc + duration)
            or booked.clash(starts_utc, until)
            or busy.patient.clash(starts_utc, starts_utc + duration)
        ):
            room = _first_free_room(rooms, busy, starts_utc, until)
            if room is not None or not rooms:
                slots.append(Slot(starts_utc, starts_utc + duration, practitioner, room))
    return slots


def _quarter_hours(
    day: date, hours: WorkingHours, duration: timedelta, zone: tzinfo
) -> Iterator[datetime]:
    """The quarter hours of the wall clock (as UTC instants) in one stretch of hours at which
    an appointment of `duration` fits, leaving out the times the clocks skip."""
    start = datetime.combine(day, hours.starts_at, tzinfo=zone)
    close = datetime.combine(day, hours.ends_at, tzinfo=zone)
    if start.utcoffset() == close.utcoffset():
        # The clocks do not change inside these hours (they change at night): step in UTC,
        # without a time-zone conversion per quarter hour.
        starts_utc, last = start.astimezone(UTC), close.astimezone(UTC) - duration
        while starts_utc <= last:
            yield starts_utc
            starts_utc += SLOT_STEP
        return
    while start + duration <= close:
        if exists_on_wall_clock(start):
            yield start.astimezone(UTC)
        start += SLOT_STEP


def _first_free_room(
    rooms: list[Room], busy: _BusySpans, starts_at: datetime, until: datetime
) -> Room | None:
    return next(
        (r for r in rooms if not busy.rooms.get(r.pk, NO_SPANS).clash(starts_at, until)), None
    )


def exists_on_wall_clock(moment: datetime) -> bool:
    """False for the local times skipped when clocks go forward (e.g. 01:30 in London)."""
    round_trip = moment.astimezone(UTC).astimezone(moment.tzinfo)
    return round_trip.replace(tzinfo=None) == moment.replace(tzinfo=None)


def day_bounds(day: date, location: Location) -> tuple[datetime, datetime]:
    """The UTC instants a local calendar day starts and ends (23 or 25 hours apart on DST days)."""
    zone = location.zone
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)
