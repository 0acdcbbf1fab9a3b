"""The desk's re-treatment recall list: patients to offer a consultation, not a booking."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from clinic.actors import Actor
from clinic.audit import record_event
from clinic.locations import current_location
from clinic.models import AuditAction
from clinic.permissions import require_permission
from consultations.models import AppointmentKind, AppointmentType
from treatments.selectors import RECALL_FROM_MONTHS, RECALL_TO_MONTHS, retreatment_recall


@require_permission("clinic.manage_bookings")
@require_GET
def retreatment_recall_list(request: HttpRequest) -> HttpResponse:
    """Patients whose last thread lift here was 9 to 12 months ago and who have nothing booked."""
    location = current_location(request)
    rows = []
    if location is not None:
        rows = retreatment_recall(location, timezone.localdate(timezone=location.zone))
        record_event(
            action=AuditAction.VIEW,
            actor=Actor.from_request(request),
            summary=f"Re-treatment recall list for {location.name}: {len(rows)} patient(s)",
        )
    consultation = (
        AppointmentType.objects.filter(kind=AppointmentKind.CONSULTATION, is_active=True)
        .order_by("pk")
        .first()
    )
    return render(
        request,
        "treatments/recall/retreatment.html",
        {
            "location": location,
            "rows": rows,
            "consultation_type": consultation,
            "from_months": RECALL_FROM_MONTHS,
            "to_months": RECALL_TO_MONTHS,
        },
    )
