"""Links sent to patients: the one mechanism behind every page a patient opens from home.

A link is a random token of 256 bits. The patient receives it once, in an email or a
text message; the database keeps only its SHA-256 digest, so neither a backup nor a
colleague with database access can open a patient's page. A link serves one patient
and one purpose, expires (`PATIENT_LINK_DAYS`, 7 by default), can be revoked by the
desk, and a link whose purpose is a submission works once. Every open, draft,
submission and revocation is written to the audit trail.

Each purpose's page lives with its app and is registered here (`register_page`), so
the one public URL, `/p/<token>/`, serves them all and the layers still point down.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from clinic.actors import Actor
from clinic.audit import record_event
from clinic.models import AuditAction, Location
from clinic.text_messages import TextMessageNotSent, send_text_message
from consultations.models import Appointment, LinkPurpose, Patient, PatientLink
from consultations.patient_contact import EMAIL, TEXT, usable_channels

TOKEN_BYTES = 32  # 256 bits
# secrets.token_urlsafe(32): 43 characters of the URL-safe base64 alphabet.
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")
# A draft is a form's answers: generous for a questionnaire, small for a database row.
DRAFT_MAX_CHARACTERS = 20_000


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedLink:
    """A new link and its token, which exists only here: the database keeps its digest."""

    link: PatientLink
    token: str

    @property
    def url(self) -> str:
        return settings.SITE_URL + reverse("consultations:patient_link", args=[self.token])


class LinkUnusable(Exception):
    """The token opens nothing: unknown, expired, used or revoked (`reason`)."""

    def __init__(self, reason: str, link: PatientLink | None = None):
        super().__init__(reason)
        self.reason = reason
        self.link = link


class LinkNotSent(Exception):
    """The patient cannot be reached the way they chose (no channel, or sending failed)."""


def _link_summary(link: PatientLink, what: str) -> str:
    return f"{what}: {link.get_purpose_display()} (link {link.pk})"


@transaction.atomic
def issue_link(
    *,
    patient: Patient,
    purpose: LinkPurpose,
    location: Location,
    actor: Actor,
    appointment: Appointment | None = None,
    valid_for: timedelta | None = None,
) -> IssuedLink:
    """A new link for `patient` and `purpose`. An earlier open link for the same purpose
    (and booking) is revoked: the patient's newest message is the one that works."""
    now = timezone.now()
    earlier = PatientLink.objects.live().filter(
        patient=patient, purpose=purpose, appointment=appointment
    )
    for old in earlier.select_for_update(of=("self",)):
        old.revoked_at = now
        old.revoked_by = actor.user
        old.save(update_fields=["revoked_at", "revoked_by"])
        record_event(
            action=AuditAction.UPDATE,
            actor=actor,
            obj=old,
            patient_id=patient.pk,
            summary=_link_summary(old, "Replaced by a new link"),
        )
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = PatientLink.objects.create(
        patient=patient,
        purpose=purpose,
        token_digest=token_digest(token),
        appointment=appointment,
        location=location,
        created_at=now,
        created_by=actor.user,
        expires_at=now + (valid_for or timedelta(days=settings.PATIENT_LINK_DAYS)),
    )
    record_event(
        action=AuditAction.CREATE,
        actor=actor,
        obj=link,
        patient_id=patient.pk,
        summary=_link_summary(link, "Made a patient link"),
    )
    return IssuedLink(link=link, token=token)


def find_link(token: str) -> PatientLink | None:
    """The link a token names, whatever its state; None for anything else."""
    if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
        return None
    return (
        PatientLink.objects.select_related("patient", "location", "appointment")
        .filter(token_digest=token_digest(token))
        .first()
    )


@transaction.atomic
def open_link(*, token: str, actor: Actor) -> PatientLink:
    """The link behind `token`, recorded as opened; LinkUnusable unless it is open."""
    link = find_link(token)
    if link is None:
        raise LinkUnusable("unknown")
    if link.state != "open":
        record_event(
            action=AuditAction.DENIED,
            actor=actor,
            obj=link,
            patient_id=link.patient_id,
            summary=_link_summary(link, f"A {link.state} link was opened"),
        )
        raise LinkUnusable(link.state, link)
    now = timezone.now()
    PatientLink.objects.filter(pk=link.pk, first_opened_at__isnull=True).update(first_opened_at=now)
    PatientLink.objects.filter(pk=link.pk).update(last_opened_at=now)
    link.first_opened_at = link.first_opened_at or now
    link.last_opened_at = now
    record_event(
        action=AuditAction.VIEW,
        actor=actor,
        obj=link,
        patient_id=link.patient_id,
        summary=_link_summary(link, "The patient opened a link"),
    )
    return link


