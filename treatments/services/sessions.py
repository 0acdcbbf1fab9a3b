"""Treatment sessions: started against a signed consent, completed with the lots placed.

Completing a session takes the threads out of stock once (even on a double
click), locks the record and books the follow-up reviews; later notes are addenda.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from clinic.actors import Actor
from clinic.audit import record_event
from clinic.models import AuditAction
from consultations.booking import services as booking
from consultations.models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    AppointmentType,
    FacialArea,
    ReviewStage,
)
from treatments.models import (
    BaselinePhotos,
    ConsentWithdrawal,
    PlacedThreads,
    PlanStatus,
    SafetyCheck,
    SessionAddendum,
    Side,
    StockLot,
    ThreadVector,
    TreatmentPlan,
    TreatmentSession,
)
from treatments.services import day_check
from treatments.services.anaesthesia import anaesthesia_problems
from treatments.services.check_ins import schedule_check_ins
from treatments.services.day_check import DayCheckAnswers
from treatments.services.plans import MAX_COUNT, checked_choice
from treatments.services.stock import lot_problems

# Each review is booked as its own appointment type (AppointmentType.review_stage), so the
# calendar, the reminders and the calendar feed name it; a clinic without a type for a
# stage books its general review type (the shortest active one) instead.
FOLLOW_UPS = [
    (ReviewStage.TWO_WEEKS, timedelta(days=14)),
    (ReviewStage.THREE_MONTHS, timedelta(days=91)),
    (ReviewStage.SIX_MONTHS, timedelta(days=182)),
]


@transaction.atomic
def start_session(
    *,
    appointment: Appointment,
    plan: TreatmentPlan,
    check: DayCheckAnswers,
    actor: Actor,
) -> TreatmentSession:
    """Pass the treatment-day check and open the session of a treatment appointment.

    The appointment must be this patient's treatment appointment, at the plan's
    location, and have begun (or be a walk-in); every gate of the check must hold
    (treatments.services.day_check). The check is recorded with the session, with
    who checked and when; any failure raises ValidationError listing every reason
    and records nothing.
    """
    user = actor.user
    if user is None:
        raise ValidationError("The treatment-day check is made by a signed-in practitioner.")
    if appointment.appointment_type.kind != AppointmentKind.TREATMENT:
        raise ValidationError("Sessions are recorded from treatment appointments.")
    if appointment.status in (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW):
        raise ValidationError("That appointment was cancelled or missed.")
    if plan.patient_id != appointment.patient_id:
        raise ValidationError("That plan is another patient's.")
    if plan.location_id != appointment.location_id:
        raise ValidationError("That plan is held at another location.")
    existing = TreatmentSession.objects.filter(appointment=appointment).first()
    if existing is not None:
        return existing
    if plan.status != PlanStatus.ACCEPTED:
        raise ValidationError(f"Plan version {plan.version} is not accepted.")
    review = day_check.review_day(appointment=appointment, plan=plan)
    problems = day_check.day_problems(review, check, plan=plan, location=appointment.location)
    if problems or review.consent is None or review.history is None or review.screening is None:
        raise ValidationError(problems or ["The treatment-day check did not pass."])
    session = TreatmentSession.objects.create(
        appointment=appointment,
        patient=appointment.booked_patient,
        plan=plan,
        consent=review.consent,
        practitioner=appointment.practitioner,
        location=appointment.location,
    )
    acknowledged = sorted(
        f.finding.rule_id
        for f in review.precautions
        if f.finding.rule_id in check.precautions_acknowledged
    )
    safety_check = SafetyCheck.objects.create(
        session=session,
        checked_by=user,
        identity_confirmed=check.identity_confirmed,
        allergies_confirmed=check.allergies_confirmed,
        medical_history=review.history,
        history_updated_today=review.history_updated_today,
        screening=review.screening,
        rules_version=review.rules_version,
        outcome=review.outcome,
        findings=[f.finding.as_dict() | {"overridden": f.overridden} for f in review.findings],
        precautions_acknowledged=acknowledged,
        baseline_photos=BaselinePhotos.TAKEN
        if review.baseline_photos_taken
        else BaselinePhotos.REFUSED,
        photo_refusal_reason=""
        if review.baseline_photos_taken
        else check.photo_refusal_reason.strip()[:300],
    )
    safety_check.lots.set(check.lots)
    if appointment.status in (AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED):
        booking.set_appointment_status(
            appointment=appointment,
            status=AppointmentStatus.IN_PROGRESS,
            actor=actor,
        )
    record_event(
        action=AuditAction.CREATE,
        actor=actor,
        obj=session,
        patient_id=session.patient_id,
        summary=f"Treatment-day check passed (history v{review.history.version}, rules "
        f"{review.rules_version}, precautions acknowledged: {', '.join(acknowledged) or 'none'}"
        f"); started the session for plan v{plan.version}",
    )
    return session


SESSION_DETAIL_FIELDS = [
    "anaesthesia",
    "anaesthetic_agent",
    "anaesthetic_concentration_percent",
    "anaesthetic_volume_ml",
    "with_adrenaline",
    "patient_weight_kg",
    "immediate_outcome",
    "complications",
]


@transaction.atomic
def complete_session(
    *,
    session: TreatmentSession,
    placements: list[dict[str, Any]],
    details: dict[str, Any],
    send_reminders: bool = True,
    actor: Actor,
) -> TreatmentSession:
    """Record what was placed and close the session, all in one transaction.

    Each placement names a lot at this location, in date and with enough on
    hand, and a deviation reason wherever it differs from the plan. Stock is
    decremented per lot, the session locks, the appointment completes and the
    2-week, 3-month and 6-month reviews are booked through the booking service (with their
    reminders) and the day-1 and day-3 check-ins are queued (treatments.services.check_ins),
    unless `send_reminders` is False: the demo clinic sends nothing.
    A second completion (double click, second tab) is refused and changes nothing.
    """
    locked = TreatmentSession.objects.select_for_update().get(pk=session.pk)
    if locked.is_locked:
        raise ValidationError("This session is already completed: add an addendum instead.")
    if ConsentWithdrawal.objects.filter(consent_id=locked.consent_id).exists():
        raise ValidationError("The consent was withdrawn: the session cannot be completed.")
    if problem := day_check.start_time_problem(locked.appointment, doing="completed"):
        raise ValidationError(problem)
    if not placements:
        raise ValidationError({"placements": ["Record at least one placement."]})
    if problems := anaesthesia_problems(details):
        raise ValidationError(problems)
    rows, used = _checked_placements(locked, placements)
    for name in SESSION_DETAIL_FIELDS:
        if name in details:
            setattr(locked, name, details[name])
    locked.completed_at = timezone.now()
    locked.completed_by = actor.user
    locked.full_clean()
    locked.save()
    PlacedThreads.objects.bulk_create(rows)
    for lot_id, count in used.items():
        # Conditional update: stock can never go below zero, whatever else runs.
        changed = StockLot.objects.filter(pk=lot_id, quantity_on_hand__gte=count).update(
            quantity_on_hand=F("quantity_on_hand") - count
        )
        if changed != 1:
            raise ValidationError({"placements": ["Stock changed meanwhile; reload and retry."]})
    _complete_appointment(locked.appointment, actor=actor)
    record_event(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=locked,
        patient_id=locked.patient_id,
        summary=f"Completed the session: {sum(r.count for r in rows)} threads from "
        f"{len(used)} lots",
    )
    book_follow_ups(session=locked, send_reminders=send_reminders, actor=actor)
    if send_reminders:
        # "How are you?" on day 1 and day 3, queued once the completion has committed.
        transaction.on_commit(partial(schedule_check_ins, session=locked), robust=True)
    return locked


def _checked_placements(
    session: TreatmentSession, placements: list[dict[str, Any]]
) -> tuple[list[PlacedThreads], dict[int, int]]:
    """The rows to record and the threads used per lot, or a ValidationError naming the
    first placement that cannot be: a lot elsewhere, expired or short, a bad count, a
    vector from another plan, or a difference from the plan with no reason given; a
    quarantined or recalled lot is refused whatever the form offered."""
    # Keyed by what the JSON body may send, which need not be a whole number.
    vectors: dict[Any, ThreadVector] = {
        v.pk: v for v in session.plan.vectors.select_related("product")
    }
    lot_ids = {p.get("lot") for p in placements}
    lots: dict[Any, StockLot] = StockLot.objects.select_for_update().in_bulk(
        [i for i in lot_ids if isinstance(i, int)]
    )
    today = timezone.localdate(timezone=session.location.zone)
    used: dict[int, int] = defaultdict(int)
    rows = []
    for number, placement in enumerate(placements, start=1):
        lot = lots.get(placement.get("lot"))
        count = placement.get("count")
        vector = vectors.get(placement.get("vector"))
        deviation = (placement.get("deviation") or "").strip()
        where = f"Placement {number}"
        if lot is None or lot.location_id != session.location_id:
            raise ValidationError({"placements": [f"{where}: choose a lot held at this location."]})
        if problems := lot_problems([lot], on=today):
            raise ValidationError({"placements": [f"{where}: {problems[0]}"]})
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
            raise ValidationError({"placements": [f"{where}: count must be 1 to {MAX_COUNT}."]})
        used[lot.pk] += count
        if used[lot.pk] > lot.quantity_on_hand:
            raise ValidationError(
                {
                    "placements": [
                        f"{where}: lot {lot.lot_number} has only {lot.quantity_on_hand} left."
                    ]
                }
            )
        _check_against_plan(placement, vector=vector, lot=lot, count=count, where=where)
        rows.append(
            PlacedThreads(
                session=session,
                vector=vector,
                area=vector.area
                if vector
                else checked_choice(placement.get("area"), FacialArea, "area"),
                side=vector.side if vector else checked_choice(placement.get("side"), Side, "side"),
                product_id=lot.product_id,
                lot=lot,
                count=count,
                deviation=deviation[:300],
            )
        )
    return rows, used


def _check_against_plan(
    placement: dict[str, Any],
    *,
    vector: ThreadVector | None,
    lot: StockLot,
    count: int,
    where: str,
) -> None:
    """A placement names a vector of this plan, if any, and says why it differs from it."""
    if placement.get("vector") is not None and vector is None:
        raise ValidationError({"placements": [f"{where}: that vector is not in this plan."]})
    deviation = (placement.get("deviation") or "").strip()
    differs = vector is None or vector.product_id != lot.product_id or vector.count != count
    if differs and not deviation:
        raise ValidationError(
            {"placements": [f"{where}: this differs from the plan; say why in the deviation."]}
        )


def _complete_appointment(appointment: Appointment, *, actor: Actor) -> None:
    """Move the session's appointment to completed, through in progress if it is not there yet."""
    if appointment.status == AppointmentStatus.COMPLETED:
        return
    if appointment.status != AppointmentStatus.IN_PROGRESS:
        booking.set_appointment_status(
            appointment=appointment,
            status=AppointmentStatus.IN_PROGRESS,
            actor=actor,
        )
    booking.set_appointment_status(
        appointment=appointment,
        status=AppointmentStatus.COMPLETED,
        actor=actor,
    )


