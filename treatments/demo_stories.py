"""The demo clinic's patients at every stage, each brought there through the real services.

Eight invented patients, one per stage a newcomer should see: a consultation booked,
a patient screened, a plan drafted, a plan proposed, a plan accepted and consented to
with the treatment booked, a patient treated last week, a patient whose 2-week review
found an adverse event, and a patient reviewed with an outcome recorded. The lot of
mono threads the three treated patients received is then recalled, and one of them has
been phoned about it.

Each story is a timeline: a generator that yields the moment of its next step and, when
resumed, does that step through the services (booking, consultation, screening, plans,
consent, the treatment-day check, sessions, outcomes, recalls) as the member of staff
who would. `load_demo_stories` runs all the timelines together in the order of their
moments, with the clock moved to each (clinic.demo_time.as_of), so consents are signed
and chained in time order and nothing happens before what it depends on. Appointment
times come from the booking service's free slots, so they fit around the demo week and
each other. Every moment is counted back from the day the demo is loaded: the stories
are the same, whichever day that is. Nothing is sent: bookings are made without
reminders, and the recall is recorded as a phone call.
"""

from __future__ import annotations

import heapq
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image, ImageDraw

from clinic.actors import Actor
from clinic.demo_time import as_of
from clinic.models import Location, StaffMember
from clinic.roles import Role
from consultations import services as consultation_services
from consultations.booking import services as booking
from consultations.demo_photos import demo_photo_jpeg
from consultations.models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    AppointmentType,
    Patient,
    PatientPhoto,
)
from consultations.screening import rules as screening_rules
from consultations.screening import services as screening_services
from treatments.demo import PRODUCTS
from treatments.models import (
    ConsentTemplate,
    ContactMethod,
    LotStatus,
    PlacedThreads,
    PlanStatus,
    StockLot,
    ThreadProduct,
    TreatmentPlan,
    TreatmentSession,
)
from treatments.services import consent as consent_services
from treatments.services import outcomes as outcome_services
from treatments.services import plans as plan_services
from treatments.services import recalls as recall_services
from treatments.services import sessions as session_services
from treatments.services.day_check import DayCheckAnswers

# The stages, in the order a patient passes them.
BOOKED = "booked"
SCREENED = "screened"
DRAFTED = "drafted"
PROPOSED = "proposed"
CONSENTED = "consented"
TREATED = "treated"
ADVERSE_EVENT = "adverse event"
REVIEWED = "reviewed"
STAGES = [BOOKED, SCREENED, DRAFTED, PROPOSED, CONSENTED, TREATED, ADVERSE_EVENT, REVIEWED]


@dataclass(frozen=True)
class Story:
    """One patient's way to a stage: who they are, where, and when it began (days before
    the demo is loaded: the day they registered and asked for a consultation)."""

    stage: str
    first_name: str
    last_name: str
    sex: str
    age: int
    location: int  # index in the locations by name: 0 London, 1 New York
    began_days_ago: int
    # Days from the consultation to the treatment appointment (stories that reach it).
    treatment_after_days: int = 14


STORIES = [
    Story(BOOKED, "Marisol", "Vega", "female", 44, 1, 2),
    Story(SCREENED, "Helena", "Lindqvist", "female", 51, 0, 9),
    Story(DRAFTED, "Nadia", "Rahman", "female", 47, 0, 12),
    Story(PROPOSED, "Oliver", "Bennett", "male", 55, 0, 15),
    Story(CONSENTED, "Claire", "Fontaine", "female", 49, 0, 20, treatment_after_days=23),
    Story(TREATED, "Ingrid", "Solberg", "female", 58, 0, 35, treatment_after_days=25),
    Story(ADVERSE_EVENT, "Teresa", "Lombardi", "female", 52, 0, 50, treatment_after_days=16),
    Story(REVIEWED, "Margaret", "Osei", "female", 61, 0, 75, treatment_after_days=16),
]

# The recall comes a few days before the demo is loaded, after every treatment above.
RECALL_DAYS_AGO = 3
RECALL_REASON = (
    "Manufacturer's field safety notice LM-FSN-014: the sterile pouches of this lot may "
    "have defective seals. Stop using the lot; tell patients who received it what to watch for."
)
RECALLED_PRODUCT = "mono"

