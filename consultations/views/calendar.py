"""The calendar (a day by practitioner or room, a practitioner's week), booking and moving.

Every booking and move goes through consultations.booking; times arrive and
leave as the current location's wall clock and are stored in UTC.
"""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinic.access import get_for_user_or_404
from clinic.actors import Actor
from clinic.form_errors import add_service_error
from clinic.json_api import BadJsonBody, json_error, read_json_body
from clinic.locations import current_location
from clinic.models import Location, Room, StaffMember
from clinic.permissions import require_permission
from clinic.roles import Role
from clinic.signed_in import SignedInRequest
from consultations import selectors
from consultations.booking import schedule
from consultations.booking import services as booking
from consultations.booking.forms import (
    MAX_INPUT_LENGTH,
    MAX_MOVE_BODY_BYTES,
    BadMove,
    BookingForm,
    booking_prefill,
    default_appointment_type,
    local_iso,
    make_local,
    parse_move,
)
from consultations.models import Appointment, AppointmentKind, AppointmentType, Patient

# How far from today the calendar goes (further dates are refused as typos).
CALENDAR_REACH = timedelta(days=10 * 366)


def _location(request: HttpRequest) -> Location:
    location = current_location(request)
    if location is None:
        raise Http404("You are not set up at any location yet: ask a clinic manager.")
    return location


def _is_partial(request: HttpRequest) -> bool:
    """An htmx navigation asks for the calendar region alone; a history restore wants the page."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def _chosen_day(request: HttpRequest, location: Location) -> tuple[date, str]:
    """The ?date= asked for (local to the location), else today; and an error to show, if any."""
    today = timezone.localtime(timezone.now(), location.zone).date()
    text = request.GET.get("date", "").strip()
    if not text:
        return today, ""
    try:
        day = date.fromisoformat(text[:10]) if len(text) <= 10 else None
    except ValueError:
        day = None
    if day is None or abs(day - today) > CALENDAR_REACH:
        return today, f"“{text[:20]}” is not a date the calendar can show: here is today."
    return day, ""


def _render_calendar(request, page: str, partial: str, context: dict, status: int):
    template = partial if _is_partial(request) else page
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request", "HX-History-Restore-Request"])
    return response


def _calendar_url(name: str, **params) -> str:
    query = urlencode({key: value for key, value in params.items() if value not in (None, "")})
    return reverse(name) + (f"?{query}" if query else "")


@require_permission("clinic.manage_bookings")
@require_GET
def day_view(request: HttpRequest) -> HttpResponse:
    """One day at the current location: a column per practitioner working (or per room)."""
    location = _location(request)
    day, error = _chosen_day(request, location)
    by = schedule.By.ROOM if request.GET.get("by") == "room" else schedule.By.PRACTITIONER
    day_schedule = schedule.day_schedule(location=location, day=day, by=by)
    now = day_schedule.now  # always set by day_schedule
    today = now.date() if now else timezone.localdate(timezone=location.zone)

    def day_url(target: date, view_by: str = by) -> str:
        return _calendar_url(
            "consultations:calendar_day",
            date=target.isoformat(),
            by="room" if view_by == schedule.By.ROOM else "",
        )

    context = {
        "schedule": day_schedule,
        "day": day,
        "by": by,
        "is_today": day == today,
        "error": error,
        "today_url": day_url(today),
        "previous_url": day_url(day - timedelta(days=1)),
        "next_url": day_url(day + timedelta(days=1)),
        "by_practitioner_url": day_url(day, schedule.By.PRACTITIONER),
        "by_room_url": day_url(day, schedule.By.ROOM),
        "self_url": day_url(day),
        "week_url": reverse("consultations:calendar_week"),
        "grid_label": f"Appointments on {day:%A} {day.day} {day:%B %Y}",
    }
    return _render_calendar(
        request,
        "consultations/calendar/day.html",
        "consultations/calendar/_day.html",
        context,
        400 if error else 200,
    )


def _week_practitioner(
    request: HttpRequest, staff: list[StaffMember], working: set[int]
) -> StaffMember | None:
    """The ?practitioner= asked for (404 unless they work here), else the user, else the
    first who works that week at the location (`working`), else the first."""
    wanted = request.GET.get("practitioner", "").strip()
    if wanted:
        if not wanted.isascii() or not wanted.isdigit():
            raise Http404("No such practitioner.")
        chosen = next((member for member in staff if member.pk == int(wanted)), None)
        if chosen is None:
            raise Http404("That practitioner does not work at this location.")
        return chosen
    me = getattr(request.user, "staff", None)
    if me is not None and me.role == Role.PRACTITIONER:
        mine = next((member for member in staff if member.pk == me.pk), None)
        if mine is not None:
            return mine
    first_working = next((member for member in staff if member.pk in working), None)
    return first_working or (staff[0] if staff else None)


@require_permission("clinic.manage_bookings")
@require_GET
def week_view(request: HttpRequest) -> HttpResponse:
    """One practitioner's week (Monday to Sunday) at the current location."""
    location = _location(request)
    day, error = _chosen_day(request, location)
    staff = schedule.practitioners_at(location)
    monday = schedule.week_start(day)
    practitioner = _week_practitioner(request, staff, schedule.working_that_week(location, monday))
    week_schedule = None
    today = timezone.localtime(timezone.now(), location.zone).date()
    if practitioner is not None:
        week_schedule = schedule.week_schedule(
            location=location, practitioner=practitioner, day=day
        )

    def week_url(target: date) -> str:
        return _calendar_url(
            "consultations:calendar_week",
            practitioner=practitioner.pk if practitioner else "",
            date=target.isoformat(),
        )

    context = {
        "schedule": week_schedule,
        "practitioner": practitioner,
        "practitioners": staff,
        "monday": monday,
        "sunday": monday + timedelta(days=6),
        "day": day,
        "is_this_week": schedule.week_start(today) == monday,
        "error": error,
        "today_url": week_url(today),
        "previous_url": week_url(monday - timedelta(days=7)),
        "next_url": week_url(monday + timedelta(days=7)),
        "self_url": week_url(day),
        "day_url": reverse("consultations:calendar_day"),
        "location": location,
        "grid_label": f"{practitioner}'s week from {monday:%A} {monday.day} {monday:%B %Y}",
    }
    return _render_calendar(
        request,
        "consultations/calendar/week.html",
        "consultations/calendar/_week.html",
        context,
        400 if error else 200,
    )


