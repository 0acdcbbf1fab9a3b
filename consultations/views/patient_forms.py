"""The patient's forms before the visit, opened from a link, and the desk's and the
practitioner's side of them.

The pages are registered with consultations.patient_links (ConsultationsConfig.ready)
and reached only through the one public address, `/p/<token>/`, which has opened the
link already. They show the clinic and the patient's first name, nothing else of the
record: the history form starts blank (or from the patient's own draft), never from the
answers the clinic holds, so a forwarded message discloses nothing.
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from clinic.access import get_for_user_or_404
from clinic.actors import Actor
from clinic.form_errors import add_service_error
from clinic.locations import current_location
from clinic.permissions import require_permission
from clinic.redirects import safe_next_url
from consultations import patient_forms, patient_links
from consultations.forms import MedicalHistoryForm, PreviousTreatmentFormSet
from consultations.models import Appointment, MedicalHistory, Patient, PatientLink
from consultations.screening.forms import BodyImageForm
from consultations.views.patient_links import public_page

SAVE = "save"  # the "Save and finish later" button's value (and the page script's)
DRAFT_VALUE_LENGTH = 4000  # the longest answer the questionnaire keeps (notes)


def _first_name(link: PatientLink) -> str:
    return link.patient.preferred_name or link.patient.first_name


def _context(link: PatientLink, **extra: Any) -> dict[str, Any]:
    return {
        "location": link.location,
        "first_name": _first_name(link),
        "expires_on": timezone.localtime(link.expires_at, link.location.zone),
        **extra,
    }


def _draft_from(data: Any, names: list[str]) -> dict[str, str]:
    """The answers typed so far, as typed: only this form's fields, each as one string."""
    return {name: str(data.get(name, ""))[:DRAFT_VALUE_LENGTH] for name in names if name in data}


def _saved(request: HttpRequest, link: PatientLink, names: list[str], actor: Actor) -> str:
    """Keep the draft; the error to show, or "" once it is kept."""
    try:
        patient_links.save_draft(link=link, answers=_draft_from(request.POST, names), actor=actor)
    except ValueError as error:
        return str(error)
    return ""


def _draft_answer(request: HttpRequest, error: str) -> HttpResponse | None:
    """The page script saves as the patient types: it gets a short answer, not a page."""
    if request.headers.get("X-Requested-With") != "threadline-draft":
        return None
    if error:
        return JsonResponse({"error": error}, status=400)
    return JsonResponse({"saved": True})


# The medical history ------------------------------------------------------------------


TREATMENT_FIELDS = ("kind", "treated_on", "area", "details")


def _history_names(data: Any) -> list[str]:
    """The questionnaire's names in `data`: its answers and its earlier-treatment rows."""
    answers = list(MedicalHistoryForm.base_fields)
    rows = [
        f"treatments-{number}-{name}"
        for number in range(PreviousTreatmentFormSet.max_num)
        for name in TREATMENT_FIELDS
    ]
    return [name for name in answers + rows if name in data]


def _treatment_rows(draft: dict[str, str]) -> list[dict[str, str]]:
    """The earlier-treatment rows of a draft (`treatments-<n>-<field>`), in order."""
    rows: dict[int, dict[str, str]] = {}
    for key, value in draft.items():
        parts = key.split("-")
        if len(parts) == 3 and parts[0] == "treatments" and parts[1].isdigit() and value:
            rows.setdefault(int(parts[1]), {})[parts[2]] = value
    return [rows[number] for number in sorted(rows)]


def _history_forms(answers: dict[str, str]) -> tuple[MedicalHistoryForm, forms.BaseFormSet]:
    """The questionnaire, blank or as a draft left it (never from the clinic's records)."""
    form = MedicalHistoryForm(initial={k: v for k, v in answers.items() if "-" not in k})
    treatments = PreviousTreatmentFormSet(initial=_treatment_rows(answers), prefix="treatments")
    return form, treatments


