"""Patients' privacy rights, handled by managers: a copy of the whole record, and erasure.

Both pages first say what will happen; the POST does it. The export and the
erasure request are written to the audit trail by their services
(clinic.site.export, clinic.site.privacy).
"""

from datetime import date

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from clinic.access import get_for_user_or_404
from clinic.actors import Actor
from clinic.locations import current_location
from clinic.permissions import require_permission
from clinic.signed_in import SignedInRequest
from clinic.site.export import export_filename, export_patient_record
from clinic.site.privacy import RETENTION_REASON, record_erasure_request
from consultations.models import Patient

PRIVACY_PERMISSION = "clinic.view_reports"


class IdentityCheckForm(forms.Form):
    """What the manager confirms before a record leaves the clinic or an erasure is recorded."""

    identity_checked = forms.BooleanField(
        label="I have checked that the person asking is the patient (or acts for them), "
        "with photo ID or in person.",
        error_messages={"required": "Confirm that you checked who is asking."},
    )


def _today(request: HttpRequest) -> date:
    location = current_location(request)
    return timezone.localdate(timezone=location.zone) if location else timezone.localdate()


@require_permission(PRIVACY_PERMISSION)
@require_http_methods(["GET", "POST"])
def patient_export(request: SignedInRequest, pk: int) -> HttpResponse:
    """GET: what the export holds. POST: the patient's whole record as a ZIP download."""
    patient = get_for_user_or_404(Patient, request.user, pk=pk)
    form = IdentityCheckForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        content = export_patient_record(patient=patient, actor=Actor.from_request(request))
        response = HttpResponse(content, content_type="application/zip")
        filename = export_filename(patient, _today(request))
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response
    context = {
        "patient": patient,
        "form": form,
        "photo_count": patient.photos.count(),
        "consent_count": patient.consents.count(),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "consultations/privacy/export_confirm.html", context, status=status)


@require_permission(PRIVACY_PERMISSION)
@require_http_methods(["GET", "POST"])
def patient_erasure(request: SignedInRequest, pk: int) -> HttpResponse:
    """GET: what an erasure request will and will not do. POST: record it and show the outcome."""
    patient = get_for_user_or_404(Patient, request.user, pk=pk)
    form = IdentityCheckForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        erasure = record_erasure_request(patient=patient, actor=Actor.from_request(request))
        return render(
            request,
            "consultations/privacy/erasure_done.html",
            {"patient": patient, "erasure": erasure},
        )
    context = {
        "patient": patient,
        "form": form,
        "retained_reason": RETENTION_REASON,
        "earlier": list(patient.erasure_requests.select_related("received_by")),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "consultations/privacy/erasure_confirm.html", context, status=status)