# Body-image answers that raise nothing (consultations.screening.rules.BODY_IMAGE_QUESTIONS).
CALM = {
    "concerned": False,
    "preoccupied": False,
    "distress": 1,
    "social": 1,
    "work": 1,
    "avoidance": 1,
    "interference": False,
}

# The plan every story proposes: the midface lifted with PDO cogs along the first two lines
# of the midface preset (treatments.default_content), the jawline refined with PDO
# monofilaments. Points are fractions of the face diagram (front view); every vector is
# within its thread's reach and uses most of it (treatments.services.plans.vector_warnings).
PLAN_VECTORS: list[tuple[str, str, str, int, tuple[float, float], tuple[float, float]]] = [
    ("midface", "right", "cog19", 1, (0.235, 0.29), (0.41, 0.58)),
    ("midface", "right", "cog19", 1, (0.235, 0.33), (0.395, 0.63)),
    ("midface", "left", "cog19", 1, (0.765, 0.29), (0.59, 0.58)),
    ("midface", "left", "cog19", 1, (0.765, 0.33), (0.605, 0.63)),
    ("jawline", "right", "mono", 2, (0.28, 0.78), (0.40, 0.86)),
    ("jawline", "left", "mono", 2, (0.72, 0.78), (0.60, 0.86)),
]

# A local anaesthetic recorded in full, within the maximum dose for the weight.
LIDOCAINE = {
    "anaesthesia": "local",
    "anaesthetic_agent": "Lidocaine 1% with adrenaline",
    "anaesthetic_concentration_percent": Decimal("1"),
    "anaesthetic_volume_ml": Decimal("4.0"),
    "with_adrenaline": True,
    "patient_weight_kg": Decimal("66"),
}
PHOTO_ANSWERS = {"clinical": True, "teaching": False, "marketing": False}


def story_email(story: Story) -> str:
    return f"{story.first_name}.{story.last_name}.story@mail.example".lower()


def load_demo_stories() -> int:
    """Bring the story patients to their stages unless they are there; how many stories ran."""
    if Patient.objects.filter(email__in=[story_email(s) for s in STORIES]).exists():
        return 0
    cast = Cast.gather()
    if cast is None:
        return 0  # no demo clinic to tell them in
    now = timezone.now()
    timelines = [_story(story, cast, now) for story in STORIES]
    timelines.append(_recall(cast, now))
    _run_in_time_order(timelines, now)
    return len(STORIES)


# -- running the timelines --------------------------------------------------------------------

Timeline = Iterator[datetime]


def _run_in_time_order(timelines: list[Timeline], now: datetime) -> None:
    """Resume each timeline at the moment it asked for, earliest first, the clock there.

    A timeline's first yield only names its first moment; every later resumption runs a
    step at the moment it named before. Ties keep the order of `timelines`.
    """
    waiting: list[tuple[datetime, int, Timeline]] = []
    for order, timeline in enumerate(timelines):
        first = next(timeline, None)
        if first is not None:
            heapq.heappush(waiting, (first, order, timeline))
    while waiting:
        moment, order, timeline = heapq.heappop(waiting)
        if moment > now:
            raise ValueError(f"A demo story reached the future ({moment}).")
        with as_of(moment):
            following = next(timeline, None)
        if following is not None:
            heapq.heappush(waiting, (max(following, moment), order, timeline))