# -- booking -------------------------------------------------------------------------------


def _slot_choice(slot: booking.Slot, location: Location) -> dict:
    start = slot.local_start(location)
    return {
        "starts_at": local_iso(slot.starts_at, location.zone),
        "practitioner": str(slot.practitioner),
        "practitioner_id": slot.practitioner.pk,
        "room": slot.room.name if slot.room else None,
        "room_id": slot.room.pk if slot.room else None,
        "label": f"{start:%a} {start.day} {start:%b}, {start:%H:%M} with {slot.practitioner}"
        + (f", {slot.room.name}" if slot.room else ""),
        "value": f"{slot.practitioner.pk}|{local_iso(slot.starts_at, location.zone)}|"
        + (str(slot.room.pk) if slot.room else ""),
    }


def _pick(queryset, value):
    """The object of `queryset` whose pk is `value` (text from a request), else None."""
    value = str(value or "").strip()
    if not value.isascii() or not value.isdigit():
        return None
    return queryset.filter(pk=int(value)).first()


def _chosen_slot(data):
    """Apply a one-click choice among the next free slots ("practitioner|start|room")."""
    choice = data.get("slot", "")
    if not choice:
        return data
    parts = choice.split("|")
    if len(parts) != 3:
        return data
    data = data.copy()
    data["practitioner"], data["starts_at"], data["room"] = parts
    return data


