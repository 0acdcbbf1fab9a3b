"""The public online booking page of a location: no account, no staff navigation.

/book/<location>/ exists only where the manager turned online booking on. The patient
answers the screening rules' online questions, chooses a consultation and a free time
(the desk's slot finder), the time is held for a few minutes while they give their
details, and the booking is made (consultations.booking.online).

Nothing on these pages names anyone but what the patient typed themselves. The steps are
linked by signed values, not by a session: an eligibility pass (the questions were
answered) and the hold's own signed reference, so a tampered value is refused and any
app server can answer any step.
"""

from __future__ import annotations

from contextlib import suppress
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinic.actors import Actor
from clinic.client_address import client_address
from clinic.models import Location
from consultations.booking import online
from consultations.booking import services as booking
from consultations.booking.online_forms import (
    DetailsForm,
    EligibilityForm,
    HoldForm,
    TypeForm,
    consultation_types,
)
from consultations.models import Appointment, AppointmentStatus, AppointmentType
from consultations.screening.rules import online_eligibility_problems
from consultations.views.patient_links import LIMIT_WINDOW, within_public_limits

ELIGIBLE_SALT = "consultations.online-booking.eligible"
HOLD_SALT = "consultations.online-booking.hold"
PASS_MAX_AGE = 2 * 60 * 60  # the questions are asked again after two hours
HOLD_LINK_MAX_AGE = 7 * 24 * 60 * 60  # the confirmation page stays readable a week
SLOTS_SHOWN = 12


class TooManyRequests(Exception):
    pass


def _location_or_404(request: HttpRequest, location_id: int) -> Location:
    """The location, if it takes bookings online; each request counts against the address's
    limit for the public pages (shared with the patient links' pages)."""
    location = Location.objects.filter(pk=location_id, online_booking=True, is_active=True).first()
    if location is None:
        raise Http404("No online booking here.")
    if not within_public_limits(request):
        raise TooManyRequests
    return location


def public(view):
    """The online booking pages' frame: no sign-in, and too many requests answered 429."""

    @wraps(view)
    def wrapped(request: HttpRequest, location_id: int, *args: Any, **kwargs: Any):
        try:
            return view(request, location_id, *args, **kwargs)
        except TooManyRequests:
            location = Location.objects.get(pk=location_id)
            response = _refused(request, location, TOO_MANY, status=429)
            response["Retry-After"] = str(int(LIMIT_WINDOW.total_seconds()))
            return response

    return login_not_required(wrapped)


def _render(
    request: HttpRequest, template: str, location: Location, context: dict[str, Any], status=200
) -> HttpResponse:
    with timezone.override(location.zone):
        response = render(
            request,
            f"consultations/online/{template}",
            {"location": location, **context},
            status=status,
        )
    response["Cache-Control"] = "no-store, private"
    response["X-Robots-Tag"] = "noindex"
    return response


def _refused(request: HttpRequest, location: Location, message: str, status: int) -> HttpResponse:
    return _render(request, "refused.html", location, {"message": message}, status=status)


def eligibility_pass(location: Location) -> str:
    return signing.dumps({"l": location.pk}, salt=ELIGIBLE_SALT, compress=True)


def _pass_is_valid(value: str, location: Location) -> bool:
    try:
        data = signing.loads(value, salt=ELIGIBLE_SALT, max_age=PASS_MAX_AGE)
    except signing.BadSignature:
        return False
    return isinstance(data, dict) and data.get("l") == location.pk


def hold_reference(hold: Appointment) -> str:
    return signing.dumps({"h": hold.pk, "l": hold.location_id}, salt=HOLD_SALT, compress=True)


def _hold_for(reference: str, location: Location) -> Appointment:
    """The hold a signed reference names at this location, else 404."""
    try:
        data = signing.loads(reference, salt=HOLD_SALT, max_age=HOLD_LINK_MAX_AGE)
    except signing.BadSignature:
        raise Http404("No such booking.") from None
    if not isinstance(data, dict) or data.get("l") != location.pk:
        raise Http404("No such booking.")
    pk = data.get("h")
    if not isinstance(pk, int):
        raise Http404("No such booking.")
    hold = (
        Appointment.objects.select_related("appointment_type", "practitioner__user", "location")
        .filter(pk=pk, location=location)
        .first()
    )
    if hold is None:
        raise Http404("No such booking.")
    return hold


TOO_MANY = (
    "Too many bookings have been started from here in a short time. Please try again later, "
    "or call the clinic."
)
NOT_SENT = "The form could not be sent. Please call the clinic to book."


@public
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest, location_id: int) -> HttpResponse:
    """Step 1: the questions that decide whether the patient may book online."""
    location = _location_or_404(request, location_id)
    form = EligibilityForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if form.is_bot():
            return _refused(request, location, NOT_SENT, status=400)
        problems = online_eligibility_problems(form.answers(), jurisdiction=location.jurisdiction)
        if problems:
            return _render(request, "not_eligible.html", location, {"problems": problems})
        query = f"?go={eligibility_pass(location)}"
        return redirect(reverse("online_booking:times", args=[location.pk]) + query)
    status = 400 if request.method == "POST" else 200
    return _render(request, "start.html", location, {"form": form}, status=status)


def _times_context(
    location: Location, appointment_type: AppointmentType, slots: list[booking.Slot]
) -> dict[str, Any]:
    return {
        "appointment_type": appointment_type,
        "slots": slots,
        "go": eligibility_pass(location),
    }


