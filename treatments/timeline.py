"""Treatments' entries on the chart's timeline (registered in TreatmentsConfig.ready).

Plan versions, consents and their withdrawals, sessions, reviews and adverse
events: clinical, so shown to clinicians only, one query per kind. The front
desk sees one entry per completed session instead, linking to the aftercare
sheet it may reprint (treatments.views.printing.aftercare_pdf): the sheet holds
what the patient takes home, no clinical notes.
"""

from __future__ import annotations

from django.utils import timezone

from consultations.models import Patient
from consultations.timeline import TimelineEntry, TimelineViewer
from treatments.models import AdverseEvent, Outcome, SignedConsent, TreatmentPlan, TreatmentSession


def _day(session: TreatmentSession) -> str:
    moment = session.completed_at or session.started_at
    local = timezone.localtime(moment, session.location.zone)
    return f"{local.day} {local:%b %Y}"


def treatment_entries(patient: Patient, viewer: TimelineViewer) -> list[TimelineEntry]:
    if not viewer.clinical:
        return aftercare_entries(patient, viewer)
    entries: list[TimelineEntry] = []
    for plan in TreatmentPlan.objects.filter(patient=patient).select_related(
        "practitioner__user", "location"
    ):
        detail = plan.get_status_display()
        if plan.accepted_at:
            accepted = timezone.localtime(plan.accepted_at, plan.location.zone)
            detail += f" {accepted.day} {accepted:%b %Y}"
        entries.append(
            TimelineEntry(
                plan.created_at,
                "plan",
                f"Treatment plan, version {plan.version}",
                f"{detail} · by {plan.practitioner}",
                viewer.link(plan.location_id, "treatments:planner", plan.pk),
                clinical=True,
            )
        )
    consents = SignedConsent.objects.filter(patient=patient).select_related("plan", "withdrawal")
    for consent in consents:
        url = viewer.link(consent.plan.location_id, "treatments:consent_detail", consent.pk)
        entries.append(
            TimelineEntry(
                consent.signed_at,
                "consent",
                f"Consent signed to plan version {consent.plan.version}",
                "",
                url,
                clinical=True,
            )
        )
        withdrawal = getattr(consent, "withdrawal", None)
        if withdrawal is not None:
            entries.append(
                TimelineEntry(
                    withdrawal.withdrawn_at,
                    "consent_withdrawal",
                    f"Consent to plan version {consent.plan.version} withdrawn",
                    withdrawal.reason,
                    url,
                    clinical=True,
                )
            )
    sessions = TreatmentSession.objects.filter(patient=patient).select_related(
        "location", "practitioner__user"
    )
    for session in sessions:
        entries.append(
            TimelineEntry(
                session.started_at,
                "session",
                "Treatment session",
                (f"completed {_day(session)}" if session.is_locked else "in progress")
                + f" · with {session.practitioner}",
                viewer.link(session.location_id, "treatments:session_detail", session.pk),
                clinical=True,
            )
        )
    for outcome in Outcome.objects.filter(session__patient=patient).select_related("session"):
        entries.append(
            TimelineEntry(
                outcome.recorded_at,
                "outcome",
                "Review: GAIS "
                f"{outcome.gais_practitioner} (practitioner), {outcome.gais_patient} (patient)",
                f"satisfaction {outcome.satisfaction}/10",
                viewer.link(
                    outcome.session.location_id,
                    "treatments:session_detail",
                    outcome.session_id,
                    anchor="reviews-heading",
                ),
                clinical=True,
            )
        )
    events = AdverseEvent.objects.filter(session__patient=patient).select_related("session")
    for event in events:
        entries.append(
            TimelineEntry(
                event.reported_at,
                "adverse_event",
                f"Adverse event: {event.get_event_type_display()}",
                event.get_severity_display() + (", serious" if event.serious else ""),
                viewer.link(event.session.location_id, "treatments:adverse_event_pdf", event.pk),
                clinical=True,
            )
        )
    return entries


def aftercare_entries(patient: Patient, viewer: TimelineViewer) -> list[TimelineEntry]:
    """For the front desk: each completed session's aftercare sheet, to reprint."""
    sessions = TreatmentSession.objects.filter(
        patient=patient, completed_at__isnull=False
    ).select_related("location")
    return [
        TimelineEntry(
            session.completed_at or session.started_at,
            "aftercare",
            "Aftercare sheet",
            f"treatment completed {_day(session)} at {session.location.name}",
            viewer.link(session.location_id, "treatments:aftercare_pdf", session.pk),
        )
        for session in sessions
    ]
