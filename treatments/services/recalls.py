"""Recalls: a lot is recalled, every patient who received it is contacted, and that is kept.

Opening a recall marks the lot recalled (so it can no longer be used), lists
every patient who received it (treatments.selectors.recipients_of) and tracks
each contact: who, when, how and what came of it. The notification email is
plain text rendered from the manager's template. A template holding markup or a
link that is not a web address is refused: in a plain-text email it would reach
the patient as stray characters, and a `file:` or `javascript:` link in a message
about their treatment invites them to open something that is not ours. What a
patient's name holds is sent as the characters it is.

A recall is closed once every patient on its list has a recorded contact (a
failed attempt counts: "no answer, letter sent" is an outcome), with a note of
how it ended. The lot stays recalled: closing ends the follow-up, not the ban.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.utils import timezone

from clinic.actors import Actor
from clinic.audit import record_event
from clinic.models import AuditAction
from consultations.models import Patient
from treatments.models import (
    ContactMethod,
    LotRecall,
    LotStatus,
    RecallContact,
    RecallNotice,
    StockLot,
)
from treatments.selectors import Recipient, recipients_of
from treatments.services.stock import change_lot_status

REASON_MAX_LENGTH = 2000
OUTCOME_MAX_LENGTH = 2000
SUBJECT_MAX_LENGTH = 150
BODY_MAX_LENGTH = 5000
# What a template may name; anything else in braces is refused, never evaluated.
PLACEHOLDERS = {
    "patient": "the patient's full name",
    "first_name": "the patient's first name",
    "clinic": "the location's name",
    "clinic_phone": "the location's phone number",
    "clinic_address": "the location's address",
    "lot": "the lot number",
    "product": "the product's name",
}
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
# An HTML tag, comment or doctype: "<b>", "</p>", "<!--", "<img ...".
MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z!?]")
# Link schemes a patient must never be sent: local files, scripts, inline data.
UNSAFE_LINK = re.compile(r"\b(?:file|javascript|data|vbscript)\s*:", re.IGNORECASE)
CLOSING_NOTE_MAX_LENGTH = 2000


@dataclass(frozen=True)
class RecallPatient:
    """One patient to contact about a recall (once, however many sessions used the lot)."""

    patient_id: int
    name: str
    first_name: str
    record_number: str
    phone: str
    email: str
    treated_on: list[date]
    threads: int

    @property
    def needs_another_way(self) -> bool:
        return not self.email


def recall_patients(recall: LotRecall) -> list[RecallPatient]:
    """Every patient who received the recalled lot, once each, earliest treated first."""
    by_patient: dict[int, list[Recipient]] = {}
    for recipient in recipients_of([recall.lot])[recall.lot.pk]:
        by_patient.setdefault(recipient.patient_id, []).append(recipient)
    patients = []
    for received in by_patient.values():
        first = received[0]
        patients.append(
            RecallPatient(
                patient_id=first.patient_id,
                name=first.name,
                first_name=first.session.patient.first_name,
                record_number=first.record_number,
                phone=first.phone,
                email=first.email,
                treated_on=[r.treated_on for r in received],
                threads=sum(r.threads for r in received),
            )
        )
    return patients


@transaction.atomic
def open_recall(*, lot: StockLot, reason: str, announced_on: date, actor: Actor) -> LotRecall:
    """Open a recall of the lot and mark it recalled (it cannot be used from now on)."""
    reason = reason.strip()
    errors: dict[str, list[str]] = {}
    if not reason:
        errors["reason"] = ["Say why the lot is recalled (the notice's reference and words)."]
    elif len(reason) > REASON_MAX_LENGTH:
        errors["reason"] = [f"Keep the reason under {REASON_MAX_LENGTH} characters."]
    if announced_on > timezone.localdate(timezone=lot.location.zone):
        errors["announced_on"] = ["The notice's date is in the future."]
    if errors:
        raise ValidationError(errors)
    lot = StockLot.objects.select_for_update().select_related("product", "location").get(pk=lot.pk)
    if LotRecall.objects.filter(lot=lot, closed_at__isnull=True).exists():
        raise ValidationError(f"Lot {lot.lot_number} already has an open recall.")
    if lot.status != LotStatus.RECALLED:
        change_lot_status(lot=lot, status=LotStatus.RECALLED, reason=reason, actor=actor)
    recall = LotRecall.objects.create(
        lot=lot, reason=reason, announced_on=announced_on, opened_by=actor.user
    )
    record_event(
        action=AuditAction.CREATE,
        actor=actor,
        obj=recall,
        summary=f"Opened a recall of lot {lot.lot_number} ({lot.product.name}): {reason[:150]}",
    )
    return recall


@transaction.atomic
def record_contact(
    *, recall: LotRecall, patient: Patient, method: str, outcome: str, actor: Actor
) -> RecallContact:
    """Record that a patient on the recall's list was contacted: how, and what came of it."""
    outcome = outcome.strip()
    errors: dict[str, list[str]] = {}
    if method not in ContactMethod.values:
        errors["method"] = ["Choose phone, email, letter or in person."]
    if not outcome:
        errors["outcome"] = ["Write what came of the contact."]
    elif len(outcome) > OUTCOME_MAX_LENGTH:
        errors["outcome"] = [f"Keep the outcome under {OUTCOME_MAX_LENGTH} characters."]
    if errors:
        raise ValidationError(errors)
    recall = LotRecall.objects.select_for_update().select_related("lot").get(pk=recall.pk)
    if not recall.is_open:
        raise ValidationError("This recall is closed: its contacts can no longer change.")
    if patient.pk not in {p.patient_id for p in recall_patients(recall)}:
        raise ValidationError("That patient did not receive this lot.")
    contact = RecallContact.objects.create(
        recall=recall,
        patient=patient,
        method=method,
        outcome=outcome,
        contacted_by=actor.user,
    )
    record_event(
        action=AuditAction.CREATE,
        actor=actor,
        obj=contact,
        patient_id=patient.pk,
        summary=f"Contacted ({contact.get_method_display().lower()}) about the recall of lot "
        f"{recall.lot.lot_number}: {outcome[:150]}",
    )
    return contact


