"""The patient's page for one booking, opened from the link in a reminder (LinkPurpose.BOOKING).

It shows what the patient needs to turn up (the clinic, the local date and time, the kind
of appointment, the address and phone) and nothing clinical, and offers three answers:
"I'll be there", "Cancel" (a reason if they wish) and "Move to another time" (the free
times of the same practitioner for the same type, from the one slot finder). Each goes
through the booking service as the anonymous patient, so the rules and the audit trail
are those of the desk; inside PATIENT_CANCEL_NOTICE_HOURS of the start, cancelling and
moving are refused with the clinic's phone number.

The link is not single use: the patient may come back to it until the appointment starts.
consultations.patient_links opens the link and rate-limits the page; the page is
registered for its purpose from ConsultationsConfig.ready.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone

from clinic.actors import Actor
from consultations.booking import services as booking
from consultations.booking.reminders import local_when
from consultations.models import Appointment, AppointmentStatus, PatientLink
from consultations.views.patient_links import public_page

TEMPLATE = "public/booking.html"
# How many free times the patient is offered to move to.
MOVE_CHOICES = 8
# What the page says after an answer (the address names the answer, never free text).
DONE = {
    "confirmed": "Thank you: we look forward to seeing you.",
    "cancelled": "Your appointment is cancelled. Call us whenever you would like a new one.",
    "moved": "Your appointment is moved to the new time below.",
}
REASON_MAX_LENGTH = 150  # the cancellation reason is kept with a prefix in 200 characters


class CancelForm(forms.Form):
    reason = forms.CharField(
        label="Reason (optional)", required=False, max_length=REASON_MAX_LENGTH, strip=True
    )

    def clean_reason(self) -> str:
        reason: str = self.cleaned_data["reason"]
        if "\x00" in reason:
            raise ValidationError("Write the reason as plain text.")
        return " ".join(reason.split())


def offered_slots(appointment: Appointment) -> list[booking.Slot]:
    """Free times with the same practitioner for the same type, from the end of the notice
    period on (a time the patient picks here is one they could still change here)."""
    notice = timedelta(hours=settings.PATIENT_CANCEL_NOTICE_HOURS)
    return booking.next_free_slots(
        appointment_type=appointment.appointment_type,
        location=appointment.location,
        practitioner=appointment.practitioner,
        after=timezone.now() + notice,
        limit=MOVE_CHOICES,
        patient=appointment.patient,
        ignore=appointment,
    )


def _slot_value(slot: booking.Slot) -> str:
    return slot.starts_at.isoformat()


def _render(
    request: HttpRequest,
    link: PatientLink,
    appointment: Appointment,
    *,
    status: int = 200,
    error: str = "",
    choosing: bool = False,
    cancel_form: CancelForm | None = None,
) -> HttpResponse:
    location = appointment.location
    open_for_answers = appointment.status == AppointmentStatus.BOOKED
    refusal = booking.patient_notice_problem(appointment) if open_for_answers else None
    slots = offered_slots(appointment) if choosing and open_for_answers and not refusal else []
    local = timezone.localtime(appointment.starts_at, location.zone)
    context = {
        "location": location,
        "first_name": link.patient.preferred_name or link.patient.first_name,
        "appointment": appointment,
        "when": local_when(appointment),
        "zone_name": local.tzname(),
        "address_lines": [line.strip() for line in location.address.splitlines() if line.strip()],
        "open_for_answers": open_for_answers and appointment.starts_at > timezone.now(),
        "refusal": refusal,
        "error": error,
        "choosing": choosing,
        "slots": [(_slot_value(slot), _slot_words(appointment, slot.starts_at)) for slot in slots],
        "cancel_form": cancel_form or CancelForm(),
        "done": DONE.get(request.GET.get("done", "")) if request.method == "GET" else "",
    }
    return public_page(request, TEMPLATE, context, status=status)


def _slot_words(appointment: Appointment, starts_at: datetime) -> str:
    moved = Appointment(starts_at=starts_at, location=appointment.location)
    return local_when(moved)


def booking_page(request: HttpRequest, link: PatientLink, actor: Actor) -> HttpResponse:
    """GET: the booking and its answers (`?move=1`: the free times). POST `answer`:
    confirm, cancel (with `reason`) or move (with `starts_at`, one of the offered times)."""
    appointment = (
        Appointment.objects.select_related("location", "appointment_type", "practitioner")
        .filter(pk=link.appointment_id or 0, patient_id=link.patient_id)
        .first()
    )
    if appointment is None:
        return public_page(
            request, "public/link_stopped.html", {"location": link.location}, status=410
        )
    if request.method != "POST":
        return _render(request, link, appointment, choosing=request.GET.get("move") == "1")
    answer = request.POST.get("answer")
    try:
        if answer == "confirm":
            booking.confirm_attendance(appointment=appointment, actor=actor)
            message = "confirmed"
        elif answer == "cancel":
            form = CancelForm(request.POST)
            if not form.is_valid():
                return _render(request, link, appointment, status=400, cancel_form=form)
            reason = form.cleaned_data["reason"]
            booking.cancel_appointment(
                appointment=appointment,
                reason=f"By the patient: {reason}" if reason else "By the patient",
                by_patient=True,
                actor=actor,
            )
            message = "cancelled"
        elif answer == "move":
            _move(appointment, request.POST.get("starts_at"), actor)
            message = "moved"
        else:
            return _render(request, link, appointment, status=400, error="Choose an answer.")
    except ValidationError as error:
        return _render(
            request,
            link,
            appointment,
            status=400,
            error=" ".join(error.messages),
            choosing=answer == "move",  # the times to choose from instead
        )
    except booking.SlotUnavailable as error:
        return _render(request, link, appointment, status=409, error=error.message, choosing=True)
    url = request.path + f"?done={message}"
    return redirect(url)


def _move(appointment: Appointment, value: str | None, actor: Actor) -> None:
    """Move to `value`, which must be one of the times the page offers now."""
    if problem := booking.patient_notice_problem(appointment):
        raise ValidationError(problem)
    offered = {_slot_value(slot): slot for slot in offered_slots(appointment)}
    slot = offered.get(value or "")
    if slot is None:
        raise ValidationError("That time is not free any more; choose one of the times below.")
    booking.reschedule_appointment(
        appointment=appointment, starts_at=slot.starts_at, by_patient=True, actor=actor
    )