@dataclass(frozen=True)
class Cast:
    """Who does what in the stories, where, with which appointment types, form and products."""

    locations: list[Location]
    desk: dict[int, StaffMember]
    practitioner: dict[int, StaffMember]
    manager: StaffMember
    consultation: AppointmentType
    treatment: AppointmentType
    products: dict[str, ThreadProduct]

    @classmethod
    def gather(cls) -> Cast | None:
        locations = list(Location.objects.filter(is_active=True).order_by("name"))
        manager = (
            StaffMember.objects.filter(role=Role.MANAGER)
            .select_related("user")
            .order_by("pk")
            .first()
        )
        types = AppointmentType.objects.filter(is_active=True).order_by("pk")
        consultation = types.filter(kind=AppointmentKind.CONSULTATION).first()
        treatment = types.filter(kind=AppointmentKind.TREATMENT).first()
        products = {
            key: product
            for key, spec in PRODUCTS.items()
            if (product := ThreadProduct.objects.filter(name=spec["name"]).order_by("pk").first())
            is not None
        }
        desk, practitioner = {}, {}
        for location in locations:
            staff = StaffMember.objects.filter(locations=location).select_related("user")
            # The practitioner who works there every weekday: the first one with the most days.
            doctors = sorted(
                staff.filter(role=Role.PRACTITIONER),
                key=lambda member: (
                    -member.working_hours.filter(location=location).count(),
                    member.pk,
                ),
            )
            front = staff.filter(role=Role.FRONT_DESK).order_by("pk").first()
            if doctors and front is not None:
                practitioner[location.pk], desk[location.pk] = doctors[0], front
        if (
            len(locations) < 2
            or len(practitioner) < 2
            or manager is None
            or consultation is None
            or treatment is None
            or set(products) != set(PRODUCTS)
        ):
            return None
        return cls(locations, desk, practitioner, manager, consultation, treatment, products)


def _at(location: Location, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=location.zone)


def _days_before(location: Location, now: datetime, days: int) -> date:
    return timezone.localtime(now, location.zone).date() - timedelta(days=days)


def _book(
    *,
    patient: Patient,
    kind: AppointmentType,
    practitioner: StaffMember,
    location: Location,
    after: datetime,
    actor: Actor,
) -> Appointment:
    """The first free slot with this practitioner from `after`, booked without a reminder."""
    slots = booking.next_free_slots(
        appointment_type=kind,
        location=location,
        practitioner=practitioner,
        after=after,
        patient=patient,
        limit=1,
    )
    if not slots:
        raise ValueError(f"No free {kind} with {practitioner} after {after}.")
    return booking.book_appointment(
        patient=patient,
        practitioner=practitioner,
        location=location,
        appointment_type=kind,
        starts_at=slots[0].starts_at,
        room=slots[0].room,
        send_reminder=False,  # invented patients: the demo sends nothing
        actor=actor,
    )


def _status(appointment: Appointment, status: str, actor: Actor) -> Appointment:
    return booking.set_appointment_status(appointment=appointment, status=status, actor=actor)


# -- one patient's story ----------------------------------------------------------------------


