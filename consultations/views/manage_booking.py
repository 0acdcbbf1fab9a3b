"""The page of a "manage your booking" link (consultations.patient_links): the patient
cancels their booking or moves it to another free time, up to
ONLINE_BOOKING_CANCEL_NOTICE_HOURS before it starts; later, the page asks them to call.

Opened through /p/<token>/ (consultations.views.patient_links), which has already
checked the link and counted the request against the public pages' limits. The page
names the patient by their first name only. Changes go through the booking service.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from clinic.actors import Actor
from clinic.models import StaffMember
from consultations.booking import services as booking
from consultations.models import Appointment, AppointmentStatus, PatientLink

CANCEL_REASON = "Cancelled by the patient from their booking link"
DONE = {
    "cancelled": "Your booking is cancelled. Thank you for letting us know.",
    "moved": "Your booking is moved to the time below.",
}
SLOTS_SHOWN = 8


class ManageForm(forms.Form):
    action = forms.ChoiceField(choices=[("cancel", "Cancel"), ("move", "Move")])
    starts_at = forms.CharField(required=False, max_length=40)
    practitioner = forms.ModelChoiceField(queryset=StaffMember.objects.none(), required=False)

    def __init__(self, *args, appointment: Appointment, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[  # type: ignore[attr-defined]
            "practitioner"
        ].queryset = StaffMember.objects.practitioners_at(appointment.location)

    def clean_starts_at(self) -> datetime | None:
        text = self.cleaned_data["starts_at"]
        if not text:
            return None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise forms.ValidationError("That is not a time from the list.") from None
        if moment.tzinfo is None or not 1900 < moment.year < 9000:
            raise forms.ValidationError("That is not a time from the list.")
        return moment.astimezone(UTC)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == "move" and not (
            cleaned.get("starts_at") and cleaned.get("practitioner")
        ):
            raise forms.ValidationError("Choose one of the times listed.")
        return cleaned


def notice_ends(appointment: Appointment) -> datetime:
    """From when the patient may no longer change the booking themselves."""
    return appointment.starts_at - timedelta(hours=settings.ONLINE_BOOKING_CANCEL_NOTICE_HOURS)


def _free_times(appointment: Appointment) -> list[booking.Slot]:
    """Other free times for the same consultation, outside the notice period."""
    earliest = timezone.now() + timedelta(hours=settings.ONLINE_BOOKING_CANCEL_NOTICE_HOURS)
    return booking.next_free_slots(
        appointment_type=appointment.appointment_type,
        location=appointment.location,
        after=earliest,
        patient=appointment.patient,
        ignore=appointment,
        limit=SLOTS_SHOWN,
    )


def manage_booking(request: HttpRequest, link: PatientLink, actor: Actor) -> HttpResponse:
    """Show the booking; cancel it or move it, if it is still far enough ahead."""
    appointment = (
        Appointment.objects.select_related("location", "appointment_type", "practitioner__user")
        .filter(links=link)
        .first()
    )
    location = link.location
    context: dict[str, Any] = {"link": link, "location": location, "appointment": appointment}
    status = 200
    changeable = (
        appointment is not None
        and appointment.status == AppointmentStatus.BOOKED
        and timezone.now() < notice_ends(appointment)
    )
    if request.method == "POST":
        status = 400
        if appointment is None or not changeable:
            context["error"] = (
                f"This booking can no longer be changed here. Please call us on {location.phone}."
            )
        else:
            form = ManageForm(request.POST, appointment=appointment)
            if not form.is_valid():
                context["error"] = " ".join(
                    str(message) for messages in form.errors.values() for message in messages
                )
            else:
                status, done = _change(appointment, form.cleaned_data, actor, context)
                if done:
                    # The page again, as a GET: a reload sends nothing twice.
                    return redirect(f"{request.path}?done={done}")
    else:
        context["done"] = DONE.get(request.GET.get("done", ""), "")
    if appointment is not None and changeable:
        context.setdefault("slots", _free_times(appointment))
    context["changeable"] = changeable
    context["notice_hours"] = settings.ONLINE_BOOKING_CANCEL_NOTICE_HOURS
    with timezone.override(location.zone):
        return render(request, "consultations/online/manage.html", context, status=status)


def _change(
    appointment: Appointment, data: dict[str, Any], actor: Actor, context: dict[str, Any]
) -> tuple[int, str]:
    """Cancel or move; the status to answer and what was done ("" for nothing)."""
    try:
        if data["action"] == "cancel":
            booking.cancel_appointment(appointment=appointment, reason=CANCEL_REASON, actor=actor)
            return 200, "cancelled"
        starts_at = data["starts_at"]
        if starts_at < timezone.now() + timedelta(
            hours=settings.ONLINE_BOOKING_CANCEL_NOTICE_HOURS
        ):
            context["error"] = "Choose one of the times listed."
            return 400, ""
        booking.reschedule_appointment(
            appointment=appointment,
            starts_at=starts_at,
            practitioner=data["practitioner"],
            actor=actor,
        )
    except booking.SlotUnavailable as taken:
        context["error"] = f"{taken.message} Here are the next free times."
        context["slots"] = [
            slot
            for slot in taken.next_slots
            if slot.starts_at
            >= timezone.now() + timedelta(hours=settings.ONLINE_BOOKING_CANCEL_NOTICE_HOURS)
        ]
        return 409, ""
    except ValidationError as error:
        context["error"] = " ".join(error.messages)
        return 400, ""
    return 200, "moved"
