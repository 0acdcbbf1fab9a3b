"""Treatment sessions: starting one from a treatment appointment, completing it, addenda.

Every write goes through treatments.services (start_session, complete_session,
add_addendum), each one transaction. A completed session is locked: the page
becomes read-only and corrections are addenda. Sessions at a location the user
does not work at are answered as if they did not exist; every view is audited.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinic.access import get_for_user_or_404
from clinic.actors import Actor
from clinic.audit import record_event
from clinic.form_errors import error_messages
from clinic.models import AuditAction
from clinic.permissions import require_permission
from clinic.signed_in import SignedInRequest
from consultations.alerts import medical_alerts
from consultations.models import (
    FREEING_STATUSES,
    Appointment,
    AppointmentKind,
    AppointmentStatus,
)
from consultations.screening import rules as screening_rules
from treatments.models import (
    ConsentWithdrawal,
    LotStatus,
    PlanStatus,
    SafetyCheck,
    StockLot,
    TreatmentPlan,
    TreatmentSession,
)
from treatments.services import day_check
from treatments.services import sessions as session_services
from treatments.session_forms import (
    AddendumForm,
    DayCheckForm,
    PlacementForm,
    SessionDetailsForm,
    lot_label,
)

ALREADY_COMPLETED = "This session is already completed: add an addendum instead."


# Starting a session -------------------------------------------------------------


def plan_for(request: HttpRequest, appointment: Appointment) -> TreatmentPlan | None:
    """The named plan (this patient's, at the user's locations), else the latest accepted one.

    The latest accepted one is the accepted version of the patient's most
    recently started plan series that has an accepted version.
    """
    plans = TreatmentPlan.objects.filter(patient_id=appointment.booked_patient.pk)
    named = (request.POST.get("plan") or request.GET.get("plan") or "").strip()
    if named:
        if not (named.isascii() and named.isdigit()):
            raise Http404("No such plan for this patient.")
        return get_for_user_or_404(plans, request.user, pk=int(named))
    return (
        plans.for_user(request.user)
        .filter(status=PlanStatus.ACCEPTED)
        .order_by("-series__created_at", "-series_id", "-version")
        .first()
    )


def check_lots(appointment: Appointment, plan: TreatmentPlan) -> list[StockLot]:
    """The lots on the shelf here for the plan's products, expired ones included so that
    the check can name a lot that must not be used rather than hide it."""
    return list(
        StockLot.objects.filter(
            location_id=appointment.location_id,
            product_id__in=plan.vectors.values("product_id"),
            quantity_on_hand__gt=0,
        )
        .select_related("product")
        .order_by("product__name", "expires_on", "lot_number")
    )


@require_permission("clinic.record_clinical")
@require_http_methods(["GET", "POST"])
def session_start(request: SignedInRequest, pk: int) -> HttpResponse:
    """The treatment-day check; passing it records the check and opens the session."""
    appointment = get_for_user_or_404(
        Appointment.objects.select_related("patient", "appointment_type", "location"),
        request.user,
        pk=pk,
    )
    if appointment.status in FREEING_STATUSES:
        # Guarded here too: the service would open a session that can never be completed.
        messages.error(
            request,
            "The session was not started. This appointment is "
            f"{appointment.get_status_display().lower()}: book a new treatment appointment.",
        )
        return redirect("consultations:appointment_detail", pk=appointment.pk)
    existing = TreatmentSession.objects.filter(appointment=appointment).first()
    if existing is not None:
        return redirect("treatments:session_detail", pk=existing.pk)
    plan = plan_for(request, appointment)
    if plan is None:
        messages.error(
            request,
            f"{appointment.booked_patient.full_name} has no accepted treatment plan: "
            "accept a plan and take consent before starting the session.",
        )
        return redirect("consultations:appointment_detail", pk=appointment.pk)
    actor = Actor.from_request(request)
    review = day_check.review_day(appointment=appointment, plan=plan)
    form = DayCheckForm(
        request.POST if request.method == "POST" else None,
        initial={"history_version": review.history.version if review.history else 1},
        precautions=[
            (f.finding.rule_id, f"{f.finding.title}: {f.finding.advice}")
            for f in review.precautions
        ],
        lots=check_lots(appointment, plan),
    )
    errors: list[str] = []
    if request.method == "POST":
        if form.is_valid():
            try:
                session = session_services.start_session(
                    appointment=appointment, plan=plan, check=form.answers(), actor=actor
                )
            except ValidationError as error:
                errors = error_messages(error)
            else:
                messages.success(request, "Treatment-day check recorded: the session has started.")
                return redirect("treatments:session_detail", pk=session.pk)
        else:
            errors = form.error_list()
    else:
        # The check shows the medical history and screening: a view of the clinical record.
        record_event(
            action=AuditAction.VIEW,
            actor=actor,
            obj=appointment.patient,
            patient_id=appointment.patient_id,
            summary=f"Opened the treatment-day check for plan v{plan.version}",
        )
    check_url = reverse("treatments:session_start", args=[appointment.pk]) + f"?plan={plan.pk}"
    return render(
        request,
        "treatments/sessions/check.html",
        {
            "appointment": appointment,
            "patient": appointment.booked_patient,
            "alerts": medical_alerts(appointment.booked_patient),
            "plan": plan,
            "review": review,
            "form": form,
            "errors": errors,
            "zone_name": appointment.location.time_zone,
            "history_url": reverse("consultations:intake_form", args=[appointment.patient_id])
            + "?"
            + urlencode({"next": check_url}),
        },
        status=400 if errors else 200,
    )


# One session ----------------------------------------------------------------------


def session_or_404(request: HttpRequest, pk: int) -> TreatmentSession:
    return get_for_user_or_404(
        TreatmentSession.objects.select_related(
            "patient",
            "plan",
            "consent",
            "practitioner__user",
            "location",
            "appointment__appointment_type",
            "completed_by",
            "safety_check__checked_by",
            "safety_check__medical_history",
            "safety_check__screening",
        ),
        request.user,
        pk=pk,
    )


def location_today(session: TreatmentSession) -> date:
    # Never offer a lot the service would refuse: it judges expiry by the server's date.
    return max(timezone.localdate(timezone=session.location.zone), timezone.localdate())


def usable_lots(session: TreatmentSession) -> list[StockLot]:
    """Active lots at the session's location, in date with threads on hand (FEFO order).

    Quarantined and recalled lots are never offered (and the service refuses them)."""
    return list(
        StockLot.objects.filter(
            location_id=session.location_id,
            expires_on__gte=location_today(session),
            quantity_on_hand__gt=0,
            status=LotStatus.ACTIVE,
        )
        .select_related("product")
        .order_by("product__name", "expires_on", "lot_number")
    )


def placement_rows(
    session: TreatmentSession, data: Any | None
) -> tuple[list[dict[str, Any]], list[PlacementForm]]:
    """One row per plan vector: its form and its lot choices, planned product first."""
    lots = usable_lots(session)
    rows, forms = [], []
    vectors = session.plan.vectors.select_related("product")
    for number, vector in enumerate(vectors, start=1):
        planned = [lot for lot in lots if lot.product_id == vector.product_id]
        planned.sort(key=lambda lot: (lot.expires_on, lot.lot_number))
        others = [lot for lot in lots if lot.product_id != vector.product_id]
        initial = {"count": str(vector.count), "lot": str(planned[0].pk) if planned else ""}
        form = PlacementForm(data, vector=vector, number=number, initial=initial)
        chosen = form["lot"].value()
        chosen = str(chosen) if chosen not in (None, "") else ""
        others_by_product: dict[str, list[dict[str, Any]]] = {}
        for lot in others:
            others_by_product.setdefault(lot.product.name, []).append(
                {"pk": lot.pk, "label": lot_label(lot), "selected": str(lot.pk) == chosen}
            )
        rows.append(
            {
                "number": number,
                "vector": vector,
                "form": form,
                "planned_lots": [
                    {"pk": lot.pk, "label": lot_label(lot), "selected": str(lot.pk) == chosen}
                    for lot in planned
                ],
                "other_lots": sorted(others_by_product.items()),
                "chosen": chosen,
            }
        )
        forms.append(form)
    return rows, forms


def session_context(
    request: HttpRequest,
    session: TreatmentSession,
    *,
    data: Any | None = None,
    errors: list[str] | None = None,
    addendum_form: AddendumForm | None = None,
) -> dict[str, Any]:
    can_record = request.user.has_perm("clinic.record_clinical")
    try:
        withdrawal = session.consent.withdrawal
    except ConsentWithdrawal.DoesNotExist:
        withdrawal = None
    context: dict[str, Any] = {
        "session": session,
        "patient": session.patient,
        "alerts": medical_alerts(session.patient),
        "plan": session.plan,
        "consent": session.consent,
        "withdrawal": withdrawal,
        "location": session.location,
        "zone_name": session.location.time_zone,
        "can_record": can_record,
        "errors": errors or [],
        **safety_check_context(session),
    }
    if session.is_locked:
        context.update(
            placed=list(session.placed.select_related("product", "lot", "vector")),
            addenda=list(session.addenda.select_related("added_by")),
            reviews=list(
                Appointment.objects.filter(
                    patient_id=session.patient_id,
                    appointment_type__kind=AppointmentKind.REVIEW,
                    starts_at__gte=session.completed_at,
                )
                .exclude(status__in=[AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW])
                .select_related("practitioner__user", "location", "appointment_type")
                .order_by("starts_at")
            ),
            addendum_form=addendum_form or (AddendumForm() if can_record else None),
        )
    else:
        rows, _forms = placement_rows(session, data)
        context.update(
            rows=rows,
            details_form=SessionDetailsForm(data) if data is not None else SessionDetailsForm(),
            vectors=[row["vector"] for row in rows],
        )
    return context


def safety_check_context(session: TreatmentSession) -> dict[str, Any]:
    """The recorded treatment-day check, in words (none for sessions started before it)."""
    try:
        check = session.safety_check
    except SafetyCheck.DoesNotExist:
        return {"check": None}
    titles = {row.get("rule_id"): row.get("title") for row in check.findings}
    return {
        "check": check,
        "check_outcome": screening_rules.Outcome.LABELS.get(check.outcome, check.outcome).lower(),
        "check_precautions": [titles.get(rule, rule) for rule in check.precautions_acknowledged],
        "check_lots": list(check.lots.select_related("product").order_by("lot_number")),
    }


def audit_view(request: HttpRequest, session: TreatmentSession) -> None:
    record_event(
        action=AuditAction.VIEW,
        actor=Actor.from_request(request),
        obj=session,
        patient_id=session.patient_id,
        summary="Viewed the treatment session" + (" (completed)" if session.is_locked else ""),
    )


def render_session(
    request: HttpRequest, session: TreatmentSession, *, status: int = 200, **extra
) -> HttpResponse:
    audit_view(request, session)
    return render(
        request,
        "treatments/sessions/detail.html",
        session_context(request, session, **extra),
        status=status,
    )


@require_permission("clinic.view_clinical")
@require_GET
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The session: the completion form while open, the locked record once completed."""
    return render_session(request, session_or_404(request, pk))


