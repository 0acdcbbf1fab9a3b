"""Consent: signing on the clinic's tablet, reading a signed consent, recording a withdrawal.

A signed consent is never edited or deleted: these pages only add records
(treatments.services.sign_consent and withdraw_consent) and read them. Plans and
consents at a location the user does not work at are answered as if they did
not exist. Every page that shows clinical content is written to the audit trail.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinic.access import get_for_user_or_404
from clinic.actors import Actor
from clinic.audit import record_event
from clinic.models import AuditAction
from clinic.permissions import require_permission
from clinic.signed_in import SignedInRequest
from consultations.alerts import medical_alerts
from consultations.models import Appointment, AppointmentKind, AppointmentStatus
from treatments.documents import diagram_context, vector_rows
from treatments.models import (
    ConsentTemplate,
    ConsentWithdrawal,
    PhotoUse,
    PlanStatus,
    SignedConsent,
    TreatmentPlan,
)
from treatments.services import consent as consent_services
from treatments.services.consent_reading import reading_before
from treatments.session_forms import WithdrawalForm
from treatments.signatures import PNG_DATA_URL_PREFIX, process_signature, signature_data_url

# Base64 grows data by a third: a payload longer than this decodes to more than 1 MB.
MAX_SIGNATURE_FIELD_CHARS = 1_400_000
SIGNERS = (("patient_signature", "patient's"), ("practitioner_signature", "practitioner's"))
PHOTO_QUESTIONS: dict[str, str] = {
    PhotoUse.CLINICAL: "Photos for my clinical record (to plan and check my treatment)",
    PhotoUse.TEACHING: "Photos for teaching other clinicians (my identity is not disclosed)",
    PhotoUse.MARKETING: "Photos in the clinic's marketing (website, social media, brochures)",
}


def consent_or_404(request: HttpRequest, pk: int) -> SignedConsent:
    return get_for_user_or_404(
        SignedConsent.objects.select_related(
            "plan__location",
            "plan__practitioner__user",
            "patient",
            "practitioner__user",
            "template",
            "recorded_by",
        ),
        request.user,
        pk=pk,
    )


def current_template() -> ConsentTemplate | None:
    return ConsentTemplate.objects.filter(is_current=True).order_by("code").first()


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def decode_signature(value: str) -> bytes | None:
    """The PNG bytes of a pad's `data:image/png;base64,…` value.

    Anything else (empty, another image type, not a data URL, broken base64)
    decodes to b"", which the service refuses as an empty signature. None means
    the payload is too large to be decoded at all.
    """
    if len(value) > MAX_SIGNATURE_FIELD_CHARS:
        return None
    if not value.startswith(PNG_DATA_URL_PREFIX):
        return b""
    try:
        return base64.b64decode(value[len(PNG_DATA_URL_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return b""


def error_messages(error: ValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {key: list(values) for key, values in error.message_dict.items()}
    return {"__all__": list(error.messages)}


def kept_signatures(request: HttpRequest, errors: dict[str, list[str]]) -> dict[str, str]:
    """The posted signatures to draw back on a refused form: each one with no error of its
    own that passes the same checks signing applies, as the data URL the pad sent.

    The other pad's refusal (or a missed risk) must not make the patient sign twice; the
    kept value is posted again and checked again when the form is resubmitted.
    """
    kept = {}
    for key, who in SIGNERS:
        value = request.POST.get(key, "")
        decoded = decode_signature(value)
        if key in errors or not decoded:
            continue
        try:
            process_signature(decoded, who=who)
        except ValidationError:
            continue
        kept[key] = value
    return kept


def sign_context(
    request: HttpRequest,
    plan: TreatmentPlan,
    template: ConsentTemplate | None,
    *,
    errors: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    vectors = list(plan.vectors.select_related("product"))
    text = consent_services.fill_consent_text(template, plan) if template else ""
    posted = request.method == "POST"
    answers: dict[str, str] = {
        use: request.POST.get(f"photo_{use}", "") if posted else "" for use in PhotoUse
    }
    ticked = set(request.POST.getlist("risks")) if posted else set()
    return {
        "plan": plan,
        "patient": plan.patient,
        "alerts": medical_alerts(plan.patient),
        "accepted": plan.status == PlanStatus.ACCEPTED,
        "template": template,
        "consent_text": text,
        "text_sha256": text_digest(text),
        "risks": [(number, risk, risk in ticked) for number, risk in enumerate(template.risks, 1)]
        if template
        else [],
        "photo_questions": [
            (use.value, PHOTO_QUESTIONS[use.value], answers[use.value]) for use in PhotoUse
        ],
        "rows": vector_rows(plan, vectors),
        **diagram_context(vectors),
        "existing": consent_services.valid_consent_for(plan),
        "errors": errors or {},
        "kept": kept_signatures(request, errors or {}) if posted else {},
        "all_errors": [message for values in (errors or {}).values() for message in values],
    }


@require_permission("clinic.record_clinical")
@require_http_methods(["GET", "POST"])
def consent_sign(request: SignedInRequest, pk: int) -> HttpResponse:
    """The consent form for one plan version, signed by the patient on the clinic's tablet."""
    plan = get_for_user_or_404(
        TreatmentPlan.objects.select_related("patient", "practitioner__user", "location"),
        request.user,
        pk=pk,
    )
    if request.method == "GET":
        template = current_template()
        record_event(
            action=AuditAction.VIEW,
            actor=Actor.from_request(request),
            obj=plan,
            patient_id=plan.patient_id,
            summary=f"Opened the consent form for plan v{plan.version}",
        )
        return render(
            request, "treatments/consent/sign.html", sign_context(request, plan, template)
        )

    template = _posted_template(request)
    errors: dict[str, list[str]] = {}
    if problem := _template_problem(request, template, plan):
        errors["template"] = [problem]
    staff = getattr(request.user, "staff", None)
    if staff is None:
        errors["practitioner"] = ["Only a practitioner with a staff record can countersign."]
    signatures: dict[str, bytes] = {}
    for key, who in SIGNERS:
        decoded = decode_signature(request.POST.get(key, ""))
        if decoded is None:
            errors.setdefault(key, []).append(f"The {who} signature is larger than 1 MB.")
        else:
            signatures[key] = decoded
    photo_consents = _posted_photo_consents(request)
    # (No template or no staff record has put its error in `errors` above.)
    if not errors and template is not None and staff is not None:
        try:
            consent = consent_services.sign_consent(
                plan=plan,
                template=template,
                risks_initialled=request.POST.getlist("risks"),
                photo_consents=photo_consents,
                patient_signature=signatures["patient_signature"],
                practitioner_signature=signatures["practitioner_signature"],
                practitioner=staff,
                actor=Actor.from_request(request),
            )
        except ValidationError as error:
            errors = error_messages(error)
        else:
            messages.success(request, "Consent signed and stored.")
            return redirect("treatments:consent_detail", pk=consent.pk)
    # Shown again as it is now (a newer template, if one was published meanwhile).
    context = sign_context(request, plan, current_template(), errors=errors)
    return render(request, "treatments/consent/sign.html", context, status=400)


