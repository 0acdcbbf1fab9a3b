"""The consent sent to read at home: sending it, and what the patient's page records.

The patient reads the very wording the clinic's tablet will show at signing
(treatments.services.consent.consent_wording); a digest of it is kept, so the signed
consent can say whether the text signed is the text read. Reading is not signing:
nothing here touches a SignedConsent. The link is consultations.patient_links'
(purpose CONSENT_READING, which stays open after reading, until it expires).

A plan changed after sending is told on the page rather than by revoking the link
(`changed_since_sent`): every way a plan can change (a new version, a proposed
version taken back to draft and edited, a newer consent form published) shows on the
same page the patient already has, and the desk's revocation stays for mistakes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from clinic.actors import Actor
from clinic.audit import record_event
from clinic.models import AuditAction
from consultations import patient_links
from consultations.models import LinkPurpose, PatientLink
from treatments.models import (
    ConsentReading,
    ConsentTemplate,
    PlanStatus,
    SignedConsent,
    TreatmentPlan,
)
from treatments.services.consent import consent_wording, signed_wording

# Plans whose consent may be read at home: proposed to the patient, or accepted and not
# yet signed. A draft is still being drawn; a superseded version is no longer offered.
SENDABLE = (PlanStatus.PROPOSED, PlanStatus.ACCEPTED)

INVITATION = (
    "Here is the consent form for the treatment your practitioner proposed, to read at home "
    "at your own pace before your appointment. You will sign it at the clinic, with your "
    "practitioner, who will answer your questions."
)


def current_template() -> ConsentTemplate | None:
    """The consent form the tablet shows (treatments.views.consent.current_template)."""
    return ConsentTemplate.objects.filter(is_current=True).order_by("code").first()


def send_consent_to_read(*, plan: TreatmentPlan, actor: Actor) -> ConsentReading:
    """Send the patient a link to the consent text of `plan` as it stands now.

    ValidationError (nothing issued) for a draft or superseded plan or when no consent
    form is published; patient_links.LinkNotSent (nothing kept) when the patient cannot
    be reached the way they chose. An earlier reading link of the patient stops working.
    """
    with transaction.atomic():
        locked = TreatmentPlan.objects.select_for_update(of=("self",)).get(pk=plan.pk)
        if locked.status not in SENDABLE:
            raise ValidationError(
                f"Plan version {locked.version} is {locked.get_status_display().lower()}: "
                "propose it to the patient before sending the consent to read."
            )
        template = current_template()
        if template is None:
            raise ValidationError(
                "No consent form is published: a clinic manager must publish one first."
            )
        issued = patient_links.issue_link(
            patient=locked.patient,
            purpose=LinkPurpose.CONSENT_READING,
            location=locked.location,
            actor=actor,
        )
        reading = ConsentReading.objects.create(
            link=issued.link,
            plan=locked,
            template=template,
            text_digest=consent_wording(template, locked).digest(),
            sent_at=issued.link.created_at,
            sent_by=actor.user,
        )
        record_event(
            action=AuditAction.CREATE,
            actor=actor,
            obj=reading,
            patient_id=plan.patient_id,
            summary=f"Sent the consent to plan v{locked.version} to read at home "
            f"(form “{template.title}” v{template.version})",
        )
        # Inside the transaction: a message that could not go leaves no link behind.
        patient_links.send_link(issued=issued, invitation=INVITATION, actor=actor)
    return reading


def reading_for_link(link: PatientLink) -> ConsentReading | None:
    return (
        ConsentReading.objects.select_related(
            "plan__patient", "plan__practitioner__user", "plan__location", "template"
        )
        .filter(link=link)
        .first()
    )


def changed_since_sent(reading: ConsentReading) -> bool:
    """Whether what the patient would sign now differs from the text sent: the plan went
    back to draft or was superseded, a newer version was proposed or accepted, or the
    wording changed (vectors edited, a newer consent form published)."""
    plan = reading.plan
    if plan.status not in SENDABLE:
        return True
    newer = TreatmentPlan.objects.filter(
        series_id=plan.series_id, version__gt=plan.version, status__in=SENDABLE
    )
    if newer.exists():
        return True
    template = current_template()
    return template is None or consent_wording(template, plan).digest() != reading.text_digest


@transaction.atomic
def record_opened(*, reading: ConsentReading, actor: Actor) -> ConsentReading:
    """Stamp the first time the patient opened the text (later opens are the link's)."""
    now = timezone.now()
    if ConsentReading.objects.filter(pk=reading.pk, first_opened_at__isnull=True).update(
        first_opened_at=now
    ):
        reading.first_opened_at = now
        record_event(
            action=AuditAction.VIEW,
            actor=actor,
            obj=reading,
            patient_id=reading.plan.patient_id,
            summary=f"The patient opened the consent to plan v{reading.plan.version} at home",
        )
    return reading


@transaction.atomic
def record_read_to_end(*, reading: ConsentReading, actor: Actor) -> ConsentReading:
    """Stamp that the patient said they read the text to the end (the first time counts)."""
    now = timezone.now()
    if ConsentReading.objects.filter(pk=reading.pk, read_to_end_at__isnull=True).update(
        read_to_end_at=now, first_opened_at=Coalesce("first_opened_at", Value(now))
    ):
        reading.read_to_end_at = now
        reading.first_opened_at = reading.first_opened_at or now
        record_event(
            action=AuditAction.UPDATE,
            actor=actor,
            obj=reading,
            patient_id=reading.plan.patient_id,
            summary=f"The patient read the consent to plan v{reading.plan.version} "
            "to the end at home",
        )
    return reading


@dataclass(frozen=True)
class ReadingNote:
    """What a signed consent says about the text read beforehand."""

    reading: ConsentReading
    same_text: bool


def reading_before(consent: SignedConsent) -> ReadingNote | None:
    """The consent text last sent to read for the signed plan version before signing,
    and whether the text signed is the text sent."""
    # Signing keeps whole seconds (sign_consent): a text sent within that second came first.
    signed_by = (consent.signed_at or timezone.now()) + timedelta(seconds=1)
    reading = (
        ConsentReading.objects.filter(plan_id=consent.plan_id, sent_at__lt=signed_by)
        .order_by("-sent_at", "-pk")
        .first()
    )
    if reading is None:
        return None
    return ReadingNote(
        reading=reading, same_text=signed_wording(consent).digest() == reading.text_digest
    )