def _story(story: Story, cast: Cast, now: datetime) -> Timeline:
    location = cast.locations[story.location]
    desk = Actor.system(user=cast.desk[location.pk].user, location=location)
    doctor = cast.practitioner[location.pk]
    clinician = Actor.system(user=doctor.user, location=location)
    began = _days_before(location, now, story.began_days_ago)
    stage = STAGES.index(story.stage)

    # The patient fills in the intake form at home; the desk registers them and books.
    yield _at(location, began, 10, 15)
    patient = _register(story, location, now, desk)
    after = (
        now + timedelta(days=3)
        if story.stage == BOOKED
        else _at(location, began + timedelta(days=2), 0)
    )
    visit = _book(
        patient=patient,
        kind=cast.consultation,
        practitioner=doctor,
        location=location,
        after=after,
        actor=desk,
    )
    if story.stage == BOOKED:
        return

    # The consultation: assessment, screening, and as far towards a plan as the story goes.
    yield visit.starts_at
    _status(visit, AppointmentStatus.ARRIVED, desk)
    yield visit.starts_at + timedelta(minutes=2)
    _status(visit, AppointmentStatus.IN_PROGRESS, clinician)
    consultation = consultation_services.start_consultation(
        patient=patient, practitioner=doctor, appointment=visit, actor=clinician
    )
    baseline: list[PatientPhoto] = []
    if story.stage == REVIEWED:
        baseline = _photos(patient, stage="baseline", actor=clinician)
    yield visit.starts_at + timedelta(minutes=12)
    consultation_services.save_assessment(
        consultation=consultation,
        details={
            "fitzpatrick": 2,
            "glogau": 3,
            "expectations": "A fresher, lifted look; understands the lift is modest and "
            "lasts about a year to eighteen months.",
        },
        areas={
            "midface": {"concern": "Cheeks have dropped", "goal": "Lift the cheeks", "laxity": 2},
            "jawline": {"concern": "Early jowls", "goal": "A cleaner jawline", "laxity": 2},
        },
        baseline_photos=baseline,
        actor=clinician,
    )
    yield visit.starts_at + timedelta(minutes=18)
    screening = screening_services.run_screening(
        consultation=consultation, body_image=CALM, actor=clinician
    )
    screening_services.decide_screening(screening=screening, decision="accepted", actor=clinician)
    if story.stage == SCREENED:
        yield visit.starts_at + timedelta(minutes=25)
        _status(visit, AppointmentStatus.COMPLETED, clinician)
        return

    yield visit.starts_at + timedelta(minutes=22)
    plan = _draft_plan(patient, doctor, location, cast, clinician)
    if stage >= STAGES.index(PROPOSED):
        plan = plan_services.set_plan_status(plan=plan, status=PlanStatus.PROPOSED, actor=clinician)
    if stage >= STAGES.index(CONSENTED):
        yield visit.starts_at + timedelta(minutes=26)
        plan = plan_services.set_plan_status(plan=plan, status=PlanStatus.ACCEPTED, actor=clinician)
    if story.stage == CONSENTED:
        # Consent taken at the consultation, after the time to ask questions.
        _sign(plan, doctor, clinician)
    yield visit.starts_at + timedelta(minutes=29)
    _status(visit, AppointmentStatus.COMPLETED, clinician)
    if stage < STAGES.index(CONSENTED):
        return

    yield visit.starts_at + timedelta(minutes=35)
    after = visit.starts_at + timedelta(days=story.treatment_after_days)
    if story.stage == CONSENTED:
        after = max(after, now + timedelta(days=2))  # still to come, whatever the day
    treatment = _book(
        patient=patient,
        kind=cast.treatment,
        practitioner=doctor,
        location=location,
        after=after,
        actor=desk,
    )
    if story.stage == CONSENTED:
        return

    # Treatment day: consent signed at the chair, the check passed, the session recorded.
    yield treatment.starts_at
    _status(treatment, AppointmentStatus.ARRIVED, desk)
    yield treatment.starts_at + timedelta(minutes=5)
    plan.refresh_from_db()
    _sign(plan, doctor, clinician)
    yield treatment.starts_at + timedelta(minutes=15)
    session = session_services.start_session(
        appointment=treatment, plan=plan, check=_day_check(plan), actor=clinician
    )
    yield treatment.starts_at + timedelta(minutes=70)
    session = _complete(session, clinician)

    # The reviews that have come round since, with their outcomes.
    reviews = Appointment.objects.filter(
        patient=patient,
        appointment_type__kind=AppointmentKind.REVIEW,
        status=AppointmentStatus.BOOKED,
        starts_at__lt=now - timedelta(hours=1),
    ).order_by("starts_at")
    for review in list(reviews):
        yield review.starts_at
        _status(review, AppointmentStatus.ARRIVED, desk)
        yield review.starts_at + timedelta(minutes=3)
        _status(review, AppointmentStatus.IN_PROGRESS, clinician)
        photos = _photos(patient, stage="2_weeks", actor=clinician) if baseline else []
        yield review.starts_at + timedelta(minutes=12)
        _review(story, session, review, photos, clinician)
        yield review.starts_at + timedelta(minutes=18)
        _status(review, AppointmentStatus.COMPLETED, clinician)


