"""The treatment-day check: what must hold, on the day, before a session starts.

In the spirit of the WHO Surgical Safety Checklist (2009), adapted to thread
lifts: identity and allergies confirmed with the patient; the medical history
confirmed unchanged or taken again on the spot; the screening rules run again
(through consultations.screening.rules, the one rule set) against the latest
history and the plan's areas; the screening still recent; consent signed for this
plan version and not withdrawn; the location's cooling-off respected; baseline
photos taken or their refusal recorded; every lot to be used in date
(treatments.services.stock.lot_problems). And never before the appointment's time.

`review_day` gathers all of it for the page; `day_problems` turns it and the
practitioner's answers into the reasons the session may not start, which
treatments.services.sessions.start_session enforces inside its transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime

from django.conf import settings
from django.utils import timezone

from clinic.cooling_off import cooling_off_problem, first_allowed_day
from clinic.models import Location
from consultations.models import (
    Appointment,
    AppointmentStatus,
    MedicalHistory,
    Patient,
    PhotoStage,
    Screening,
    ScreeningDecision,
)
from consultations.screening import rules as screening_rules
from consultations.screening.services import screening_facts
from treatments.models import SignedConsent, StockLot, TreatmentPlan
from treatments.services.consent import valid_consent_for
from treatments.services.stock import lot_problems

# A walk-in is booked from the moment it started (consultations.booking); its first
# status change carries this note.
WALK_IN_NOTE = "walk-in"


@dataclass(frozen=True, kw_only=True)
class DayCheckAnswers:
    """What the practitioner confirmed at the chair (the check form, or a test)."""

    identity_confirmed: bool
    allergies_confirmed: bool
    history_confirmed: bool
    # The history version read back with the patient: a newer one means it changed since.
    history_version: int
    precautions_acknowledged: frozenset[str] = frozenset()
    photo_refusal_reason: str = ""
    lots: tuple[StockLot, ...] = ()


@dataclass(frozen=True)
class DayFinding:
    """One finding of the screening rules run again on the day."""

    finding: screening_rules.Finding
    # Present in a screening the practitioner overrode in writing: it does not block again.
    overridden: bool = False

    @property
    def blocks(self) -> bool:
        return not self.overridden and self.finding.level in (
            screening_rules.Level.ABSOLUTE,
            screening_rules.Level.DEFER,
        )

    @property
    def is_precaution(self) -> bool:
        return self.finding.level == screening_rules.Level.RELATIVE

    def refusal(self) -> str:
        """The rule's advice, and when the patient can be seen again for it."""
        finding = self.finding
        when = (
            f" It can be revisited from {finding.not_before:%d %b %Y}."
            if finding.not_before
            else " It can be revisited when this changes, at a new consultation."
        )
        detail = f" ({finding.detail})" if finding.detail else ""
        return f"{finding.title}{detail}: {finding.advice}{when}"


@dataclass
class DayReview:
    """Everything the treatment-day check shows, gathered at one moment."""

    today: date
    history: MedicalHistory | None
    history_updated_today: bool
    screening: Screening | None
    rules_version: str
    outcome: str
    findings: list[DayFinding]
    consent: SignedConsent | None
    baseline_photos_taken: bool
    first_allowed_day: date | None
    cooling_off_days: int
    problems: list[str] = field(default_factory=list)

    @property
    def precautions(self) -> list[DayFinding]:
        return [f for f in self.findings if f.is_precaution]

    @property
    def blocking(self) -> list[DayFinding]:
        return [f for f in self.findings if f.blocks]


def local_today(location: Location) -> date:
    return timezone.localdate(timezone=location.zone)


def _format_moment(moment: datetime, location: Location) -> str:
    local = timezone.localtime(moment, location.zone)
    return f"{local:%H:%M on %a %d %b %Y} ({location.time_zone})"


def is_started_walk_in(appointment: Appointment) -> bool:
    """A walk-in recorded as arrived or in progress: it started when it was recorded."""
    if appointment.status not in (AppointmentStatus.ARRIVED, AppointmentStatus.IN_PROGRESS):
        return False
    first = appointment.status_changes.order_by("changed_at", "pk").first()
    return first is not None and first.note == WALK_IN_NOTE


def start_time_problem(appointment: Appointment, *, doing: str) -> str | None:
    """Why nothing may be `doing` (started, completed) yet: the appointment has not begun."""
    if appointment.starts_at <= timezone.now() or is_started_walk_in(appointment):
        return None
    return (
        f"The appointment starts at {_format_moment(appointment.starts_at, appointment.location)}"
        f": the session can be {doing} from then, not before."
    )


def _latest_screening(plan: TreatmentPlan) -> Screening | None:
    """The latest decided screening: one still awaiting its decision is work in progress,
    and the rules are run again on the day anyway."""
    return (
        Screening.objects.filter(patient_id=plan.patient_id)
        .exclude(decision="")
        .select_related("consultation__patient", "consultation__appointment__location")
        .order_by("-screened_at")
        .first()
    )


def _screening_problems(
    screening: Screening | None, *, today: date, location: Location
) -> list[str]:
    """The screening relied on at the session: decided, allowing treatment, still recent."""
    if screening is None:
        return ["The patient has no decided screening: screen and decide before treating."]
    problems = []
    screened_on = timezone.localtime(screening.screened_at, location.zone).date()
    age_days = (today - screened_on).days
    if age_days > settings.SCREENING_VALID_DAYS:
        problems.append(
            f"The screening of {screened_on:%d %b %Y} is {age_days} days old today (valid for "
            f"{settings.SCREENING_VALID_DAYS} days): screen the patient again before treating."
        )
    if not screening.allows_planning:
        problems.append(
            f"The latest screening found the patient {screening.get_outcome_display().lower()}: "
            "do not treat."
        )
    return problems


