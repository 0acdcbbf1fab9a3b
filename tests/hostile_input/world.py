"""A whole clinic for the hostile-input suite.

`build_world` makes, through the services as the pages would, one of every
record a form or JSON endpoint writes to or reads from: a patient through
screening with an accepted and consented plan (v1) and a draft revision (v2), an
open and a completed treatment session, a booked consultation and treatment
appointment without a session, an undecided screening, a frontal photo, stock.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from PIL import Image

from clinic.actors import Actor
from clinic.models import Role, Room
from consultations import patient_links
from consultations import services as consultation_services
from consultations.booking import services as booking
from consultations.models import (
    Appointment,
    AppointmentType,
    Consultation,
    LinkPurpose,
    Patient,
    Screening,
)
from consultations.patient_links import IssuedLink
from consultations.screening import services as screening_services
from tests import recipes
from tests.clock import arrive_for
from tests.factories import AppointmentTypeFactory, StaffMemberFactory, UserFactory
from tests.recipes import (
    CALM,
    LOCAL_LIDOCAINE,
    accept,
    build_clinic,
    photography_consent,
    sign,
    start,
)
from treatments.models import SignedConsent, StockLot, TreatmentPlan, TreatmentSession
from treatments.services import plans as plan_services
from treatments.services import sessions as session_services

# -- the clinic ------------------------------------------------------------------------------


@dataclass
class World:
    location: Any
    frontdesk: Any
    doctor_user: Any
    manager: Any
    doctor: Any  # the practitioner's StaffMember
    patient: Patient
    cog: Any
    lot: StockLot
    template: Any
    accepted_plan: TreatmentPlan  # v1, accepted, consented
    draft_plan: TreatmentPlan  # v2, a draft: what the planner edits
    consent: SignedConsent
    open_session: TreatmentSession
    done_session: TreatmentSession
    treatment_appointment: Appointment  # booked, no session yet; the clock is at its start
    consultation_appointment: Appointment  # booked consultation
    consultation: Consultation  # assessed, screened (undecided)
    screening: Screening  # undecided
    photo: Any  # a frontal baseline photo
    consultation_type: AppointmentType
    treatment_type: AppointmentType
    room: Any
    enroller: Any  # front desk, setting up two-factor sign-in (an unconfirmed app)
    verifier: Any  # front desk with an authenticator app, at the code step
    patient_link: IssuedLink  # a medical-history link sent to the patient, still open

    def day(self, days: int) -> datetime:
        local = timezone.localdate(timezone=self.location.zone) + timedelta(days=days)
        return datetime.combine(local, time(11), tzinfo=self.location.zone)


def jpeg_bytes(size=(600, 600)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 170, 150)).save(out, format="JPEG")
    return out.getvalue()


def jpeg_upload(name: str = "face.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, jpeg_bytes(), content_type="image/jpeg")


def complete(session: TreatmentSession, lot: StockLot, by) -> TreatmentSession:
    return session_services.complete_session(
        session=session,
        placements=[
            {"vector": vector.pk, "lot": lot.pk, "count": vector.count, "deviation": ""}
            for vector in session.plan.vectors.all()
        ],
        details={
            **LOCAL_LIDOCAINE,
            "anaesthetic_agent": "Lidocaine 1%",
            "immediate_outcome": "Good lift",
            "complications": "",
        },
        actor=Actor.system(user=by),
    )


def build_world(location, frontdesk_user, practitioner_user, manager_user) -> World:
    """Everything the endpoints need; needs the private_media fixture (signatures, photos)."""
    clinic = build_clinic(location, practitioner_user)
    doctor = clinic["doctor"]
    user = doctor.user
    patient = clinic["patient"]
    room = Room.objects.get(location=location, name="Treatment room")
    consultation_type = AppointmentTypeFactory(
        name="Consultation", kind="consultation", duration_minutes=30, needs_room=False
    )
    accepted = accept(clinic)
    consent = sign(clinic, accepted)
    open_session = start(clinic, accepted)

    actor = Actor.system(user=user)

    def book(kind, days, hour=10):
        local = timezone.localdate(timezone=location.zone) + timedelta(days=days)
        return booking.book_appointment(
            patient=patient,
            practitioner=doctor,
            location=location,
            appointment_type=kind,
            starts_at=datetime.combine(local, time(hour), tzinfo=location.zone),
            actor=actor,
        )

    # One treatment day: a session done early in the morning, the next treatment at ten.
    done_appointment = book(clinic["treatment"], 2, hour=8)
    treatment_appointment = book(clinic["treatment"], 2, hour=10)
    consultation_appointment = book(consultation_type, 5, hour=14)
    done_session = recipes.start_session(appointment=done_appointment, plan=accepted, by=user)
    done_session = complete(done_session, clinic["lot"], user)
    draft = plan_services.revise_plan(plan=accepted, actor=actor)
    # After the revision: an undecided screening would close the planning gate.
    consultation = consultation_services.start_consultation(
        patient=patient, practitioner=doctor, actor=actor
    )
    consultation = consultation_services.save_assessment(
        consultation=consultation,
        details={"fitzpatrick": 3, "glogau": 2},
        areas={"jawline": {"concern": "Jowls", "goal": "Lift", "laxity": 2}},
        actor=actor,
    )
    screening = screening_services.run_screening(
        consultation=consultation, body_image=CALM, actor=actor
    )
    photography_consent(patient, user)
    photo = consultation_services.add_patient_photos(
        patient=patient,
        files=[jpeg_upload()],
        view="frontal",
        stage="baseline",
        taken_on=timezone.localdate(),
        actor=actor,
    )[0]
    # The treatment appointment's time has come: its session can be started (the check).
    arrive_for(treatment_appointment)
    return World(
        location=location,
        frontdesk=frontdesk_user,
        doctor_user=practitioner_user,
        manager=manager_user,
        doctor=doctor,
        patient=patient,
        cog=clinic["cog"],
        lot=StockLot.objects.get(pk=clinic["lot"].pk),
        template=clinic["template"],
        accepted_plan=TreatmentPlan.objects.get(pk=accepted.pk),
        draft_plan=draft,
        consent=consent,
        open_session=open_session,
        done_session=done_session,
        treatment_appointment=treatment_appointment,
        consultation_appointment=consultation_appointment,
        consultation=Consultation.objects.get(pk=consultation.pk),
        screening=screening,
        photo=photo,
        consultation_type=consultation_type,
        treatment_type=clinic["treatment"],
        room=room,
        enroller=StaffMemberFactory(
            user=UserFactory(username="enroller"), role=Role.FRONT_DESK, locations=[location]
        ).user,
        verifier=two_factor_user(location),
        patient_link=patient_links.issue_link(
            patient=patient, purpose=LinkPurpose.MEDICAL_HISTORY, location=location, actor=actor
        ),
    )


def two_factor_user(location):
    user = UserFactory(username="verifier")
    StaffMemberFactory(user=user, role=Role.FRONT_DESK, locations=[location])
    TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    return user


def current_code(user, *, confirmed: bool) -> str:
    """The code the user's authenticator app shows now."""
    device = TOTPDevice.objects.get(user=user, confirmed=confirmed)
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"
