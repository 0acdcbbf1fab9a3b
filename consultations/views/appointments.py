"""The day's list, one appointment and its status, moving it, and calendar files.

Every change goes through consultations.booking. Pages show times on the wall
clock of the appointment's location (the templates render under that zone).
"""

import hmac
import re
import secrets
from datetime import datetime, timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotFound
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinic.access import get_for_user_or_404
from clinic.actors import Actor
from clinic.audit import record_event
from clinic.form_errors import add_service_error
from clinic.form_fields import declared_field
from clinic.locations import current_location
from clinic.models import AuditAction, StaffMember
from clinic.permissions import deny, require_permission
from clinic.redirects import safe_next_url
from clinic.roles import Role
from clinic.signed_in import SignedInRequest
from consultations.booking import calendar_files
from consultations.booking import services as booking
from consultations.booking.history import appointment_history
from consultations.models import (
    FREEING_STATUSES,
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    AppointmentStatusChange,
    CalendarFeed,
)

S = AppointmentStatus

# What the button for each next status says, in the order the buttons appear.
ACTIONS = {
    S.ARRIVED: "Check in",
    S.IN_PROGRESS: "Start",
    S.COMPLETED: "Complete",
    S.NO_SHOW: "No-show",
}
DONE = {
    S.ARRIVED: "checked in",
    S.IN_PROGRESS: "started",
    S.COMPLETED: "completed",
    S.NO_SHOW: "marked as a no-show",
    S.CANCELLED: "cancelled",
}
# Starting and completing an appointment is clinical work: practitioners only.
CLINICAL_STATUSES = {S.IN_PROGRESS, S.COMPLETED}
CLINICAL_PERMISSION = "clinic.record_clinical"
# A treatment starts with the treatment-day check and completes with its session
# (treatments:session_start): one "Start", which records the check, not a bare status.
SESSION_STATUSES = {S.IN_PROGRESS, S.COMPLETED}
THROUGH_THE_SESSION = (
    "A treatment is started with the treatment-day check and completed with its session: "
    "use Start on the day's list or Treatment-day check on this page."
)

# What a practitioner's calendar app is shown: appointments that stand.
FEED_STATUSES = [S.BOOKED, S.ARRIVED, S.IN_PROGRESS, S.COMPLETED]
FEED_DAYS_BACK = 30
FEED_DAYS_AHEAD = 180
FEED_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")

LOCAL_INPUT_FORMAT = "%Y-%m-%dT%H:%M"
DAY_LIST_RANGE_DAYS = 3653


def _related(queryset):
    return queryset.select_related(
        "patient", "practitioner__user", "location", "room", "appointment_type"
    )


def _appointment_for(request: HttpRequest, pk: int) -> Appointment:
    """The appointment, if it is at one of the user's locations; else 404."""
    return get_for_user_or_404(_related(Appointment.objects), request.user, pk=pk)


def _actions_for(request: HttpRequest, appointment: Appointment) -> list[tuple[str, str]]:
    """(status, button label) for each status this user may move the appointment to."""
    allowed = booking.NEXT_STATUSES[AppointmentStatus(appointment.status)]
    clinician = request.user.has_perm(CLINICAL_PERMISSION)
    treatment = appointment.appointment_type.kind == AppointmentKind.TREATMENT
    if timezone.now() < appointment.starts_at:
        allowed = allowed - {S.NO_SHOW}  # not yet missed
    return [
        (status.value, label)
        for status, label in ACTIONS.items()
        if status in allowed
        and (clinician or status not in CLINICAL_STATUSES)
        and not (treatment and status in SESSION_STATUSES)
    ]


# What the undo button says for each status the desk may take back the same day.
UNDO_LABELS = {
    S.ARRIVED: "Undo the check-in",
    S.NO_SHOW: "Undo the no-show",
    S.CANCELLED: "Undo the cancellation",
}


def _undo_label(appointment: Appointment) -> str:
    """The undo button's words if the desk may take back today's status change, else ""."""
    if booking.change_to_undo(appointment) is None:
        return ""
    return UNDO_LABELS[AppointmentStatus(appointment.status)]


def _safe_next(request: HttpRequest) -> str | None:
    return safe_next_url(request, request.POST.get("next"))


