"""Suitability screening: run the versioned rules on a consultation, and record the decision.

The rules themselves are in consultations.screening.rules; this module gathers
the facts they read, stores the outcome and the practitioner's decision, audited.
"""

import dataclasses
import json
from dataclasses import asdict
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinic.actors import Actor
from clinic.audit import record_event
from clinic.models import AuditAction, Location
from consultations.models import (
    ANSWER_FIELD_NAMES,
    Consultation,
    MedicalHistory,
    Screening,
    ScreeningDecision,
)
from consultations.screening import rules as screening_rules
from consultations.screening.rules import Facts, PreviousTreatmentFact


def screening_facts(
    *,
    consultation: Consultation,
    history: MedicalHistory,
    today: date,
    jurisdiction: str | None = None,
) -> Facts:
    """Gather what the rules read: the medical history, the assessment, the patient's age and
    where they are judged (`jurisdiction`; by default the consultation's location's)."""
    if jurisdiction is None:
        location = consultation_location(consultation)
        jurisdiction = location.jurisdiction if location is not None else ""
    areas = list(consultation.areas.all())
    wanted = frozenset(row.area for row in areas if row.wanted) or frozenset(
        row.area for row in areas
    )
    return Facts(
        today=today,
        age=consultation.patient.age_on(today),
        treatment_areas=wanted,
        laxity={row.area: row.laxity for row in areas if row.laxity is not None},
        previous_treatments=tuple(
            PreviousTreatmentFact(t.kind, t.area, t.treated_on)
            for t in history.previous_treatments.all()
        ),
        jurisdiction=jurisdiction,
        **{name: getattr(history, name) for name in SCREENED_HISTORY_FIELDS},
    )


def consultation_location(consultation: Consultation) -> Location | None:
    """The appointment's location, else the practitioner's first location."""
    if consultation.appointment is not None:
        return consultation.appointment.location
    return consultation.practitioner.locations.first()


# The history answers the rules read: every answer the questionnaire keeps
# (consultations.models.ANSWER_FIELD_NAMES) that the rules' Facts names too. A new
# question reaches the rules by adding it to both, never to a third list here.
SCREENED_HISTORY_FIELDS = [
    field.name for field in dataclasses.fields(Facts) if field.name in ANSWER_FIELD_NAMES
]


@transaction.atomic
def run_screening(
    *,
    consultation: Consultation,
    body_image: dict[str, Any],
    actor: Actor,
) -> Screening:
    """Screen the patient against the current rule set and store the result as it stands.

    Needs a medical history and an assessment (laxity is read by the rules).
    """
    patient = consultation.patient
    history = patient.medical_histories.order_by("-version").first()
    errors = {}
    if set(body_image) != {key for key, _text, _kind in screening_rules.BODY_IMAGE_QUESTIONS}:
        errors["body_image"] = ["Answer every body-image question."]
    if history is None:
        errors["medical_history"] = ["The patient has no medical history yet: take it first."]
    if consultation.assessed_at is None:
        errors["assessment"] = ["Record the assessment before screening."]
    if errors or history is None:  # no history means errors says so
        raise ValidationError(errors)
    # "Today" on the clinic's wall clock: ages and waiting periods change at local midnight.
    location = consultation_location(consultation)
    today = timezone.localdate(timezone=location.zone if location else None)
    jurisdiction = location.jurisdiction if location is not None else ""
    facts = screening_facts(
        consultation=consultation, history=history, today=today, jurisdiction=jurisdiction
    )
    # Read through the module so the version and the rules always travel together.
    version = screening_rules.RULES_VERSION
    outcome, defer_until, findings = screening_rules.evaluate(facts, body_image)
    screening = Screening.objects.create(
        patient=patient,
        consultation=consultation,
        medical_history=history,
        rules_version=version,
        jurisdiction=jurisdiction,
        facts=json.loads(json.dumps(asdict(facts), default=str)),
        body_image_answers=body_image,
        body_image_positive=screening_rules.body_image_positive(body_image),
        findings=[finding.as_dict() for finding in findings],
        outcome=outcome,
        defer_until=defer_until,
        screened_by=actor.user,
    )
    record_event(
        action=AuditAction.CREATE,
        actor=actor,
        obj=screening,
        patient_id=patient.pk,
        summary=f"Screened: {screening.get_outcome_display()} "
        f"({len(findings)} findings, rules {version})",
    )
    return screening


@transaction.atomic
def decide_screening(
    *,
    screening: Screening,
    decision: str,
    justification: str = "",
    actor: Actor,
) -> Screening:
    """Record the practitioner's decision: accept the outcome, or override it in writing."""
    locked = Screening.objects.select_for_update().get(pk=screening.pk)
    if locked.decision:
        raise ValidationError("This screening already has a decision; screen again to change it.")
    justification = justification.strip()
    if decision == ScreeningDecision.OVERRIDDEN and len(justification) < 20:
        raise ValidationError(
            {"justification": ["Write why you override the outcome (at least a sentence)."]}
        )
    if decision not in ScreeningDecision.values:
        raise ValidationError({"decision": ["Accept the outcome or override it."]})
    locked.decision = decision
    locked.override_justification = justification if decision == "overridden" else ""
    locked.decided_at = timezone.now()
    locked.decided_by = actor.user
    locked.save()
    record_event(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=locked,
        patient_id=locked.patient_id,
        summary=(
            f"Overrode “{locked.get_outcome_display()}”: {justification[:200]}"
            if decision == ScreeningDecision.OVERRIDDEN
            else f"Accepted “{locked.get_outcome_display()}”"
        ),
    )
    return locked
