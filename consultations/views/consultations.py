"""The consultation and suitability-screening pages, and the printed screening summary.

Clinicians (practitioners and managers) read consultations and screenings; only
practitioners record them. Every write goes through consultations.services, and
every page showing a consultation or a screening is written to the audit trail.
Times are shown in the time zone of the consultation's location (see
consultations.screening.documents), the same as on the printout.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinic.access import get_for_user_or_404
from clinic.actors import Actor
from clinic.audit import record_event
from clinic.form_errors import add_service_error
from clinic.models import AuditAction, StaffMember
from clinic.pdf_response import pdf_response
from clinic.people import person_name
from clinic.permissions import deny, require_permission
from clinic.signed_in import SignedInRequest
from consultations import patient_forms, selectors, services
from consultations.consultation_forms import AreaForm, AssessmentForm
from consultations.models import (
    CONSULTATION_AREAS,
    Appointment,
    Consultation,
    FacialArea,
    Patient,
    Screening,
)
from consultations.screening import services as screening_services
from consultations.screening.documents import (
    ScreeningSummary,
    body_image_rows,
    consultation_location,
    findings_by_level,
    location_zone,
    outcome_text,
)
from consultations.screening.forms import BodyImageForm, DecisionForm
from consultations.services import ASSESSMENT_FIELDS

VIEW_CLINICAL = "clinic.view_clinical"
RECORD_CLINICAL = "clinic.record_clinical"


def _consultation(request: HttpRequest, pk: int) -> Consultation:
    return get_for_user_or_404(
        Consultation.objects.select_related(
            "patient", "practitioner__user", "appointment__location"
        ),
        request.user,
        pk=pk,
    )


def _screening(request: HttpRequest, pk: int) -> Screening:
    return get_for_user_or_404(
        Screening.objects.select_related(
            "patient",
            "consultation__practitioner__user",
            "consultation__appointment__location",
            "medical_history",
            "screened_by",
            "decided_by",
        ),
        request.user,
        pk=pk,
    )


def _staff_member(request: HttpRequest) -> StaffMember | None:
    # A user without a staff record raises RelatedObjectDoesNotExist, an AttributeError.
    return getattr(request.user, "staff", None)


def _latest_history_version(patient: Patient) -> int | None:
    return patient.medical_histories.aggregate(latest=Max("version"))["latest"]


# Opening a consultation ---------------------------------------------------------


@require_permission(RECORD_CLINICAL)
@require_POST
def consultation_start(request: SignedInRequest, pk: int) -> HttpResponse:
    """Open an ad-hoc consultation (one not booked as a consultation appointment)."""
    patient = get_for_user_or_404(Patient, request.user, pk=pk)
    if patient.is_archived:
        messages.error(request, "This record is archived: restore it before a consultation.")
        return redirect("consultations:patient_chart", pk=pk)
    staff = _staff_member(request)
    if staff is None:
        messages.error(request, "Only staff with a practitioner record can open consultations.")
        return redirect("consultations:patient_chart", pk=pk)
    consultation = services.start_consultation(
        patient=patient,
        practitioner=staff,
        actor=Actor.from_request(request),
    )
    messages.success(request, "Consultation opened.")
    return redirect("consultations:consultation_detail", pk=consultation.pk)


@require_permission(RECORD_CLINICAL)
@require_POST
def consultation_for_appointment(request: SignedInRequest, pk: int) -> HttpResponse:
    """Open the consultation of a consultation appointment, or go back to the one open."""
    appointment = get_for_user_or_404(
        Appointment.objects.select_related("patient", "appointment_type", "practitioner"),
        request.user,
        pk=pk,
    )
    existing = Consultation.objects.filter(appointment=appointment).first()
    if existing is not None:
        return redirect("consultations:consultation_detail", pk=existing.pk)
    if appointment.frees_slot:
        messages.error(
            request,
            f"This appointment is {appointment.get_status_display().lower()}: "
            "book a new one, or open an ad-hoc consultation from the chart.",
        )
        return redirect("consultations:appointment_detail", pk=pk)
    staff = _staff_member(request) or appointment.practitioner
    try:
        consultation = services.start_consultation(
            patient=appointment.booked_patient,
            practitioner=staff,
            appointment=appointment,
            actor=Actor.from_request(request),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("consultations:appointment_detail", pk=pk)
    except IntegrityError:
        # Someone opened it at the same moment: theirs is the one.
        consultation = get_for_user_or_404(Consultation, request.user, appointment=appointment)
    messages.success(request, "Consultation opened.")
    return redirect("consultations:consultation_detail", pk=consultation.pk)


# The consultation page ------------------------------------------------------------


def _area_forms(consultation: Consultation, data, *, read_only: bool) -> list[AreaForm]:
    rows = {row.area: row for row in consultation.areas.all()}
    area_forms = []
    for area in CONSULTATION_AREAS:
        row = rows.get(area)
        initial = {"concern": row.concern, "goal": row.goal, "laxity": row.laxity} if row else {}
        area_forms.append(
            AreaForm(
                data,
                area=area,
                area_label=FacialArea(area).label,
                initial=initial,
                read_only=read_only,
            )
        )
    return area_forms


def _render_consultation(
    request: HttpRequest,
    consultation: Consultation,
    form: AssessmentForm,
    area_forms: list[AreaForm],
    *,
    can_record: bool,
    status: int = 200,
) -> HttpResponse:
    patient = consultation.patient
    history = patient.medical_histories.first()  # the latest version
    zone = location_zone(consultation_location(consultation))
    record_event(
        action=AuditAction.VIEW,
        actor=Actor.from_request(request),
        obj=consultation,
        patient_id=patient.pk,
        summary="Opened the consultation",
    )
    context = {
        "consultation": consultation,
        "patient": patient,
        "form": form,
        "area_forms": area_forms,
        "area_errors": any(f.errors for f in area_forms),
        "history": history,
        "screenings": list(consultation.screenings.select_related("screened_by")),
        "can_record": can_record,
    }
    with timezone.override(zone):
        return render(request, "consultations/consultation/detail.html", context, status=status)


@require_permission(VIEW_CLINICAL)
@require_http_methods(["GET", "POST"])
def consultation_detail(request: SignedInRequest, pk: int) -> HttpResponse:
    """The patient's concerns and goals per area, and the practitioner's assessment."""
    consultation = _consultation(request, pk)
    can_record = request.user.has_perm(RECORD_CLINICAL)
    if request.method == "POST" and not can_record:
        raise deny(request, RECORD_CLINICAL)
    data = request.POST if request.method == "POST" else None
    zone = location_zone(consultation_location(consultation))
    form = AssessmentForm(
        data,
        instance=consultation,
        patient=consultation.patient,
        today=timezone.localdate(timezone=zone),
        read_only=not can_record,
    )
    area_forms = _area_forms(consultation, data, read_only=not can_record)
    if data is not None:
        # Validate every form, so all the errors show at once.
        valid = [f.is_valid() for f in [form, *area_forms]]
        if all(valid):
            try:
                # The form validated (and changed) its own copy; the service saves a fresh one.
                services.save_assessment(
                    consultation=Consultation.objects.get(pk=pk),
                    details={name: form.cleaned_data[name] for name in ASSESSMENT_FIELDS},
                    areas={f.area: f.cleaned_data for f in area_forms},
                    baseline_photos=form.cleaned_data["baseline_photos"],
                    actor=Actor.from_request(request),
                )
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, "Assessment saved.")
                return redirect("consultations:consultation_detail", pk=pk)
    return _render_consultation(
        request,
        consultation,
        form,
        area_forms,
        can_record=can_record,
        status=400 if data is not None else 200,
    )


# Running a screening ------------------------------------------------------------------


def _screening_problems(consultation: Consultation) -> list[str]:
    """What stops a screening now (the service checks the same and says the same)."""
    problems = []
    if not consultation.patient.medical_histories.exists():
        problems.append("The patient has no medical history yet: take it first.")
    if consultation.assessed_at is None:
        problems.append("Record the assessment before screening.")
    return problems


@require_permission(RECORD_CLINICAL)
@require_http_methods(["GET", "POST"])
def screening_new(request: SignedInRequest, pk: int) -> HttpResponse:
    """The body-image questions, then the screening against the current rules."""
    consultation = _consultation(request, pk)
    actor = Actor.from_request(request)
    # The patient's own answers from home, if they sent some since their last screening:
    # the form starts from them, to check with the patient, and screens as ever.
    from_home = patient_forms.body_image_answers_for_screening(patient=consultation.patient)
    form = BodyImageForm(
        request.POST if request.method == "POST" else None,
        initial=BodyImageForm.initial_from(from_home.answers) if from_home else None,
    )
    errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        try:
            screening = screening_services.run_screening(
                consultation=consultation,
                body_image=form.answers(),
                actor=actor,
            )
        except ValidationError as error:
            errors = error.messages
        else:
            messages.success(request, f"Screened: {outcome_text(screening)}.")
            return redirect("consultations:screening_detail", pk=screening.pk)
    record_event(
        action=AuditAction.VIEW,
        actor=actor,
        obj=consultation,
        patient_id=consultation.patient_id,
        summary="Opened the screening questions",
    )
    context = {
        "consultation": consultation,
        "patient": consultation.patient,
        "form": form,
        "errors": errors,
        "problems": [] if errors else _screening_problems(consultation),
        "answers_from_home": from_home,
        "histories_to_review": [
            history
            for history in consultation.patient.medical_histories.order_by("-version")
            if history.awaiting_review
        ],
        "missing": sum(1 for name in form.fields if name in form.errors),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "consultations/consultation/screening_form.html", context, status=status)


# A screening's result and decision ----------------------------------------------------


def _render_screening(
    request: HttpRequest,
    screening: Screening,
    decision_form: DecisionForm | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    patient = screening.patient
    can_record = request.user.has_perm(RECORD_CLINICAL)
    if decision_form is None and can_record and not screening.is_decided:
        decision_form = DecisionForm()
    zone = location_zone(consultation_location(screening.consultation))
    record_event(
        action=AuditAction.VIEW,
        actor=Actor.from_request(request),
        obj=screening,
        patient_id=patient.pk,
        summary=f"Read the screening: {screening.get_outcome_display()}",
    )
    context = {
        "screening": screening,
        "patient": patient,
        "consultation": screening.consultation,
        "outcome": outcome_text(screening),
        "levels": findings_by_level(screening),
        "body_image_rows": body_image_rows(screening),
        "screened_by": person_name(screening.screened_by, unknown="unknown"),
        "decided_by": person_name(screening.decided_by),
        "needs_review": selectors.screening_needs_review(
            screening, _latest_history_version(patient)
        ),
        "gate": selectors.check_planning_gate(patient=patient),
        "decision_form": decision_form,
        "can_record": can_record,
        "zone_name": str(zone),
    }
    with timezone.override(zone):
        return render(
            request, "consultations/consultation/screening_detail.html", context, status=status
        )


@require_permission(VIEW_CLINICAL)
@require_GET
def screening_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The outcome, every finding with its advice, and the decision (or the form for it)."""
    return _render_screening(request, _screening(request, pk))


@require_permission(RECORD_CLINICAL)
@require_POST
def screening_decide(request: SignedInRequest, pk: int) -> HttpResponse:
    """Accept the outcome, or override it with a written justification."""
    screening = _screening(request, pk)
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            screening_services.decide_screening(
                screening=screening,
                decision=form.cleaned_data["decision"],
                justification=form.cleaned_data["justification"],
                actor=Actor.from_request(request),
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, "Decision recorded.")
            return redirect("consultations:screening_detail", pk=pk)
    # Show the screening as it now stands (someone may have decided meanwhile).
    return _render_screening(request, _screening(request, pk), form, status=400)


@require_permission(VIEW_CLINICAL)
@require_GET
def screening_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The printable summary of a screening, shown inline by the browser."""
    screening = _screening(request, pk)
    document = ScreeningSummary(screening)
    pdf = document.render()
    record_event(
        action=AuditAction.PRINT,
        actor=Actor.from_request(request),
        obj=screening,
        patient_id=screening.patient_id,
        summary="Printed the screening summary",
    )
    return pdf_response(pdf, document.filename())