def _error_messages(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [message for messages_ in error.message_dict.values() for message in messages_]
    return list(error.messages)


# The day's list -------------------------------------------------------------


class DayForm(forms.Form):
    date = forms.DateField(input_formats=["%Y-%m-%d"])

    def clean_date(self):
        day = self.cleaned_data["date"]
        if abs((day - timezone.localdate()).days) > DAY_LIST_RANGE_DAYS:
            raise ValidationError("Choose a day within ten years of today.")
        return day


@require_permission("clinic.manage_bookings")
@require_GET
def day_list(request: HttpRequest) -> HttpResponse:
    location = current_location(request)
    if location is None:
        return render(request, "consultations/appointments/day_list.html", {"location": None})
    today = timezone.localdate(timezone=location.zone)
    day, status, error = today, 200, ""
    if request.GET.get("date"):
        form = DayForm(request.GET)
        if form.is_valid():
            day = form.cleaned_data["date"]
        else:
            status, error = 400, " ".join(str(message) for message in form.errors["date"])
    start, end = booking.day_bounds(day, location)
    appointments = list(
        _related(Appointment.objects)
        # Online holds (no patient yet) are on the calendar, not on the patients' list.
        .filter(location=location, starts_at__gte=start, starts_at__lt=end, patient__isnull=False)
        .prefetch_related(
            Prefetch(
                "status_changes",
                queryset=AppointmentStatusChange.objects.filter(to_status__in=FREEING_STATUSES),
                to_attr="ending_changes",
            )
        )
        .order_by("starts_at", "pk")
    )
    clinician = request.user.has_perm(CLINICAL_PERMISSION)
    context = {
        "location": location,
        "day": day,
        "today": today,
        "previous_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1),
        "appointments": appointments,
        "clinician": clinician,
        "error": error,
        "active_count": sum(1 for a in appointments if a.status not in FREEING_STATUSES),
        "now": timezone.now(),
        "undoable": [status.value for status in UNDO_LABELS],
    }
    with timezone.override(location.zone):
        return render(request, "consultations/appointments/day_list.html", context, status=status)


# One appointment ----------------------------------------------------------------


def _render_detail(
    request: HttpRequest,
    appointment: Appointment,
    *,
    errors: list[str] | None = None,
    reason_error: str = "",
    undo_error: str = "",
    status: int = 200,
) -> HttpResponse:
    history = appointment_history(appointment=appointment)
    context = {
        "appointment": appointment,
        "history": history,
        "undo_label": _undo_label(appointment),
        "undo_error": undo_error,
        "undo_reason": request.POST.get("undo_reason", ""),
        "actions": _actions_for(request, appointment),
        "can_cancel": S.CANCELLED in booking.NEXT_STATUSES[AppointmentStatus(appointment.status)],
        "can_move": appointment.status == S.BOOKED,
        "errors": errors or [],
        "reason_error": reason_error,
        # What was typed as the cancellation reason, to type it again only if need be.
        "reason": request.POST.get("reason", "")
        if request.POST.get("status") == S.CANCELLED
        else "",
    }
    with timezone.override(appointment.location.zone):
        return render(request, "consultations/appointments/detail.html", context, status=status)


@require_permission("clinic.manage_bookings")
@require_GET
def appointment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _appointment_for(request, pk)
    record_event(
        action=AuditAction.VIEW,
        actor=Actor.from_request(request),
        obj=appointment,
        patient_id=appointment.patient_id,
        summary="Opened the appointment",
    )
    return _render_detail(request, appointment)


@require_permission("clinic.manage_bookings")
@require_POST
def appointment_status(request: SignedInRequest, pk: int) -> HttpResponse:
    appointment = _appointment_for(request, pk)
    value = request.POST.get("status", "")
    if value not in S.values:
        return _render_detail(
            request, appointment, errors=["That is not an appointment status."], status=400
        )
    new_status = S(value)
    if new_status in CLINICAL_STATUSES and not request.user.has_perm(CLINICAL_PERMISSION):
        raise deny(request, CLINICAL_PERMISSION)
    treatment = appointment.appointment_type.kind == AppointmentKind.TREATMENT
    if treatment and new_status in SESSION_STATUSES:
        return _render_detail(request, appointment, errors=[THROUGH_THE_SESSION], status=400)
    try:
        booking.set_appointment_status(
            appointment=appointment,
            status=new_status,
            actor=Actor.from_request(request),
            reason=request.POST.get("reason", ""),
        )
    except ValidationError as error:
        reason_error = ""
        if hasattr(error, "error_dict") and "reason" in error.error_dict:
            reason_error = " ".join(error.message_dict["reason"])
        return _render_detail(
            request,
            appointment,
            errors=_error_messages(error),
            reason_error=reason_error,
            status=400,
        )
    messages.success(request, f"{appointment.booked_patient.full_name}: {DONE[new_status]}.")
    return redirect(_safe_next(request) or reverse("consultations:appointment_detail", args=[pk]))


@require_permission("clinic.manage_bookings")
@require_POST
def appointment_undo(request: SignedInRequest, pk: int) -> HttpResponse:
    """Take back today's check-in, no-show or cancellation, with a reason."""
    appointment = _appointment_for(request, pk)
    try:
        booking.undo_appointment_status(
            appointment=appointment,
            reason=request.POST.get("undo_reason", ""),
            actor=Actor.from_request(request),
        )
    except ValidationError as error:
        undo_error = ""
        if hasattr(error, "error_dict") and "reason" in error.error_dict:
            undo_error = " ".join(error.message_dict["reason"])
        return _render_detail(
            request,
            appointment,
            errors=_error_messages(error),
            undo_error=undo_error,
            status=400,
        )
    appointment.refresh_from_db(fields=["status"])
    messages.success(
        request,
        f"{appointment.booked_patient.full_name}: undone, back to "
        f"{appointment.get_status_display().lower()}.",
    )
    return redirect(_safe_next(request) or reverse("consultations:appointment_detail", args=[pk]))


# Moving an appointment without drag and drop ---------------------------------------


class RescheduleForm(forms.Form):
    """A new time on the location's wall clock, and optionally another practitioner there.

    Validate it inside `timezone.override(location.zone)`: the typed time is read
    in the current time zone, which refuses times that the clocks skip or repeat.
    """

    starts_at = forms.DateTimeField(
        label="New date and time",
        input_formats=[LOCAL_INPUT_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": 60}),
    )
    practitioner = forms.ModelChoiceField(
        queryset=StaffMember.objects.none(), required=False, empty_label=None
    )

    def __init__(self, *args, appointment: Appointment, **kwargs):
        super().__init__(*args, **kwargs)
        declared_field(
            self, "practitioner", forms.ModelChoiceField
        ).queryset = StaffMember.objects.practitioners_at(appointment.location)

    def clean_starts_at(self) -> datetime:
        # The booking service judges the time; this only keeps absurd years out of
        # its arithmetic (a year-9999 start would overflow).
        starts_at = self.cleaned_data["starts_at"]
        if starts_at.year < 1900:
            raise ValidationError("This time has passed: choose a later one.")
        if starts_at > timezone.now() + timedelta(days=booking.MAX_DAYS_AHEAD):
            raise ValidationError("That is more than two years ahead.")
        return starts_at


@require_permission("clinic.manage_bookings")
@require_http_methods(["GET", "POST"])
def appointment_reschedule(request: SignedInRequest, pk: int) -> HttpResponse:
    appointment = _appointment_for(request, pk)
    zone = appointment.location.zone
    local_start = timezone.localtime(appointment.starts_at, zone)
    form = RescheduleForm(
        request.POST if request.method == "POST" else None,
        appointment=appointment,
        initial={
            "starts_at": local_start.strftime(LOCAL_INPUT_FORMAT),
            "practitioner": appointment.practitioner_id,
        },
    )
    status, problem, slots = 200, "", []
    if request.method == "POST":
        status = 400
        with timezone.override(zone):
            valid = form.is_valid()
        if valid:
            try:
                moved = booking.reschedule_appointment(
                    appointment=appointment,
                    starts_at=form.cleaned_data["starts_at"],
                    practitioner=form.cleaned_data["practitioner"],
                    actor=Actor.from_request(request),
                )
            except booking.SlotUnavailable as error:
                status, problem = 409, error.message
                slots = [
                    {
                        "value": slot.local_start(appointment.location).strftime(
                            LOCAL_INPUT_FORMAT
                        ),
                        "starts_at": slot.starts_at,
                        "practitioner": slot.practitioner,
                        "room": slot.room,
                    }
                    for slot in error.next_slots
                ]
            except ValidationError as error:
                add_service_error(form, error)
            else:
                when = timezone.localtime(moved.starts_at, zone)
                messages.success(
                    request,
                    f"Moved to {when:%A} {when.day} {when:%B, %H:%M} with {moved.practitioner}.",
                )
                return redirect("consultations:appointment_detail", pk=pk)
    context = {
        "appointment": appointment,
        "form": form,
        "problem": problem,
        "slots": slots,
        "can_move": appointment.status == S.BOOKED,
    }
    with timezone.override(zone):
        return render(request, "consultations/appointments/reschedule.html", context, status=status)


# Calendar files -----------------------------------------------------------------


def _calendar_response(content: str, filename: str, disposition: str) -> HttpResponse:
    response = HttpResponse(content.encode("utf-8"), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response


@require_permission("clinic.manage_bookings")
@require_GET
def appointment_ics(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _appointment_for(request, pk)
    response = _calendar_response(
        calendar_files.appointment_file(appointment), f"appointment-{pk}.ics", "attachment"
    )
    record_event(
        action=AuditAction.EXPORT,
        actor=Actor.from_request(request),
        obj=appointment,
        patient_id=appointment.patient_id,
        summary="Downloaded the appointment as a calendar file (.ics)",
    )
    return response


def _new_token() -> str:
    return secrets.token_urlsafe(32)


@require_permission(CLINICAL_PERMISSION)
@require_http_methods(["GET", "POST"])
def calendar_feed_settings(request: HttpRequest) -> HttpResponse:
    """A practitioner's private calendar address, made on first visit; revoking replaces it."""
    staff = getattr(request.user, "staff", None)
    if staff is None or staff.role != Role.PRACTITIONER:
        raise Http404("Only practitioners have a calendar feed.")
    if request.method == "POST":
        if "revoke" not in request.POST:
            return HttpResponse("Nothing to do.", status=400, content_type="text/plain")
        with transaction.atomic():
            feed, _ = CalendarFeed.objects.select_for_update().get_or_create(
                staff=staff, defaults={"token": _new_token()}
            )
            feed.token = _new_token()
            feed.created_at = timezone.now()
            feed.save(update_fields=["token", "created_at"])
            record_event(
                action=AuditAction.UPDATE,
                actor=Actor.from_request(request),
                obj=feed,
                summary="Replaced the calendar feed address; the old one no longer works",
            )
        messages.success(
            request, "Your calendar has a new address. The old one has stopped working."
        )
        return redirect("consultations:calendar_feed_settings")
    with transaction.atomic():
        feed, created = CalendarFeed.objects.get_or_create(
            staff=staff, defaults={"token": _new_token()}
        )
        if created:
            record_event(
                action=AuditAction.CREATE,
                actor=Actor.from_request(request),
                obj=feed,
                summary="Created a private calendar feed address",
            )
    url = request.build_absolute_uri(reverse("consultations:calendar_feed", args=[feed.token]))
    return render(
        request,
        "consultations/appointments/calendar_feed.html",
        {
            "feed": feed,
            "feed_url": url,
            "webcal_url": re.sub(r"^https?://", "webcal://", url),
            "days_back": FEED_DAYS_BACK,
            "days_ahead": FEED_DAYS_AHEAD,
        },
    )


@login_not_required
@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The practitioner's appointments for calendar apps, authenticated by the secret token.

    No patient names, record numbers or clinical details: only the type and room.
    """
    feed = None
    if FEED_TOKEN_RE.fullmatch(token):
        feed = CalendarFeed.objects.select_related("staff__user").filter(token=token).first()
    if (
        feed is None
        or not hmac.compare_digest(feed.token.encode(), token.encode())
        or not feed.staff.user.is_active
        or feed.staff.role != Role.PRACTITIONER
    ):
        response: HttpResponse = HttpResponseNotFound(
            "Not found.\n", content_type="text/plain; charset=utf-8"
        )
    else:
        now = timezone.now()
        appointments = (
            Appointment.objects.filter(
                practitioner=feed.staff,
                status__in=FEED_STATUSES,
                starts_at__gte=now - timedelta(days=FEED_DAYS_BACK),
                starts_at__lt=now + timedelta(days=FEED_DAYS_AHEAD),
            )
            .select_related("appointment_type", "room", "location")
            .order_by("starts_at", "pk")
        )
        response = _calendar_response(
            calendar_files.feed_file(appointments), "threadline.ics", "inline"
        )
    response["Cache-Control"] = "no-store, private"
    response["X-Robots-Tag"] = "noindex"
    return response