def _posted_template(request: HttpRequest) -> ConsentTemplate | None:
    """The template whose wording the patient read (the service refuses it if a newer
    version exists), else the current one."""
    template = current_template()
    posted_template = request.POST.get("template", "")
    if posted_template.isascii() and posted_template.isdigit():
        template = ConsentTemplate.objects.filter(pk=int(posted_template)).first() or template
    return template


def _template_problem(
    request: HttpRequest, template: ConsentTemplate | None, plan: TreatmentPlan
) -> str | None:
    """Why the posted consent cannot be signed as shown: none published, or its text changed."""
    if template is None:
        return "No consent form is published: a clinic manager must publish one first."
    if not hmac.compare_digest(
        request.POST.get("text_sha256", "").encode(),
        text_digest(consent_services.fill_consent_text(template, plan)).encode(),
    ):
        return (
            "The consent text changed while this page was open: read the new text and sign again."
        )
    return None


def _posted_photo_consents(request: HttpRequest) -> dict[str, bool]:
    """The photo uses answered yes or no; an unanswered one is left out."""
    photo_consents = {}
    for use in PhotoUse.values:
        answer = request.POST.get(f"photo_{use}", "")
        if answer in ("yes", "no"):
            photo_consents[use] = answer == "yes"
    return photo_consents


