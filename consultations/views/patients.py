from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinic.access import get_for_user_or_404
from clinic.actors import Actor
from clinic.audit import record_event
from clinic.locations import current_location
from clinic.models import AuditAction, Location, StaffMember
from clinic.permissions import require_permission
from clinic.signed_in import SignedInRequest
from consultations import selectors, services
from consultations.alerts import medical_alerts
from consultations.booking.forms import SLOT_PARAMETERS, booking_prefill, parse_local
from consultations.booking.history import patient_booking_history
from consultations.forms import ArchiveForm, NewPatientForm, PatientForm
from consultations.models import Patient
from consultations.timeline import TimelineViewer, patient_timeline

# The chart lists the newest links sent; older ones stay in the audit trail.
RECENT_LINKS = 10


def _search_context(request: HttpRequest) -> dict:
    query = request.GET.get("q", "")
    include_archived = request.GET.get("archived") == "1"
    if query.strip():
        patients = selectors.search_patients(
            query=query, location=current_location(request), include_archived=include_archived
        )
    else:
        patients = selectors.recent_patients()
    return {"query": query, "include_archived": include_archived, "patients": patients}


@require_permission("consultations.view_patient")
@require_GET
def patient_list(request: HttpRequest) -> HttpResponse:
    return render(request, "consultations/patient_list.html", _search_context(request))


@require_permission("consultations.view_patient")
@require_GET
def patient_search(request: HttpRequest) -> HttpResponse:
    """The result rows alone, for the search box's as-you-type updates."""
    return render(request, "consultations/_patient_results.html", _search_context(request))


def _booking_slot(request: HttpRequest, location: Location | None) -> tuple[dict, list[str]]:
    """The slot a booking form sent along (?practitioner=&start=&type=&room=&location=), checked.

    Present when the desk registers someone from the booking form: once registered,
    they go back to it with the slot and the new patient filled in.
    """
    if location is None or not any(name in request.GET for name in SLOT_PARAMETERS):
        return {}, []
    prefill = booking_prefill(request.GET, location=location, user=request.user, with_patient=False)
    return prefill.slot, prefill.problems


def _slot_summary(slot: dict, location: Location) -> str:
    """ "Ada Okafor, Tue 1 Dec at 10:15": the slot the booking form will show again."""
    parts = []
    if "practitioner" in slot:
        practitioner = StaffMember.objects.practitioners_at(location).get(pk=slot["practitioner"])
        parts.append(str(practitioner))
    if start := parse_local(slot.get("start", "")):
        parts.append(f"{start:%a} {start.day} {start:%b} at {start:%H:%M}")
    return ", ".join(parts)


@require_permission("consultations.add_patient")
@require_http_methods(["GET", "POST"])
def patient_create(request: SignedInRequest) -> HttpResponse:
    location = current_location(request)
    slot, slot_problems = _booking_slot(request, location)
    form = NewPatientForm(request.POST if request.method == "POST" else None, location=location)
    matches = []
    # A slot with problems comes only from a link altered by hand (the page itself carries
    # checked values): nothing is registered until the link is right.
    if request.method == "POST" and not slot_problems and form.is_valid():
        details = form.cleaned_data
        matches = selectors.find_possible_duplicates(
            first_name=details["first_name"],
            last_name=details["last_name"],
            date_of_birth=details["date_of_birth"],
            phone=details.get("phone") or "",
            email=details.get("email") or "",
        )
        if not matches or details["confirm_new_person"]:
            patient = services.register_patient(details=details, actor=Actor.from_request(request))
            messages.success(request, f"Registered {patient.full_name} as {patient.record_number}.")
            if slot:
                return redirect(
                    _with_query("consultations:appointment_book", patient=patient.pk, **slot)
                )
            return redirect("consultations:patient_chart", pk=patient.pk)
    status = 400 if request.method == "POST" or slot_problems else 200
    context = {"form": form, "matches": matches, "creating": True, "slot_problems": slot_problems}
    if slot and location is not None:
        context.update(
            slot_summary=_slot_summary(slot, location),
            form_action=_with_query("consultations:patient_create", **slot),
            booking_url=_with_query("consultations:appointment_book", **slot),
        )
    return render(request, "consultations/patient_form.html", context, status=status)


def _with_query(name: str, **params: object) -> str:
    return f"{reverse(name)}?{urlencode(params)}"


@require_permission("consultations.change_patient")
@require_http_methods(["GET", "POST"])
def patient_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    patient = get_for_user_or_404(Patient, request.user, pk=pk)
    form = PatientForm(
        request.POST if request.method == "POST" else None,
        instance=patient,
        location=current_location(request),
    )
    if request.method == "POST" and form.is_valid():
        # The form validated a copy; the service applies and audits the change.
        original = Patient.objects.get(pk=pk)
        changed = services.update_patient_details(
            patient=original,
            details=form.cleaned_data,
            actor=Actor.from_request(request),
        )
        messages.success(request, "Saved." if changed else "Nothing changed.")
        return redirect("consultations:patient_chart", pk=pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "consultations/patient_form.html",
        {"form": form, "patient": patient, "creating": False},
        status=status,
    )


@require_permission("consultations.view_patient")
@require_GET
def patient_chart(request: SignedInRequest, pk: int) -> HttpResponse:
    patient = get_for_user_or_404(
        Patient.objects.select_related("preferred_location"), request.user, pk=pk
    )
    viewer = TimelineViewer.of(request.user)
    clinician = viewer.clinical
    context = {
        "patient": patient,
        "clinician": clinician,
        "timeline": patient_timeline(patient, viewer),
        "archive_form": ArchiveForm(),
        "booking_history": patient_booking_history(patient=patient),
        "patient_links": list(patient.links.select_related("location")[:RECENT_LINKS]),
    }
    if clinician:
        histories = list(
            patient.medical_histories.select_related("submitted_by").prefetch_related(
                "previous_treatments"
            )[:2]
        )
        latest = histories[0] if histories else None
        previous = histories[1] if len(histories) > 1 else None
        context.update(
            alerts=medical_alerts(patient),
            latest_history=latest,
            history_changes=latest.changes_since(previous) if latest else [],
            photos=list(patient.photos.filter(is_archived=False)[:6]),
        )
    record_event(
        action=AuditAction.VIEW,
        actor=Actor.from_request(request),
        obj=patient,
        patient_id=patient.pk,
        summary="Opened the chart" + (" (clinical)" if clinician else " (demographics)"),
    )
    return render(request, "consultations/patient_chart.html", context)


@require_permission("consultations.archive_patient")
@require_POST
def patient_archive(request: SignedInRequest, pk: int) -> HttpResponse:
    patient = get_for_user_or_404(Patient, request.user, pk=pk)
    form = ArchiveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a reason for archiving this record.")
        return redirect("consultations:patient_chart", pk=pk)
    services.archive_patient(
        patient=patient,
        reason=form.cleaned_data["reason"],
        actor=Actor.from_request(request),
    )
    messages.success(request, f"{patient.full_name} is archived: they no longer appear in search.")
    return redirect("consultations:patient_chart", pk=pk)


@require_permission("consultations.archive_patient")
@require_POST
def patient_restore(request: SignedInRequest, pk: int) -> HttpResponse:
    patient = get_for_user_or_404(Patient, request.user, pk=pk)
    services.restore_patient(patient=patient, actor=Actor.from_request(request))
    messages.success(request, f"{patient.full_name} is back in search.")
    return redirect("consultations:patient_chart", pk=pk)
