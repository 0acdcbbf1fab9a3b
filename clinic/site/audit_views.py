"""The audit log screen: the whole trail, with who by name and each entry's patient record number.

It sits above both apps because it names patients (consultations) as well as
every kind of record the trail points at.
"""

import csv
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Any

from django import forms
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from clinic.actors import Actor
from clinic.audit import record_event
from clinic.locations import current_location
from clinic.models import AuditAction, AuditEvent
from clinic.permissions import require_permission
from clinic.spreadsheet_cells import csv_cell
from consultations.models import Patient

AUDIT_PAGE_SIZE = 100

# Managers filter the trail by patient, user, action and dates (in the current
# location's time zone), page through it newest first, and export what they see
# as CSV; the export is itself audited.

CSV_COLUMNS = [
    "occurred_at",
    "user",
    "user_full_name",
    "action",
    "object_type",
    "object_id",
    "patient_record_number",
    "patient_id",
    "ip_address",
    "summary",
]


class AuditFilterForm(forms.Form):
    patient = forms.CharField(
        label="Patient record number",
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"placeholder": "TL000123", "autocomplete": "off"}),
    )
    user = forms.CharField(
        label="Username",
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    action = forms.ChoiceField(
        label="Action", required=False, choices=[("", "All actions"), *AuditAction.choices]
    )
    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_patient(self) -> Patient | None:
        number = self.cleaned_data["patient"].strip().upper()
        if not number:
            return None
        patient: Patient | None = (
            Patient.objects.filter(record_number=number).only("pk", "record_number").first()
        )
        if patient is None:
            raise forms.ValidationError(f"No patient has the record number {number}.")
        return patient

    def clean_user(self) -> str:
        user: str = self.cleaned_data["user"].strip()
        return user

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned


def local_day_start(day: date, zone: tzinfo) -> datetime:
    """Midnight at the start of `day` on the location's wall clock (an aware datetime)."""
    return datetime.combine(day, time.min, tzinfo=zone)


def filtered_audit_events(filters: dict[str, Any], zone: tzinfo) -> QuerySet[AuditEvent]:
    """The entries matching the form's cleaned filters, newest first, with record numbers."""
    # The person's name comes from their account: joined here, not fetched per row.
    events = AuditEvent.objects.select_related("actor").annotate(
        record_number=Subquery(
            Patient.objects.filter(pk=OuterRef("patient_id")).values("record_number")[:1]
        )
    )
    if filters.get("patient") is not None:
        events = events.filter(patient_id=filters["patient"].pk)
    if username := filters.get("user"):
        # The name at the time of the event, or the account now called that (if renamed since).
        account_ids = list(
            get_user_model().objects.filter(username__iexact=username).values_list("pk", flat=True)
        )
        events = events.filter(Q(actor_name__iexact=username) | Q(actor_id__in=account_ids))
    if filters.get("action"):
        events = events.filter(action=filters["action"])
    if filters.get("date_from"):
        events = events.filter(occurred_at__gte=local_day_start(filters["date_from"], zone))
    if filters.get("date_to"):
        day_after = filters["date_to"] + timedelta(days=1)
        events = events.filter(occurred_at__lt=local_day_start(day_after, zone))
    return events.order_by("-occurred_at", "-id")


@lru_cache(maxsize=64)
def describe_object_type(label: str) -> str:
    """A model label such as "consultations.PatientPhoto" in words: "Patient photo"."""
    if not label:
        return ""
    try:
        name = str(apps.get_model(label)._meta.verbose_name)
    except (LookupError, ValueError):
        return label
    return name[:1].upper() + name[1:]


class _Echo:
    """A file-like object whose write() hands the line back, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def audit_csv_rows(events: QuerySet[AuditEvent], zone: tzinfo) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # a byte-order mark, so spreadsheets read names with accents as UTF-8
    yield writer.writerow(CSV_COLUMNS)
    for event in events.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                csv_cell(value)
                for value in (
                    timezone.localtime(event.occurred_at, zone).isoformat(timespec="seconds"),
                    event.actor_name,
                    event.actor_full_name,
                    event.get_action_display(),
                    event.object_type,
                    event.object_id,
                    # Annotated by filtered_audit_events, which the type of `events` cannot say.
                    event.record_number,  # type: ignore[attr-defined]
                    event.patient_id,
                    event.ip_address,
                    event.summary,
                )
            ]
        )


def describe_filters(filters: dict[str, Any]) -> str:
    parts = []
    if filters.get("patient") is not None:
        parts.append(f"patient {filters['patient'].record_number}")
    if filters.get("user"):
        parts.append(f"user {filters['user']}")
    if filters.get("action"):
        parts.append(f"action {AuditAction(filters['action']).label.lower()}")
    if filters.get("date_from") or filters.get("date_to"):
        start = filters["date_from"].isoformat() if filters.get("date_from") else "the start"
        end = filters["date_to"].isoformat() if filters.get("date_to") else "now"
        parts.append(f"{start} to {end}")
    return ", ".join(parts) or "no filters"


def audit_csv_response(
    request: HttpRequest, events: QuerySet[AuditEvent], filters: dict[str, Any], zone: tzinfo
) -> StreamingHttpResponse:
    """Every filtered entry as CSV, streamed; the export is written to the trail first."""
    count = events.count()
    patient = filters.get("patient")
    export = record_event(
        action=AuditAction.EXPORT,
        actor=Actor.from_request(request),
        patient_id=patient.pk if patient is not None else None,
        summary=f"Exported {count} audit {'entry' if count == 1 else 'entries'} as CSV "
        f"({describe_filters(filters)})",
    )
    today = timezone.localdate(timezone=zone)
    start = filters["date_from"].isoformat() if filters.get("date_from") else "start"
    end = (filters.get("date_to") or today).isoformat()
    response = StreamingHttpResponse(
        # The export's own entry is not part of what was exported.
        audit_csv_rows(events.exclude(pk=export.pk), zone),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="audit-{start}-to-{end}.csv"'
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_permission("clinic.view_reports")
@require_GET
def audit_trail(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The audit log, filtered and paged newest first, or (`?format=csv`) exported as CSV."""
    location = current_location(request)
    zone = location.zone if location else timezone.get_default_timezone()
    form = AuditFilterForm(request.GET)
    valid = form.is_valid()
    filters = form.cleaned_data if valid else {}
    events = filtered_audit_events(filters, zone) if valid else AuditEvent.objects.none()
    if valid and request.GET.get("format") == "csv":
        return audit_csv_response(request, events, filters, zone)
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(event, describe_object_type(event.object_type)) for event in page.object_list]
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "page_size": AUDIT_PAGE_SIZE,
        "zone_name": str(zone),
        "filtered": valid and any(value not in (None, "") for value in filters.values()),
    }
    with timezone.override(zone):
        return render(request, "clinic/audit_trail.html", context, status=200 if valid else 400)