def fingerprint_holds(consent: SignedConsent) -> bool:
    try:
        return consent_services.verify_consent(consent)
    except OSError:  # a signature file is missing: the record no longer matches
        return False


def startable_appointments(request: HttpRequest, consent: SignedConsent) -> list[Appointment]:
    """The patient's treatment appointments here that are still to happen and have no session."""
    return list(
        Appointment.objects.for_user(request.user)
        .filter(
            patient_id=consent.patient_id,
            appointment_type__kind=AppointmentKind.TREATMENT,
            status__in=[
                AppointmentStatus.BOOKED,
                AppointmentStatus.ARRIVED,
                AppointmentStatus.IN_PROGRESS,
            ],
            treatment_session__isnull=True,
        )
        .select_related("appointment_type", "location", "practitioner__user")
        .order_by("starts_at")[:10]
    )


def render_detail(
    request: HttpRequest,
    consent: SignedConsent,
    *,
    withdraw_form: WithdrawalForm | None = None,
    status: int = 200,
) -> HttpResponse:
    try:
        withdrawal = consent.withdrawal
    except ConsentWithdrawal.DoesNotExist:
        withdrawal = None
    can_record = request.user.has_perm("clinic.record_clinical")
    location = consent.plan.location
    photo_answers = [
        (PhotoUse(use).label, consent.photo_consents.get(use))
        for use in PhotoUse.values
        if use in consent.photo_consents
    ]
    context = {
        "consent": consent,
        "plan": consent.plan,
        "patient": consent.patient,
        "alerts": medical_alerts(consent.patient),
        "location": location,
        "zone_name": location.time_zone,
        "signed_at": timezone.localtime(consent.signed_at, location.zone),
        "withdrawal": withdrawal,
        "withdrawn_at": (
            timezone.localtime(withdrawal.withdrawn_at, location.zone) if withdrawal else None
        ),
        "photo_answers": photo_answers,
        "patient_signature": signature_data_url(consent.patient_signature),
        "practitioner_signature": signature_data_url(consent.practitioner_signature),
        "verified": fingerprint_holds(consent),
        # The consent text sent to read at home before signing, looked up by plan version.
        "reading_note": reading_before(consent),
        "can_record": can_record,
        "withdraw_form": withdraw_form or (WithdrawalForm() if can_record else None),
        "sessions": list(consent.sessions.select_related("appointment").order_by("started_at")),
        "appointments": (
            startable_appointments(request, consent)
            if can_record and not withdrawal and consent.plan.status == PlanStatus.ACCEPTED
            else []
        ),
    }
    record_event(
        action=AuditAction.VIEW,
        actor=Actor.from_request(request),
        obj=consent,
        patient_id=consent.patient_id,
        summary=f"Viewed the consent to plan v{consent.plan.version}",
    )
    return render(request, "treatments/consent/detail.html", context, status=status)


@require_permission("clinic.view_clinical")
@require_GET
def consent_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A signed consent exactly as stored, with its fingerprint checked. Read-only."""
    return render_detail(request, consent_or_404(request, pk))


@require_permission("clinic.record_clinical")
@require_POST
def consent_withdraw(request: SignedInRequest, pk: int) -> HttpResponse:
    """Record the patient's withdrawal: a new record; the signed consent stays as it was."""
    consent = consent_or_404(request, pk)
    form = WithdrawalForm(request.POST)
    if form.is_valid():
        try:
            consent_services.withdraw_consent(
                consent=consent,
                reason=form.cleaned_data["reason"],
                actor=Actor.from_request(request),
            )
        except ValidationError as error:
            for key, values in error_messages(error).items():
                for message in values:
                    form.add_error("reason" if key == "reason" else None, message)
        else:
            messages.success(
                request, "The withdrawal is recorded: no session can use this consent."
            )
            return redirect("treatments:consent_detail", pk=consent.pk)
    return render_detail(request, consent, withdraw_form=form, status=400)