@require_permission("clinic.record_clinical")
@require_POST
def session_complete(request: SignedInRequest, pk: int) -> HttpResponse:
    """Record the placements and details and close the session (one transaction, once)."""
    session = session_or_404(request, pk)
    if session.is_locked:
        messages.error(request, ALREADY_COMPLETED)
        return redirect("treatments:session_detail", pk=session.pk)
    _rows, forms = placement_rows(session, request.POST)
    details = SessionDetailsForm(request.POST)
    errors = [message for form in forms if not form.is_valid() for message in form.error_list()]
    if not details.is_valid():
        errors += details.error_list()
    if not forms:
        errors.append("The plan has no vectors to record.")
    if not errors:
        try:
            session_services.complete_session(
                session=session,
                placements=[form.placement() for form in forms],
                details=details.cleaned_data,
                actor=Actor.from_request(request),
            )
        except ValidationError as error:
            if TreatmentSession.objects.get(pk=session.pk).is_locked:
                # Another tab or a double click completed it first: nothing more was taken.
                messages.error(request, ALREADY_COMPLETED)
                return redirect("treatments:session_detail", pk=session.pk)
            errors = error_messages(error)
        else:
            messages.success(request, "Session completed: the record is now locked.")
            return redirect("treatments:session_detail", pk=session.pk)
    return render_session(request, session, status=400, data=request.POST, errors=errors)


@require_permission("clinic.record_clinical")
@require_POST
def session_addendum(request: SignedInRequest, pk: int) -> HttpResponse:
    """Add a correction to a completed session; the record itself never changes."""
    session = session_or_404(request, pk)
    form = AddendumForm(request.POST)
    if form.is_valid():
        try:
            session_services.add_addendum(
                session=session,
                text=form.cleaned_data["text"],
                actor=Actor.from_request(request),
            )
        except ValidationError as error:
            for message in error_messages(error):
                form.add_error("text", message)
        else:
            messages.success(request, "Addendum added.")
            return redirect("treatments:session_detail", pk=session.pk)
    if not session.is_locked:
        return render_session(
            request, session, status=400, errors=[m for ms in form.errors.values() for m in ms]
        )
    return render_session(request, session, status=400, addendum_form=form)
