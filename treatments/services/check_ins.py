"""Check-ins after a session: "How are you after your treatment?" on day 1 and day 3.

Completing a session (treatments.services.sessions.complete_session) queues one
background task per day in CHECK_IN_DAYS, as the reminders are queued
(consultations.booking.reminders.schedule_reminder): with the database backend the task
waits until the day comes; the immediate backend (development), which cannot defer,
sends at once. When it runs, the task issues a single-use CHECK_IN link
(consultations.patient_links) and sends it the ways the patient chose; a CheckInReply
row keeps which day it was for. Issuing the day-3 link revokes an unanswered day-1 link:
the patient's newest message is the one that works.

The patient answers once (treatments.views.check_ins): "All as expected", or "Something
is wrong" with what they ticked among the aftercare sheet's warning signs and their own
words. A "something is wrong" waits on the session practitioner's home page until it
becomes an adverse event in one click (`report_from_check_in`) or is marked handled with
a note (`mark_check_in_handled`). Every step is on the patient's audit trail.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from clinic.actors import Actor
from clinic.audit import record_event
from clinic.models import AuditAction
from consultations.models import LinkPurpose, PatientLink
from consultations.patient_contact import usable_channels
from consultations.patient_links import LinkNotSent, issue_link, send_link, use_link
from treatments.aftercare import WARNING_SIGNS
from treatments.models import (
    AdverseEvent,
    AdverseEventType,
    CheckInAnswer,
    CheckInReply,
    Severity,
    StockLot,
    TreatmentSession,
)
from treatments.services.outcomes import report_adverse_event

logger = logging.getLogger(__name__)

# Days after the session a check-in goes out: the day after, and the third day, when
# swelling peaks and an infection would begin to show (treatments.aftercare, WHAT_IS_NORMAL
# and WARNING_SIGNS).
CHECK_IN_DAYS = (1, 3)
# The warning signs the patient may tick: the first five on the aftercare sheet, in its
# words (treatments.aftercare.WARNING_SIGNS: fever, pain getting worse after the third
# day, spreading redness, discharge, a thread end through the skin).
CHECK_IN_SIGNS = WARNING_SIGNS[:5]
DETAILS_MAX_LENGTH = 2000
NOTE_MAX_LENGTH = 500


def schedule_check_ins(*, session: TreatmentSession) -> None:
    """Queue the check-ins of a completed session; call it once the completion has committed."""
    completed_at = session.completed_at or timezone.now()
    for day in CHECK_IN_DAYS:
        check_in = send_check_in
        if check_in.get_backend().supports_defer:
            check_in = check_in.using(run_after=completed_at + timedelta(days=day))
        check_in.enqueue(session_id=session.pk, day=day)


def invitation(session: TreatmentSession) -> str:
    """What the message asks, above the link (consultations.patient_links.link_message adds
    the first name, the link and its expiry); nothing about what was done."""
    location = session.location
    return (
        "How are you after your treatment? Please tell us in a minute with the link below: "
        "all as expected, or something is wrong.\n\n"
        f"If you are worried now, call us on {location.phone}"
        + (f" (out of hours: {location.emergency_phone})" if location.emergency_phone else "")
        + ". In an emergency call your local emergency number."
    )


@task()
def send_check_in(*, session_id: int, day: int) -> str:
    """Send the day-`day` check-in of the session, once. Returns what happened."""
    session = (
        TreatmentSession.objects.select_related("patient", "location", "appointment")
        .filter(pk=session_id)
        .first()
    )
    if session is None:
        outcome = "no such session"
    elif not session.is_locked:
        outcome = "not sent: the session is not completed"
    elif session.patient.is_archived:
        outcome = "not sent: the patient is archived"
    elif CheckInReply.objects.filter(session=session, day=day).exists():
        outcome = "not sent: already sent"
    elif not usable_channels(session.patient):
        outcome = "not sent: no way to reach the patient"
    else:
        outcome = _send(session, day)
    logger.info("Day-%s check-in for session %s: %s", day, session_id, outcome)
    return outcome


def _send(session: TreatmentSession, day: int) -> str:
    actor = Actor.system(location=session.location)
    with transaction.atomic():
        issued = issue_link(
            patient=session.patient,
            purpose=LinkPurpose.CHECK_IN,
            location=session.location,
            appointment=session.appointment,
            actor=actor,
        )
        CheckInReply.objects.create(link=issued.link, session=session, day=day)
    try:
        sent = send_link(issued=issued, invitation=invitation(session), actor=actor)
    except LinkNotSent as refusal:
        return f"not sent: {refusal}"
    return f"sent by {' and '.join(sent)}"


def reply_for(link: PatientLink) -> CheckInReply | None:
    return CheckInReply.objects.select_related("session__location").filter(link_id=link.pk).first()


@transaction.atomic
def answer_check_in(
    *,
    link: PatientLink,
    answer: str,
    signs: list[str],
    details: str,
    actor: Actor,
) -> CheckInReply:
    """Keep the patient's answer; the link then stops working. ValidationError for an
    answer that is not one of the two, a sign not on the list, or a "something is wrong"
    that says nothing."""
    reply = CheckInReply.objects.select_for_update(of=("self",)).get(link_id=link.pk)
    if answer not in CheckInAnswer.values:
        raise ValidationError({"answer": ["Choose how you are."]})
    if any(sign not in CHECK_IN_SIGNS for sign in signs):
        raise ValidationError({"signs": ["Tick only the signs listed."]})
    details = details.strip()
    if len(details) > DETAILS_MAX_LENGTH or "\x00" in details:
        raise ValidationError({"details": [f"Write at most {DETAILS_MAX_LENGTH} characters."]})
    if answer == CheckInAnswer.SOMETHING_WRONG and not (signs or details):
        raise ValidationError({"details": ["Tell us what is wrong, or tick what you notice."]})
    if answer == CheckInAnswer.AS_EXPECTED:
        signs = []
    use_link(
        link=link,
        actor=actor,
        summary=f"The patient answered the day-{reply.day} check-in: "
        f"{CheckInAnswer(answer).label.lower()}",
    )
    reply.answer = answer
    reply.signs = list(signs)
    reply.details = details
    reply.answered_at = timezone.now()
    reply.save(update_fields=["answer", "signs", "details", "answered_at"])
    return reply


def _open_alert(reply: CheckInReply) -> CheckInReply:
    locked = (
        CheckInReply.objects.select_for_update(of=("self",))
        .select_related("session__location")
        .get(pk=reply.pk)
    )
    if locked.answer != CheckInAnswer.SOMETHING_WRONG:
        raise ValidationError("The patient did not say something is wrong.")
    if locked.handled_at is not None:
        raise ValidationError("This answer has already been dealt with.")
    return locked


def event_description(reply: CheckInReply) -> str:
    """The patient's words, as the start of the adverse event's description."""
    lines = [f"The patient said something is wrong at the day-{reply.day} check-in."]
    lines += [f"Ticked: {sign}" for sign in reply.signs]
    if reply.details:
        lines.append(f"In their words: {reply.details}")
    return "\n".join(lines)[:4000]


@transaction.atomic
def report_from_check_in(*, reply: CheckInReply, actor: Actor) -> AdverseEvent:
    """Turn a "something is wrong" into an adverse event in one step, for the practitioner
    to complete: begun today on the location's clock, the patient's words as the
    description, every lot placed in the session. Type "other" and severity "mild" until
    the practitioner has seen the patient and says otherwise."""
    locked = _open_alert(reply)
    session = locked.session
    lots = list(StockLot.objects.filter(placements__session=session).distinct().order_by("pk"))
    event = report_adverse_event(
        session=session,
        event_type=AdverseEventType.OTHER,
        severity=Severity.MILD,
        onset_on=timezone.localdate(timezone=session.location.zone),
        lots=lots,
        description=event_description(locked),
        actor=actor,
    )
    locked.adverse_event = event
    locked.handled_by = actor.user
    locked.handled_at = timezone.now()
    locked.save(update_fields=["adverse_event", "handled_by", "handled_at"])
    record_event(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=locked,
        patient_id=session.patient_id,
        summary=f"Recorded the day-{locked.day} check-in as an adverse event",
    )
    return event


@transaction.atomic
def mark_check_in_handled(*, reply: CheckInReply, note: str, actor: Actor) -> CheckInReply:
    """Close a "something is wrong" without an adverse event, saying why."""
    locked = _open_alert(reply)
    note = " ".join(note.split())
    if not note:
        raise ValidationError({"note": ["Say how it was handled."]})
    if len(note) > NOTE_MAX_LENGTH or "\x00" in note:
        raise ValidationError({"note": [f"Write at most {NOTE_MAX_LENGTH} characters."]})
    locked.handled_by = actor.user
    locked.handled_at = timezone.now()
    locked.handled_note = note
    locked.save(update_fields=["handled_by", "handled_at", "handled_note"])
    record_event(
        action=AuditAction.UPDATE,
        actor=actor,
        obj=locked,
        patient_id=locked.session.patient_id,
        summary=f"Handled the day-{locked.day} check-in without an adverse event",
    )
    return locked
