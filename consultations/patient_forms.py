"""Forms before the visit: the medical history and the body-image questions, from home.

The desk sends both links at once (`send_visit_forms`); the patient answers the same
questions as on the clinic's tablet, through the same forms and services; each link
takes one submission (consultations.patient_links.use_link, in the same transaction).

- A history sent from a link is a new version like any other, marked as the patient's
  (`HistorySource.PATIENT_LINK`, nobody signed in: `submitted_by` is empty) and waiting
  for a clinician to read it (`review_medical_history`).
- Body-image answers are kept as the patient sent them (`BodyImageAnswers`). They are
  not a screening: the practitioner's screening form starts from the latest answers
  sent since the patient's last screening (`body_image_answers_for_screening`), checks
  them with the patient and screens as before; the screening keeps what it ran on.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from clinic.access import AnyUser
from clinic.actors import Actor
from clinic.audit import record_event
from clinic.models import AuditAction, Location
from consultations import patient_links, services
from consultations.models import (
    Appointment,
    BodyImageAnswers,
    HistorySource,
    LinkPurpose,
    MedicalHistory,
    Patient,
    PatientLink,
)
from consultations.patient_contact import usable_channels

# What each message asks, in the patient's words (the link and its expiry follow it).
INVITATIONS = {
    LinkPurpose.MEDICAL_HISTORY: (
        "Before your visit, please answer our medical-history questions. They take about "
        "ten minutes; you can save your answers and finish later."
    ),
    LinkPurpose.BODY_IMAGE: (
        "Before your visit, please answer a few short questions about how you feel about "
        "your appearance."
    ),
}
VISIT_FORMS = (LinkPurpose.MEDICAL_HISTORY, LinkPurpose.BODY_IMAGE)
# The practitioner's home lists at most this many histories to review (newest first).
REVIEW_LIST_LENGTH = 30


@transaction.atomic
def submit_history_from_link(
    *,
    link: PatientLink,
    answers: dict[str, Any],
    previous_treatments: Iterable[dict[str, Any]] = (),
    actor: Actor,
) -> MedicalHistory:
    """The patient's answers as a new history version, and the link used up, together:
    if the history is refused, the link still works; a second submission saves nothing."""
    patient_links.use_link(link=link, actor=actor)
    return services.submit_medical_history(
        patient=link.patient,
        answers=answers,
        previous_treatments=previous_treatments,
        completed_by_patient=True,
        source=HistorySource.PATIENT_LINK,
        actor=actor,
    )


@transaction.atomic
def submit_body_image_from_link(
    *, link: PatientLink, answers: dict[str, Any], actor: Actor
) -> BodyImageAnswers:
    """Keep the patient's body-image answers for their next screening; the link is used up."""
    patient_links.use_link(link=link, actor=actor)
    kept = BodyImageAnswers.objects.create(patient=link.patient, answers=answers, link=link)
    record_event(
        action=AuditAction.CREATE,
        actor=actor,
        obj=kept,
        patient_id=link.patient_id,
        summary="Body-image answers sent by the patient from a link",
    )
    return kept


def body_image_answers_for_screening(*, patient: Patient) -> BodyImageAnswers | None:
    """The latest answers the patient sent since their last screening (None if none):
    answers a screening already ran on, or older, are not offered again."""
    answers = BodyImageAnswers.objects.filter(patient=patient)
    last_screened = patient.screenings.aggregate(last=Max("screened_at"))["last"]
    if last_screened is not None:
        answers = answers.filter(submitted_at__gt=last_screened)
    return answers.first()


@transaction.atomic
def review_medical_history(*, history: MedicalHistory, actor: Actor) -> bool:
    """A clinician has read a history the patient sent; False if it needed no review."""
    locked = MedicalHistory.objects.select_for_update(of=("self",)).get(pk=history.pk)
    if not locked.awaiting_review:
        return False
    locked.reviewed_at = timezone.now()
    locked.reviewed_by = actor.user
    locked.save(update_fields=["reviewed_at", "reviewed_by"])
    history.reviewed_at, history.reviewed_by = locked.reviewed_at, locked.reviewed_by
    record_event(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=locked,
        patient_id=locked.patient_id,
        summary=f"Reviewed medical history version {locked.version}, sent by the patient",
    )
    return True


def histories_to_review(*, user: AnyUser) -> list[MedicalHistory]:
    """Histories patients sent from a link that no clinician has reviewed, newest first."""
    return list(
        MedicalHistory.objects.for_user(user)
        .filter(source=HistorySource.PATIENT_LINK, reviewed_at__isnull=True)
        .select_related("patient")
        .order_by("-submitted_at", "-pk")[:REVIEW_LIST_LENGTH]
    )


def send_visit_forms(
    *,
    patient: Patient,
    location: Location,
    actor: Actor,
    appointment: Appointment | None = None,
) -> dict[str, list[str]]:
    """Send the medical-history and body-image links the ways the patient chose.

    Returns, per purpose sent, the channels used. LinkNotSent, with nothing made, when the
    patient chose no channel we can use. If one message then fails to go, its link is
    revoked (it exists nowhere else) and LinkNotSent says which form did go.
    """
    if not usable_channels(patient):
        # The same refusal send_link gives, before any link exists.
        raise patient_links.LinkNotSent(
            f"{patient.full_name} has not chosen email or text messages, or has no address "
            "for them. Add one to their details, or hand them the forms at the desk."
        )
    issued = [
        patient_links.issue_link(
            patient=patient,
            purpose=purpose,
            location=location,
            appointment=appointment,
            actor=actor,
        )
        for purpose in VISIT_FORMS
    ]
    sent: dict[str, list[str]] = {}
    failures: list[str] = []
    for one in issued:
        purpose = LinkPurpose(one.link.purpose)
        try:
            sent[purpose] = patient_links.send_link(
                issued=one, invitation=INVITATIONS[purpose], actor=actor
            )
        except patient_links.LinkNotSent as error:
            patient_links.revoke_link(link=one.link, actor=actor)
            failures.append(f"{purpose.label}: {error}")
    if failures:
        went = ", ".join(LinkPurpose(p).label for p in sent)
        raise patient_links.LinkNotSent(
            " ".join(failures)
            + (f" Sent: {went}." if went else " Nothing was sent; the links were withdrawn.")
        )
    return sent
