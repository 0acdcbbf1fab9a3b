"""What the patient takes home: the consent copy, the aftercare sheet, and the day's sheets.

Clinicians print a consent, at the locations they work at (a record elsewhere
is answered as if it did not exist). A completed session's aftercare sheet is
printed by anyone who manages bookings there, the front desk included: it holds
what the patient takes home (the threads and lots placed, the instructions, the
reviews) and none of the session's clinical notes, so the desk can reprint one
patient's sheet from the chart. The front desk also prints every aftercare
sheet of the day at its current location in one PDF.

Every print is audited (one event per patient). A document that fails to
render is logged and answered with a page saying so (503): nothing is audited
and nothing changes, so printing again later is always safe.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from clinic.access import get_for_user_or_404
from clinic.actors import Actor
from clinic.audit import record_event
from clinic.locations import current_location
from clinic.models import AuditAction
from clinic.pdf import render_documents
from clinic.pdf_response import pdf_response
from clinic.permissions import require_permission
from consultations.booking.services import day_bounds
from treatments.aftercare import aftercare_for
from treatments.documents import AftercareSheet, ConsentCopy, format_day
from treatments.models import SignedConsent, TreatmentSession
from treatments.services import consent as consent_services

logger = logging.getLogger(__name__)

PRINT_FAILED = (
    "The document could not be printed just now: the PDF could not be made. "
    "The problem has been logged."
)


def message_page(
    request: HttpRequest,
    *,
    heading: str,
    message: str,
    status: int,
    problem: bool = False,
    back_url: str = "",
    back_label: str = "Back",
) -> HttpResponse:
    response = render(
        request,
        "treatments/reports/print_message.html",
        {
            "heading": heading,
            "message": message,
            "problem": problem,
            "back_url": back_url,
            "back_label": back_label,
        },
        status=status,
    )
    response["Cache-Control"] = "no-store, private"
    return response


def render_or_none(render_pdf: Callable[[], bytes], what: str) -> bytes | None:
    """The PDF, or None (logged) if it could not be made: a failed print changes nothing."""
    try:
        return render_pdf()
    except Exception:  # the renderer, a template or a stored file: the page says so either way
        logger.exception("Could not render %s", what)
        return None


def print_failed(request: HttpRequest, back_url: str, back_label: str) -> HttpResponse:
    return message_page(
        request,
        heading="The document could not be printed",
        message=PRINT_FAILED,
        status=503,
        problem=True,
        back_url=back_url,
        back_label=back_label,
    )


@require_permission("clinic.view_clinical")
@require_GET
def consent_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The patient's copy of a signed consent: the very PDF made at signing."""
    consent = get_for_user_or_404(
        SignedConsent.objects.select_related(
            "plan__location",
            "patient",
            "practitioner__user",
            "template",
            "recorded_by",
        ),
        request.user,
        pk=pk,
    )
    back_url = reverse("treatments:consent_detail", args=[consent.pk])
    document = ConsentCopy(consent)
    if consent.copy_pdf.name:
        # The copy made at signing, byte for byte, once the record is shown to be as signed:
        # a copy of a record changed since (or a changed copy) is not handed out.
        check = consent_services.check_consent(consent)
        if not check.intact:
            return message_page(
                request,
                heading="This consent is not printed",
                message="The stored record no longer matches what was signed ("
                + "; ".join(check.problems)
                + "). Do not rely on it; tell the clinic manager.",
                status=409,
                problem=True,
                back_url=back_url,
                back_label="Back to the consent",
            )
        pdf = render_or_none(lambda: stored_copy(consent), f"the stored copy of {consent.pk}")
    else:
        # Signed before copies were stored: rendered from the record, as it always was.
        pdf = render_or_none(document.render, f"the copy of consent {consent.pk}")
    if pdf is None:
        return print_failed(request, back_url, "Back to the consent")
    record_event(
        action=AuditAction.PRINT,
        actor=Actor.from_request(request),
        obj=consent,
        patient_id=consent.patient_id,
        summary=f"Printed a copy of the consent to plan v{consent.plan.version}",
    )
    return pdf_response(pdf, document.filename())


def stored_copy(consent: SignedConsent) -> bytes:
    """The PDF stored at signing."""
    with consent.copy_pdf.open("rb") as stored:
        pdf: bytes = stored.read()
    return pdf


def session_queryset():
    return TreatmentSession.objects.select_related("patient", "practitioner__user", "location")


@require_permission("clinic.manage_bookings")
@require_GET
def aftercare_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The aftercare sheet of one completed session, printed again whenever it is needed."""
    session = get_for_user_or_404(session_queryset(), request.user, pk=pk)
    if request.user.has_perm("clinic.view_clinical"):
        back_url, back_label = reverse("treatments:session_detail", args=[session.pk]), "session"
    else:
        back_url, back_label = (
            reverse("consultations:patient_chart", args=[session.patient_id]),
            "chart",
        )
    if not session.is_locked:
        return message_page(
            request,
            heading="Not completed yet",
            message="The aftercare sheet is printed once the session is completed: it lists "
            "the threads and lots actually placed.",
            status=409,
            back_url=back_url,
            back_label=f"Back to the {back_label}",
        )
    document = AftercareSheet(session)
    pdf = render_or_none(document.render, f"the aftercare sheet of session {session.pk}")
    if pdf is None:
        return print_failed(request, back_url, f"Back to the {back_label}")
    record_event(
        action=AuditAction.PRINT,
        actor=Actor.from_request(request),
        obj=session,
        patient_id=session.patient_id,
        summary="Printed the aftercare sheet",
    )
    return pdf_response(pdf, document.filename())


@require_permission("clinic.manage_bookings")
@require_GET
def aftercare_day_pdf(request: HttpRequest) -> HttpResponse:
    """Every aftercare sheet of sessions completed today at the current location, in one PDF."""
    back_url = reverse("consultations:day_list")
    location = current_location(request)
    if location is None:
        return message_page(
            request,
            heading="Today's aftercare sheets",
            message="You do not work at any location yet: ask the clinic manager to add you.",
            status=200,
            back_url=back_url,
            back_label="Back to today's list",
        )
    today = timezone.localdate(timezone=location.zone)
    starts, ends = day_bounds(today, location)
    sessions = list(
        session_queryset()
        .filter(location=location, completed_at__gte=starts, completed_at__lt=ends)
        .order_by("completed_at", "pk")
    )
    day = format_day(starts, location)
    if not sessions:
        return message_page(
            request,
            heading="Today's aftercare sheets",
            message=f"No treatment session has been completed at {location.name} today "
            f"({day}), so there is no aftercare sheet to print yet.",
            status=200,
            back_url=back_url,
            back_label="Back to today's list",
        )
    aftercare = aftercare_for(sessions)
    documents = [AftercareSheet(session, aftercare[session.pk]) for session in sessions]

    def render_all() -> bytes:
        with timezone.override(location.zone):
            return render_documents(documents)

    pdf = render_or_none(render_all, f"today's aftercare sheets at {location}")
    if pdf is None:
        return print_failed(request, back_url, "Back to today's list")
    actor = Actor.from_request(request)
    printed: set[int] = set()
    for session in sessions:
        if session.patient_id in printed:
            continue
        printed.add(session.patient_id)
        record_event(
            action=AuditAction.PRINT,
            actor=actor,
            obj=session,
            patient_id=session.patient_id,
            summary=f"Printed the aftercare sheet with today's sheets at {location.name}",
        )
    return pdf_response(pdf, f"aftercare-{today:%Y-%m-%d}.pdf")
