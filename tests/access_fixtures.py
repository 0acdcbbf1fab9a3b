"""A whole clinic journey, made through the services, for the access-control suite.

`build_world` takes one location and one practitioner and gives them a patient
with every kind of record a URL can name: a medical history (with free text
planted to be looked for), baseline and follow-up photos, a consultation with
its screening, an accepted plan with a signed consent, a completed treatment
session (placed threads from a stock lot, an addendum, a review outcome and an
adverse event), the treatment appointment, a calendar feed and a stock lot.

The same function builds a second location's world (another practitioner,
another patient, other planted text) for the cross-location tests. Needs the
`private_media` fixture (photos and signatures are written to disk).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.actors import Actor
from clinic.models import Location, Role, Room, StaffMember
from consultations import patient_links
from consultations import services as consultation_services
from consultations.booking import services as booking
from consultations.demo_photos import demo_photo_jpeg
from consultations.models import (
    Appointment,
    AppointmentType,
    CalendarFeed,
    Consultation,
    LinkPurpose,
    MedicalHistory,
    Patient,
    PatientPhoto,
    PhotoStage,
    PhotoView,
    Screening,
)
from consultations.patient_links import IssuedLink
from consultations.screening import services as screening_services
from tests import recipes
from tests.factories import (
    PatientFactory,
    RoomFactory,
    StaffMemberFactory,
    ThreadProductFactory,
    UserFactory,
    WorkingHoursFactory,
)
from tests.recipes import CALM, LOCAL_LIDOCAINE, photography_consent, receive, signature_png
from treatments.models import (
    DEFAULT_RISKS,
    AdverseEvent,
    ConsentTemplate,
    SignedConsent,
    StockLot,
    ThreadProduct,
    TreatmentPlan,
    TreatmentSession,
)
from treatments.services import consent as consent_services
from treatments.services import outcomes as outcome_services
from treatments.services import plans as plan_services
from treatments.services import sessions as session_services

_JPEG_CACHE: dict[tuple[int, str, str], bytes] = {}


def photo_bytes(seed: int, view: str, stage: str) -> bytes:
    """demo_photo_jpeg is deterministic: draw each face once per test run."""
    key = (seed, view, stage)
    if key not in _JPEG_CACHE:
        _JPEG_CACHE[key] = demo_photo_jpeg(seed=seed, view=view, stage=stage)
    return _JPEG_CACHE[key]


@dataclass
class World:
    location: Location
    doctor: StaffMember
    room: Room
    product: ThreadProduct
    lot: StockLot
    treatment_type: AppointmentType
    review_type: AppointmentType
    template: ConsentTemplate
    patient: Patient
    history: MedicalHistory
    baseline_photo: PatientPhoto
    follow_up_photo: PatientPhoto
    consultation: Consultation
    screening: Screening
    plan: TreatmentPlan
    consent: SignedConsent
    appointment: Appointment
    session: TreatmentSession
    adverse_event: AdverseEvent
    feed: CalendarFeed
    # A link sent to the patient (its token: the database keeps only a digest).
    patient_link: IssuedLink
    # Another staff member's authenticator app (not the practitioner's: an enrolled
    # user owes a second factor on every page).
    authenticator: TOTPDevice
    # Text only clinicians may read, planted in the clinical records.
    clinical_texts: tuple[str, ...]

    def patient_identifiers(self) -> list[bytes]:
        """What must never reach someone refused: who the patient is and how to reach them."""
        patient = self.patient
        phone = patient.phone
        values = [
            patient.first_name,
            patient.last_name,
            patient.record_number,
            patient.email,
            phone.as_e164,
            phone.as_national,
            phone.as_international,
            str(phone.national_number),
            *self.clinical_texts,
        ]
        return [value.encode() for value in values if value]


def appointment_types() -> tuple[AppointmentType, AppointmentType]:
    treatment, _ = AppointmentType.objects.get_or_create(
        name="Thread lift",
        defaults={
            "kind": "treatment",
            "duration_minutes": 90,
            "buffer_minutes": 15,
            "needs_room": True,
        },
    )
    review, _ = AppointmentType.objects.get_or_create(
        name="Review", defaults={"kind": "review", "duration_minutes": 20, "needs_room": False}
    )
    AppointmentType.objects.get_or_create(
        name="Consultation",
        defaults={"kind": "consultation", "duration_minutes": 45, "needs_room": False},
    )
    return treatment, review


def consent_template(by) -> ConsentTemplate:
    current = ConsentTemplate.objects.filter(is_current=True).first()
    if current is not None:
        return current
    return consent_services.publish_consent_template(
        code="thread-lift",
        title="Consent to a thread lift",
        body="I, {patient}, agree to {procedure} of the {areas} with {products} by {practitioner}.",
        risks=DEFAULT_RISKS,
        alternatives="No treatment; fillers; energy devices; a surgical facelift.",
        actor=Actor.system(user=by),
    )


def practitioner_at(location: Location, username: str) -> StaffMember:
    return StaffMemberFactory(
        user=UserFactory(username=username), role=Role.PRACTITIONER, locations=[location]
    )


def add_photo(patient: Patient, by, *, seed: int, stage: str, days_ago: int) -> PatientPhoto:
    if not consultation_services.photo_use_consented(patient, "clinical"):
        photography_consent(patient, by)
    return consultation_services.add_patient_photos(
        patient=patient,
        files=[
            SimpleUploadedFile(
                "face.jpg", photo_bytes(seed, PhotoView.FRONTAL, stage), "image/jpeg"
            )
        ],
        view=PhotoView.FRONTAL,
        stage=stage,
        taken_on=timezone.localdate() - timedelta(days=days_ago),
        actor=Actor.system(user=by),
    )[0]


def gated_patient(doctor: StaffMember, patient: Patient, tag: str, seed: int):
    """History (with planted text), photos, consultation and an accepted suitable screening."""
    user = doctor.user
    actor = Actor.system(user=user)
    history = consultation_services.submit_medical_history(
        patient=patient,
        answers={
            "current_medications": f"Apixaban-XYZ-{tag}",
            "other_conditions": f"Planted-condition-{tag}",
            "notes": f"Planted-history-note-{tag}",
        },
        actor=actor,
    )
    baseline = add_photo(patient, user, seed=seed, stage=PhotoStage.BASELINE, days_ago=30)
    follow_up = add_photo(patient, user, seed=seed, stage=PhotoStage.TWO_WEEKS, days_ago=0)
    consultation = consultation_services.start_consultation(
        patient=patient, practitioner=doctor, actor=actor
    )
    consultation_services.save_assessment(
        consultation=consultation,
        details={
            "fitzpatrick": 2,
            "glogau": 2,
            "expectations": f"Planted-expectation-{tag}",
            "asymmetry_notes": f"Planted-asymmetry-{tag}",
        },
        areas={"midface": {"concern": f"Planted-concern-{tag}", "goal": "Lift", "laxity": 2}},
        baseline_photos=[baseline],
        actor=actor,
    )
    screening = screening_services.run_screening(
        consultation=consultation, body_image=CALM, actor=actor
    )
    screening_services.decide_screening(screening=screening, decision="accepted", actor=actor)
    return history, baseline, follow_up, consultation, screening


def accepted_plan(patient, doctor, location, product) -> TreatmentPlan:
    actor = Actor.system(user=doctor.user)
    plan = plan_services.create_plan(
        patient=patient, practitioner=doctor, location=location, actor=actor
    )
    vector = {
        "area": "midface",
        "side": "left",
        "product": product.pk,
        "count": 2,
        "view": "front",
        "entry": [0.3, 0.6],
        "end": [0.3, 0.2],
        "depth": "subcutaneous",
        "notes": "",
    }
    plan = plan_services.save_plan(
        plan=plan,
        revision=plan.revision,
        vectors=[vector, {**vector, "side": "right", "entry": [0.7, 0.6], "end": [0.7, 0.2]}],
        actor=actor,
    )
    return plan_services.set_plan_status(plan=plan, status="accepted", actor=actor)


def sign_consent(plan, template, doctor) -> SignedConsent:
    return consent_services.sign_consent(
        plan=plan,
        template=template,
        risks_initialled=list(template.risks),
        photo_consents={"clinical": True, "teaching": False, "marketing": False},
        patient_signature=signature_png(),
        practitioner_signature=signature_png(2),
        practitioner=doctor,
        actor=Actor.system(user=doctor.user),
    )


def book_treatment(patient, doctor, location, treatment_type, *, days: int, hour: int):
    day = timezone.localdate(timezone=location.zone) + timedelta(days=days)
    return booking.book_appointment(
        patient=patient,
        practitioner=doctor,
        location=location,
        appointment_type=treatment_type,
        starts_at=datetime.combine(day, time(hour), tzinfo=location.zone),
        actor=Actor.system(user=doctor.user),
    )


def build_world(
    location: Location,
    doctor: StaffMember,
    *,
    tag: str = "A",
    first_name: str = "Ysolde",
    last_name: str = "Marchbanks",
    phone: str = "+447911123456",
    seed: int = 1,
    product: ThreadProduct | None = None,
) -> World:
    user = doctor.user
    for weekday in range(7):
        WorkingHoursFactory(
            staff=doctor, location=location, weekday=weekday, starts_at=time(8), ends_at=time(18)
        )
    room = RoomFactory(location=location, name=f"Treatment room {tag}")
    product = product or ThreadProductFactory()
    lot = receive(product, location, f"LOT-{tag}-4471", quantity=20, by=user)
    treatment_type, review_type = appointment_types()
    template = consent_template(user)

    patient = PatientFactory(
        first_name=first_name,
        last_name=last_name,
        email=f"{first_name}.{last_name}@mail.example".lower(),
        phone=phone,
        date_of_birth=timezone.localdate() - timedelta(days=41 * 365),
    )
    history, baseline, follow_up, consultation, screening = gated_patient(
        doctor, patient, tag, seed
    )
    plan = accepted_plan(patient, doctor, location, product)
    consent = sign_consent(plan, template, doctor)
    appointment = book_treatment(patient, doctor, location, treatment_type, days=1, hour=10)
    actor = Actor.system(user=user)
    session = recipes.start_session(appointment=appointment, plan=plan, by=user)
    session = session_services.complete_session(
        session=session,
        placements=[
            {"vector": vector.pk, "lot": lot.pk, "count": vector.count}
            for vector in plan.vectors.all()
        ],
        details={**LOCAL_LIDOCAINE, "immediate_outcome": f"Planted-outcome-{tag}"},
        actor=actor,
    )
    session_services.add_addendum(session=session, text=f"Planted-addendum-{tag}", actor=actor)
    outcome_services.record_outcome(
        session=session,
        gais_practitioner=2,
        gais_patient=2,
        satisfaction=8,
        notes=f"Planted-review-{tag}",
        photos=[follow_up],
        actor=actor,
    )
    adverse_event = outcome_services.report_adverse_event(
        session=session,
        event_type="bruising",
        severity="mild",
        onset_on=timezone.localdate(timezone=location.zone),
        lots=[lot],
        description=f"Planted-adverse-{tag}",
        actor=actor,
    )
    feed = CalendarFeed.objects.create(staff=doctor, token=f"planted-feed-token-{tag}-0123456789")
    patient_link = patient_links.issue_link(
        patient=patient, purpose=LinkPurpose.MEDICAL_HISTORY, location=location, actor=actor
    )
    enrolled = StaffMemberFactory(
        user=UserFactory(username=f"enrolled-{tag}".lower()),
        role=Role.FRONT_DESK,
        locations=[location],
    )
    authenticator = TOTPDevice.objects.create(
        user=enrolled.user, name="Authenticator app", confirmed=True
    )
    appointment.refresh_from_db()
    lot.refresh_from_db()
    return World(
        location=location,
        doctor=doctor,
        room=room,
        product=product,
        lot=lot,
        treatment_type=treatment_type,
        review_type=review_type,
        template=template,
        patient=patient,
        history=history,
        baseline_photo=baseline,
        follow_up_photo=follow_up,
        consultation=consultation,
        screening=screening,
        plan=plan,
        consent=consent,
        appointment=appointment,
        session=TreatmentSession.objects.get(pk=session.pk),
        adverse_event=adverse_event,
        feed=feed,
        patient_link=patient_link,
        authenticator=authenticator,
        clinical_texts=(
            f"Apixaban-XYZ-{tag}",
            f"Planted-condition-{tag}",
            f"Planted-history-note-{tag}",
            f"Planted-expectation-{tag}",
            f"Planted-asymmetry-{tag}",
            f"Planted-concern-{tag}",
            f"Planted-outcome-{tag}",
            f"Planted-addendum-{tag}",
            f"Planted-review-{tag}",
            f"Planted-adverse-{tag}",
        ),
    )
