"""Follow-up outcomes and adverse events of a session, and the managers' adverse-event report.

Practitioners record a review's outcome and report adverse events from a
session at a location they work at (elsewhere is answered as if it did not
exist). Every write goes through treatments.services (record_outcome,
report_adverse_event), one transaction each; bad input gets field errors and
saves nothing. The report counts the adverse events after the sessions
completed at the manager's current location in a period (by the session's
date) by type and by product and lot, with rates and their 95% intervals beside
the published figures, in a fixed number of queries.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from clinic.access import get_for_user_or_404
from clinic.actors import Actor
from clinic.audit import record_event
from clinic.form_errors import add_service_error
from clinic.form_fields import declared_field
from clinic.locations import current_location
from clinic.models import AuditAction, Location
from clinic.permissions import require_permission
from clinic.signed_in import SignedInRequest
from consultations.booking.services import day_bounds
from consultations.forms import DateInput
from treatments.adverse_event_rates import SOURCES, chart_for, rates_by_product_and_lot
from treatments.models import AdverseEvent, AdverseEventType, TreatmentSession
from treatments.outcome_forms import AdverseEventForm, OutcomeForm
from treatments.services import outcomes as outcome_services

# The report's default period: the last 90 days, today included.
DEFAULT_REPORT_DAYS = 90
# A longer period is refused: the report reads every event in it at once.
MAX_REPORT_DAYS = 3 * 366


def session_or_404(request: HttpRequest, pk: int) -> TreatmentSession:
    return get_for_user_or_404(
        TreatmentSession.objects.select_related("patient", "location", "practitioner__user"),
        request.user,
        pk=pk,
    )


def audit_view(request: HttpRequest, session: TreatmentSession, what: str) -> None:
    record_event(
        action=AuditAction.VIEW,
        actor=Actor.from_request(request),
        obj=session,
        patient_id=session.patient_id,
        summary=f"Opened the {what} form of the session",
    )


def session_header(session: TreatmentSession) -> dict[str, Any]:
    local = timezone.localtime(session.started_at, session.location.zone)
    return {
        "session": session,
        "patient": session.patient,
        "location": session.location,
        "session_day": f"{local.day} {local:%b %Y}",
    }


# Follow-up outcome -----------------------------------------------------------------


@require_permission("clinic.record_clinical")
@require_http_methods(["GET", "POST"])
def outcome_new(request: SignedInRequest, pk: int) -> HttpResponse:
    """Record a follow-up review of a completed session."""
    session = session_or_404(request, pk)
    form = OutcomeForm(
        request.POST if request.method == "POST" else None, session=session, user=request.user
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            outcome_services.record_outcome(
                session=session,
                gais_practitioner=data["gais_practitioner"],
                gais_patient=data["gais_patient"],
                satisfaction=data["satisfaction"],
                notes=data["notes"],
                photos=list(data["photos"]),
                appointment=data["appointment"],
                actor=Actor.from_request(request),
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, "The review's outcome is recorded.")
            return redirect("treatments:session_detail", pk=session.pk)
    if request.method == "GET":
        audit_view(request, session, "review")
    photos = list(declared_field(form, "photos", forms.ModelChoiceField).queryset or [])
    chosen = {str(value) for value in (form["photos"].value() or [])}
    context = {
        **session_header(session),
        "form": form,
        "photos": [(photo, str(photo.pk) in chosen) for photo in photos],
    }
    return render(
        request,
        "treatments/outcomes/outcome_form.html",
        context,
        status=400 if request.method == "POST" else 200,
    )


# Adverse event --------------------------------------------------------------------


@require_permission("clinic.record_clinical")
@require_http_methods(["GET", "POST"])
def adverse_event_new(request: SignedInRequest, pk: int) -> HttpResponse:
    """Report an adverse event after a session, naming the lots involved."""
    session = session_or_404(request, pk)
    form = AdverseEventForm(request.POST if request.method == "POST" else None, session=session)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            outcome_services.report_adverse_event(
                session=session,
                event_type=data["event_type"],
                severity=data["severity"],
                serious=data["serious"],
                onset_on=data["onset_on"],
                lots=list(data["lots"]),
                management=data["management"],
                threads_removed=data["threads_removed"],
                resolved_on=data["resolved_on"],
                description=data["description"],
                actor=Actor.from_request(request),
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, "The adverse event is recorded.")
            return redirect("treatments:session_detail", pk=session.pk)
    if request.method == "GET":
        audit_view(request, session, "adverse-event")
    context = {**session_header(session), "form": form}
    return render(
        request,
        "treatments/outcomes/adverse_event_form.html",
        context,
        status=400 if request.method == "POST" else 200,
    )


@require_permission("clinic.record_clinical")
@require_http_methods(["GET", "POST"])
def adverse_event_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    """Complete or correct an adverse event: one begun from a patient's check-in, say."""
    event = get_for_user_or_404(
        AdverseEvent.objects.select_related("session__patient", "session__location"),
        request.user,
        pk=pk,
    )
    session = session_or_404(request, event.session_id)
    initial = {
        "event_type": event.event_type,
        "severity": event.severity,
        "serious": event.serious,
        "onset_on": event.onset_on,
        "lots": list(event.lots.all()),
        "management": event.management,
        "threads_removed": event.threads_removed,
        "resolved_on": event.resolved_on,
        "description": event.description,
    }
    form = AdverseEventForm(
        request.POST if request.method == "POST" else None, initial=initial, session=session
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            outcome_services.update_adverse_event(
                event=event,
                event_type=data["event_type"],
                severity=data["severity"],
                serious=data["serious"],
                onset_on=data["onset_on"],
                lots=list(data["lots"]),
                management=data["management"],
                threads_removed=data["threads_removed"],
                resolved_on=data["resolved_on"],
                description=data["description"],
                actor=Actor.from_request(request),
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, "The adverse event is updated.")
            return redirect("treatments:session_detail", pk=session.pk)
    if request.method == "GET":
        audit_view(request, session, "adverse-event")
    context = {
        **session_header(session),
        "form": form,
        "heading": "Complete the adverse event",
        "submit_label": "Save the adverse event",
    }
    return render(
        request,
        "treatments/outcomes/adverse_event_form.html",
        context,
        status=400 if request.method == "POST" else 200,
    )


# The managers' report ----------------------------------------------------------------


class ReportPeriodForm(forms.Form):
    date_from = forms.DateField(
        label="From",
        widget=DateInput(),
        error_messages={
            "required": "Type the first day of the period.",
            "invalid": "Type the first day as a date, e.g. 2025-01-31.",
        },
    )
    date_to = forms.DateField(
        label="To",
        widget=DateInput(),
        error_messages={
            "required": "Type the last day of the period.",
            "invalid": "Type the last day as a date, e.g. 2025-03-31.",
        },
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end:
            if end < start:
                self.add_error("date_to", "The last day is before the first: swap them.")
            elif (end - start).days >= MAX_REPORT_DAYS:
                self.add_error("date_to", "Choose a period of at most three years.")
        return cleaned


@dataclass
class LotCount:
    product: str
    manufacturer: str
    lot_number: str
    count: int


def adverse_event_rows(events: list[AdverseEvent]) -> list[dict[str, Any]]:
    return [
        {
            "event": event,
            "onset_on": event.onset_on,
            "record_number": event.session.patient.record_number,
            "patient_id": event.session.patient_id,
            "type": event.get_event_type_display(),
            "severity": event.get_severity_display(),
            "lots": [
                f"{lot.product.name}, lot {lot.lot_number}"
                for lot in sorted(event.lots.all(), key=lambda lot: (lot.product.name, lot.pk))
            ],
            "threads_removed": event.threads_removed,
            "resolved_on": event.resolved_on,
        }
        for event in events
    ]


def summarise_events(events: list[AdverseEvent]) -> dict[str, Any]:
    """Counts by type (every type, most frequent first) and by product and lot."""
    by_type = Counter(event.event_type for event in events)
    lots: dict[int, LotCount] = {}
    without_lot = 0
    for event in events:
        named = list(event.lots.all())
        if not named:
            without_lot += 1
        for lot in named:
            entry = lots.setdefault(
                lot.pk,
                LotCount(
                    product=lot.product.name,
                    manufacturer=lot.product.manufacturer,
                    lot_number=lot.lot_number,
                    count=0,
                ),
            )
            entry.count += 1
    by_product: Counter[str] = Counter()
    for entry in lots.values():
        by_product[entry.product] += entry.count
    return {
        "by_type": sorted(
            ((AdverseEventType(kind).label, count) for kind, count in by_type.items()),
            key=lambda item: (-item[1], item[0]),
        ),
        "by_product": sorted(by_product.items(), key=lambda item: (-item[1], item[0])),
        "by_lot": sorted(
            lots.values(), key=lambda entry: (-entry.count, entry.product, entry.lot_number)
        ),
        "without_lot": without_lot,
    }


def report_for(location: Location, start: date, end: date) -> dict[str, Any]:
    """The adverse events after sessions completed at a location in the period, and those
    sessions: counted by the session's date, not the onset, so every rate compares the
    same sessions. Seven queries whatever the number of events (the list: events with
    their sessions and patients, their lots, the lots' products, and the session count;
    the rates per product and lot: treatments.adverse_event_rates).
    """
    first, _ = day_bounds(start, location)
    _, last = day_bounds(end, location)
    in_period = TreatmentSession.objects.filter(
        location=location, completed_at__gte=first, completed_at__lt=last
    )
    events = list(
        AdverseEvent.objects.filter(session__in=in_period)
        .select_related("session__patient")
        .prefetch_related("lots__product")
        .order_by("-onset_on", "-pk")
    )
    sessions = in_period.count()
    rate = round(len(events) * 100 / sessions, 1) if sessions else None
    products = [
        {
            "product": product,
            "any": product.tally.any_event(),
            "rates": (rates := product.tally.rates()),
            "chart": chart_for(rates),
            "lots": [
                {"lot": lot, "any": lot.tally.any_event(), "rates": lot.tally.rates()}
                for lot in product.lots
            ],
        }
        for product in rates_by_product_and_lot(location, start, end)
    ]
    return {
        "events": adverse_event_rows(events),
        "event_count": len(events),
        "session_count": sessions,
        "rate": rate,
        "products": products,
        "sources": SOURCES,
        **summarise_events(events),
    }


@require_permission("clinic.view_reports")
@require_GET
def adverse_event_report(request: HttpRequest) -> HttpResponse:
    """Adverse events at the current location in a period: by type, by product and lot, rate."""
    location = current_location(request)
    today = timezone.localdate(timezone=location.zone) if location else timezone.localdate()
    default = {
        "date_from": today - timedelta(days=DEFAULT_REPORT_DAYS - 1),
        "date_to": today,
    }
    submitted = "date_from" in request.GET or "date_to" in request.GET
    form = ReportPeriodForm(request.GET if submitted else default)
    report = None
    if form.is_valid() and location is not None:
        start, end = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
        report = report_for(location, start, end)
        record_event(
            action=AuditAction.VIEW,
            actor=Actor.from_request(request),
            summary=f"Adverse-event report for {location.name}, {start:%Y-%m-%d} to "
            f"{end:%Y-%m-%d}: {report['event_count']} event(s), "
            f"{report['session_count']} session(s)",
        )
    return render(
        request,
        "treatments/reports/adverse_events.html",
        {"form": form, "report": report, "location": location},
        status=400 if submitted and not form.is_valid() else 200,
    )
