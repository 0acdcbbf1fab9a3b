"""Shared set-up for the planner's tests: a patient through the screening gate, products, plans.

Everything is made through the services, as the pages make it. The plain
functions are also imported by the browser tests (tests/e2e/test_planner.py),
which cannot see these fixtures.
"""

from __future__ import annotations

import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from consultations import services as consultation_services
from consultations.models import Patient, PatientPhoto
from tests.factories import PatientFactory
from treatments import services
from treatments.models import ThreadProduct, TreatmentPlan

# Body-image answers that raise nothing: the screening then rests on the history alone.
CALM = {
    "concerned": False,
    "preoccupied": False,
    "distress": 1,
    "social": 1,
    "work": 1,
    "avoidance": 1,
    "interference": False,
}


def make_gated_patient(doctor, **fields) -> Patient:
    """A patient whose latest screening (suitable, accepted) lets a plan start."""
    fields.setdefault("date_of_birth", timezone.localdate() - timedelta(days=40 * 365))
    patient = PatientFactory(**fields)
    consultation_services.submit_medical_history(
        patient=patient, answers={}, submitted_by=doctor.user
    )
    consultation = consultation_services.start_consultation(
        patient=patient, practitioner=doctor, started_by=doctor.user
    )
    consultation_services.save_assessment(
        consultation=consultation,
        details={"fitzpatrick": 2, "glogau": 2},
        areas={"midface": {"concern": "Flat cheeks", "goal": "Lift", "laxity": 2}},
        saved_by=doctor.user,
    )
    screening = consultation_services.run_screening(
        consultation=consultation, body_image=CALM, screened_by=doctor.user
    )
    consultation_services.decide_screening(
        screening=screening, decision="accepted", decided_by=doctor.user
    )
    return patient


def make_product(
    name: str,
    *,
    thread_length_mm: int = 90,
    needle_length_mm: int = 100,
    unit_price: str = "40.00",
    is_active: bool = True,
) -> ThreadProduct:
    return ThreadProduct.objects.create(
        manufacturer="Planner Test Sutures",
        name=name,
        material="PDO",
        thread_type="cog_bi",
        gauge=19,
        thread_length_mm=thread_length_mm,
        needle_length_mm=needle_length_mm,
        delivery="cannula",
        absorption_months=8,
        unit_price=Decimal(unit_price),
        is_active=is_active,
    )


def stock(product, location, quantity: int, *, days: int = 365, lot: str | None = None, by=None):
    return services.receive_stock(
        product=product,
        location=location,
        lot_number=lot or f"{product.pk}-{location.pk}-{days}-{quantity}",
        expires_on=timezone.localdate() + timedelta(days=days),
        quantity=quantity,
        received_by=by,
    )


def vector(product, **fields) -> dict:
    """One vector in the save endpoint's format: the left midface, 2 threads, 47 mm long."""
    return {
        "area": "midface",
        "side": "left",
        "product": product.pk,
        "count": 2,
        "view": "front",
        "entry": [0.62, 0.55],
        "end": [0.76, 0.40],
        "depth": "subcutaneous",
        "notes": "",
        **fields,
    }


def saved_payload(plan: TreatmentPlan) -> list[dict]:
    """The plan's vectors as stored, in the save format."""
    return [
        {
            "area": v.area,
            "side": v.side,
            "product": v.product_id,
            "count": v.count,
            "view": v.view,
            "entry": [v.entry_x, v.entry_y],
            "end": [v.end_x, v.end_y],
            "depth": v.depth,
            "notes": v.notes,
        }
        for v in plan.vectors.order_by("position", "pk")
    ]


def save_vectors(plan: TreatmentPlan, vectors: list[dict], by, notes: str | None = None):
    plan.refresh_from_db()
    return services.save_plan(
        plan=plan, revision=plan.revision, vectors=vectors, notes=notes, saved_by=by
    )


def post_json(client, url: str, body, *, raw: bytes | str | None = None):
    data = raw if raw is not None else json.dumps(body)
    return client.post(url, data=data, content_type="application/json")


def save_url(plan: TreatmentPlan) -> str:
    return reverse("treatments:plan_save", args=[plan.pk])


def frontal_photo(patient: Patient, by, *, view: str = "frontal") -> PatientPhoto:
    """A real (plain) JPEG stored through the photo service; needs the private_media fixture."""
    out = io.BytesIO()
    Image.new("RGB", (600, 600), (200, 170, 150)).save(out, format="JPEG")
    return consultation_services.add_patient_photos(
        patient=patient,
        files=[SimpleUploadedFile("face.jpg", out.getvalue(), content_type="image/jpeg")],
        view=view,
        stage="baseline",
        taken_on=timezone.localdate(),
        uploaded_by=by,
    )[0]


@pytest.fixture
def doctor(practitioner_user):
    """The practitioner signed in as "doctor", working at the test location."""
    return practitioner_user.staff


@pytest.fixture
def gated_patient(doctor):
    return make_gated_patient(doctor, first_name="Ada", last_name="Planwell")


@pytest.fixture
def cog_product(db):
    return make_product("Planner Cog 19G 90")


@pytest.fixture
def mono_product(db):
    return make_product(
        "Planner Mono 29G 38", thread_length_mm=38, needle_length_mm=40, unit_price="6.50"
    )


@pytest.fixture
def draft_plan(gated_patient, doctor, location):
    return services.create_plan(
        patient=gated_patient, practitioner=doctor, location=location, created_by=doctor.user
    )
