"""Consent: the wording clinics publish, and the signed, fingerprinted consents of patients.

A signed consent is written once and never changed; its fingerprint covers the
exact text shown, the signatures and who signed when. Withdrawal is a new record.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from clinic.actors import Actor
from clinic.audit import record_event
from clinic.models import AuditAction, StaffMember
from consultations.models import PhotoConsentForm, PhotographyConsent
from consultations.services import record_photography_consent, withdraw_photography_consent
from treatments.models import (
    ConsentTemplate,
    ConsentWithdrawal,
    PhotoUse,
    PlanStatus,
    SignedConsent,
    TreatmentPlan,
)
from treatments.signatures import process_signature

PLACEHOLDERS = ("patient", "practitioner", "procedure", "areas", "products")


def fill_consent_text(template: ConsentTemplate, plan: TreatmentPlan) -> str:
    """The template body with its placeholders filled in for this plan (plain text)."""
    vectors = list(plan.vectors.select_related("product"))
    values = {
        "patient": plan.patient.full_name,
        "practitioner": str(plan.practitioner),
        "procedure": "Thread lift with absorbable threads",
        "areas": ", ".join(sorted({v.get_area_display() for v in vectors})) or "none",
        "products": ", ".join(sorted({v.product.name for v in vectors})) or "none",
    }
    text = template.body
    for name in PLACEHOLDERS:
        text = text.replace("{" + name + "}", values[name])
    return text


def consent_fingerprint(
    *,
    plan: TreatmentPlan,
    template: ConsentTemplate,
    rendered_text: str,
    risks_initialled: list[str],
    photo_consents: dict[str, bool],
    patient_signature: bytes,
    practitioner_signature: bytes,
    practitioner_id: int,
    signed_at: datetime,
    ip_address: str | None,
    user_agent: str,
) -> str:
    """SHA-256 over everything the consent says and who signed it, in a fixed order."""
    canonical = json.dumps(
        {
            "plan": plan.pk,
            "plan_version": plan.version,
            "patient": plan.patient_id,
            "template": template.pk,
            "text": rendered_text,
            "risks": risks_initialled,
            "photos": photo_consents,
            "patient_signature": hashlib.sha256(patient_signature).hexdigest(),
            "practitioner_signature": hashlib.sha256(practitioner_signature).hexdigest(),
            "practitioner": practitioner_id,
            "signed_at": signed_at.isoformat(),
            "ip": ip_address,
            "device": user_agent,
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def verify_consent(consent: SignedConsent) -> bool:
    """Recompute the fingerprint from what is stored: True if nothing was altered."""
    with consent.patient_signature.open("rb") as patient_file:
        patient_signature = patient_file.read()
    with consent.practitioner_signature.open("rb") as practitioner_file:
        practitioner_signature = practitioner_file.read()
    expected = consent_fingerprint(
        plan=consent.plan,
        template=consent.template,
        rendered_text=consent.rendered_text,
        risks_initialled=consent.risks_initialled,
        photo_consents=consent.photo_consents,
        patient_signature=patient_signature,
        practitioner_signature=practitioner_signature,
        practitioner_id=consent.practitioner_id,
        signed_at=consent.signed_at,
        ip_address=consent.ip_address,
        user_agent=consent.user_agent,
    )
    return hmac.compare_digest(expected, consent.fingerprint)


def sign_consent(
    *,
    plan: TreatmentPlan,
    template: ConsentTemplate,
    risks_initialled: list[str],
    photo_consents: dict[str, bool],
    patient_signature: bytes,
    practitioner_signature: bytes,
    practitioner: StaffMember,
    actor: Actor,
) -> SignedConsent:
    """Store a signed consent with its exact text, signatures and fingerprint.

    Refused (ValidationError, nothing saved) when the plan is not accepted, a risk
    is not initialled, or a signature is empty, blank, not a PNG or over 1 MB.
    """
    errors: dict[str, list[str]] = {}
    if plan.status != PlanStatus.ACCEPTED:
        errors.setdefault("plan", []).append(
            f"Plan version {plan.version} is {plan.get_status_display().lower()}: "
            "only an accepted plan can be consented to."
        )
    if not template.is_current:
        errors.setdefault("template", []).append("This consent form has a newer version.")
    missing = [risk for risk in template.risks if risk not in set(risks_initialled)]
    if missing:
        errors.setdefault("risks", []).append("Initial every risk: " + "; ".join(missing) + ".")
    if set(photo_consents) != set(PhotoUse.values) or not all(
        isinstance(v, bool) for v in photo_consents.values()
    ):
        errors.setdefault("photo_consents", []).append("Answer each photography question.")
    signatures = {}
    for key, data, who in (
        ("patient_signature", patient_signature, "patient's"),
        ("practitioner_signature", practitioner_signature, "practitioner's"),
    ):
        try:
            signatures[key] = process_signature(data, who=who)
        except ValidationError as error:
            errors.setdefault(key, []).extend(error.messages)
    if errors:
        raise ValidationError(errors)

    signed_at = timezone.now().replace(microsecond=0)
    # Where the patient signed: the tablet's address and browser, kept in the fingerprint.
    ip_address = actor.ip_address
    user_agent = actor.user_agent
    rendered_text = fill_consent_text(template, plan)
    risks = list(template.risks)
    fingerprint = consent_fingerprint(
        plan=plan,
        template=template,
        rendered_text=rendered_text,
        risks_initialled=risks,
        photo_consents=photo_consents,
        patient_signature=signatures["patient_signature"],
        practitioner_signature=signatures["practitioner_signature"],
        practitioner_id=practitioner.pk,
        signed_at=signed_at,
        ip_address=ip_address,
        user_agent=user_agent,
    )
    consent = SignedConsent(
        plan=plan,
        template=template,
        patient=plan.patient,
        practitioner=practitioner,
        rendered_text=rendered_text,
        risks_initialled=risks,
        photo_consents=photo_consents,
        signed_at=signed_at,
        ip_address=ip_address,
        user_agent=user_agent,
        fingerprint=fingerprint,
        recorded_by=actor.user,
    )
    written = []
    try:
        with transaction.atomic():
            locked = TreatmentPlan.objects.select_for_update().get(pk=plan.pk)
            if locked.status != PlanStatus.ACCEPTED:
                raise ValidationError({"plan": ["The plan changed meanwhile; reload it."]})
            for key, data in signatures.items():
                getattr(consent, key).save(f"{uuid.uuid4().hex}.png", ContentFile(data), save=False)
                written.append(getattr(consent, key).name)
            consent.save()
            record_event(
                action=AuditAction.SIGN,
                actor=actor,
                obj=consent,
                patient_id=plan.patient_id,
                summary=f"Consent signed to plan v{plan.version}; fingerprint {fingerprint[:12]}…",
            )
            record_photo_answers(consent, actor=actor)
    except BaseException:
        for name in written:
            default_storage.delete(name)
        raise
    return consent


@transaction.atomic
def withdraw_consent(*, consent: SignedConsent, reason: str, actor: Actor) -> ConsentWithdrawal:
    """Record that the patient withdrew consent; the signed record itself never changes."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": ["Record the reason the patient gave."]})
    # Lock the consent row: two withdrawals at once give one record, not an error.
    SignedConsent.objects.select_for_update().filter(pk=consent.pk).first()
    if ConsentWithdrawal.objects.filter(consent=consent).exists():
        raise ValidationError("This consent is already withdrawn.")
    withdrawal = ConsentWithdrawal.objects.create(
        consent=consent, reason=reason, recorded_by=actor.user
    )
    record_event(
        action=AuditAction.CREATE,
        actor=actor,
        obj=withdrawal,
        patient_id=consent.patient_id,
        summary=f"Consent {consent.pk} withdrawn: {reason[:150]}",
    )
    # The photography answers given with it go too.
    given_with_it = PhotographyConsent.objects.filter(
        source=signed_consent_source(consent), withdrawn_at__isnull=True
    )
    for photography in given_with_it:
        withdraw_photography_consent(
            consent=photography,
            reason=f"The treatment consent it was signed with was withdrawn: {reason}"[:2000],
            actor=actor,
        )
    return withdrawal