def _next_available(location: Location, data, patient: Patient | None) -> tuple[list, str]:
    """The next free slots for the chosen type and practitioner, as prefill links."""
    kind = _pick(AppointmentType.objects.filter(is_active=True), data.get("appointment_type"))
    kind = kind or default_appointment_type()
    if kind is None:
        return [], ""
    practitioner = _pick(StaffMember.objects.practitioners_at(location), data.get("practitioner"))
    slots = booking.next_free_slots(
        appointment_type=kind, location=location, practitioner=practitioner
    )
    choices = []
    for slot in slots:
        choice = _slot_choice(slot, location)
        choice["url"] = _calendar_url(
            "consultations:appointment_book",
            practitioner=slot.practitioner.pk,
            start=choice["starts_at"],
            room=choice["room_id"],
            type=kind.pk,
            patient=patient.pk if patient else "",
        )
        choices.append(choice)
    who = f" with {practitioner}" if practitioner else ""
    return choices, f"{kind.name}{who}"


def _register_url(location: Location, hints) -> str:
    """Registration, carrying the slot chosen so far back to this form once the patient exists.

    Without JavaScript the link carries the slot the page was opened with; the booking
    form's script keeps it in step with the fields as they change.
    """
    form_names = {
        "practitioner": "practitioner",
        "start": "starts_at",
        "type": "appointment_type",
        "room": "room",
    }
    slot = {"location": str(location.pk)}
    for parameter, name in form_names.items():
        value = str(hints.get(name) or "")
        if value and len(value) <= MAX_INPUT_LENGTH:
            slot[parameter] = value
    return _calendar_url("consultations:patient_create", **slot)


@require_permission("clinic.manage_bookings")
@require_http_methods(["GET", "POST"])
def appointment_book(request: SignedInRequest) -> HttpResponse:
    """Book an appointment; a taken slot answers 409 with the next free ones, saving nothing."""
    location = _location(request)
    status = 200
    conflict = None
    problems: list[str] = []
    if request.method == "POST":
        data = _chosen_slot(request.POST)
        form = BookingForm(data, location=location)
        patient = None
        status = 400
        if form.is_valid():
            patient = form.cleaned_data["patient"]
            try:
                appointment = booking.book_appointment(
                    **form.booking_arguments(),
                    actor=Actor.from_request(request),
                )
            except booking.SlotUnavailable as error:
                status = 409
                conflict = {
                    "message": error.message,
                    "slots": [_slot_choice(slot, location) for slot in error.next_slots],
                }
            except ValidationError as error:
                add_service_error(form, error)
            else:
                start = timezone.localtime(appointment.starts_at, location.zone)
                messages.success(
                    request,
                    f"Booked {appointment.appointment_type} for {patient.full_name} with "
                    f"{appointment.practitioner} on {start:%a} {start.day} {start:%b} at "
                    f"{start:%H:%M}."
                    + (
                        " Send the forms before the visit from its appointment page."
                        if appointment.appointment_type.kind == AppointmentKind.CONSULTATION
                        else ""
                    ),
                )
                return redirect(
                    _calendar_url("consultations:calendar_day", date=start.date().isoformat())
                )
        elif "patient" in form.cleaned_data:
            patient = form.cleaned_data["patient"]
        hints = data
    else:
        prefill = booking_prefill(request.GET, location=location, user=request.user)
        form = BookingForm(initial=prefill.initial, location=location)
        patient, problems, hints = prefill.patient, prefill.problems, prefill.initial
        status = 400 if problems else 200
    next_slots, next_for = _next_available(location, hints, patient)
    return render(
        request,
        "consultations/calendar/book.html",
        {
            "form": form,
            "location": location,
            "patient": patient,
            "conflict": conflict,
            "problems": problems,
            "register_url": _register_url(location, hints),
            "lookup_url": reverse("consultations:appointment_patient_lookup"),
            "next_slots": next_slots,
            "next_for": next_for,
            "calendar_url": _calendar_url(
                "consultations:calendar_day",
                date=(
                    form.cleaned_data["starts_at"].date().isoformat()
                    if form.is_bound and form.cleaned_data.get("starts_at")
                    else ""
                ),
            ),
        },
        status=status,
    )


# What the booking form's type-ahead shows: a short list, and queries no longer than the
# patient list's search box takes.
LOOKUP_LIMIT = 8
LOOKUP_MAX_LENGTH = 100
LOOKUP_HINT = "Type at least two letters or digits of a name, record number, date or phone."


def _masked_phone(patient: Patient) -> str:
    """The phone's last three digits: enough to tell two namesakes apart at the desk."""
    digits = patient.phone_digits
    return f"ending {digits[-3:]}" if len(digits) >= 3 else ""


