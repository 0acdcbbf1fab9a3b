"""Printed documents of the consultation: the suitability-screening summary.

Also the few read helpers that the screening pages and the printout share, so
both say the same thing: where (and so in which time zone) the screening
happened, the outcome in words, the findings by level and the body-image answers.
"""

import zoneinfo
from datetime import date, datetime, tzinfo
from typing import Any

from django.utils import timezone

from clinic.models import Location
from clinic.pdf import PdfDocument
from consultations.models import Consultation, Screening, ScreeningDecision
from consultations.screening import BODY_IMAGE_QUESTIONS, SCALE_LABELS, Level

UTC = zoneinfo.ZoneInfo("UTC")

# Most serious first, as the rules order them, with what each level means in practice.
LEVELS = [
    (Level.ABSOLUTE, "Do not treat", "Absolute contraindications"),
    (Level.DEFER, "Not yet", "Reasons to wait"),
    (Level.RELATIVE, "Treat with precautions, or refer", "Relative contraindications"),
    (Level.ADVISORY, "Worth knowing", "Advisory notes"),
]


def consultation_location(consultation: Consultation) -> Location | None:
    """The appointment's location, else the practitioner's first location."""
    if consultation.appointment_id:
        return consultation.appointment.location
    return consultation.practitioner.locations.first()


def location_zone(location: Location | None) -> tzinfo:
    return location.zone if location else UTC


def outcome_text(screening: Screening) -> str:
    """The outcome in plain words, with the date to wait for when it is to defer."""
    text = screening.get_outcome_display()
    if screening.defer_until:
        day = screening.defer_until
        text += f" (until {day.day} {day:%b %Y})"
    return text


def findings_by_level(screening: Screening) -> list[dict[str, Any]]:
    """The stored findings grouped by level, most serious first, empty levels left out."""
    groups = []
    for level, heading, description in LEVELS:
        findings = []
        for finding in screening.findings:
            if finding.get("level") != level:
                continue
            not_before = finding.get("not_before")
            findings.append(
                {**finding, "not_before": date.fromisoformat(not_before) if not_before else None}
            )
        if findings:
            groups.append(
                {
                    "level": level,
                    "heading": heading,
                    "description": description,
                    "findings": findings,
                }
            )
    return groups


def body_image_rows(screening: Screening) -> list[tuple[str, str]]:
    """(question, answer) for each body-image question, as the practitioner recorded it."""
    rows = []
    answers = screening.body_image_answers or {}
    for key, question, kind in BODY_IMAGE_QUESTIONS:
        value = answers.get(key)
        if value is None:
            answer = "not asked"
        elif kind == "yesno":
            answer = "Yes" if value else "No"
        else:
            answer = f"{value}: {SCALE_LABELS.get(int(value), '')}"
        rows.append((question, answer))
    return rows


def person_name(user) -> str:
    if user is None:
        return "unknown"
    return user.get_full_name() or user.get_username()


class ScreeningSummary(PdfDocument):
    """The printed summary of one screening: findings, advice and the decision."""

    template_name = "pdf/screening_summary.html"
    title = "Suitability screening"

    def __init__(self, screening: Screening):
        self.screening = screening
        self.location = consultation_location(screening.consultation)
        self.zone = location_zone(self.location)

    def filename(self) -> str:
        screened = timezone.localtime(self.screening.screened_at, self.zone)
        return f"screening-{self.screening.patient.record_number}-{screened:%Y-%m-%d}.pdf"

    def local_time(self, moment: datetime | None) -> str:
        """A time on the location's wall clock, written out (whatever zone is active)."""
        if moment is None:
            return ""
        local = timezone.localtime(moment, self.zone)
        return f"{local.day} {local:%b %Y, %H:%M}"

    def get_context(self) -> dict[str, Any]:
        screening = self.screening
        patient = screening.patient
        practitioner = screening.consultation.practitioner
        return {
            "location": self.location,
            "paper_size": self.location.paper_size if self.location else "A4",
            "zone_name": str(self.zone),
            "patient_name": patient.full_name,
            "record_number": patient.record_number,
            "date_of_birth": patient.date_of_birth,
            "screened_at": self.local_time(screening.screened_at),
            "screened_by": person_name(screening.screened_by),
            "practitioner": str(practitioner),
            "registration_number": practitioner.registration_number,
            "rules_version": screening.rules_version,
            "medical_history_version": screening.medical_history.version,
            "outcome": outcome_text(screening),
            "levels": findings_by_level(screening),
            "body_image_positive": screening.body_image_positive,
            "body_image_rows": body_image_rows(screening),
            "decided": screening.is_decided,
            "decision": screening.get_decision_display(),
            "overridden": screening.decision == ScreeningDecision.OVERRIDDEN,
            "justification": screening.override_justification,
            "decided_by": person_name(screening.decided_by) if screening.decided_by_id else "",
            "decided_at": self.local_time(screening.decided_at),
        }

    def render(self) -> bytes:
        # The "printed" footer in the location's time zone too.
        with timezone.override(self.zone):
            return super().render()


