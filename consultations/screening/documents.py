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
from clinic.people import person_name
from consultations.models import Screening, ScreeningDecision
from consultations.screening.rules import BODY_IMAGE_QUESTIONS, SCALE_LABELS, Level
from consultations.screening.services import consultation_location as consultation_location
from consultations.screening.sources import citation_text

UTC = zoneinfo.ZoneInfo("UTC")

# Most serious first, as the rules order them, with what each level means in practice.
LEVELS = [
    (Level.ABSOLUTE, "Do not treat", "Absolute contraindications"),
    (Level.DEFER, "Not yet", "Reasons to wait"),
    (Level.RELATIVE, "Treat with precautions, or refer", "Relative contraindications"),
    (Level.ADVISORY, "Worth knowing", "Advisory notes"),
]


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
                {
                    **finding,
                    "not_before": date.fromisoformat(not_before) if not_before else None,
                    # Screenings from before rules cited sources have neither key.
                    "citations": [citation_text(s) for s in finding.get("sources") or []],
                    "source_note": finding.get("source_note", ""),
                }
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
            "screened_by": person_name(screening.screened_by, unknown="unknown"),
            "practitioner": str(practitioner),
            "registration_number": practitioner.registration_number,
            "rules_version": screening.rules_version,
            "jurisdiction": screening.jurisdiction_label,
            "medical_history_version": screening.medical_history.version,
            "outcome": outcome_text(screening),
            "levels": findings_by_level(screening),
            "body_image_positive": screening.body_image_positive,
            "body_image_rows": body_image_rows(screening),
            "decided": screening.is_decided,
            "decision": screening.get_decision_display(),
            "overridden": screening.decision == ScreeningDecision.OVERRIDDEN,
            "justification": screening.override_justification,
            "decided_by": person_name(screening.decided_by),
            "decided_at": self.local_time(screening.decided_at),
        }