@require_permission("clinic.manage_bookings")
@require_GET
def appointment_patient_lookup(request: SignedInRequest) -> JsonResponse:
    """The booking form's type-ahead: patients matching ?q=, the patient list's own search.

    Answers JSON: {"patients": [{id, record_number, name, date_of_birth, phone}], "message"},
    or 400 with {"error"} for a query it cannot take. Only what the desk may see:
    no address, no email, the phone masked.
    """
    query = request.GET.get("q", "")
    if len(query) > LOOKUP_MAX_LENGTH:
        return json_error(f"Type at most {LOOKUP_MAX_LENGTH} characters to find a patient.")
    if sum(1 for ch in query if ch.isalnum()) < 2:
        return JsonResponse({"patients": [], "message": LOOKUP_HINT})
    found = selectors.search_patients(
        query=query, location=current_location(request), limit=LOOKUP_LIMIT
    )
    reachable = set(
        Patient.objects.for_user(request.user)
        .filter(pk__in=[patient.pk for patient in found])
        .values_list("pk", flat=True)
    )
    patients = [
        {
            "id": patient.pk,
            "record_number": patient.record_number,
            "name": patient.display_name,
            "date_of_birth": f"{patient.date_of_birth.day} {patient.date_of_birth:%b %Y}",
            "phone": _masked_phone(patient),
        }
        for patient in found
        if patient.pk in reachable
    ]
    if not patients:
        message = "No patient matches. Check the spelling, or register a new patient."
    elif len(patients) == 1:
        message = "1 patient matches."
    else:
        more = " or more" if len(patients) == LOOKUP_LIMIT else ""
        message = f"{len(patients)}{more} patients match."
    return JsonResponse({"patients": patients, "message": message})


# -- moving (the calendar's drag and drop) -------------------------------------------------


@require_permission("clinic.manage_bookings")
@require_POST
def appointment_move(request: SignedInRequest, pk: int) -> JsonResponse:
    """Move a booked appointment (the calendar's drag and drop), answering JSON.

    Body: {"starts_at": "2026-12-01T10:15" (local wall clock), "practitioner": id, "room": id}.
    """
    location = _location(request)
    try:
        move = parse_move(read_json_body(request, max_bytes=MAX_MOVE_BODY_BYTES))
    except (BadJsonBody, BadMove) as error:
        return json_error(str(error))

    # Only an appointment at the current location: the body's time is its wall clock.
    appointment = get_for_user_or_404(
        Appointment.objects.select_related(
            "patient", "appointment_type", "practitioner__user", "room", "location"
        ),
        request.user,
        pk=pk,
        location=location,
    )
    practitioner = None
    if move.practitioner_id is not None:
        practitioner = (
            StaffMember.objects.practitioners_at(location).filter(pk=move.practitioner_id).first()
        )
        if practitioner is None:
            return json_error("That practitioner does not work at this location.")
    room = None
    if move.room_id is not None:
        room = Room.objects.filter(pk=move.room_id, location=location, is_active=True).first()
        if room is None:
            return json_error("That room is not in use at this location.")
    try:
        starts_at = make_local(move.starts_at, location.zone)
        moved = booking.reschedule_appointment(
            appointment=appointment,
            starts_at=starts_at,
            practitioner=practitioner,
            room=room,
            actor=Actor.from_request(request),
        )
    except booking.SlotUnavailable as error:
        return json_error(
            error.message,
            status=409,
            next_slots=[
                {
                    key: value
                    for key, value in _slot_choice(slot, location).items()
                    if key != "value"
                }
                for slot in error.next_slots
            ],
        )
    except ValidationError as error:
        return json_error(" ".join(error.messages))
    start = timezone.localtime(moved.starts_at, location.zone)
    return JsonResponse(
        {
            "ok": True,
            "starts_at": local_iso(moved.starts_at, location.zone),
            "message": f"Moved {moved.booked_patient.full_name}'s {moved.appointment_type} to "
            f"{start:%a} {start.day} {start:%b} at {start:%H:%M} with {moved.practitioner}.",
        }
    )