# The patient's whole record, for a subject access request (consultations.export) ------


def answer_text(history, field) -> str:
    """One medical-history answer in words, as the history page shows it."""
    value = getattr(history, field.name)
    if field.choices:
        return getattr(history, f"get_{field.name}_display")()
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if value is None or value == "":
        return "—"
    if isinstance(value, date):
        return f"{value.day} {value:%b %Y}"
    return str(value)


class PatientRecordSummary(PdfDocument):
    """Everything held about one patient, in words: the summary.pdf of the record export.

    Takes the record as consultations.export.collect_patient_record read it
    (every list oldest first, related rows prefetched), so printing it adds no queries.
    """

    template_name = "pdf/patient_record.html"
    title = "Patient record"

    def __init__(self, record, *, location: Location | None = None, exported_by=None):
        self.record = record
        self.location = location
        self.zone = location_zone(location)
        self.exported_by = exported_by

    def filename(self) -> str:
        return f"record-{self.record.patient.record_number}.pdf"

    def get_context(self) -> dict[str, Any]:
        from consultations.models import MedicalHistory
        from treatments.models import ConsentWithdrawal, PhotoUse

        record = self.record
        sessions = {session.pk: session for session in record.sessions}
        consents = []
        for consent in record.consents:
            try:
                withdrawal = consent.withdrawal
            except ConsentWithdrawal.DoesNotExist:
                withdrawal = None
            consents.append(
                {
                    "consent": consent,
                    "withdrawal": withdrawal,
                    "photo_answers": [
                        (PhotoUse(use).label, consent.photo_consents.get(use))
                        for use in PhotoUse.values
                        if use in consent.photo_consents
                    ],
                }
            )
        return {
            "location": self.location,
            "paper_size": self.location.paper_size if self.location else "A4",
            "zone_name": str(self.zone),
            "patient": record.patient,
            "exported_by": person_name(self.exported_by) if self.exported_by else "",
            "histories": [
                {
                    "history": history,
                    "answers": [
                        (field.verbose_name, answer_text(history, field))
                        for field in MedicalHistory.answer_fields()
                    ],
                    "treatments": list(history.previous_treatments.all()),
                }
                for history in record.medical_histories
            ],
            "consultations": [
                {
                    "consultation": consultation,
                    "areas": [
                        area
                        for area in consultation.areas.all()
                        if area.wanted or area.laxity is not None
                    ],
                }
                for consultation in record.consultations
            ],
            "screenings": [
                {
                    "screening": screening,
                    "outcome": outcome_text(screening),
                    "levels": findings_by_level(screening),
                }
                for screening in record.screenings
            ],
            "plans": [{"plan": plan, "vectors": list(plan.vectors.all())} for plan in record.plans],
            "consents": consents,
            "sessions": [
                {
                    "session": session,
                    "placed": list(session.placed.all()),
                    "addenda": list(session.addenda.all()),
                }
                for session in record.sessions
            ],
            "outcomes": [
                {"outcome": outcome, "session": sessions.get(outcome.session_id)}
                for outcome in record.outcomes
            ],
            "adverse_events": [
                {
                    "event": event,
                    "session": sessions.get(event.session_id),
                    "lots": list(event.lots.all()),
                }
                for event in record.adverse_events
            ],
            "appointments": record.appointments,
            "photos": [(photo, record.photo_filename(photo)) for photo in record.photos],
            "erasure_requests": record.erasure_requests,
            "photo_uses": [
                (PhotoUse(use).label, allowed) for use, allowed in record.photo_uses_allowed.items()
            ],
        }

    def render(self) -> bytes:
        # Every time in the location's time zone, the "printed" footer included.
        with timezone.override(self.zone):
            return super().render()
