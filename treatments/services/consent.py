"""Consent: the wording clinics publish, and the signed, fingerprinted consents of patients.

A signed consent is written once and never changed; its fingerprint covers the
exact text shown, the signatures and who signed when, and it is sealed with an
Ed25519 key kept outside the database and chained to the consent before it (see
"The seal" below). Withdrawal is a new record.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from clinic.actors import Actor
from clinic.audit import record_event
from clinic.models import AuditAction, StaffMember
from clinic.signing_keys import SigningKeys, configured_signing_keys
from consultations.models import PhotoConsentForm, PhotographyConsent
from consultations.services import record_photography_consent, withdraw_photography_consent
from treatments.models import (
    Anaesthesia,
    ConsentTemplate,
    ConsentWithdrawal,
    PhotoUse,
    PlanStatus,
    SignedConsent,
    TreatmentPlan,
)
from treatments.signatures import process_signature

logger = logging.getLogger(__name__)

PLACEHOLDERS = ("patient", "practitioner", "procedure", "areas", "products", "anaesthesia")

# How the consent names the plan's anaesthesia: {anaesthesia} in the template's body.
ANAESTHESIA_WORDING: dict[str, str] = {
    Anaesthesia.NONE: "without anaesthesia",
    Anaesthesia.TOPICAL: "after a numbing cream on the skin (topical anaesthesia)",
    Anaesthesia.LOCAL: "after local anaesthetic injected where the threads go in "
    "(local infiltration)",
    Anaesthesia.NERVE_BLOCK: "after local anaesthetic injected near the nerve that supplies "
    "the area (a nerve block)",
}


def fill_consent_text(
    template: ConsentTemplate, plan: TreatmentPlan, *, patient_name: str | None = None
) -> str:
    """The template body with its placeholders filled in for this plan (plain text).

    `patient_name` replaces the full name where a page may show only the first name
    (the copy a patient reads at home); what is signed always names the patient in full.
    """
    vectors = list(plan.vectors.select_related("product"))
    values = {
        "patient": plan.patient.full_name if patient_name is None else patient_name,
        "practitioner": str(plan.practitioner),
        "procedure": "Thread lift with absorbable threads",
        "areas": ", ".join(sorted({v.get_area_display() for v in vectors})) or "none",
        "products": ", ".join(sorted({v.product.name for v in vectors})) or "none",
        "anaesthesia": ANAESTHESIA_WORDING.get(plan.anaesthesia, plan.get_anaesthesia_display()),
    }
    text = template.body
    for name in PLACEHOLDERS:
        text = text.replace("{" + name + "}", values[name])
    return text


@dataclass(frozen=True, kw_only=True)
class ConsentWording:
    """Everything a patient reads and signs for one plan version: the form's title, its text
    filled in for the plan, the risks to initial, the alternatives and the threads planned.

    Its digest tells whether the text a patient read at home is the text they signed.
    """

    title: str
    text: str
    risks: list[str]
    alternatives: str
    # (area, side, product, count, depth) per vector, in the plan's order.
    threads: list[tuple[str, str, str, int, str]]

    def digest(self) -> str:
        fields = {
            "title": self.title,
            "text": self.text,
            "risks": self.risks,
            "alternatives": self.alternatives,
            "threads": [list(row) for row in self.threads],
        }
        return hashlib.sha256(
            json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()


def _threads(plan: TreatmentPlan) -> list[tuple[str, str, str, int, str]]:
    return [
        (v.area, v.side, v.product.name, v.count, v.depth)
        for v in plan.vectors.select_related("product").order_by("position", "pk")
    ]


def consent_wording(template: ConsentTemplate, plan: TreatmentPlan) -> ConsentWording:
    """What signing `plan` on `template` would put before the patient now."""
    return ConsentWording(
        title=template.title,
        text=fill_consent_text(template, plan),
        risks=list(template.risks),
        alternatives=template.alternatives,
        threads=_threads(plan),
    )


def signed_wording(consent: SignedConsent) -> ConsentWording:
    """What the patient signed: the stored text and risks, the form's wording, the plan's
    threads (a signed plan is accepted, hence frozen)."""
    return ConsentWording(
        title=consent.template.title,
        text=consent.rendered_text,
        risks=list(consent.risks_initialled),
        alternatives=consent.template.alternatives,
        threads=_threads(consent.plan),
    )


# The seal ---------------------------------------------------------------------------------
#
# A SHA-256 fingerprint alone proves nothing against someone who can edit the database: they
# can recompute it. So every consent is also sealed: an Ed25519 signature, made at signing
# with a key the database never holds (clinic.signing_keys), over everything the fingerprint
# covers plus the fingerprint of the consent signed just before it (one chain across the
# installation, in the order consents were stored; the first follows GENESIS). Editing a
# consent breaks its seal; deleting one breaks the link of the next. The PDF handed to the
# patient is stored with its digest, sealed by a second signature over (fingerprint, digest).
# Consents signed before sealing began carry a plain fingerprint and no seal.

GENESIS = "0" * 64
SEAL_FORMAT = 2
SEAL_CONTEXT = b"threadline signed consent\n"
COPY_CONTEXT = b"threadline consent copy\n"
# Serialises sealing on PostgreSQL, so that each consent follows the one stored before it
# (SQLite's write transactions are serialised already).
CHAIN_LOCK = 0x7468_636F_6E73  # "thcons"

COPY_FAILED = (
    "The patient's copy of the consent could not be made, so nothing was signed or stored: "
    "try again. The problem has been logged."
)


@dataclass(frozen=True, kw_only=True)
class ConsentContent:
    """Everything a consent says and who signed it, when and where: what its fingerprint covers."""

    plan_id: int
    plan_version: int
    patient_id: int
    template_id: int
    text: str
    risks: list[str]
    photos: dict[str, bool]
    patient_signature_sha256: str
    practitioner_signature_sha256: str
    practitioner_id: int
    signed_at: datetime
    ip_address: str | None
    user_agent: str

    def fields(self) -> dict[str, object]:
        return {
            "plan": self.plan_id,
            "plan_version": self.plan_version,
            "patient": self.patient_id,
            "template": self.template_id,
            "text": self.text,
            "risks": self.risks,
            "photos": self.photos,
            "patient_signature": self.patient_signature_sha256,
            "practitioner_signature": self.practitioner_signature_sha256,
            "practitioner": self.practitioner_id,
            "signed_at": self.signed_at.isoformat(),
            "ip": self.ip_address,
            "device": self.user_agent,
        }


@dataclass(frozen=True, kw_only=True)
class ChainLink:
    """What sealing adds to the content: the consent before, the key, whether a copy is kept."""

    previous: str
    key_id: str
    stored_copy: bool


@dataclass(frozen=True, kw_only=True)
class Seal:
    fingerprint: str
    previous_fingerprint: str
    seal: str
    seal_key_id: str


def canonical_bytes(content: ConsentContent, link: ChainLink | None) -> bytes:
    """The content (and its chain link, once sealed) as canonical JSON, keys in a fixed order."""
    fields = content.fields()
    if link is not None:
        fields |= {
            "format": SEAL_FORMAT,
            "previous": link.previous,
            "key": link.key_id,
            "stored_copy": link.stored_copy,
        }
    return json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()


def fingerprint_of(content: ConsentContent, link: ChainLink | None) -> str:
    return hashlib.sha256(canonical_bytes(content, link)).hexdigest()


def seal_content(
    content: ConsentContent, *, previous: str, stored_copy: bool, keys: SigningKeys
) -> Seal:
    """Fingerprint and seal `content` as the consent that follows `previous`."""
    link = ChainLink(previous=previous, key_id=keys.signing_key_id, stored_copy=stored_copy)
    return Seal(
        fingerprint=fingerprint_of(content, link),
        previous_fingerprint=previous,
        seal=keys.sign(SEAL_CONTEXT + canonical_bytes(content, link)),
        seal_key_id=keys.signing_key_id,
    )


def copy_message(fingerprint: str, copy_sha256: str) -> bytes:
    return COPY_CONTEXT + f"{fingerprint}\n{copy_sha256}".encode()


def _read(field: FieldFile) -> bytes:
    with field.open("rb") as stored:
        data: bytes = stored.read()
    return data


def content_of(consent: SignedConsent) -> ConsentContent:
    """What the stored record says now (OSError if a signature file is missing)."""
    return ConsentContent(
        plan_id=consent.plan_id,
        plan_version=consent.plan.version,
        patient_id=consent.patient_id,
        template_id=consent.template_id,
        text=consent.rendered_text,
        risks=consent.risks_initialled,
        photos=consent.photo_consents,
        patient_signature_sha256=hashlib.sha256(_read(consent.patient_signature)).hexdigest(),
        practitioner_signature_sha256=hashlib.sha256(
            _read(consent.practitioner_signature)
        ).hexdigest(),
        practitioner_id=consent.practitioner_id,
        signed_at=consent.signed_at,
        ip_address=consent.ip_address,
        user_agent=consent.user_agent,
    )


def link_of(consent: SignedConsent) -> ChainLink | None:
    if not consent.is_sealed:
        return None
    return ChainLink(
        previous=consent.previous_fingerprint,
        key_id=consent.seal_key_id,
        stored_copy=bool(consent.copy_pdf.name),
    )


def stored_content_digest(consent: SignedConsent) -> str:
    """The SHA-256 the stored record gives now: equal to its fingerprint if nothing changed.

    Anyone with the code can compute this, which is why it alone proves nothing.
    """
    return fingerprint_of(content_of(consent), link_of(consent))


# Checking ---------------------------------------------------------------------------------


@dataclass
class ConsentCheck:
    """What a check of one consent found: nothing if it is exactly as signed."""

    consent: SignedConsent
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def _content_problems(consent: SignedConsent, keys: SigningKeys) -> list[str]:
    try:
        content = content_of(consent)
    except (OSError, ValueError):
        return ["a signature image is missing or unreadable"]
    link = link_of(consent)
    problems = []
    if not hmac.compare_digest(fingerprint_of(content, link), consent.fingerprint):
        problems.append(
            "the text, signatures or details stored differ from what was signed "
            "(fingerprint mismatch)"
        )
    if link is not None:
        holds = keys.holds(
            message=SEAL_CONTEXT + canonical_bytes(content, link),
            signature=consent.seal,
            signed_with=consent.seal_key_id,
        )
        if holds is None:
            problems.append(
                f"sealed with key {consent.seal_key_id}, which this installation does not "
                "know (its public key belongs in CONSENT_RETIRED_PUBLIC_KEY_FILES)"
            )
        elif not holds:
            problems.append("the seal does not match: the record was changed after signing")
    return problems


def _copy_problems(consent: SignedConsent, keys: SigningKeys) -> list[str]:
    if not consent.copy_pdf.name:
        return []
    try:
        pdf = _read(consent.copy_pdf)
    except OSError:
        return ["the stored PDF copy is missing"]
    problems = []
    if not hmac.compare_digest(hashlib.sha256(pdf).hexdigest(), consent.copy_sha256):
        problems.append("the stored PDF copy differs from the one made at signing")
    if not keys.holds(
        message=copy_message(consent.fingerprint, consent.copy_sha256),
        signature=consent.copy_seal,
        signed_with=consent.seal_key_id,
    ):
        problems.append("the seal of the stored PDF copy does not match")
    return problems


def _chain_problems(
    consent: SignedConsent, *, before: str | None, sealed_before: bool
) -> list[str]:
    """Whether `consent` follows `before` (the fingerprint of the consent stored before it)."""
    if not consent.is_sealed:
        if sealed_before:
            return ["not sealed, though a consent signed before it is: its seal was removed"]
        return []
    expected = before or GENESIS
    if hmac.compare_digest(consent.previous_fingerprint, expected):
        return []
    if before is None:
        return [
            "the chain is broken: it follows another consent, but none is stored before it "
            "(the consents before it were deleted)"
        ]
    return [
        f"the chain is broken: it follows fingerprint {consent.previous_fingerprint[:16]}…, "
        f"but the consent stored before it has {before[:16]}… (a consent was deleted, "
        "inserted or changed)"
    ]


def _check(
    consent: SignedConsent, *, before: str | None, sealed_before: bool, keys: SigningKeys
) -> ConsentCheck:
    return ConsentCheck(
        consent=consent,
        problems=[
            *_content_problems(consent, keys),
            *_chain_problems(consent, before=before, sealed_before=sealed_before),
            *_copy_problems(consent, keys),
        ],
    )


def check_consent(consent: SignedConsent) -> ConsentCheck:
    """Check one consent: its content against its fingerprint and seal, its chain link, its copy."""
    earlier = SignedConsent.objects.filter(pk__lt=consent.pk)
    before = earlier.order_by("-pk").values_list("fingerprint", flat=True).first()
    sealed_before = earlier.exclude(seal_key_id="").exists()
    return _check(
        consent, before=before, sealed_before=sealed_before, keys=configured_signing_keys()
    )


def check_all_consents() -> Iterator[ConsentCheck]:
    """Every consent in the order stored, each checked, the chain with it."""
    keys = configured_signing_keys()
    before: str | None = None
    sealed_before = False
    consents = SignedConsent.objects.select_related("plan", "patient").order_by("pk")
    for consent in consents.iterator(chunk_size=500):
        yield _check(consent, before=before, sealed_before=sealed_before, keys=keys)
        before = consent.fingerprint
        sealed_before = sealed_before or consent.is_sealed


def verify_consent(consent: SignedConsent) -> bool:
    """True if the consent, its chain link and its stored copy are exactly as signed."""
    return check_consent(consent).intact


def find_by_fingerprint(fingerprint: str, user: User) -> SignedConsent | None:
    """The consent with exactly this fingerprint, where `user` works; None otherwise."""
    return (
        SignedConsent.objects.for_user(user)
        .select_related("plan", "patient", "template", "practitioner__user")
        .filter(fingerprint=fingerprint)
        .first()
    )


# Signing ----------------------------------------------------------------------------------


def _follow_chain() -> str:
    """The fingerprint the next consent follows; called inside the signing transaction."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK])
    latest = SignedConsent.objects.order_by("-pk").values_list("fingerprint", flat=True).first()
    return latest or GENESIS


