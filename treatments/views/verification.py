"""Checking a consent by its fingerprint: the page the QR code on every printed copy opens.

Clinicians and managers type or scan a fingerprint; the page says whether a
consent with that fingerprint exists at their locations and whether it is
exactly as signed (content, seal, chain link and stored PDF copy). What is not
a fingerprint, or names no consent, is said so plainly (400 and 404). Every
check is written to the audit trail.
"""

from __future__ import annotations

import re

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from clinic.actors import Actor
from clinic.audit import record_event
from clinic.models import AuditAction
from clinic.permissions import require_permission
from clinic.signed_in import SignedInRequest
from treatments.services import consent as consent_services

FINGERPRINT = re.compile(r"[0-9a-f]{64}")
# Enough to recognise what was typed in the audit trail, never a page of it.
AUDITED_INPUT_CHARS = 80

NOT_A_FINGERPRINT = (
    "This is not a fingerprint: a consent's fingerprint is 64 characters, the digits 0 to 9 "
    "and the letters a to f. It is printed under “Record of signing” on the patient's copy; "
    "check what was typed or scan the QR code again."
)
NO_SUCH_CONSENT = (
    "No consent has this fingerprint at your locations. If it was typed from a printed copy, "
    "check each character. A document whose fingerprint is not found here is not a consent "
    "recorded by this clinic, or its record is missing: tell the clinic manager."
)


def normalised(text: str) -> str:
    """A typed or pasted fingerprint without spaces or line breaks, in lower case."""
    return "".join(text.split()).lower()


def answer(request: SignedInRequest, typed: str) -> HttpResponse:
    fingerprint = normalised(typed)
    actor = Actor.from_request(request)
    context: dict[str, object] = {"typed": typed[:200]}
    if not FINGERPRINT.fullmatch(fingerprint):
        record_event(
            action=AuditAction.VIEW,
            actor=actor,
            summary=f"Checked a consent fingerprint: not a fingerprint "
            f"({typed[:AUDITED_INPUT_CHARS]!r})",
        )
        context["problem"] = NOT_A_FINGERPRINT
        return render(request, "treatments/consent/verify.html", context, status=400)
    consent = consent_services.find_by_fingerprint(fingerprint, request.user)
    if consent is None:
        record_event(
            action=AuditAction.VIEW,
            actor=actor,
            summary=f"Checked consent fingerprint {fingerprint}: no such consent",
        )
        context |= {"problem": NO_SUCH_CONSENT, "fingerprint": fingerprint}
        return render(request, "treatments/consent/verify.html", context, status=404)
    check = consent_services.check_consent(consent)
    record_event(
        action=AuditAction.VIEW,
        actor=actor,
        obj=consent,
        patient_id=consent.patient_id,
        summary=f"Checked consent fingerprint {fingerprint}: "
        + ("intact" if check.intact else f"{len(check.problems)} problem(s)"),
    )
    location = consent.plan.location
    context |= {
        "fingerprint": fingerprint,
        "consent": consent,
        "check": check,
        "zone_name": location.time_zone,
        "signed_at": timezone.localtime(consent.signed_at, location.zone),
    }
    return render(request, "treatments/consent/verify.html", context)


@require_permission("clinic.view_clinical")
@require_GET
def consent_verify_form(request: SignedInRequest) -> HttpResponse:
    """A box to paste a fingerprint into; with `?fingerprint=`, the answer for it."""
    typed = request.GET.getlist("fingerprint")
    if not typed:
        return render(request, "treatments/consent/verify.html", {})
    if len(typed) > 1:
        return answer(request, "")
    return answer(request, typed[0])


@require_permission("clinic.view_clinical")
@require_GET
def consent_verify(request: SignedInRequest, fingerprint: str) -> HttpResponse:
    """The answer for the fingerprint in the address (the printed QR code's link)."""
    return answer(request, fingerprint)