@public
@require_GET
def times(request: HttpRequest, location_id: int) -> HttpResponse:
    """Steps 2 and 3: the consultation and its free times (the desk's slot finder)."""
    location = _location_or_404(request, location_id)
    form = TypeForm(request.GET or None)
    if not _pass_is_valid(request.GET.get("go", ""), location):
        return _refused(
            request,
            location,
            "Please answer the questions first: they decide whether you can book online.",
            status=400,
        )
    types = list(consultation_types())
    appointment_type = None
    if request.GET.get("type") is None and len(types) == 1:
        appointment_type = types[0]
    elif form.is_valid():
        appointment_type = form.cleaned_data["type"]
    elif request.GET.get("type") is not None:
        return _render(
            request,
            "times.html",
            location,
            {"types": types, "form": form, "go": request.GET["go"]},
            status=400,
        )
    context: dict[str, Any] = {"types": types, "form": form, "go": request.GET["go"]}
    if appointment_type is not None:
        slots = booking.next_free_slots(
            appointment_type=appointment_type, location=location, limit=SLOTS_SHOWN
        )
        context.update(_times_context(location, appointment_type, slots))
    return _render(request, "times.html", location, context)


@public
@require_POST
def hold(request: HttpRequest, location_id: int) -> HttpResponse:
    """Step 3: the chosen time is held while the patient gives their details."""
    location = _location_or_404(request, location_id)
    form = HoldForm(request.POST, location=location)
    if not form.is_valid():
        return _refused(
            request, location, "That time is not one offered here: choose a time again.", 400
        )
    if form.is_bot():
        return _refused(request, location, NOT_SENT, status=400)
    if not _pass_is_valid(form.cleaned_data["go"], location):
        return _refused(
            request,
            location,
            "Please answer the questions first: they decide whether you can book online.",
            status=400,
        )
    actor = Actor.from_request(request)
    if not online.hold_allowed(client_address(request)):
        return _refused(request, location, TOO_MANY, status=429)
    appointment_type = form.cleaned_data["appointment_type"]
    try:
        held = booking.hold_slot(
            location=location,
            appointment_type=appointment_type,
            practitioner=form.cleaned_data["practitioner"],
            starts_at=form.cleaned_data["starts_at"],
            actor=actor,
        )
    except booking.SlotUnavailable as taken:
        context = _times_context(location, appointment_type, taken.next_slots)
        context.update(taken=taken.message, types=list(consultation_types()))
        return _render(request, "times.html", location, context, status=409)
    except ValidationError as error:
        return _refused(request, location, " ".join(error.messages), status=400)
    return redirect("online_booking:details", location.pk, hold_reference(held))


def _hold_state(hold: Appointment) -> str:
    """ "open" (details still to give), "booked", "waiting" (for the desk) or "gone"."""
    if hold.status == AppointmentStatus.HELD:
        return "waiting" if hold.hold_expires_at is None else "open"
    if hold.status == AppointmentStatus.CANCELLED and hold.patient_id is None:
        return "open" if hold.cancel_reason == booking.EXPIRED_HOLD_REASON else "gone"
    if hold.status == AppointmentStatus.CANCELLED:
        return "gone"
    return "booked"


@public
@require_http_methods(["GET", "POST"])
def details(request: HttpRequest, location_id: int, reference: str) -> HttpResponse:
    """Steps 4 and 5: who is booking; confirming books the held time."""
    location = _location_or_404(request, location_id)
    held = _hold_for(reference, location)
    state = _hold_state(held)
    if state in ("booked", "waiting"):
        return redirect("online_booking:booked", location.pk, reference)
    if state == "gone":
        return _refused(request, location, "This booking was cancelled. Please start again.", 410)
    form = DetailsForm(request.POST if request.method == "POST" else None, location=location)
    expired = held.status != AppointmentStatus.HELD or (
        held.hold_expires_at is not None and held.hold_expires_at <= timezone.now()
    )
    context: dict[str, Any] = {
        "form": form,
        "hold": held,
        "reference": reference,
        "expired": expired,
    }
    if request.method == "GET" or not form.is_valid():
        status = 400 if request.method == "POST" else 200
        return _render(request, "details.html", location, context, status=status)
    if form.is_bot():
        return _refused(request, location, NOT_SENT, status=400)
    actor = Actor.from_request(request)
    data = form.cleaned_data
    problems = online.eligibility_problems_for(
        answers={}, hold=held, date_of_birth=data["date_of_birth"]
    )
    if problems:
        with suppress(ValidationError):  # released meanwhile: nothing to let go
            booking.cancel_appointment(
                appointment=held, reason="Not eligible to book online", actor=actor
            )
        return _render(request, "not_eligible.html", location, {"problems": problems})
    if not online.booking_allowed(
        email=data.get("email") or "", phone=str(data.get("phone") or "")
    ):
        return _refused(request, location, TOO_MANY, status=429)
    try:
        online.submit_online_booking(hold=held, details=data, actor=actor)
    except booking.SlotUnavailable as taken:
        context.update(
            _times_context(location, held.appointment_type, taken.next_slots),
            taken=taken.message,
        )
        return _render(request, "details.html", location, context, status=409)
    except ValidationError as error:
        form.add_error(None, error)
        return _render(request, "details.html", location, context, status=400)
    return redirect("online_booking:booked", location.pk, reference)


@public
@require_GET
def booked(request: HttpRequest, location_id: int, reference: str) -> HttpResponse:
    """The end: booked (a confirmation email is on its way) or with the desk to confirm."""
    location = _location_or_404(request, location_id)
    held = _hold_for(reference, location)
    state = _hold_state(held)
    if state == "open":
        return redirect("online_booking:details", location.pk, reference)
    if state == "gone":
        return _refused(request, location, "This booking was cancelled.", 410)
    return _render(request, "booked.html", location, {"hold": held, "state": state})
