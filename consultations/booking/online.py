"""Online booking: a patient with no account books a consultation on a location's page.

The page (consultations.views.online_booking) asks the screening rules' online questions
first (consultations.screening.rules.online_eligibility_problems), then holds the chosen
slot (booking.services.hold_slot) while the patient types their details, then calls
`submit_online_booking` here:

- details that match an existing patient (the duplicate guard's matching,
  consultations.selectors.find_possible_duplicates) are never merged automatically: an
  OnlineBookingRequest keeps them with the candidates, the hold is kept with no expiry,
  and the front desk decides (`link_online_request`, `register_from_online_request`);
- otherwise the patient is registered through the registration service and the hold
  becomes their booked appointment at once.

A booked online appointment is confirmed by email with an .ics file and a "manage your
booking" patient link (consultations.views.booking_page).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from clinic import rate_limits
from clinic.actors import Actor
from clinic.audit import record_event
from clinic.models import AuditAction
from clinic.text_messages import TextMessageNotSent, send_text_message
from consultations.booking import calendar_files
from consultations.booking import services as booking
from consultations.booking.reminders import local_when
from consultations.models import Appointment, LinkPurpose, OnlineBookingRequest, Patient
from consultations.patient_contact import TEXT, usable_channels
from consultations.patient_links import issue_link
from consultations.screening.rules import Finding, online_eligibility_problems
from consultations.selectors import find_possible_duplicates
from consultations.services import register_patient

logger = logging.getLogger(__name__)

# The details the online form takes: the registration service's fields of the same names.
DETAIL_FIELDS = (
    "first_name",
    "last_name",
    "date_of_birth",
    "sex",
    "email",
    "phone",
    "contact_by_email",
    "contact_by_sms",
)

# Abuse limits of the public page: per client address and per contact (email or phone).
HOLDS_PER_ADDRESS = 10
HOLDS_WINDOW = timedelta(hours=1)
BOOKINGS_PER_CONTACT = 3
BOOKINGS_WINDOW = timedelta(days=1)


def limit_allows(*, key: str, limit: int, window: timedelta) -> bool:
    """Count one use of `key`; whether it stays within `limit` uses per `window`.

    The one place the online booking page asks: the clinic's rate limits, counted in the
    database so every app server shares them (clinic.rate_limits).
    """
    return rate_limits.allow(key=key, limit=limit, window=window)


def hold_allowed(address: str | None) -> bool:
    """At most HOLDS_PER_ADDRESS holds an hour from one client address (the patient's own,
    behind the clinic's proxies: clinic.client_address)."""
    return limit_allows(
        key=f"online-booking:hold:{address or 'unknown'}",
        limit=HOLDS_PER_ADDRESS,
        window=HOLDS_WINDOW,
    )


def booking_allowed(*, email: str, phone: str) -> bool:
    """At most BOOKINGS_PER_CONTACT online bookings a day for one email and one phone."""
    keys = []
    if email.strip():
        keys.append(f"online-booking:email:{email.strip().lower()}")
    if phone:
        keys.append(f"online-booking:phone:{phone}")
    return all(
        limit_allows(key=key, limit=BOOKINGS_PER_CONTACT, window=BOOKINGS_WINDOW) for key in keys
    )


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def eligibility_problems_for(
    *, answers: dict[str, bool], hold: Appointment, date_of_birth: date | None = None
) -> list[Finding]:
    """The online questions' findings at the hold's location (its jurisdiction), with the
    age on the appointment's day once the date of birth is known."""
    location = hold.location
    age = None
    if date_of_birth is not None:
        age = age_on(date_of_birth, timezone.localtime(hold.starts_at, location.zone).date())
    return online_eligibility_problems(answers, jurisdiction=location.jurisdiction, age=age)


@dataclass(frozen=True)
class OnlineBooking:
    """What became of an online booking: booked for a patient, or waiting for the desk."""

    appointment: Appointment
    request: OnlineBookingRequest | None

    @property
    def awaiting_desk(self) -> bool:
        return self.request is not None


def _local(appointment: Appointment):
    return timezone.localtime(appointment.starts_at, appointment.location.zone)


def _stored_details(details: dict[str, Any]) -> dict[str, Any]:
    stored = {name: details.get(name) for name in DETAIL_FIELDS}
    born = stored["date_of_birth"]
    stored["date_of_birth"] = born.isoformat() if isinstance(born, date) else born
    stored["phone"] = str(stored["phone"] or "")
    return stored


def _registration_details(stored: dict[str, Any], hold: Appointment) -> dict[str, Any]:
    details = dict(stored)
    details["date_of_birth"] = date.fromisoformat(stored["date_of_birth"])
    details["preferred_location"] = hold.location
    return details


@transaction.atomic
def submit_online_booking(
    *, hold: Appointment, details: dict[str, Any], actor: Actor
) -> OnlineBooking:
    """Book the held slot for the person described, or pass it to the desk if they may
    already be a patient. Raises SlotUnavailable if the hold expired and its time was
    taken, ValidationError if the hold is no longer one or the details do not register.
    """
    stored = _stored_details(details)
    matches = find_possible_duplicates(
        first_name=stored["first_name"],
        last_name=stored["last_name"],
        date_of_birth=details.get("date_of_birth"),
        phone=stored["phone"],
        email=stored["email"] or "",
    )
    if matches:
        locked = booking.keep_hold(hold=hold, actor=actor, until=None)
        online_request = OnlineBookingRequest.objects.create(appointment=locked, details=stored)
        online_request.candidates.set(matches)
        record_event(
            action=AuditAction.CREATE,
            actor=actor,
            obj=online_request,
            summary=f"Online booking for {_local(locked):%Y-%m-%d %H:%M} matches "
            f"{len(matches)} existing record(s): kept for the front desk",
        )
        return OnlineBooking(locked, online_request)
    # One transaction: if the slot is gone (SlotUnavailable), the new record goes with it.
    patient = register_patient(details=_registration_details(stored, hold), actor=actor)
    appointment = booking.confirm_held_booking(hold=hold, patient=patient, actor=actor)
    transaction.on_commit(lambda: send_confirmation(appointment), robust=True)
    return OnlineBooking(appointment, None)


def _decide(
    online_request: OnlineBookingRequest, patient: Patient, actor: Actor, how: str
) -> Appointment:
    appointment = booking.confirm_held_booking(
        hold=online_request.appointment, patient=patient, actor=actor
    )
    online_request.decided_at = timezone.now()
    online_request.decided_by = actor.user
    online_request.patient = patient
    online_request.save(update_fields=["decided_at", "decided_by", "patient"])
    record_event(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=online_request,
        patient_id=patient.pk,
        summary=f"Online booking {how} {patient.record_number}",
    )
    transaction.on_commit(lambda: send_confirmation(appointment), robust=True)
    return appointment


def _open_request(online_request: OnlineBookingRequest) -> OnlineBookingRequest:
    locked = OnlineBookingRequest.objects.select_for_update().get(pk=online_request.pk)
    if locked.decided_at is not None:
        raise ValidationError("This online booking has already been dealt with.")
    return locked


@transaction.atomic
def link_online_request(
    *, online_request: OnlineBookingRequest, patient: Patient, actor: Actor
) -> Appointment:
    """The desk says the online booking is this existing patient's (one of the matches)."""
    locked = _open_request(online_request)
    if not locked.candidates.filter(pk=patient.pk).exists():
        raise ValidationError({"patient": ["Choose one of the possible matches."]})
    return _decide(locked, patient, actor, "linked to")


@transaction.atomic
def register_from_online_request(
    *, online_request: OnlineBookingRequest, actor: Actor
) -> Appointment:
    """The desk says the person is new: register them from what they typed and book."""
    locked = _open_request(online_request)
    patient = register_patient(
        details=_registration_details(locked.details, locked.appointment), actor=actor
    )
    return _decide(locked, patient, actor, "registered as")


def send_confirmation(appointment: Appointment) -> None:
    """Confirm the booking: by email with the .ics file when the patient gave an email,
    and by text message when they chose texts; each carries their booking link."""
    appointment = Appointment.objects.select_related(
        "patient", "location", "appointment_type", "practitioner__user"
    ).get(pk=appointment.pk)
    patient = appointment.patient
    if patient is None:
        return
    by_text = TEXT in usable_channels(patient)
    if not patient.email and not by_text:
        return
    location = appointment.location
    when = local_when(appointment)
    what = appointment.appointment_type.name.lower()
    # The booking link: this patient, this booking, until it starts.
    manage = issue_link(
        patient=patient,
        purpose=LinkPurpose.BOOKING,
        location=location,
        appointment=appointment,
        actor=Actor.system(),
        valid_for=max(appointment.starts_at - timezone.now(), timedelta(hours=1)),
    )
    notice = settings.PATIENT_CANCEL_NOTICE_HOURS
    if patient.email:
        body = (
            f"Dear {patient.preferred_name or patient.first_name},\n\n"
            f"Your {what} at {location.name} is booked for "
            f"{when} (local time at the clinic), with {appointment.practitioner}.\n\n"
            f"To cancel it or move it to another time, up to {notice} hours before, use this "
            f"link (it is for you alone):\n{manage.url}\n\n"
            f"Later than that, please call us on {location.phone}.\n\n"
            f"{location.name}\n"
        )
        message = EmailMessage(
            subject=" ".join(f"Your booking at {location.name} on {when}".split()),
            body=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[patient.email],
        )
        message.attach("appointment.ics", calendar_files.patient_file(appointment), "text/calendar")
        message.send()
    if by_text:
        text = (
            f"{location.name}: your {what} is booked for {when}. To cancel or move it: "
            f"{manage.url} (up to {notice} hours before; later, call {location.phone})."
        )
        try:
            send_text_message(to=patient.phone.as_e164, body=text)
        except TextMessageNotSent as refusal:
            logger.warning(
                "Online booking %s: confirmation text not sent: %s", appointment.pk, refusal
            )
