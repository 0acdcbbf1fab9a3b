"""What goes on a patient's aftercare sheet, assembled from the clinic's aftercare templates.

An instruction (AftercareTemplate) applies to a session when its material is
blank or among the materials of the threads placed, and its area is blank or
among the areas treated. Instructions are grouped by period, in the order the
patient lives through them (first 24 hours first), whatever order the
periods' codes sort in.

Everything here reads a fixed number of queries, however many threads were
placed or instructions apply: `aftercare_instructions` two, `aftercare_for`
(the day's sheets at once) three for any number of sessions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Q

from consultations.models import Appointment, AppointmentKind, AppointmentStatus
from treatments.models import (
    AftercarePeriod,
    AftercareTemplate,
    PlacedThreads,
    ThreadVector,
    TreatmentPlan,
    TreatmentSession,
)

# The periods in the order they happen (their codes sort differently).
PERIOD_ORDER = {value: index for index, value in enumerate(AftercarePeriod.values)}

# What patients can expect and need not worry about: printed on every sheet.
WHAT_IS_NORMAL = [
    "Swelling, usually worst on the second or third day",
    "Bruising around the entry points",
    "A feeling of tightness or pulling, especially when you open your mouth wide or smile",
    "Small dimples or puckering of the skin over the threads",
    "Mild tenderness when you touch the treated areas",
]
NORMAL_SETTLES = (
    "These settle gradually over the first 2 to 3 weeks. Slight unevenness in the first "
    "days is common while the swelling goes down."
)

# When to call the clinic (the emergency number out of hours) rather than wait.
WARNING_SIGNS = [
    "A fever, or feeling hot and unwell",
    "Pain that gets worse after the third day instead of better",
    "Redness, heat or hardness spreading around an entry point or along a thread",
    "Discharge or pus from an entry point",
    "A thread end poking through the skin",
    "Asymmetry or a dent that gets worse rather than better",
    "Numbness, weakness or drooping of the face, or difficulty closing the eye or smiling",
    # Parotid injury: Chung et al., Case report of unusual complication following thread
    # lifting: an obstructive stone in the parotid duct, Arch Aesthetic Plast Surg
    # 2023;29(3):170-173, doi:10.14730/aaps.2023.00801 (a swollen, warm cheek with a mass);
    # Choi JS, Kim YM, Lim JY, Parotid ductal stenosis after facial cosmetic surgery
    # (2 case reports), Medicine 2019;98(15):e15015 (pain and swelling from a blocked duct).
    "Swelling in front of the ear or over the cheek, or pain there when you eat",
    # Allergic reaction and skin blanching: we found no thread-lift source that names them
    # for patients; they are the general warning signs of an allergy and of a blood vessel
    # pressed or blocked, and the consent form lists the risks they belong to.
    "Signs of an allergic reaction: a rash or hives, itching, or swelling of the lips, "
    "tongue or throat (call 999 or 911 if you are short of breath)",
    "Skin over the threads that turns pale or white, dusky or blue, or feels cold",
]

# A review is printed while it is still to happen.
UPCOMING_STATUSES = [AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED]


def placed_threads(session: TreatmentSession) -> list[PlacedThreads]:
    """The session's placements with their products and lots (one query)."""
    return list(session.placed.select_related("product", "lot").order_by("pk"))


def active_templates() -> list[AftercareTemplate]:
    """Every active instruction (one query); `instructions_for` picks those that apply."""
    return list(AftercareTemplate.objects.filter(is_active=True).order_by("position", "pk"))


def instructions_for(
    templates: Iterable[AftercareTemplate], placed: Iterable[PlacedThreads | ThreadVector]
) -> list[tuple[str, list[str]]]:
    """(period label, [instruction texts]) for the materials and areas placed, periods in order.

    Periods without an instruction are left out. Within a period, instructions
    keep their position, then the order they were written in.
    """
    placed = list(placed)
    materials = {row.product.material for row in placed}
    areas = {row.area for row in placed}
    chosen = [
        template
        for template in templates
        if (not template.material or template.material in materials)
        and (not template.area or template.area in areas)
    ]
    chosen.sort(key=lambda t: (PERIOD_ORDER.get(t.period, len(PERIOD_ORDER)), t.position, t.pk))
    grouped: dict[str, list[str]] = {}
    for template in chosen:
        label = AftercarePeriod(template.period).label
        grouped.setdefault(label, []).append(template.text)
    return list(grouped.items())


def aftercare_instructions(
    session: TreatmentSession, placed: list[PlacedThreads] | None = None
) -> list[tuple[str, list[str]]]:
    """The instructions that apply to a session, grouped by period (at most two queries)."""
    if placed is None:
        placed = placed_threads(session)
    materials = {row.product.material for row in placed}
    areas = {row.area for row in placed}
    templates = AftercareTemplate.objects.filter(is_active=True).filter(
        Q(material="") | Q(material__in=materials), Q(area="") | Q(area__in=areas)
    )
    return instructions_for(templates, placed)


def planned_aftercare(plan: TreatmentPlan) -> list[tuple[str, list[str]]]:
    """The instructions that will apply if the plan is carried out as planned: its vectors'
    materials and areas stand in for the threads placed (what a patient reads before)."""
    vectors = list(plan.vectors.select_related("product"))
    return instructions_for(active_templates(), vectors)


def review_appointments(session: TreatmentSession) -> list[Appointment]:
    """The patient's booked review appointments after the session, soonest first (one query)."""
    after = session.completed_at or session.started_at
    return list(
        Appointment.objects.filter(
            patient_id=session.patient_id,
            appointment_type__kind=AppointmentKind.REVIEW,
            status__in=UPCOMING_STATUSES,
            starts_at__gte=after,
        )
        .select_related("location", "practitioner__user", "appointment_type")
        .order_by("starts_at", "pk")
    )


@dataclass
class Aftercare:
    """Everything one aftercare sheet needs besides the session itself."""

    placed: list[PlacedThreads] = field(default_factory=list)
    instructions: list[tuple[str, list[str]]] = field(default_factory=list)
    reviews: list[Appointment] = field(default_factory=list)


def aftercare_for(sessions: list[TreatmentSession]) -> dict[int, Aftercare]:
    """Aftercare for several sessions at once (the day's print), in three queries whatever N."""
    if not sessions:
        return {}
    placed_by_session: dict[int, list[PlacedThreads]] = defaultdict(list)
    for row in (
        PlacedThreads.objects.filter(session__in=[s.pk for s in sessions])
        .select_related("product", "lot")
        .order_by("pk")
    ):
        placed_by_session[row.session_id].append(row)
    templates = active_templates()
    earliest = min(s.completed_at or s.started_at for s in sessions)
    reviews_by_patient: dict[int, list[Appointment]] = defaultdict(list)
    for appointment in (
        Appointment.objects.filter(
            patient_id__in={s.patient_id for s in sessions},
            appointment_type__kind=AppointmentKind.REVIEW,
            status__in=UPCOMING_STATUSES,
            starts_at__gte=earliest,
        )
        .select_related("location", "practitioner__user", "appointment_type")
        .order_by("starts_at", "pk")
    ):
        if appointment.patient_id is not None:  # the query names patients; holds have none
            reviews_by_patient[appointment.patient_id].append(appointment)
    result = {}
    for session in sessions:
        placed = placed_by_session[session.pk]
        after = session.completed_at or session.started_at
        result[session.pk] = Aftercare(
            placed=placed,
            instructions=instructions_for(templates, placed),
            reviews=[r for r in reviews_by_patient[session.patient_id] if r.starts_at >= after],
        )
    return result
