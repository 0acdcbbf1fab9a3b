from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from clinic.access import get_for_user_or_404
from clinic.actors import Actor
from clinic.audit import record_event
from clinic.form_errors import add_service_error
from clinic.models import AuditAction
from clinic.permissions import require_permission
from clinic.signed_in import SignedInRequest
from consultations import services
from consultations.forms import MedicalHistoryForm, PreviousTreatmentFormSet
from consultations.models import ANSWER_FIELD_NAMES, MedicalHistory, Patient


def _initial_answers(request: HttpRequest, patient: Patient) -> tuple[dict, list[dict]]:
    """Clinicians start from the latest answers; the front desk hands over a blank form."""
    if not request.user.has_perm("clinic.view_clinical"):
        return {}, []
    latest = patient.medical_histories.first()
    if latest is None:
        return {}, []
    treatments = [
        model_to_dict(t, fields=["kind", "treated_on", "area", "details"])
        for t in latest.previous_treatments.all()
    ]
    return model_to_dict(latest, fields=ANSWER_FIELD_NAMES), treatments


def _display(history: MedicalHistory, field) -> str:
    value = getattr(history, field.name)
    if field.choices:
        return getattr(history, f"get_{field.name}_display")()
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if value is None or value == "":
        return "—"
    return value.strftime("%d %b %Y") if hasattr(value, "strftime") else str(value)


@require_permission("consultations.add_medicalhistory")
@require_http_methods(["GET", "POST"])
def intake_form(request: SignedInRequest, pk: int) -> HttpResponse:
    """The intake questionnaire; usable by the patient on the clinic's tablet."""
    patient = get_for_user_or_404(Patient, request.user, pk=pk, is_archived=False)
    clinician = request.user.has_perm("clinic.view_clinical")
    actor = Actor.from_request(request)
    initial, initial_treatments = _initial_answers(request, patient)
    if initial:
        # The form shows the latest answers: reading them is a view of the record.
        record_event(
            action=AuditAction.VIEW,
            actor=actor,
            obj=patient,
            patient_id=patient.pk,
            summary="Opened the medical history to update it",
        )
    form = MedicalHistoryForm(request.POST if request.method == "POST" else None, initial=initial)
    treatments = PreviousTreatmentFormSet(
        request.POST if request.method == "POST" else None,
        initial=initial_treatments,
        prefix="treatments",
    )
    if request.method == "POST" and form.is_valid() and treatments.is_valid():
        try:
            services.submit_medical_history(
                patient=patient,
                answers=form.cleaned_data,
                previous_treatments=[t for t in treatments.cleaned_data if t],
                completed_by_patient=not clinician,
                actor=actor,
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            if clinician:
                messages.success(request, "Medical history saved as a new version.")
                return redirect("consultations:patient_chart", pk=pk)
            return redirect("consultations:intake_done", pk=pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "consultations/intake_form.html",
        {"patient": patient, "form": form, "treatments": treatments, "clinician": clinician},
        status=status,
    )


@require_permission("consultations.add_medicalhistory")
@require_GET
def intake_done(request: HttpRequest, pk: int) -> HttpResponse:
    """Shown to the patient after submitting: no answers, only a thank-you."""
    patient = get_for_user_or_404(Patient, request.user, pk=pk)
    return render(request, "consultations/intake_done.html", {"patient": patient})


@require_permission("clinic.view_clinical")
@require_GET
def history_list(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_for_user_or_404(Patient, request.user, pk=pk)
    histories = list(patient.medical_histories.select_related("submitted_by"))
    record_event(
        action=AuditAction.VIEW,
        actor=Actor.from_request(request),
        obj=patient,
        patient_id=patient.pk,
        summary="Listed medical history versions",
    )
    return render(
        request,
        "consultations/medical_history_list.html",
        {"patient": patient, "histories": histories},
    )


@require_permission("clinic.view_clinical")
@require_GET
def history_detail(request: HttpRequest, pk: int) -> HttpResponse:
    history = get_for_user_or_404(
        MedicalHistory.objects.select_related("patient", "submitted_by"), request.user, pk=pk
    )
    previous = (
        history.patient.medical_histories.filter(version__lt=history.version)
        .order_by("-version")
        .first()
    )
    answers = [
        (field.verbose_name, _display(history, field)) for field in MedicalHistory.answer_fields()
    ]
    record_event(
        action=AuditAction.VIEW,
        actor=Actor.from_request(request),
        obj=history,
        patient_id=history.patient_id,
        summary=f"Read medical history version {history.version}",
    )
    return render(
        request,
        "consultations/medical_history_detail.html",
        {
            "history": history,
            "patient": history.patient,
            "answers": answers,
            "treatments": list(history.previous_treatments.all()),
            "changes": history.changes_since(previous),
            "previous": previous,
        },
    )