def review_types() -> dict[str, AppointmentType]:
    """The active review type for each stage: the stage's own, else the general one."""
    reviews = list(
        AppointmentType.objects.filter(kind=AppointmentKind.REVIEW, is_active=True).order_by(
            "duration_minutes", "pk"
        )
    )
    general = next((t for t in reviews if not t.review_stage), reviews[0] if reviews else None)
    chosen: dict[str, AppointmentType] = {}
    for stage, _after in FOLLOW_UPS:
        pick = next((t for t in reviews if t.review_stage == stage), general)
        if pick is not None:
            chosen[stage] = pick
    return chosen


def book_follow_ups(
    *, session: TreatmentSession, send_reminders: bool = True, actor: Actor
) -> list[Appointment]:
    """Book the 2-week, 3-month and 6-month reviews at the first free slot from each due date,
    each with its reminder unless `send_reminders` is False."""
    types = review_types()
    if not types:
        return []
    completed_at = session.completed_at
    if completed_at is None:
        raise ValueError("Reviews are booked from a completed session; this one is still open.")
    booked = []
    for stage, after in FOLLOW_UPS:
        review = types.get(stage)
        if review is None:
            continue
        slots = booking.next_free_slots(
            appointment_type=review,
            location=session.location,
            practitioner=session.practitioner,
            after=completed_at + after,
            limit=1,
        )
        if not slots:
            continue
        try:
            booked.append(
                booking.book_appointment(
                    patient=session.patient,
                    practitioner=slots[0].practitioner,
                    location=session.location,
                    appointment_type=review,
                    starts_at=slots[0].starts_at,
                    room=slots[0].room,
                    notes=f"{ReviewStage(stage).label} review after the thread lift of "
                    f"{timezone.localtime(completed_at, session.location.zone):%d %b %Y}",
                    send_reminder=send_reminders,
                    actor=actor,
                )
            )
        except (booking.SlotUnavailable, ValidationError):
            continue  # the desk books this one by hand; the session is complete regardless
    return booked


@transaction.atomic
def add_addendum(*, session: TreatmentSession, text: str, actor: Actor) -> SessionAddendum:
    """Correct a completed session by adding to it; the record itself is never edited."""
    text = text.strip()
    if not text:
        raise ValidationError({"text": ["Write the correction."]})
    session = TreatmentSession.objects.select_for_update().get(pk=session.pk)
    if not session.is_locked:
        raise ValidationError("The session is still open: change it directly.")
    addendum = SessionAddendum.objects.create(session=session, text=text, added_by=actor.user)
    record_event(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=session,
        patient_id=session.patient_id,
        summary=f"Addendum: {text[:200]}",
    )
    return addendum