def record_photo_answers(consent: SignedConsent, *, actor: Actor) -> None:
    """The photography answers signed count from now, as if given on their own form."""
    for use, granted in consent.photo_consents.items():
        record_photography_consent(
            patient=consent.patient,
            use=use,
            granted=granted,
            form=PhotoConsentForm.TREATMENT_CONSENT,
            words=f"Signed with the consent to plan v{consent.plan.version}",
            source=signed_consent_source(consent),
            actor=actor,
        )


def signed_consent_source(consent: SignedConsent) -> str:
    """How a photography consent names the signed consent it was given in."""
    return f"signed-consent:{consent.pk}"


def valid_consent_for(plan: TreatmentPlan) -> SignedConsent | None:
    """The latest signed, not withdrawn consent to exactly this plan version."""
    return (
        SignedConsent.objects.filter(plan=plan, withdrawal__isnull=True)
        .order_by("-signed_at")
        .first()
    )


@transaction.atomic
def publish_consent_template(
    *,
    code: str,
    title: str,
    body: str,
    risks: list[str],
    alternatives: str,
    actor: Actor,
) -> ConsentTemplate:
    """Publish consent wording as the next version of `code`; earlier versions stay as signed."""
    risks = [risk.strip() for risk in risks if risk.strip()]
    if not risks:
        raise ValidationError({"risks": ["List the risks the patient initials."]})
    latest = (
        ConsentTemplate.objects.select_for_update().filter(code=code).order_by("-version").first()
    )
    template = ConsentTemplate(
        code=code,
        version=(latest.version + 1) if latest else 1,
        title=title,
        body=body,
        risks=risks,
        alternatives=alternatives,
        created_by=actor.user,
    )
    template.full_clean()
    ConsentTemplate.objects.filter(code=code).update(is_current=False)
    template.save()
    record_event(
        action=AuditAction.CREATE,
        actor=actor,
        obj=template,
        summary=f"Published consent form “{title}” version {template.version}",
    )
    return template
