"""Patients' privacy rights: erasure requests, and which uses of their photos they allow.

A clinic cannot erase clinical records on request: they are kept for a legal
retention period (RETENTION_REASON). What an erasure request does end at once
is everything optional: marketing consent, and the use of photos for teaching
or marketing. Signed consents are immutable, so the withdrawal of photo uses
is stored on the ErasureRequest; `photo_use_allowed` is the one question every
use of a photo outside the clinical record must ask.
"""

from __future__ import annotations

from datetime import date, datetime

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from clinic.actors import Actor
from clinic.audit import record_event
from clinic.models import AuditAction
from consultations.models import ErasureRequest, Patient
from consultations.services import photo_use_consented
from treatments.models import PhotoUse

RETENTION_YEARS = 8
RETENTION_REASON = (
    "Clinical records are retained for 8 years after the last treatment "
    "(GMC / NHS Records Management Code of Practice 2023)"
)
# What an erasure request withdraws from the photo uses a consent may have allowed.
PHOTO_USES_WITHDRAWN_ON_ERASURE = [PhotoUse.TEACHING.value, PhotoUse.MARKETING.value]


def photo_use_allowed(patient: Patient, use: str) -> bool:
    """Whether the patient's photos may be used for `use` (a PhotoUse value) today.

    No after an erasure request that withdrew that use; otherwise the patient's
    latest photography consent for that use, unless withdrawn (signed treatment
    consents record theirs there; consultations.services.photo_use_consented).
    """
    if use not in PhotoUse.values:
        raise ValueError(f"Unknown photo use {use!r}: one of {', '.join(PhotoUse.values)}.")
    return photo_use_consented(patient, use)


def last_clinical_contact(patient: Patient) -> datetime | None:
    """When the clinic last treated, reviewed, consulted or took a history from the patient."""
    from treatments.models import AdverseEvent, Outcome, TreatmentSession

    moments = [
        TreatmentSession.objects.filter(patient=patient).aggregate(at=Max("started_at"))["at"],
        Outcome.objects.filter(session__patient=patient).aggregate(at=Max("recorded_at"))["at"],
        AdverseEvent.objects.filter(session__patient=patient).aggregate(at=Max("reported_at"))[
            "at"
        ],
        patient.consultations.aggregate(at=Max("started_at"))["at"],
        patient.medical_histories.aggregate(at=Max("submitted_at"))["at"],
    ]
    known = [moment for moment in moments if moment is not None]
    return max(known) if known else None


def years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def erasure_outcome(*, last_contact: datetime | None, marketing_was_on: bool) -> str:
    """What the request changed and what it did not, in words for the record and the patient."""
    if last_contact is not None:
        day = timezone.localdate(last_contact)
        until = years_after(day, RETENTION_YEARS)
        kept = (
            "Kept: the clinical record (medical history, consultations, screenings, plans, "
            "signed consents, treatment sessions, reviews, complications and photos) and the "
            f"details that identify the patient, until at least {until:%d %B %Y} "
            f"({RETENTION_YEARS} years after the last recorded care on {day:%d %B %Y})."
        )
    else:
        kept = (
            "No clinical record is held; the patient's details are kept with this request "
            "as the record of it."
        )
    marketing = (
        "Marketing consent withdrawn: no news or offers will be sent."
        if marketing_was_on
        else "Marketing consent was already off: no news or offers are sent."
    )
    photos = "Photos may no longer be used for teaching or marketing, whatever any consent said."
    return " ".join([kept, marketing, photos])


@transaction.atomic
def record_erasure_request(*, patient: Patient, actor: Actor) -> ErasureRequest:
    """Record a patient's request to be erased, and carry out what the law allows at once.

    In one transaction: clinical records are kept (the reason is recorded),
    marketing consent is withdrawn, and teaching and marketing uses of the
    photos are withdrawn (see `photo_use_allowed`). Audited.
    """
    locked = Patient.objects.select_for_update().get(pk=patient.pk)
    marketing_was_on = locked.marketing_consent
    if marketing_was_on:
        locked.marketing_consent = False
        # simple_history reads _history_user, set at run time: the change history names who did it.
        locked._history_user = actor.user  # type: ignore[attr-defined]
        locked.save(update_fields=["marketing_consent"])
        record_event(
            action=AuditAction.UPDATE,
            actor=actor,
            obj=locked,
            patient_id=locked.pk,
            summary="Changed marketing_consent: withdrawn on an erasure request",
        )
    patient.marketing_consent = locked.marketing_consent
    now = timezone.now()
    erasure = ErasureRequest.objects.create(
        patient=locked,
        requested_at=now,
        received_by=actor.user,
        outcome=erasure_outcome(
            last_contact=last_clinical_contact(locked), marketing_was_on=marketing_was_on
        ),
        retained_reason=RETENTION_REASON,
        photo_uses_withdrawn=list(PHOTO_USES_WITHDRAWN_ON_ERASURE),
        completed_at=now,
        completed_by=actor.user,
    )
    record_event(
        action=AuditAction.CREATE,
        actor=actor,
        obj=erasure,
        patient_id=locked.pk,
        summary="Erasure request recorded: clinical records retained; marketing consent and "
        "teaching and marketing photo uses withdrawn",
    )
    return erasure