def _make_copy(consent: SignedConsent) -> bytes:
    """The PDF the patient takes home, rendered once; ValidationError if it cannot be made."""
    # Imported here: the printed layouts import this module's checks.
    from treatments.documents import ConsentCopy

    try:
        return ConsentCopy(consent, at_signing=True).render()
    except Exception as error:  # the renderer, a template or a stored file: refuse either way
        logger.exception("Could not render the copy of a consent to plan %s", consent.plan_id)
        raise ValidationError(COPY_FAILED) from error


def _validate(
    *,
    plan: TreatmentPlan,
    template: ConsentTemplate,
    risks_initialled: list[str],
    photo_consents: dict[str, bool],
    patient_signature: bytes,
    practitioner_signature: bytes,
) -> dict[str, bytes]:
    """The processed signatures; ValidationError naming every problem otherwise."""
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
    return signatures


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
    """Store a signed consent with its exact text, signatures, fingerprint, seal and PDF copy.

    Refused (ValidationError, nothing saved) when the plan is not accepted, a risk
    is not initialled, a signature is empty, blank, not a PNG or over 1 MB, or the
    patient's copy cannot be rendered.
    """
    signatures = _validate(
        plan=plan,
        template=template,
        risks_initialled=risks_initialled,
        photo_consents=photo_consents,
        patient_signature=patient_signature,
        practitioner_signature=practitioner_signature,
    )
    keys = configured_signing_keys()
    signed_at = timezone.now().replace(microsecond=0)
    # Where the patient signed: the tablet's address and browser, kept in the fingerprint.
    ip_address = actor.ip_address
    user_agent = actor.user_agent
    rendered_text = fill_consent_text(template, plan)
    risks = list(template.risks)
    content = ConsentContent(
        plan_id=plan.pk,
        plan_version=plan.version,
        patient_id=plan.patient_id,
        template_id=template.pk,
        text=rendered_text,
        risks=risks,
        photos=photo_consents,
        patient_signature_sha256=hashlib.sha256(signatures["patient_signature"]).hexdigest(),
        practitioner_signature_sha256=hashlib.sha256(
            signatures["practitioner_signature"]
        ).hexdigest(),
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
        recorded_by=actor.user,
    )
    written = []
    try:
        with transaction.atomic():
            locked = TreatmentPlan.objects.select_for_update().get(pk=plan.pk)
            if locked.status != PlanStatus.ACCEPTED:
                raise ValidationError({"plan": ["The plan changed meanwhile; reload it."]})
            seal = seal_content(content, previous=_follow_chain(), stored_copy=True, keys=keys)
            consent.fingerprint = seal.fingerprint
            consent.previous_fingerprint = seal.previous_fingerprint
            consent.seal = seal.seal
            consent.seal_key_id = seal.seal_key_id
            for key, data in signatures.items():
                getattr(consent, key).save(f"{uuid.uuid4().hex}.png", ContentFile(data), save=False)
                written.append(getattr(consent, key).name)
            pdf = _make_copy(consent)
            consent.copy_sha256 = hashlib.sha256(pdf).hexdigest()
            consent.copy_seal = keys.sign(copy_message(seal.fingerprint, consent.copy_sha256))
            consent.copy_pdf.save(f"{uuid.uuid4().hex}.pdf", ContentFile(pdf), save=False)
            written.append(consent.copy_pdf.name)
            consent.save()
            record_event(
                action=AuditAction.SIGN,
                actor=actor,
                obj=consent,
                patient_id=plan.patient_id,
                summary=f"Consent signed to plan v{plan.version}; fingerprint {seal.fingerprint}",
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