def _register(story: Story, location: Location, now: datetime, desk: Actor) -> Patient:
    today = timezone.localtime(now, location.zone).date()
    in_us = location.country == "US"
    number = STORIES.index(story)
    patient = consultation_services.register_patient(
        details={
            "first_name": story.first_name,
            "last_name": story.last_name,
            "date_of_birth": today - timedelta(days=story.age * 365 + 40 + number * 17),
            "sex": story.sex,
            "phone": f"+1212555{3100 + number:04d}" if in_us else f"+44791114{3100 + number:04d}",
            "email": story_email(story),
            "address": "18 East 70th Street\nNew York, NY"
            if in_us
            else f"{7 + number} Weymouth Street\nLondon",
            "emergency_contact_name": f"Alex {story.last_name}",
            "emergency_contact_relation": "partner",
            "emergency_contact_phone": f"+1212555{3200 + number:04d}"
            if in_us
            else f"+44791115{3200 + number:04d}",
            "preferred_location": location,
            "contact_by_email": True,
            "contact_by_sms": False,
            "marketing_consent": False,
        },
        actor=desk,
    )
    consultation_services.submit_medical_history(
        patient=patient,
        answers={
            "smoking": "former" if number % 3 == 0 else "never",
            "other_allergies": "Penicillin" if number % 4 == 1 else "",
            "current_medications": "Levothyroxine 50 mcg" if number % 4 == 2 else "",
        },
        previous_treatments=[
            {"kind": "toxin", "treated_on": today - timedelta(days=400), "area": "brow"}
        ]
        if number % 2
        else [],
        completed_by_patient=True,
        actor=desk,
    )
    return patient


def _photos(patient: Patient, *, stage: str, actor: Actor) -> list[PatientPhoto]:
    """Front and oblique photos at this stage, after the patient's written consent to them."""
    if not consultation_services.photo_use_consented(patient, "clinical"):
        consultation_services.record_photography_consent(
            patient=patient,
            use="clinical",
            granted=True,
            form="written",
            words="Signed the clinic's photography consent form at the consultation.",
            actor=actor,
        )
    photos: list[PatientPhoto] = []
    for view in ("frontal", "left_oblique"):
        jpeg = demo_photo_jpeg(seed=40 + patient.pk % 7, view=view, stage=stage)
        photos += consultation_services.add_patient_photos(
            patient=patient,
            files=[SimpleUploadedFile(f"{view}-{stage}.jpg", jpeg, "image/jpeg")],
            view=view,
            stage=stage,
            taken_on=consultation_services.photo_today(actor),
            actor=actor,
        )
    return photos


def _draft_plan(
    patient: Patient, doctor: StaffMember, location: Location, cast: Cast, actor: Actor
) -> TreatmentPlan:
    plan = plan_services.create_plan(
        patient=patient, practitioner=doctor, location=location, actor=actor
    )
    vectors = [
        {
            "area": area,
            "side": side,
            "product": cast.products[product].pk,
            "count": count,
            "view": "front",
            "entry": list(entry),
            "end": list(end),
            "depth": "subcutaneous",
            "notes": "",
        }
        for area, side, product, count, entry, end in PLAN_VECTORS
    ]
    return plan_services.save_plan(
        plan=plan,
        revision=plan.revision,
        vectors=vectors,
        notes="Midface lift with cogs; jawline refined with monofilaments.",
        anaesthesia="local",
        actor=actor,
    )