def rerun_rules(
    *, plan: TreatmentPlan, screening: Screening, history: MedicalHistory, today: date
) -> tuple[str, list[DayFinding]]:
    """The screening rules run again on the latest history and the plan's areas."""
    facts = screening_facts(consultation=screening.consultation, history=history, today=today)
    plan_areas = frozenset(plan.vectors.values_list("area", flat=True))
    if plan_areas:
        facts = replace(facts, treatment_areas=plan_areas)
    outcome, _defer_until, findings = screening_rules.evaluate(facts, screening.body_image_answers)
    overridden = (
        {row.get("rule_id") for row in screening.findings}
        if screening.decision == ScreeningDecision.OVERRIDDEN
        else set()
    )
    return outcome, [DayFinding(f, overridden=f.rule_id in overridden) for f in findings]


def review_day(*, appointment: Appointment, plan: TreatmentPlan) -> DayReview:
    """Gather the check for this appointment and plan, and every reason it cannot pass
    whatever the practitioner answers (the answers are judged by `day_problems`)."""
    location = appointment.location
    today = local_today(location)
    # Read afresh: the date of birth and the histories decide the check, not a cached copy.
    patient = Patient.objects.get(pk=plan.patient_id)
    problems: list[str] = []
    if problem := start_time_problem(appointment, doing="started"):
        problems.append(problem)
    history = patient.medical_histories.order_by("-version").first()
    screening = _latest_screening(plan)
    problems += _screening_problems(screening, today=today, location=location)
    outcome, findings = "", list[DayFinding]()
    if history is None:
        problems.append("The patient has no medical history: take it before treating.")
    elif screening is not None:
        outcome, findings = rerun_rules(
            plan=plan, screening=screening, history=history, today=today
        )
        problems += [f"Not today. {f.refusal()}" for f in findings if f.blocks]
    consent = valid_consent_for(plan)
    if consent is None:
        problems.append(
            f"No signed consent to plan version {plan.version} (or it was withdrawn): "
            "take consent first."
        )
    treatment_day = timezone.localtime(appointment.starts_at, location.zone).date()
    age = patient.age_on(treatment_day)
    first_allowed = None
    if consent is not None:
        if problem := cooling_off_problem(
            location=location,
            age=age,
            since=consent.signed_at,
            treatment_day=max(today, treatment_day),
            what="signing the consent",
        ):
            problems.append(problem)
        first_allowed = first_allowed_day(location=location, age=age, since=consent.signed_at)
    updated_today = (
        history is not None
        and screening is not None
        and history.version > screening.medical_history.version
        and timezone.localtime(history.submitted_at, location.zone).date() == today
    )
    return DayReview(
        today=today,
        history=history,
        history_updated_today=updated_today,
        screening=screening,
        rules_version=screening_rules.RULES_VERSION,
        outcome=outcome,
        findings=findings,
        consent=consent,
        baseline_photos_taken=patient.photos.filter(
            stage=PhotoStage.BASELINE, is_archived=False
        ).exists(),
        first_allowed_day=first_allowed,
        cooling_off_days=location.cooling_off_days(age),
        problems=problems,
    )


def day_problems(
    review: DayReview, answers: DayCheckAnswers, *, plan: TreatmentPlan, location: Location
) -> list[str]:
    """Every reason the session may not start: the review's, then the answers'."""
    problems = list(review.problems)
    if not answers.identity_confirmed:
        problems.append("Confirm the patient's identity: name and date of birth read back.")
    if not answers.allergies_confirmed:
        problems.append("Confirm the patient's allergies with them.")
    if not answers.history_confirmed:
        problems.append("Confirm with the patient that the medical history is current.")
    if review.history is not None and answers.history_version != review.history.version:
        problems.append(
            f"The medical history changed since the check was opened (now version "
            f"{review.history.version}): read the new answers with the patient again."
        )
    for day_finding in review.precautions:
        if day_finding.finding.rule_id not in answers.precautions_acknowledged:
            problems.append(
                f"Acknowledge the precaution “{day_finding.finding.title}”: "
                f"{day_finding.finding.advice}"
            )
    if not review.baseline_photos_taken and not answers.photo_refusal_reason.strip():
        problems.append(
            "No baseline photos: take them, or record that the patient refused and why."
        )
    problems += _lot_problems(answers.lots, plan=plan, location=location, today=review.today)
    return problems


def _lot_problems(
    lots: tuple[StockLot, ...], *, plan: TreatmentPlan, location: Location, today: date
) -> list[str]:
    if not lots:
        return ["Name the lots to be used."]
    problems = [
        f"Lot {lot.lot_number} is held at another location."
        for lot in lots
        if lot.location_id != location.pk
    ]
    problems += lot_problems(lots, on=today)
    chosen = {lot.product_id for lot in lots}
    products = {v.product_id: v.product for v in plan.vectors.select_related("product")}
    for product in sorted(products.values(), key=lambda p: p.name):
        if product.pk not in chosen:
            problems.append(f"Name the lot of {product.name} to be used.")
    return problems