def check_template(text: str) -> list[str]:
    """What is wrong with a notice template: unknown placeholders, stray braces."""
    problems = []
    unknown = sorted({name for name in PLACEHOLDER.findall(text) if name not in PLACEHOLDERS})
    if unknown:
        names = ", ".join("{" + name + "}" for name in unknown)
        allowed = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
        problems.append(f"Unknown placeholder {names}: use only {allowed}.")
    if PLACEHOLDER.sub("", text).count("{") or PLACEHOLDER.sub("", text).count("}"):
        problems.append("A brace is not closed: placeholders are written like {patient}.")
    if MARKUP.search(text):
        problems.append(
            "The email is plain text: remove the markup (<...>), the patient would see it as typed."
        )
    if UNSAFE_LINK.search(text):
        problems.append(
            "Only web addresses (https://...) may be linked: file:, javascript: and data: "
            "links are refused."
        )
    return problems


def render_notice(text: str, *, recall: LotRecall, patient: RecallPatient) -> str:
    """The template with its placeholders filled in: plain text, nothing evaluated."""
    lot, location = recall.lot, recall.lot.location
    values = {
        "patient": patient.name,
        "first_name": patient.first_name,
        "clinic": location.name,
        "clinic_phone": location.phone,
        "clinic_address": location.address,
        "lot": lot.lot_number,
        "product": lot.product.name,
    }
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


