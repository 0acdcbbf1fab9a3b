"""The medical-alert banner: what must not be missed before touching the patient.

Read from the latest medical history and the latest screening, in two queries,
and shown by one include (consultations/_medical_alerts.html) on the chart, the
planner, the consent and the session pages. Clinicians only: the front desk
sees no clinical detail (DESIGN.md, least privilege), so views pass no alerts
to them.

Which answers raise an alert follows the screening rules that judge them
(consultations.screening.rules: "anaesthetic-allergy", "thread-material-allergy"
and "anticoagulants"), which cite their sources or say that none was found; the
banner repeats what the record holds, it decides nothing. The screening's
findings are the conditions the rules flagged for this patient, each cited there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from consultations.models import MedicalHistory, Patient, Screening


@dataclass(frozen=True)
class MedicalAlerts:
    allergies: list[str] = field(default_factory=list)
    anticoagulants: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)
    history: MedicalHistory | None = None
    screening: Screening | None = None

    def __bool__(self) -> bool:
        return bool(self.allergies or self.anticoagulants or self.flagged)


def medical_alerts(patient: Patient) -> MedicalAlerts:
    """The alerts from the patient's latest medical history and latest screening."""
    history = patient.medical_histories.order_by("-version").first()
    screening = patient.screenings.order_by("-screened_at", "-pk").first()
    allergies: list[str] = []
    anticoagulants: list[str] = []
    if history is not None:
        if history.allergy_local_anaesthetic:
            allergies.append("Local anaesthetics")
        if history.allergy_suture_material:
            allergies.append("Sutures or thread materials")
        if history.other_allergies:
            allergies.append(history.other_allergies)
        if history.anticoagulants:
            anticoagulants.append(history.anticoagulant_details or "Takes blood thinners")
    flagged = [
        str(finding.get("title", ""))
        for finding in (screening.findings if screening is not None else [])
        if isinstance(finding, dict) and finding.get("title")
    ]
    return MedicalAlerts(
        allergies=allergies,
        anticoagulants=anticoagulants,
        flagged=flagged,
        history=history,
        screening=screening,
    )
