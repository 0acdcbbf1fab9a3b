"""Reminders before appointments, by email and by text, sent by a background task (django-tasks).

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
`reminder_channels` finds no way the patient wants and can be reminded. That
function is the one rule for who gets a reminder: the home page's "bookings to
confirm" (consultations.selectors.unconfirmed_bookings) asks it too.

- By email, when the patient chose reminders by email and has an address.
- By text message (clinic.text_messages), when they chose reminders by text, have
  a phone number, and text messages are configured; the "disabled" backend
  means no text goes out, so the desk is asked to call instead.
- Both when both hold.

A refused text (TextMessageNotSent: a bad number, the provider down) does not
stop the email or fail the task: it is logged and kept in the task's result, as
every other outcome of a reminder is (reminders write to the log and the task
result, not to the audit trail; the booking link a reminder carries is on the patient's
audit trail, as every patient link is).

Each reminder carries the patient's booking link (consultations.patient_links, purpose
BOOKING, valid until the appointment starts): "I'll be there", cancel, or move to
another free time, from their phone (consultations.views.booking_page). Issuing it
revokes the link of an earlier reminder for the same booking.

The email says where and when, and how to cancel: nothing about the treatment.
A follow-up review is named as the review it is ("your 3-month review"), as in
the calendar and the feed, so the patient knows which one is due. The text is
shorter and more discreet still, since it shows on a locked phone: the first
name, the clinic, the local date and time and its phone number; any
appointment is an "appointment".
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone
from django_tasks import task

from clinic.actors import Actor
from clinic.text_messages import TextMessageNotSent, send_text_message
from consultations.models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    LinkPurpose,
    Patient,
)
from consultations.patient_contact import EMAIL, TEXT, chosen_channels, usable_channels
from consultations.patient_links import IssuedLink, issue_link

logger = logging.getLogger(__name__)


def reminder_channels(patient: Patient) -> list[str]:
    """How the patient's reminders go out (consultations.patient_contact). The one rule
    for whether a reminder is sent and whether the desk calls instead."""
    return usable_channels(patient)


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


def reminder_email(appointment: Appointment, link_url: str = "") -> tuple[str, str]:
    """Subject and plain-text body of the reminder (with the booking link, if given)."""
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
        + (
            "Please let us know you will come, or cancel or choose another time, here "
            f"(the link is for you alone):\n{link_url}\n\n"
            if link_url
            else ""
        )
        + "If you cannot come, or would like another time, please call the clinic "
        f"on {location.phone} to cancel or rebook.\n\n"
        f"{location.name}\n"
    )
    return " ".join(subject.split()), body


def reminder_text(appointment: Appointment, link_url: str = "") -> str:
    """The text message: who it is for (first name), where, when, the booking link and
    whom to call. At most about 350 characters with the longest names the fields allow
    (a first name of 100, a clinic's name of 120): within the 612 of four joined texts."""
    location = appointment.location
    patient = appointment.booked_patient
    answer = (
        f"Confirm, cancel or move it here: {link_url} or please call {location.phone}."
        if link_url
        else f"To cancel or rebook, please call {location.phone}."
    )
    return " ".join(
        (
            f"{patient.preferred_name or patient.first_name}, a reminder of your appointment "
            f"at {location.name} on {local_when(appointment)}. {answer}"
        ).split()
    )


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
    else:
        outcome = _send(appointment)
    logger.info("Reminder for appointment %s: %s", appointment_id, outcome)
    return outcome


def _send(appointment: Appointment) -> str:
    """Send the reminder by each of the patient's channels; say what went out and what did not."""
    patient = appointment.booked_patient
    channels = reminder_channels(patient)
    sent: list[str] = []
    problems: list[str] = []
    if TEXT in chosen_channels(patient) and TEXT not in channels:
        problems.append("text messages are not configured")
    link_url = _booking_link(appointment).url if channels else ""
    if EMAIL in channels:
        subject, body = reminder_email(appointment, link_url)
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [patient.email])
        sent.append(EMAIL)
    if TEXT in channels:
        try:
            send_text_message(to=patient.phone.as_e164, body=reminder_text(appointment, link_url))
        except TextMessageNotSent as refusal:
            logger.warning("Text reminder for appointment %s: %s", appointment.pk, refusal)
            problems.append(f"text failed: {refusal}")
        else:
            sent.append(TEXT)
    if not sent and not problems:
        return "not sent: no reminders chosen"
    outcome = f"sent by {' and '.join(sent)}" if sent else "not sent"
    return "; ".join([outcome, *problems])


def _booking_link(appointment: Appointment) -> IssuedLink:
    """A new booking link for the reminder, working until the appointment starts."""
    return issue_link(
        patient=appointment.booked_patient,
        purpose=LinkPurpose.BOOKING,
        location=appointment.location,
        appointment=appointment,
        valid_for=appointment.starts_at - timezone.now(),
        actor=Actor.system(),
    )