def signature_png(seed: int) -> bytes:
    """A signature as the pad draws it: dark strokes on a transparent background."""
    image = Image.new("RGBA", (600, 200), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    x = 40 + seed % 5 * 6
    for stroke in range(3 + seed % 3):
        rise = 30 + (seed * 7 + stroke * 13) % 70
        draw.line(
            [(x, 150), (x + 40, 150 - rise), (x + 70, 160), (x + 110, 120 - rise // 2)],
            fill=(20, 20, 60, 255),
            width=5,
            joint="curve",
        )
        x += 120
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _sign(plan: TreatmentPlan, doctor: StaffMember, actor: Actor) -> None:
    template = ConsentTemplate.objects.filter(is_current=True).order_by("code").first()
    if template is None:
        raise ValueError("The demo clinic has no consent form.")
    consent_services.sign_consent(
        plan=plan,
        template=template,
        risks_initialled=list(template.risks),
        photo_consents=PHOTO_ANSWERS,
        patient_signature=signature_png(plan.patient_id),
        practitioner_signature=signature_png(doctor.pk + 100),
        practitioner=doctor,
        actor=actor,
    )


def _day_check(plan: TreatmentPlan) -> DayCheckAnswers:
    """What the practitioner confirms at the chair: everything, with the first in-date
    lot of each planned product (the one expiring soonest, as stock is rotated)."""
    today = timezone.localdate(timezone=plan.location.zone)
    lots = []
    for product_id in sorted({v.product_id for v in plan.vectors.all()}):
        lot = (
            StockLot.objects.filter(
                product_id=product_id,
                location_id=plan.location_id,
                status=LotStatus.ACTIVE,
                expires_on__gte=today,
                quantity_on_hand__gt=0,
            )
            .order_by("expires_on", "pk")
            .first()
        )
        if lot is not None:
            lots.append(lot)
    latest = plan.patient.medical_histories.order_by("-version").first()
    return DayCheckAnswers(
        identity_confirmed=True,
        allergies_confirmed=True,
        history_confirmed=True,
        history_version=latest.version if latest else 0,
        precautions_acknowledged=frozenset(rule.id for rule in screening_rules.RULES),
        photo_refusal_reason="Prefers no photos",
        lots=tuple(lots),
    )


def _complete(session: TreatmentSession, actor: Actor) -> TreatmentSession:
    lots = {lot.product_id: lot for lot in session.safety_check.lots.all()}
    return session_services.complete_session(
        session=session,
        placements=[
            {
                "vector": vector.pk,
                "lot": lots[vector.product_id].pk,
                "count": vector.count,
                "deviation": "",
            }
            for vector in session.plan.vectors.order_by("position")
        ],
        details={
            **LIDOCAINE,
            "immediate_outcome": "Good lift of both cheeks; jawline smoother. Tolerated well.",
            "complications": "",
        },
        send_reminders=False,  # invented patients: the demo sends nothing
        actor=actor,
    )


def _review(
    story: Story,
    session: TreatmentSession,
    review: Appointment,
    photos: list[PatientPhoto],
    actor: Actor,
) -> None:
    if story.stage == ADVERSE_EVENT:
        treated_on = timezone.localtime(session.started_at, session.location.zone).date()
        today = timezone.localdate(timezone=session.location.zone)
        # The dimple is over a cheek, where the cogs went: their lot is the one named.
        cheek = (
            session.placed.filter(area="midface", side="left").select_related("lot").order_by("pk")
        )
        outcome_services.report_adverse_event(
            session=session,
            event_type="dimpling",
            severity="mild",
            onset_on=treated_on + timedelta(days=2),
            lots=[placed.lot for placed in cheek[:1]],
            management="Reassured; gentle massage over the left cheek shown; settled "
            "within ten days without removing a thread.",
            resolved_on=today,
            description="Dimple over the left cheek at the cog's exit, noticed on day 2.",
            actor=actor,
        )
    outcome_services.record_outcome(
        session=session,
        gais_practitioner=2 if story.stage == REVIEWED else 3,
        gais_patient=2 if story.stage == REVIEWED else 3,
        satisfaction=8 if story.stage == REVIEWED else 6,
        notes="Lift holding well; swelling gone."
        if story.stage == REVIEWED
        else "Dimple resolved; lift modest so far.",
        photos=photos,
        appointment=review,
        actor=actor,
    )


# -- the recall -------------------------------------------------------------------------------


def _recall(cast: Cast, now: datetime) -> Timeline:
    """The manager recalls the mono lot the treated patients received; the desk phones one."""
    london = cast.locations[0]
    day = _days_before(london, now, RECALL_DAYS_AGO)
    yield _at(london, day, 9, 40)
    received = (
        PlacedThreads.objects.filter(
            product=cast.products[RECALLED_PRODUCT], session__location=london
        )
        .values_list("lot", flat=True)
        .order_by("lot")
    )
    lot = StockLot.objects.filter(pk__in=list(received)).order_by("expires_on", "pk").first()
    if lot is None:
        return
    manager = Actor.system(user=cast.manager.user, location=london)
    recall = recall_services.open_recall(
        lot=lot, reason=RECALL_REASON, announced_on=day - timedelta(days=1), actor=manager
    )
    yield _at(london, day, 11, 5)
    patients = recall_services.recall_patients(recall)
    if patients:
        recall_services.record_contact(
            recall=recall,
            patient=Patient.objects.get(pk=patients[0].patient_id),
            method=ContactMethod.PHONE,
            outcome="Spoke to the patient: no redness, swelling or discharge at the entry "
            "points. Told what to watch for and to call the clinic at once if any appear.",
            actor=Actor.system(user=cast.desk[london.pk].user, location=london),
        )