@transaction.atomic
def close_recall(*, recall: LotRecall, note: str, actor: Actor) -> LotRecall:
    """Close a recall whose every patient has a recorded contact; the lot stays recalled."""
    note = note.strip()
    if not note:
        raise ValidationError(
            {"note": ["Say how the recall ended: what became of the remaining stock."]}
        )
    if len(note) > CLOSING_NOTE_MAX_LENGTH:
        raise ValidationError(
            {"note": [f"Keep the note under {CLOSING_NOTE_MAX_LENGTH} characters."]}
        )
    recall = (
        LotRecall.objects.select_for_update()
        .select_related("lot__product", "lot__location")
        .get(pk=recall.pk)
    )
    if not recall.is_open:
        raise ValidationError("This recall is already closed.")
    contacted = set(recall.contacts.values_list("patient_id", flat=True))
    waiting = [
        patient for patient in recall_patients(recall) if patient.patient_id not in contacted
    ]
    if waiting:
        names = ", ".join(patient.name for patient in waiting[:5])
        more = f" and {len(waiting) - 5} more" if len(waiting) > 5 else ""
        raise ValidationError(
            f"{len(waiting)} patient(s) have no recorded contact yet: {names}{more}. Record "
            "each contact, or each failed attempt, before closing the recall."
        )
    recall.closed_at = timezone.now()
    recall.closed_by = actor.user
    recall.closing_note = note
    recall.save(update_fields=["closed_at", "closed_by", "closing_note"])
    record_event(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=recall,
        summary=f"Closed the recall of lot {recall.lot.lot_number}: {note[:150]}",
    )
    return recall


@transaction.atomic
def send_recall_notice(*, recall: LotRecall, subject: str, body: str, actor: Actor) -> RecallNotice:
    """Email every patient on the recall's list who has an email address, one message each.

    Plain text only (no HTML part): a template with markup or a file: link is
    refused (check_template); a patient's name is sent as the characters it is.
    Each email is recorded as a contact; patients without an address are left for
    the desk to reach another way.
    """
    subject, body = subject.strip(), body.strip()
    errors: dict[str, list[str]] = {}
    if not subject:
        errors["subject"] = ["Write the email's subject."]
    elif len(subject) > SUBJECT_MAX_LENGTH or "\n" in subject or "\r" in subject:
        errors["subject"] = [
            f"Write the subject on one line, under {SUBJECT_MAX_LENGTH} characters."
        ]
    if not body:
        errors["body"] = ["Write the email."]
    elif len(body) > BODY_MAX_LENGTH:
        errors["body"] = [f"Keep the email under {BODY_MAX_LENGTH} characters."]
    else:
        problems = check_template(body) + check_template(subject)
        if problems:
            errors["body"] = problems
    if errors:
        raise ValidationError(errors)
    if not recall.is_open:
        raise ValidationError("This recall is closed.")
    reachable = [patient for patient in recall_patients(recall) if patient.email]
    if not reachable:
        raise ValidationError(
            "No patient on this recall has an email address: reach them another way."
        )
    messages = [
        EmailMessage(
            subject=render_notice(subject, recall=recall, patient=patient).replace("\n", " "),
            body=render_notice(body, recall=recall, patient=patient),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[patient.email],
        )
        for patient in reachable
    ]
    notice = RecallNotice.objects.create(
        recall=recall,
        subject=subject,
        body_template=body,
        recipients=len(messages),
        sent_by=actor.user,
    )
    for patient in reachable:
        RecallContact.objects.create(
            recall=recall,
            patient_id=patient.patient_id,
            method=ContactMethod.EMAIL,
            outcome=f"Recall notice emailed: {subject[:100]}",
            contacted_by=actor.user,
        )
        record_event(
            action=AuditAction.CREATE,
            actor=actor,
            obj=notice,
            patient_id=patient.patient_id,
            summary=f"Emailed the recall notice of lot {recall.lot.lot_number}",
        )
    record_event(
        action=AuditAction.CREATE,
        actor=actor,
        obj=notice,
        summary=f"Emailed the recall notice of lot {recall.lot.lot_number} to "
        f"{len(messages)} patient(s)",
    )
    # Last: if the mail server refuses, the transaction rolls back and nothing says "sent".
    get_connection().send_messages(messages)
    return notice
