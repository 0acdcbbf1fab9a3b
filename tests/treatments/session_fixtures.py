"""A small clinic ready for consent and a treatment session, shared by the view and browser tests.

Everything is made through the services, as the pages would make it: a
practitioner (the conftest's "doctor") with working hours, a treatment room, a
product with a lot in stock, a published consent form, and a patient whose
screening allows planning, with a two-vector plan and a treatment appointment
tomorrow. Each test module wraps `build_clinic` in its own `clinic` fixture
(requesting `private_media`, so signatures are written to a temporary folder).
"""

from __future__ import annotations

import base64
import hashlib
import io
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone
from PIL import Image, ImageDraw

from clinic.models import WorkingHours
from consultations import services as consultation_services
from consultations.booking import services as booking
from consultations.models import AppointmentType
from tests.factories import PatientFactory, RoomFactory
from treatments import services
from treatments.models import DEFAULT_RISKS, ThreadProduct

CALM = {
    "concerned": False,
    "preoccupied": False,
    "distress": 1,
    "social": 1,
    "work": 1,
    "avoidance": 1,
    "interference": False,
}


def signature_png(strokes: int = 3, size=(600, 200)) -> bytes:
    """A signature as the pad draws it: black strokes on a transparent background."""
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    for n in range(strokes):
        draw.line(
            [(40 + n * 60, 150), (120 + n * 80, 40), (200 + n * 70, 160)], fill="black", width=6
        )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def blank_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (600, 200), (0, 0, 0, 0)).save(out, format="PNG")
    return out.getvalue()


def image_bytes(kind: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (600, 200), "black").save(out, format=kind)
    return out.getvalue()


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def make_product(name: str = "PDO Cog 19G 100") -> ThreadProduct:
    return ThreadProduct.objects.create(
        manufacturer="Lumen Sutures",
        name=name,
        material="PDO",
        thread_type="cog_bi",
        gauge=19,
        thread_length_mm=100,
        needle_length_mm=100,
        delivery="cannula",
        absorption_months=8,
        unit_price=Decimal("45.00"),
    )


def receive(product, location, lot_number: str, quantity: int = 10, days: int = 300, by=None):
    return services.receive_stock(
        product=product,
        location=location,
        lot_number=lot_number,
        quantity=quantity,
        expires_on=timezone.localdate() + timedelta(days=days),
        received_by=by,
    )


def screened_plan(*, patient, doctor, location, product):
    """A draft two-vector plan (midface, left and right, 2 threads each) after a suitable screen."""
    consultation_services.submit_medical_history(
        patient=patient, answers={}, submitted_by=doctor.user
    )
    consultation = consultation_services.start_consultation(
        patient=patient, practitioner=doctor, started_by=doctor.user
    )
    consultation_services.save_assessment(
        consultation=consultation,
        details={"fitzpatrick": 2, "glogau": 2},
        areas={"midface": {"concern": "Cheeks", "laxity": 2}},
        saved_by=doctor.user,
    )
    screening = consultation_services.run_screening(
        consultation=consultation, body_image=CALM, screened_by=doctor.user
    )
    consultation_services.decide_screening(
        screening=screening, decision="accepted", decided_by=doctor.user
    )
    plan = services.create_plan(
        patient=patient, practitioner=doctor, location=location, created_by=doctor.user
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
    return services.save_plan(
        plan=plan,
        revision=1,
        vectors=[vector, {**vector, "side": "right", "entry": [0.7, 0.6], "end": [0.7, 0.2]}],
        saved_by=doctor.user,
    )


def build_clinic(location, practitioner_user) -> dict:
    doctor = practitioner_user.staff
    for weekday in range(7):
        WorkingHours.objects.create(
            staff=doctor, location=location, weekday=weekday, starts_at=time(8), ends_at=time(18)
        )
    RoomFactory(location=location, name="Treatment room")
    cog = make_product()
    lot = receive(cog, location, "LOT-A", by=doctor.user)
    treatment = AppointmentType.objects.create(
        name="Thread lift",
        kind="treatment",
        duration_minutes=90,
        buffer_minutes=15,
        needs_room=True,
    )
    AppointmentType.objects.create(
        name="Review", kind="review", duration_minutes=20, needs_room=False
    )
    template = services.publish_consent_template(
        code="thread-lift",
        title="Consent to a thread lift",
        body="I, {patient}, agree to {procedure} of the {areas} with {products} by {practitioner}.",
        risks=DEFAULT_RISKS,
        alternatives="No treatment; fillers; energy devices; a surgical facelift.",
        published_by=doctor.user,
    )
    patient = PatientFactory(
        first_name="Marguerite",
        last_name="Duras",
        date_of_birth=timezone.localdate() - timedelta(days=40 * 365),
    )
    plan = screened_plan(patient=patient, doctor=doctor, location=location, product=cog)
    tomorrow = timezone.localdate(timezone=location.zone) + timedelta(days=1)
    appointment = booking.book_appointment(
        patient=patient,
        practitioner=doctor,
        location=location,
        appointment_type=treatment,
        starts_at=datetime.combine(tomorrow, time(10), tzinfo=location.zone),
        booked_by=doctor.user,
    )
    return {
        "doctor": doctor,
        "user": practitioner_user,
        "lot": lot,
        "cog": cog,
        "template": template,
        "plan": plan,
        "patient": patient,
        "appointment": appointment,
        "treatment": treatment,
        "location": location,
    }


def accept(clinic):
    plan = services.set_plan_status(
        plan=clinic["plan"], status="accepted", changed_by=clinic["doctor"].user
    )
    clinic["plan"] = plan
    return plan


def sign(clinic, plan=None):
    """A consent signed through the service, as the signing page stores it."""
    return services.sign_consent(
        plan=plan or clinic["plan"],
        template=clinic["template"],
        risks_initialled=list(clinic["template"].risks),
        photo_consents={"clinical": True, "teaching": False, "marketing": False},
        patient_signature=signature_png(),
        practitioner_signature=signature_png(2),
        practitioner=clinic["doctor"],
        recorded_by=clinic["doctor"].user,
    )


def start(clinic, plan=None):
    return services.start_session(
        appointment=clinic["appointment"],
        plan=plan or clinic["plan"],
        started_by=clinic["doctor"].user,
    )


def consent_form(clinic, plan=None, **overrides) -> dict:
    """What the signing page posts when everything is filled in and both pads are signed."""
    plan = plan or clinic["plan"]
    template = clinic["template"]
    text = services.fill_consent_text(template, plan)
    form = {
        "template": str(template.pk),
        "text_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "risks": list(template.risks),
        "photo_clinical": "yes",
        "photo_teaching": "no",
        "photo_marketing": "no",
        "patient_signature": data_url(signature_png()),
        "practitioner_signature": data_url(signature_png(2)),
    }
    form.update(overrides)
    return {key: value for key, value in form.items() if value is not None}