def use_link(*, link: PatientLink, actor: Actor, summary: str = "") -> None:
    """Record the submission `link` served; call it inside the submission's transaction.

    The row is locked and its state read again, so two tabs sending one form at once
    save it once: the second raises LinkUnusable and its transaction rolls back.
    """
    locked = PatientLink.objects.select_for_update(of=("self",)).get(pk=link.pk)
    if locked.state != "open":
        raise LinkUnusable(locked.state, locked)
    if locked.single_use:
        locked.used_at = timezone.now()
        locked.draft = {}
        locked.save(update_fields=["used_at", "draft"])
        link.used_at, link.draft = locked.used_at, {}
    record_event(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=link,
        patient_id=link.patient_id,
        summary=summary or _link_summary(link, "The patient sent a form"),
    )


@transaction.atomic
def save_draft(*, link: PatientLink, answers: dict[str, Any], actor: Actor) -> None:
    """Keep a form's answers so far with the link (a closed tab loses nothing)."""
    if len(repr(answers)) > DRAFT_MAX_CHARACTERS:
        raise ValueError("The answers are too long to keep.")
    locked = PatientLink.objects.select_for_update(of=("self",)).get(pk=link.pk)
    if locked.state != "open":
        raise LinkUnusable(locked.state, locked)
    locked.draft = answers
    locked.draft_saved_at = timezone.now()
    locked.save(update_fields=["draft", "draft_saved_at"])
    link.draft, link.draft_saved_at = locked.draft, locked.draft_saved_at
    record_event(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=link,
        patient_id=link.patient_id,
        summary=_link_summary(link, "The patient saved answers for later"),
    )


@transaction.atomic
def revoke_link(*, link: PatientLink, actor: Actor) -> bool:
    """Stop `link` from working; False if it had already stopped (nothing changes)."""
    locked = PatientLink.objects.select_for_update(of=("self",)).get(pk=link.pk)
    if locked.state != "open":
        return False
    locked.revoked_at = timezone.now()
    locked.revoked_by = actor.user
    locked.save(update_fields=["revoked_at", "revoked_by"])
    record_event(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=locked,
        patient_id=locked.patient_id,
        summary=_link_summary(locked, "Revoked a patient link"),
    )
    return True


def _expiry_words(link: PatientLink) -> str:
    local = timezone.localtime(link.expires_at, link.location.zone)
    return f"{local.day} {local:%B %Y}"


def link_message(issued: IssuedLink, invitation: str) -> tuple[str, str]:
    """The subject and text of the message carrying a link: the first name, what to do,
    the link and its expiry; nothing clinical (messages are read on lock screens)."""
    link = issued.link
    first_name = link.patient.preferred_name or link.patient.first_name
    subject = f"{link.location.name}: {link.get_purpose_display()}"
    body = (
        f"Hello {first_name},\n\n{invitation}\n\n{issued.url}\n\n"
        f"The link is for you alone and works until {_expiry_words(link)}. "
        f"If you did not expect it, please call us on {link.location.phone}.\n\n"
        f"{link.location.name}"
    )
    return subject, body


def send_link(*, issued: IssuedLink, invitation: str, actor: Actor) -> list[str]:
    """Send the link the ways the patient chose; the channels used, recorded on the link.

    LinkNotSent when the patient chose no channel we can use, or none went out.
    """
    link = issued.link
    patient = link.patient
    channels = usable_channels(patient)
    if not channels:
        raise LinkNotSent(
            f"{patient.full_name} has not chosen email or text messages, or has no address "
            "for them. Add one to their details, or hand them the form at the desk."
        )
    subject, body = link_message(issued, invitation)
    sent = []
    failures = []
    if EMAIL in channels:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [patient.email])
        sent.append(EMAIL)
    if TEXT in channels:
        try:
            send_text_message(to=str(patient.phone), body=body)
        except TextMessageNotSent as error:
            failures.append(str(error))
        else:
            sent.append(TEXT)
    if not sent:
        raise LinkNotSent("The message could not be sent: " + "; ".join(failures))
    with transaction.atomic():
        PatientLink.objects.filter(pk=link.pk).update(sent_by=", ".join(sent))
        link.sent_by = ", ".join(sent)
        record_event(
            action=AuditAction.UPDATE,
            actor=actor,
            obj=link,
            patient_id=patient.pk,
            summary=_link_summary(link, f"Sent a patient link by {link.sent_by}"),
        )
    return sent


# The page of each purpose: a view taking (request, link, actor) once the link is open
# and answering an HttpResponse (this module stays clear of HTTP, so typed loosely).
PageView = Callable[..., Any]
_pages: dict[str, PageView] = {}


def register_page(purpose: str, view: PageView) -> None:
    """Make `view` the page of `purpose` (each app calls this from AppConfig.ready)."""
    _pages[purpose] = view


def page_for(purpose: str) -> PageView | None:
    return _pages.get(purpose)
