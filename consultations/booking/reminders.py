"""Email reminders before appointments, sent by a background task (django-tasks).

`schedule_reminder` is called by the booking service once a booking or a move
has committed. It queues `send_appointment_reminder` to run
`REMINDER_HOURS_BEFORE` hours before the start:

- with the database backend (production) the task waits in the database and
  the worker (`python manage.py db_worker`) runs it when it is due;
- with the immediate backend (development, which cannot defer) it runs at once,
  so the reminder shows on the console as soon as the appointment is booked.

The task reads the appointment again when it runs and sends nothing if it is no
longer booked (cancelled, no-show, already arrived), if it was moved since the
reminder was queued (the move queued its own), if it has already started, or if
the patient has no email address or does not want reminders by email.

The email says where and when, and how to cancel: nothing about the treatment.
A follow-up review is named as the review it is ("your 3-month review"), as in
the calendar and the feed, so the patient knows which one is due.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone
from django_tasks import task

from consultations.models import Appointment, AppointmentKind, AppointmentStatus

logger = logging.getLogger(__name__)


def reminder_due_at(starts_at: datetime) -> datetime:
    """When the reminder for an appointment starting then goes out."""
    return starts_at - timedelta(hours=settings.REMINDER_HOURS_BEFORE)


def schedule_reminder(*, appointment: Appointment) -> None:
    """Queue the reminder for the appointment at its current start time.

    Call it after the booking or the move has committed (inside
    `transaction.on_commit`), so the task never sees an uncommitted row.
    """
    reminder = send_appointment_reminder
    if reminder.get_backend().supports_defer:
        reminder = reminder.using(run_after=reminder_due_at(appointment.starts_at))
    reminder.enqueue(
        appointment_id=appointment.pk,
        starts_at=appointment.starts_at.isoformat(),
        queued_at=timezone.now().isoformat(),
    )


def local_when(appointment: Appointment) -> str:
    """The start as people at the location write it: "Tuesday 3 March 2026 at 14:30"."""
    local = timezone.localtime(appointment.starts_at, appointment.location.zone)
    if appointment.location.writes_month_first:
        hour = local.hour % 12 or 12
        return (
            f"{local:%A}, {local:%B} {local.day}, {local.year} "
            f"at {hour}:{local:%M} {'AM' if local.hour < 12 else 'PM'}"
        )
    return f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M}"


def reminder_email(appointment: Appointment) -> tuple[str, str]:
    """Subject and plain-text body of the reminder."""
    location = appointment.location
    patient = appointment.booked_patient
    when = local_when(appointment)
    zone_name = timezone.localtime(appointment.starts_at, location.zone).tzname()
    address = "\n".join(line.strip() for line in location.address.splitlines() if line.strip())
    what = "appointment"
    if appointment.appointment_type.kind == AppointmentKind.REVIEW:
        what = appointment.appointment_type.name
        what = what[0].lower() + what[1:] if what[:1].isupper() and what[1:2].islower() else what
    subject = f"Your {what} at {location.name} on {when}"
    body = (
        f"Dear {patient.preferred_name or patient.first_name},\n\n"
        f"This is a reminder of your {what} at {location.name} on {when} "
        f"({zone_name}, local time at the clinic).\n\n"
        f"Where:\n{location.name}\n{address}\n\n"
        f"Phone: {location.phone}\n\n"
        "If you cannot come, or would like another time, please call the clinic "
        f"on {location.phone} to cancel or rebook.\n\n"
        f"{location.name}\n"
    )
    return " ".join(subject.split()), body


def _moved_since(appointment: Appointment, queued_at: datetime) -> bool:
    """Whether the start changed after the reminder was queued (even if moved back)."""
    return (
        appointment.history.filter(history_date__gt=queued_at)
        .exclude(starts_at=appointment.starts_at)
        .exists()
    )


@task()
def send_appointment_reminder(*, appointment_id: int, starts_at: str, queued_at: str) -> str:
    """Send the reminder if the appointment still stands as it was when it was queued.

    Returns what happened, in a word or two (kept with the task's result).
    """
    appointment = (
        Appointment.objects.select_related("patient", "location", "appointment_type")
        .filter(pk=appointment_id)
        .first()
    )
    if appointment is None:
        outcome = "no such appointment"
    elif appointment.status != AppointmentStatus.BOOKED or appointment.patient is None:
        outcome = f"not sent: {appointment.status}"
    elif appointment.starts_at != datetime.fromisoformat(starts_at) or _moved_since(
        appointment, datetime.fromisoformat(queued_at)
    ):
        outcome = "not sent: moved"
    elif appointment.starts_at <= timezone.now():
        outcome = "not sent: already started"
    elif not (appointment.patient.contact_by_email and appointment.patient.email):
        outcome = "not sent: no email reminders"
    else:
        subject, body = reminder_email(appointment)
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [appointment.patient.email])
        outcome = "sent"
    logger.info("Reminder for appointment %s: %s", appointment_id, outcome)
    return outcome
