"""The patient's whole record in words: the summary.pdf of a subject access export."""

from datetime import date
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.db import models

from clinic.models import Location
from clinic.pdf import PdfDocument
from clinic.people import person_name
from consultations.models import MedicalHistory
from consultations.screening.documents import (
    findings_by_level,
    location_zone,
    outcome_text,
)
from treatments.models import ConsentWithdrawal, PhotoUse

if TYPE_CHECKING:
    from clinic.site.export import PatientRecord


def answer_text(history: MedicalHistory, field: models.Field[Any, Any]) -> str:
    """One medical-history answer in words, as the history page shows it."""
    value = getattr(history, field.name)
    if field.choices:
        display: str = getattr(history, f"get_{field.name}_display")()
        return display
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if value is None or value == "":
        return "—"
    if isinstance(value, date):
        return f"{value.day} {value:%b %Y}"
    return str(value)


class PatientRecordSummary(PdfDocument):
    """Everything held about one patient, in words: the summary.pdf of the record export.

    Takes the record as clinic.site.export.collect_patient_record read it
    (every list oldest first, related rows prefetched), so printing it adds no queries.
    """

    template_name = "pdf/patient_record.html"
    title = "Patient record"

    def __init__(
        self,
        record: "PatientRecord",
        *,
        location: Location | None = None,
        exported_by: User | None = None,
    ) -> None:
        self.record = record
        self.location = location
        self.zone = location_zone(location)
        self.exported_by = exported_by

    def filename(self) -> str:
        return f"record-{self.record.patient.record_number}.pdf"

    def get_context(self) -> dict[str, Any]:
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
            "exported_by": person_name(self.exported_by),
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
