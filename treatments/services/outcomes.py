"""Follow-up outcomes and adverse events, each naming its session and lots, audited."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinic.actors import Actor
from clinic.audit import record_event
from clinic.models import AuditAction
from consultations.models import (
    Appointment,
    PatientPhoto,
    PhotoStage,
)
from treatments.models import (
    AdverseEvent,
    Outcome,
    StockLot,
    TreatmentSession,
)


@transaction.atomic
def record_outcome(
    *,
    session: TreatmentSession,
    gais_practitioner: int,
    gais_patient: int,
    satisfaction: int,
    notes: str = "",
    photos: list[PatientPhoto] | None = None,
    appointment: Appointment | None = None,
    actor: Actor,
) -> Outcome:
    """A review's result: GAIS from both sides (1 very much improved … 5 worse) and satisfaction."""
    if not session.is_locked:
        raise ValidationError("Review a session once it is completed.")
    photos = list(photos or [])
    if any(
        photo.patient_id != session.patient_id
        or photo.stage == PhotoStage.BASELINE
        or photo.is_archived
        for photo in photos
    ):
        raise ValidationError({"photos": ["Choose this patient's follow-up photos only."]})
    if appointment is not None and appointment.patient_id != session.patient_id:
        raise ValidationError({"appointment": ["That appointment is another patient's."]})
    outcome = Outcome(
        session=session,
        appointment=appointment,
        reviewed_on=timezone.localdate(timezone=session.location.zone),
        gais_practitioner=gais_practitioner,
        gais_patient=gais_patient,
        satisfaction=satisfaction,
        notes=notes,
        recorded_by=actor.user,
    )
    outcome.full_clean()
    outcome.save()
    outcome.photos.set(photos)
    record_event(
        action=AuditAction.CREATE,
        actor=actor,
        obj=outcome,
        patient_id=session.patient_id,
        summary=f"Review: GAIS {gais_practitioner} (practitioner), {gais_patient} (patient), "
        f"satisfaction {satisfaction}/10",
    )
    return outcome


@transaction.atomic
def report_adverse_event(
    *,
    session: TreatmentSession,
    event_type: str,
    severity: str,
    onset_on: date,
    serious: bool = False,
    lots: list[StockLot] | None = None,
    management: str = "",
    threads_removed: bool = False,
    resolved_on: date | None = None,
    description: str = "",
    actor: Actor,
) -> AdverseEvent:
    """Record a complication after a session, naming the lots involved (for recalls)."""
    if not session.is_locked:
        raise ValidationError("Report adverse events on a completed session.")
    lots = list(lots or [])
    _check_event(session, lots=lots, onset_on=onset_on, resolved_on=resolved_on)
    event = AdverseEvent(
        session=session,
        event_type=event_type,
        severity=severity,
        serious=serious,
        onset_on=onset_on,
        management=management,
        threads_removed=threads_removed,
        resolved_on=resolved_on,
        description=description,
        reported_by=actor.user,
    )
    event.full_clean()
    event.save()
    event.lots.set(lots or [])
    record_event(
        action=AuditAction.CREATE,
        actor=actor,
        obj=event,
        patient_id=session.patient_id,
        summary=f"Adverse event: {event.get_event_type_display()} ({severity}"
        f"{', serious' if serious else ''})",
    )
    return event


def _check_event(
    session: TreatmentSession, *, lots: list[StockLot], onset_on: date, resolved_on: date | None
) -> None:
    placed = set(session.placed.values_list("lot_id", flat=True))
    if any(lot.pk not in placed for lot in lots):
        raise ValidationError({"lots": ["Choose lots used in this session."]})
    started = timezone.localtime(session.started_at, session.location.zone).date()
    if onset_on < started:
        raise ValidationError({"onset_on": ["The onset is before the session."]})
    if onset_on > timezone.localdate(timezone=session.location.zone):
        raise ValidationError({"onset_on": ["The onset is in the future."]})
    if resolved_on is not None and resolved_on < onset_on:
        raise ValidationError({"resolved_on": ["It cannot resolve before it began."]})
    if resolved_on is not None and resolved_on > timezone.localdate(timezone=session.location.zone):
        raise ValidationError({"resolved_on": ["The resolution date is in the future."]})


@transaction.atomic
def update_adverse_event(
    *,
    event: AdverseEvent,
    event_type: str,
    severity: str,
    onset_on: date,
    serious: bool = False,
    lots: list[StockLot] | None = None,
    management: str = "",
    threads_removed: bool = False,
    resolved_on: date | None = None,
    description: str = "",
    actor: Actor,
) -> AdverseEvent:
    """Complete or correct an adverse event (one begun from a patient's check-in, say); the
    event's history keeps every earlier version, lots included."""
    locked = AdverseEvent.objects.select_for_update(of=("self",)).get(pk=event.pk)
    session = TreatmentSession.objects.select_related("location").get(pk=locked.session_id)
    lots = list(lots or [])
    _check_event(session, lots=lots, onset_on=onset_on, resolved_on=resolved_on)
    locked.event_type, locked.severity, locked.serious = event_type, severity, serious
    locked.onset_on, locked.resolved_on = onset_on, resolved_on
    locked.management, locked.threads_removed = management, threads_removed
    locked.description = description
    locked._history_user = actor.user  # type: ignore[attr-defined]
    locked.full_clean()
    locked.save()
    locked.lots.set(lots)
    record_event(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=locked,
        patient_id=session.patient_id,
        summary=f"Updated the adverse event: {locked.get_event_type_display()} ({severity}"
        f"{', serious' if serious else ''})",
    )
    return locked
