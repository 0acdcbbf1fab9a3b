"""Printed documents of treatments: the plan summary and an adverse event's report.

Clinicians read plans (practitioners and managers), and only at the locations
they work at: a plan elsewhere is answered as if it did not exist. Every print
is written to the audit trail.
"""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from clinic.access import get_for_user_or_404
from clinic.actors import Actor
from clinic.audit import record_event
from clinic.models import AuditAction
from clinic.pdf_response import pdf_response
from clinic.permissions import require_permission
from treatments.documents import AdverseEventReport, PlanSummaryDocument
from treatments.models import AdverseEvent, TreatmentPlan


@require_permission("treatments.view_treatmentplan")
@require_GET
def plan_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """One plan version's printable summary, shown inline by the browser."""
    plan = get_for_user_or_404(
        TreatmentPlan.objects.select_related("patient", "practitioner__user", "location"),
        request.user,
        pk=pk,
    )
    document = PlanSummaryDocument(plan)
    pdf = document.render()
    record_event(
        action=AuditAction.PRINT,
        actor=Actor.from_request(request),
        obj=plan,
        patient_id=plan.patient_id,
        summary=f"Printed the summary of plan v{plan.version} ({plan.get_status_display()})",
    )
    return pdf_response(pdf, document.filename())


@require_permission("clinic.view_clinical")
@require_GET
def adverse_event_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """One adverse event as a report for the regulator (MHRA Yellow Card, FDA MedWatch)."""
    event = get_for_user_or_404(
        AdverseEvent.objects.select_related(
            "session__patient",
            "session__location",
            "session__practitioner__user",
            "reported_by__staff",
        ),
        request.user,
        pk=pk,
    )
    document = AdverseEventReport(event, reporter=event.reported_by or request.user)
    pdf = document.render()
    record_event(
        action=AuditAction.PRINT,
        actor=Actor.from_request(request),
        obj=event,
        patient_id=event.session.patient_id,
        summary=f"Printed the regulator's report of adverse event {event.pk}",
    )
    return pdf_response(pdf, document.filename())