def medical_history_page(request: HttpRequest, link: PatientLink, actor: Actor) -> HttpResponse:
    """The intake questionnaire, on the patient's phone."""
    status = 200
    saved = False
    draft_error = ""
    if request.method == "POST" and request.POST.get("action") != SAVE:
        form = MedicalHistoryForm(request.POST)
        treatments = PreviousTreatmentFormSet(request.POST, prefix="treatments")
        if form.is_valid() and treatments.is_valid():
            try:
                patient_forms.submit_history_from_link(
                    link=link,
                    answers=form.cleaned_data,
                    previous_treatments=[t for t in treatments.cleaned_data if t],
                    actor=actor,
                )
            except ValidationError as error:
                add_service_error(form, error)
            else:
                return public_page(request, "public/form_sent.html", _context(link))
        status = 400
    elif request.method == "POST":
        # "Save and finish later": what was typed, kept as typed (checked when sent).
        typed = _draft_from(request.POST, _history_names(request.POST))
        draft_error = _saved(request, link, list(typed), actor)
        if answer := _draft_answer(request, draft_error):
            return answer
        form, treatments = _history_forms(typed)
        saved, status = not draft_error, 400 if draft_error else 200
    else:
        form, treatments = _history_forms(link.draft or {})
    return public_page(
        request,
        "public/medical_history_form.html",
        _context(
            link,
            form=form,
            treatments=treatments,
            saved=saved,
            draft_error=draft_error,
            draft_saved_at=link.draft_saved_at,
        ),
        status=status,
    )


# The body-image questions -------------------------------------------------------------


def body_image_page(request: HttpRequest, link: PatientLink, actor: Actor) -> HttpResponse:
    """The screening's body-image questions, answered at home."""
    status = 200
    saved = False
    draft_error = ""
    names = list(BodyImageForm().fields)
    if request.method == "POST" and request.POST.get("action") != SAVE:
        form = BodyImageForm(request.POST)
        if form.is_valid():
            patient_forms.submit_body_image_from_link(
                link=link, answers=form.answers(), actor=actor
            )
            return public_page(request, "public/form_sent.html", _context(link))
        status = 400
    else:
        typed = link.draft or {}
        if request.method == "POST":
            typed = _draft_from(request.POST, names)
            draft_error = _saved(request, link, names, actor)
            if answer := _draft_answer(request, draft_error):
                return answer
            saved, status = not draft_error, 400 if draft_error else 200
        form = BodyImageForm(initial=typed)
    return public_page(
        request,
        "public/body_image_form.html",
        _context(
            link,
            form=form,
            saved=saved,
            draft_error=draft_error,
            draft_saved_at=link.draft_saved_at,
        ),
        status=status,
    )


# The desk sends the forms; the practitioner reviews what comes back -------------------


@require_permission("consultations.change_patient")
@require_POST
def send_visit_forms(request: HttpRequest, pk: int) -> HttpResponse:
    """Send the medical-history and body-image forms (from the chart or an appointment)."""
    patient = get_for_user_or_404(Patient, request.user, pk=pk, is_archived=False)
    appointment = None
    chosen = request.POST.get("appointment", "")
    if chosen:
        if not chosen.isdigit() or len(chosen) > 9:
            messages.error(request, "That is not one of the patient's appointments.")
            return redirect("consultations:patient_chart", pk=patient.pk)
        appointment = get_for_user_or_404(
            Appointment.objects.select_related("location"),
            request.user,
            pk=int(chosen),
            patient=patient,
        )
    back = safe_next_url(request, request.POST.get("next")) or reverse(
        "consultations:patient_chart", args=[patient.pk]
    )
    location = (
        appointment.location
        if appointment
        else current_location(request) or patient.preferred_location
    )
    if location is None:
        messages.error(request, "Choose the location you work at first; nothing was sent.")
        return redirect(back)
    try:
        sent = patient_forms.send_visit_forms(
            patient=patient,
            location=location,
            appointment=appointment,
            actor=Actor.from_request(request),
        )
    except patient_links.LinkNotSent as error:
        messages.error(request, str(error))
    else:
        channels = sorted({channel for used in sent.values() for channel in used})
        messages.success(
            request,
            f"Sent the medical-history and body-image forms to {patient.full_name} by "
            f"{' and '.join(channels)}.",
        )
    return redirect(back)


@require_permission("clinic.record_clinical")
@require_POST
def history_review(request: HttpRequest, pk: int) -> HttpResponse:
    """A clinician has read the history a patient sent from home."""
    history = get_for_user_or_404(
        MedicalHistory.objects.select_related("patient"), request.user, pk=pk
    )
    if patient_forms.review_medical_history(history=history, actor=Actor.from_request(request)):
        messages.success(request, f"Medical history version {history.version} marked reviewed.")
    else:
        messages.info(request, "That history needed no review; nothing changed.")
    back = safe_next_url(request, request.POST.get("next"))
    return redirect(back or reverse("consultations:medical_history_detail", args=[history.pk]))
